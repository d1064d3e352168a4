"""nanoproc's public API, shaped like wasmtime-py (one small module per concept).

Everything here is re-exported from :mod:`nanoproc`; import from there.
"""
