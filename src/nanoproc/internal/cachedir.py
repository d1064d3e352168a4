"""Where each tier keeps what it read back from disk (compiled code, translations):
one root for all tiers, so ``NANOPROC_CACHE_DIR`` moves them together."""

from __future__ import annotations

import os
from pathlib import Path


def tier_cache_dir(tier: str) -> Path | None:
    """``tier``'s directory under ``NANOPROC_CACHE_DIR`` or platformdirs' user cache
    directory (None without platformdirs)."""
    override = os.environ.get("NANOPROC_CACHE_DIR")
    if override:
        return Path(override) / tier
    try:
        import platformdirs
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    return Path(platformdirs.user_cache_dir("nanoproc")) / tier
