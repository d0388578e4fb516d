"""fibext.units: every memory unit of this machine, as the book lists them, in one table.

The caches and RAM are measured with fibext.memory's kernels (the sequential sum, the gather
through a shuffled index, the pointer chase) at a working set inside each level; the storage
row comes from fibext.storage.  The table's rows and format are fibext.storage's :class:`Row`
and ``format_table``.

``python -m fibext.units [--dir DIR] [--size MiB]`` (or ``python -m fibext.memory --units``)
prints the table.
"""

import argparse

from fibext import memory, storage
from fibext._cli import int_in
from fibext.storage import Row, StorageError, format_table


# ---------------------------------------------------------------------------------------------
# The caches and RAM, from fibext.memory's kernels


def level_sizes(caches=None):
    """[(unit, working-set bytes)]: half of each cache level where that is at least twice the
    level below (inside the level, beyond the one below), and RAM at
    fibext.memory.LLC_FACTOR x the last level (where memory.sizes() ends).
    """
    caches = memory.cache_sizes() if caches is None else caches
    out, below = [], 0
    for level in sorted(caches):
        size = caches[level] // 2
        size -= size % memory.LINE
        if size >= max(2 * below, memory.LINE):
            out.append((f"L{level}", size))
        below = caches[level]
    llc = max(caches.values()) if caches else memory.DEFAULT_LLC
    out.append(("RAM", memory.LLC_FACTOR * llc))
    return out


def measure_memory(caches=None, repeat=3, impl="c"):
    """A :class:`Row` per cache level and RAM: the sequential sum (bandwidth; ns per float64
    as its sequential latency), the gather through a shuffled index (bandwidth of the 8-byte
    elements gathered) and the pointer chase (ns per dependent load: the random latency)."""
    rows = []
    for unit, size in level_sizes(caches):
        seq = memory.measure("sequential", impl, size, repeat=repeat, target_ns=2_000_000)
        gather = memory.measure("random", impl, size, repeat=repeat, target_ns=2_000_000)
        chase = memory.measure("chase", impl, size, repeat=repeat, target_ns=5_000_000)
        rows.append(Row(unit=unit, where=f"{storage.format_bytes(size)} working set",
                        seq_bandwidth=8 / (seq * 1e-9), random_bandwidth=8 / (gather * 1e-9),
                        seq_latency=seq * 1e-9, random_latency=chase * 1e-9,
                        note=f"{impl} kernels: sum, gather, pointer chase"))
    return rows


def table(directory=".", size_mib=storage.DEFAULT_SIZE_MIB, memory_levels=True, caches=None,
          random_reads=2000):
    """Every memory unit: the rows of measure_memory() (if memory_levels) and the storage row.
    The storage is checked first, so that bad input fails before minutes of measuring."""
    storage.check_dir(directory, size_mib)
    rows = measure_memory(caches) if memory_levels else []
    rows.append(storage.measure_storage(directory, size_mib, random_reads=random_reads))
    return rows


def main(argv=None):
    """Every memory unit of this machine: the caches and RAM, and the storage under DIR."""
    parser = argparse.ArgumentParser(prog="python -m fibext.units", description=main.__doc__)
    parser.add_argument("--dir", default=".",
                        help="directory whose storage is measured (default: the current one); "
                             "a temporary file is written there and removed")
    parser.add_argument("--size", type=int_in("--size"), default=storage.DEFAULT_SIZE_MIB,
                        metavar="MiB",
                        help=f"size of the test file (default {storage.DEFAULT_SIZE_MIB})")
    parser.add_argument("--random-reads", type=int_in("--random-reads"), default=2000, metavar="N",
                        help="random 4 KiB reads (default 2000)")
    parser.add_argument("--storage-only", action="store_true",
                        help="skip the caches and RAM")
    args = parser.parse_args(argv)
    try:
        rows = table(args.dir, args.size, memory_levels=not args.storage_only,
                     random_reads=args.random_reads)
    except StorageError as exc:
        parser.error(str(exc))
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
