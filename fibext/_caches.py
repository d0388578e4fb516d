"""Cache sizes as the operating system reports them (pure Python: no numpy, nothing compiled).

fibext.memory sizes its working sets from them; the report marks them on its figures.
"""

import os

_SYSFS_CACHE = "/sys/devices/system/cpu/cpu0/cache"

#: The last level taken where the operating system reports no cache (documented so a plot made
#: on such a machine can say so): a typical server's.
DEFAULT_LLC = 32 << 20
#: The largest last level taken as this machine's (last_level): a guest may report its host's
#: whole L3 (hundreds of MiB) while its own share is a small part of it, and four times the
#: whole would take one random read's set-up to half a minute and a run of the suite past the
#: time it is given (docs/memory.md).
MAX_LLC = 64 << 20


def _parse_size(text):
    """'32K' / '32768K' / '1M' / '524288' (sysfs) -> bytes."""
    text = text.strip()
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if text and text[-1].upper() in units:
        return int(text[:-1]) * units[text[-1].upper()]
    return int(text)


def _sysfs_cache_sizes(root=_SYSFS_CACHE):
    sizes = {}
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        return sizes
    for entry in entries:
        if not entry.startswith("index"):
            continue
        path = os.path.join(root, entry)
        try:
            with open(os.path.join(path, "type")) as f:
                kind = f.read().strip()
            with open(os.path.join(path, "level")) as f:
                level = int(f.read())
            with open(os.path.join(path, "size")) as f:
                size = _parse_size(f.read())
        except (OSError, ValueError):
            continue
        if kind in ("Data", "Unified") and size > 0:
            sizes[level] = size
    return sizes


def _sysconf_cache_sizes():
    sizes = {}
    for level, name in ((1, "SC_LEVEL1_DCACHE_SIZE"), (2, "SC_LEVEL2_CACHE_SIZE"),
                        (3, "SC_LEVEL3_CACHE_SIZE"), (4, "SC_LEVEL4_CACHE_SIZE")):
        try:
            size = os.sysconf(name)
        except (ValueError, OSError):
            continue
        if size and size > 0:
            sizes[level] = size
    return sizes


def cache_sizes():
    """Data (or unified) cache size in bytes per level, as seen by one core: {1: ..., 2: ...}.

    Read from /sys/devices/system/cpu/cpu0/cache (Linux), else from os.sysconf (glibc), else
    {}.  sysfs comes first: in a KVM guest glibc's figure for L3 can be the whole host
    socket's (256 MiB where sysfs, like lscpu, says 32 MiB).
    """
    return _sysfs_cache_sizes() or _sysconf_cache_sizes()


def last_level(caches):
    """The last-level cache in bytes as fibext takes it, for the working-set sizes, the memory
    sampler and the report alike: the largest of ``caches`` ({level: bytes}; DEFAULT_LLC
    where there is none), at most MAX_LLC."""
    return min(max(caches.values()) if caches else DEFAULT_LLC, MAX_LLC)
