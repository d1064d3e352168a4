"""The WebAssembly text format: lexer, WAT module parser, WAST script parser."""
