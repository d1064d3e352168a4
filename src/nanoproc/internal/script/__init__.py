"""The .wast script runner (spec test suite) for any wasmtime-py-shaped API."""

from .report import Failure, FileResult, Totals
from .runner import make_engine, run_wast

__all__ = ["Failure", "FileResult", "Totals", "make_engine", "run_wast"]
