"""fibext._caches: the cache sizes the operating system reports (sysfs), parsed."""

import os

import pytest

from fibext import _caches


def test_parse_size():
    assert _caches._parse_size("32K\n") == 32768
    assert _caches._parse_size("32768K") == 32 << 20
    assert _caches._parse_size("1M") == 1 << 20
    assert _caches._parse_size("512") == 512


def test_sysfs_cache_sizes(tmp_path):
    for i, (level, kind, size) in enumerate(
            [(1, "Data", "48K"), (1, "Instruction", "32K"), (2, "Unified", "1024K"),
             (3, "Unified", "32768K")]):
        d = tmp_path / f"index{i}"
        d.mkdir()
        (d / "level").write_text(f"{level}\n")
        (d / "type").write_text(f"{kind}\n")
        (d / "size").write_text(f"{size}\n")
    assert _caches._sysfs_cache_sizes(str(tmp_path)) == {1: 48 << 10, 2: 1 << 20, 3: 32 << 20}
    assert _caches._sysfs_cache_sizes(str(tmp_path / "missing")) == {}


@pytest.mark.skipif(not os.path.isdir(_caches._SYSFS_CACHE), reason="no sysfs cache directory")
def test_cache_sizes_of_this_machine():
    caches = _caches.cache_sizes()
    assert caches, "sysfs lists caches but none was read"
    levels = sorted(caches)
    assert levels[0] == 1
    assert all(caches[a] < caches[b] for a, b in zip(levels, levels[1:]))
