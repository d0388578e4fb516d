"""fibext.units: every memory unit of this machine, as the book lists them, in one table.

The caches and RAM are measured with fibext.memory's kernels (the sequential sum, the gather
through a shuffled index, the pointer chase) at a working set inside each level; the storage
row comes from fibext.storage, and the network row below it (where the book lists the
network) from fibext.network: loopback TCP, so a floor under any real network.  The table's
rows and format are fibext.storage's :class:`Row` and ``format_table``.

``python -m fibext.units [--dir DIR] [--size MiB] [--no-network]`` (or ``python -m
fibext.memory --units``) prints the table.
"""

import argparse

from fibext import memory, network, storage
from fibext._cli import int_in
from fibext.network import NetworkError
from fibext.storage import Row, StorageError, format_table

# ---------------------------------------------------------------------------------------------
# The caches and RAM, from fibext.memory's kernels


def level_sizes(caches=None):
    """[(unit, working-set bytes)]: half of each cache level where that is at least twice the
    level below (inside the level, beyond the one below), and RAM at
    fibext.memory.LLC_FACTOR x the last level (where memory.sizes() ends).  The last level is
    memory.last_level()'s, at most MAX_LLC: a guest's share of the host's L3 it reports.
    """
    caches = memory.cache_sizes() if caches is None else caches
    llc = memory.last_level(caches)
    out, below = [], 0
    for level in sorted(caches):
        size = min(caches[level], llc) // 2
        size -= size % memory.LINE
        if size >= max(2 * below, memory.LINE):
            out.append((f"L{level}", size))
        below = caches[level]
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
          random_reads=2000, network_row=True, pings=network.DEFAULT_PINGS,
          transfer_mib=network.DEFAULT_TRANSFER_MIB):
    """Every memory unit: the rows of measure_memory() (if memory_levels), the storage row and
    the loopback network row (if network_row; where the loopback cannot be measured, the row
    is empty and its note says why).  The storage is checked first, so that bad input fails
    before minutes of measuring."""
    storage.check_dir(directory, size_mib)
    rows = measure_memory(caches) if memory_levels else []
    rows.append(storage.measure_storage(directory, size_mib, random_reads=random_reads))
    if network_row:
        try:
            rows.append(network.measure_loopback(pings, transfer_mib))
        except NetworkError as exc:  # the other rows took minutes: keep them, say why not
            rows.append(Row(unit="network", where=f"loopback TCP, {network.LOOPBACK}",
                            seq_bandwidth=None, random_bandwidth=None, seq_latency=None,
                            random_latency=None, note=f"not measured: {exc}"))
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
    parser.add_argument("--no-network", action="store_true",
                        help="skip the network row (loopback TCP on 127.0.0.1)")
    parser.add_argument("--pings", type=int_in("--pings", 1, network.MAX_PINGS),
                        default=network.DEFAULT_PINGS, metavar="N",
                        help=f"network: round trips timed (default {network.DEFAULT_PINGS})")
    parser.add_argument("--transfer", type=int_in("--transfer", 1, network.MAX_TRANSFER_MIB),
                        default=network.DEFAULT_TRANSFER_MIB, metavar="MiB",
                        help=f"network: MiB streamed (default {network.DEFAULT_TRANSFER_MIB})")
    args = parser.parse_args(argv)
    try:
        rows = table(args.dir, args.size, memory_levels=not args.storage_only,
                     random_reads=args.random_reads, network_row=not args.no_network,
                     pings=args.pings, transfer_mib=args.transfer)
    except StorageError as exc:
        parser.error(str(exc))
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
