"""Tune the C allocator of a process that handles big columns (the CLI, the benchmarks).

glibc's ``malloc`` serves each block over its *mmap threshold* (128 KiB at start, rising
with use to at most 32 MiB) with fresh pages from the kernel, and returns them when the block
is freed. A million-row import allocates and frees hundreds of such blocks (numpy arrays, Arrow
buffers, pandas columns), so every one of them is paid again in page faults: on a fresh
process reading and validating 1M incidents took ~1.9 s against ~1.3 s once the threshold had
risen. :func:`keep_freed_memory` raises the mmap and trim thresholds up front, so that freed
blocks stay in the process for the next one: the price is that the process gives freed memory
back to the kernel later (at exit, or once more than the trim threshold is free).

Only the CLI and the benchmarks call it; a library should not change its host's allocator.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# mallopt(3) parameters.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Blocks up to this size come from the heap, and the heap keeps this much free memory.
KEEP_BYTES = 1 << 30


def keep_freed_memory(limit: int = KEEP_BYTES) -> bool:
    """Keep freed blocks of up to ``limit`` bytes in the process (glibc only).

    Returns whether the allocator took the setting: ``False`` on other platforms and C
    libraries, where nothing changes.
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, limit)) and bool(mallopt(_M_TRIM_THRESHOLD, limit))
