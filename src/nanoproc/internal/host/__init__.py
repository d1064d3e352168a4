"""Host interfaces a nanoprocess can import; today WASI preview1 (``wasi/``)."""
