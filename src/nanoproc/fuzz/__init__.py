"""Fuzzing nanoproc: a module generator, the wasm-smith path, differential runs
against wasmtime-py and between tiers, a minimizer and malformed-binary fuzzing.

Run a campaign with ``python -m nanoproc.fuzz --time SECONDS --seed N`` (see
:mod:`.campaign`).
"""
