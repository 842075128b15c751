"""The allocator setting of the CLI: taken by glibc, harmless to repeat."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from gis._allocator import keep_freed_memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_glibc_takes_the_setting_and_memory_still_works() -> None:
    assert keep_freed_memory() is True
    assert keep_freed_memory() is True  # again: the same setting
    for _ in range(3):  # big blocks freed and allocated again come from the heap now
        block = np.ones(50_000_000 // 8)
        assert block.sum() == len(block)
        del block
