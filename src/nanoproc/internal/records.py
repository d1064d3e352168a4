"""Bases for the small classes written by hand instead of with ``dataclasses``.

``import nanoproc`` used to define ~40 dataclasses: importing ``dataclasses`` (and with
it ``inspect``, ``ast``, ``dis``, ``tokenize``) and ``exec``-ing ~180 generated methods
cost ~25 ms CPU of every process, a tenth of a warm start. The classes on that path
now spell out ``__init__`` (and, where hot, ``__eq__``/``__hash__``) and take the rest
from these bases, which behave as ``@dataclass`` did:

* ``__match_args__`` lists the constructor's fields in order (class patterns, and the
  order ``__reduce__``, ``__repr__`` and ``replace`` use);
* ``__repr__`` is ``Name(field=value, ...)`` over ``_shown`` (default: every field);
* ``__eq__`` compares ``_shown`` as a tuple with an object of exactly the same class,
  else ``NotImplemented``;
* :class:`Frozen`: assigning or deleting an attribute raises ``AttributeError``
  ("cannot assign to field ..."), instances hash by their fields, pickle and copy
  through the constructor;
* :class:`Record` (mutable): unhashable, as a dataclass with ``eq=True``;
* ``replace(**changes)`` stands for ``dataclasses.replace``.

tests/test_records.py checks every such class against the dataclass it replaced.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Record:
    """A mutable record: fields in ``__match_args__``; equality by value, no hash."""

    __slots__ = ()
    __match_args__: ClassVar[tuple[str, ...]] = ()
    _shown: ClassVar[tuple[str, ...] | None] = None
    """Fields that ``__repr__`` shows and ``__eq__`` compares (None: all of them)."""

    def _values(self) -> tuple[Any, ...]:
        names = self._shown if self._shown is not None else self.__match_args__
        return tuple([getattr(self, n) for n in names])

    def __repr__(self) -> str:
        names = self._shown if self._shown is not None else self.__match_args__
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        return f"{self.__class__.__qualname__}({inner})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._values() == other._values()  # type: ignore[attr-defined, no-any-return]
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def replace(self, **changes: Any) -> Any:
        """A copy with ``changes`` applied (``dataclasses.replace``)."""
        args = {n: getattr(self, n) for n in self.__match_args__}
        for name in changes:
            if name not in args:
                raise TypeError(f"{self.__class__.__qualname__} has no field {name!r}")
        args.update(changes)
        return self.__class__(**args)


class Frozen(Record):
    """An immutable record: hashable, picklable through its constructor."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __hash__(self) -> int:
        return hash(self._values())

    def __reduce__(self) -> tuple[Any, ...]:
        return self.__class__, tuple([getattr(self, n) for n in self.__match_args__])

