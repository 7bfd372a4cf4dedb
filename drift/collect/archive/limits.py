"""The limits that bound hostile archives (see `drift.collect.archive.content`, which specifies how they apply).

Read at each call as `limits.NAME`, so that tests can lower them by patching this module.
"""

from __future__ import annotations

# The limits (see the docstring of `drift.collect.archive.content`). Read at each call, so that tests can lower them.
MAX_NESTING = 8
"""Archives nested deeper than this are hashed by their bytes, not as archives."""
MAX_EXPANDED = 4 << 30
"""Uncompressed bytes read for one archive, nested archives included."""
MAX_RATIO = 200
"""... and no more than this many times the archive's size,"""
RATIO_FLOOR = 64 << 20
"""... once past this many bytes."""
MAX_ENTRIES = 100_000
"""Entries listed by an archive and the archives it is nested in."""
MAX_TOTAL_ENTRIES = 1_000_000
"""Entries listed in the whole file, nested archives included."""
MAX_CENTRAL_DIRECTORY = 32 << 20
"""Bytes of central directory of an archive and the archives it is nested in."""
MAX_NESTED = 256 << 20
"""Uncompressed bytes of a nested archive and the nested archives it sits in (all held in memory)."""
MAX_MANIFEST = 16 << 20
"""Uncompressed bytes of a manifest (normalised in memory)."""
MAX_LZMA_DICTIONARY = 64 << 20
"""Dictionary of an LZMA entry (allocated by the decompressor)."""
