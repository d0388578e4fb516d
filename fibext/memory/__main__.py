"""python -m fibext.memory [rounds] [--units [DIR]]: the memory goals measured live here.

Prints the pointer-chase latency of Cython and C at every size of sizes(1) with the plateau of
each cache level, then the sequential and random reads of Cython, C and numpy in L1 and past
the last-level cache, each as the best of interleaved rounds (fibext.memory.compare).  --units adds the book's
"memory units" table instead: L1 to RAM and the storage under DIR (fibext.units).
"""

import argparse

import numpy as np

from fibext import memory, storage, units
from fibext._cli import int_in

#: A dependent load from RAM is ~100 ns: 20 ms runs keep the count of loads near lmbench's.
CHASE_TARGET_NS = 20_000_000
READ_TARGET_NS = 5_000_000


def _chase_table(rounds, caches):
    print(f"\npointer chase, ns per access (best of {rounds} interleaved rounds)")
    chase = {}
    for size in memory.sizes(1):
        chase[size] = r = memory.compare("chase", size, ["cython", "c"], rounds,
                                         target_ns=CHASE_TARGET_NS)
        print(f"{size:>11} B  cython {r['cython']:8.2f}  c {r['c']:8.2f}  "
              f"cython/c {r['cython'] / r['c']:.3f}")
    if len(caches) < 3:
        return
    l1, l2, l3 = caches[1], caches[2], memory.last_level(caches)
    # Sizes well inside each level (half of it, and twice the level below), and RAM.
    bands = {"L1": (0, l1 // 2), "L2": (2 * l1, l2 // 2), "L3": (2 * l2, l3 // 2),
             "RAM": (memory.LLC_FACTOR * l3, 1 << 62)}
    print("plateaus: the median over the sizes inside each level")
    for level, (lo, hi) in bands.items():
        inside = [s for s in chase if lo <= s <= hi]
        if inside:
            cy = float(np.median([chase[s]["cython"] for s in inside]))
            c = float(np.median([chase[s]["c"] for s in inside]))
            print(f"  {level:3s} {inside[0]:>10} .. {inside[-1]:>10} B: cython {cy:7.2f} ns, "
                  f"c {c:7.2f} ns, cython/c {cy / c:.3f}")


def _read_tables(rounds, caches):
    llc = memory.last_level(caches)
    for pattern, options in (("sequential", {"dtype": "float64"}),
                             ("sequential", {"dtype": "int64"}), ("random", {})):
        print(f"\n{pattern} {options or ''}: ns per {memory.PER[pattern]}")
        for size in (16 << 10, memory.LLC_FACTOR * llc, 2 * memory.LLC_FACTOR * llc):
            r = memory.compare(pattern, size, ["cython", "c", "numpy"], rounds,
                               target_ns=READ_TARGET_NS, **options)
            print(f"{size:>11} B  cython {r['cython']:.4f}  c {r['c']:.4f}  numpy {r['numpy']:.4f}"
                  f"  | cython speed / c speed {r['c'] / r['cython']:.3f}"
                  f"  numpy time / cython time {r['numpy'] / r['cython']:.3f}")


def main(argv=None):
    """Measure the memory kernels on this machine: Cython against C, numpy against Cython."""
    parser = argparse.ArgumentParser(prog="python -m fibext.memory", description=main.__doc__)
    parser.add_argument("rounds", nargs="?", type=int_in("rounds"), default=5,
                        help="interleaved rounds per figure, the best kept (default 5)")
    parser.add_argument("--units", metavar="DIR", nargs="?", const=".",
                        help="print every memory unit instead: caches, RAM and the storage "
                             "under DIR (default: here), sequential and random")
    parser.add_argument("--units-size", type=int_in("--units-size"), default=256, metavar="MiB",
                        help="the file --units reads (default 256 MiB; it is removed after)")
    args = parser.parse_args(argv)
    if args.units is not None:
        try:
            print(storage.format_table(units.table(args.units, args.units_size)))
        except storage.StorageError as error:
            parser.error(str(error))
        return 0
    caches = memory.cache_sizes()
    print("caches:", {f"L{k}": v for k, v in caches.items()})
    _chase_table(args.rounds, caches)
    _read_tables(args.rounds, caches)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
