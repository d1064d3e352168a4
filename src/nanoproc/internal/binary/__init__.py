"""The binary format (spec chapter 5): decoder and encoder."""

from .decode import decode_body, decode_const_expr, decode_module
from .encode import encode_module

__all__ = ["decode_body", "decode_const_expr", "decode_module", "encode_module"]
