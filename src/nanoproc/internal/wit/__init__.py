"""WIT, the component model's interface definition language (WIT.md).

``parser`` reads ``.wit`` text into an AST; ``resolve`` turns the files of a package
(and its ``deps/``) into a :class:`~.model.Resolve` of packages, interfaces, worlds
and types, checking names, uses, includes and feature gates; ``printer`` writes a
Resolve back as WIT text (in the layout ``wasm-tools component wit`` uses);
``decode`` builds a Resolve from a component's type, so a component's WIT can be
printed. Errors are :class:`WitError` with file:line:column.
"""

from .errors import WitError

__all__ = ["WitError"]
