"""The buffers of fibext.memory: sizes checked, memory allocated, touched and shuffled.

Nothing here is timed.  A size is checked (type, whole cache lines, the memory available)
before anything is allocated; every buffer is cache-line aligned and written once, so that
no page fault lands inside a timed loop; every random draw is seeded.
"""

import operator
import os
import sys

import numpy as np

from fibext import _memory

#: Bytes in a cache line; one pointer-chase node fills one.
LINE = 64
#: int64 slots in one chase node.
NODE_STRIDE = _memory.NODE_STRIDE
#: Every random draw (shuffles, Sattolo) is seeded: a rerun measures the same layout.
SEED = 20260415
#: Draws per call of the compiled shuffle: the same stream of numbers as one call, without an
#: n-sized array of floats (new memory costs page faults, which cost more than the shuffle).
_SWAP_CHUNK = 1 << 20


def available_memory():
    """Bytes the kernel says can be allocated without swapping (MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None


def _describe(value):
    # An int of thousands of digits is named by its size, not printed.
    return str(value) if value.bit_length() <= 128 else f"an int of {value.bit_length()} bits"


def check_bytes(size, footprint=1.0, what="this buffer"):
    """Return size as an int, or raise before anything is allocated.

    TypeError for a non-integer (or a bool); ValueError for a size that is not a positive whole
    number of 64-byte cache lines; OverflowError beyond sys.maxsize (no buffer can be larger);
    MemoryError when ``footprint`` x size bytes would not fit in the memory available now.
    Every message names the size.
    """
    if isinstance(size, bool) or not hasattr(type(size), "__index__"):
        raise TypeError(f"size must be an int number of bytes, not {type(size).__name__} "
                        f"({size!r})")
    size = operator.index(size)
    if size <= 0:
        raise ValueError(f"size must be a positive number of bytes, got {_describe(size)}")
    if size % LINE:
        raise ValueError(f"size must be a whole number of {LINE}-byte cache lines, "
                         f"got {_describe(size)}")
    if size > sys.maxsize:
        raise OverflowError(f"size must be at most {sys.maxsize} bytes, got {_describe(size)}")
    need = int(size * footprint)  # size <= sys.maxsize: a float, no overflow
    available = available_memory()
    if available is not None and need > available:
        raise MemoryError(f"size = {size} bytes needs about {need} bytes for {what}, "
                          f"more than the {available} bytes available")
    return size


def aligned_empty(n, dtype, align=LINE):
    """An uninitialised 1-d array of n elements whose first byte is align-aligned.

    Cache-line alignment makes "one access per line" exact: a stride of 8 float64 touches
    every line once, and each chase node owns a line.
    """
    dtype = np.dtype(dtype)
    raw = np.empty(n * dtype.itemsize + align, dtype=np.uint8)
    offset = (-raw.ctypes.data) % align
    return raw[offset:offset + n * dtype.itemsize].view(dtype)


def data(n, dtype="float64"):
    """n elements of small integers (i % 1024) as dtype, written now.

    Writing every element maps every page (np.empty's pages are not mapped until touched, and
    a first touch inside a timed loop would time the page fault).  Integer values keep float
    sums exact, so every implementation's sum must agree exactly.
    """
    out = aligned_empty(n, dtype)
    period = np.arange(1024, dtype=dtype)
    whole = n - n % 1024
    # One broadcast write: no n-sized temporary.
    out[:whole].reshape(-1, 1024)[:] = period
    out[whole:] = period[:n - whole]
    return out


def shuffled(n, rng=None):
    """A uniformly random permutation of range(n) (Fisher-Yates) as an int64 array.

    numpy draws the random numbers (seeded: SEED unless rng is given) and the compiled loop
    swaps, which is much faster than rng.permutation at tens of millions of elements.
    """
    return _shuffle(n, rng, cyclic=False)


def sattolo(n, rng=None):
    """A random cyclic permutation of range(n) by Sattolo's algorithm, as an int64 array p:
    i -> p[i] visits all n items before it returns to i (drawn uniformly among such cycles).
    """
    return _shuffle(n, rng, cyclic=True)


def _shuffle(n, rng, cyclic):
    n = operator.index(n)
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng(SEED) if rng is None else rng
    perm = np.arange(n, dtype=np.int64)
    for first in range(0, n - 1, _SWAP_CHUNK):
        _memory.apply_swaps(perm, rng.random(min(_SWAP_CHUNK, n - 1 - first)), cyclic, first)
    return perm


def swaps_py(n, u, cyclic=False):
    """apply_swaps in pure Python: the reference the tests hold the compiled loop to."""
    perm = list(range(n))
    for k, x in enumerate(u):
        i = n - 1 - k
        count = i if cyclic else i + 1
        j = min(int(x * count), count - 1)
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def chase_nodes(n_nodes, rng=None):
    """The pointer-chase buffer: n_nodes nodes of NODE_STRIDE int64 slots (one 64-byte line
    each); node i's first slot holds the slot index of its successor in a Sattolo cycle, so
    ``p = nodes[p]`` from slot 0 visits every node once per n_nodes steps.  Read-only."""
    perm = sattolo(n_nodes, rng)
    nodes = aligned_empty(n_nodes * NODE_STRIDE, np.int64)
    nodes[:] = 0  # the padding: also maps every page
    nodes[::NODE_STRIDE] = perm * NODE_STRIDE
    nodes.flags.writeable = False
    return nodes
