"""``Tag``: an exception tag (exception handling proposal)."""

from __future__ import annotations

from typing import Any

from ..internal.exec.entities import TagInst
from ..internal.exec.store import StoreState
from ..internal.syntax import types as T
from .externs import ExternHandle
from .store import check_same_store, state_of
from .types import TagType, functype_of_canon

HOST_TAG_TYPEIDX = -1
"""``TagInst.type.typeidx`` of a host tag: it belongs to no module, and linking and
matching use ``TagInst.canon``."""


class Tag(ExternHandle):
    """A tag of a store. Each ``Tag(...)`` is a new, distinct tag."""

    __slots__ = ()

    _ext: TagInst

    def __init__(self, store: Any, ty: TagType) -> None:
        if not isinstance(ty, TagType):
            raise TypeError("expected a TagType")
        st = state_of(store)
        ft = ty.functype
        self._ext = TagInst(T.TagType(HOST_TAG_TYPEIDX), ft._t, ft._canon_id())
        self._st = st

    @staticmethod
    def _wrap(ti: TagInst, st: StoreState) -> Tag:
        t = object.__new__(Tag)
        t._ext = ti
        t._st = st
        return t

    def type(self, store: Any) -> TagType:
        check_same_store(store, self._st)
        return TagType(functype_of_canon(self._ext.canon))

    def eq(self, store: Any, other: Tag) -> bool:
        """Whether ``other`` is this very tag."""
        check_same_store(store, self._st)
        return isinstance(other, Tag) and other._ext is self._ext
