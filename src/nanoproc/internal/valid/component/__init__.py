"""The component-model validator (Binary.md / Explainer.md typing rules).

``validate_component(component)`` checks a component tree (core modules inside it
through the core validator) and returns a :class:`ComponentInfo`: the type of every
index space entry, which the runtime replays to instantiate the component. Error
messages follow wasmparser's wording, which the component-model test suite expects.
"""

from .validate import CanonOpts, ComponentInfo, validate_component

__all__ = ["CanonOpts", "ComponentInfo", "validate_component"]
