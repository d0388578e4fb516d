"""Simulated cache misses and simulated cycles: the memory lines no neighbour can move.

The wall times of bench_memory share the last-level cache with the host's other tenants, and
hardware counters are not available here (`perf stat` prints `<not supported>`).  valgrind
simulates the caches instead, and counts every read, write and miss exactly: the same commit
gives the same counts on every run and every machine.

The simulated machine (fixed, whatever the host has; GEOMETRY below):

- I1 32 KiB, 8-way, 64-byte lines; D1 48 KiB, 12-way, 64-byte lines (this machine's L1i and
  L1d per core, Zen 5);
- LL 1 MiB, 16-way, 64-byte lines: this machine's per-core L2 stands in for the last level.
  valgrind simulates two levels only (first and last), and the real 32 MiB L3 would need
  128 MiB buffers to be exceeded: minutes a commit under valgrind instead of seconds.
- Replacement is LRU, there is no prefetcher and write misses allocate: a sequential read
  past a level misses once per 64-byte line, exactly.

The simulator is cachegrind's, run inside callgrind (``--cache-sim=yes``): valgrind 3.19's
cachegrind cannot split one process's counts, callgrind can (``--dump-before``), with the same
simulator and the same events (Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw).

How one count is taken (as bench_instructions does): one valgrind process per class and
commit builds each case's buffers, runs one warm-up pass, then K1 and K2 passes in one kernel
call each, and callgrind writes out its counters before each ``os.getppid()`` marker.
Misses per element = (part(K2) - part(K1)) / ((K2 - K1) x elements per pass): start-up,
buffer building, the warm-up, the call and its argument checks are all in other parts or
cancel, and what is left is the steady state of a pass that finds the buffer where the last
pass left it.

Simulated cycles, the deterministic stand-in for time: instructions + 10 per first-level
miss (I1 or D1) + 100 per last-level miss (an LL miss is also a first-level miss, so it costs
110 in all).  These are the weights of callgrind's and KCachegrind's cycle estimate (CEst);
CodSpeed's "CPU simulation" turns instructions, cache misses and memory accesses into cycles
the same way (its published description gives no weights).  Per call for the fib variants
(their own process, FibCycles) and per element or access for the memory kernels.

valgrind is installed by benchmarks/env.sh; where it is missing every benchmark here is
skipped (NotImplementedError), never failed.
"""

import os
import pathlib
import re
import subprocess
import sys
import tempfile

from .common import optional, require_counted, valgrind

VARIANTS = optional("fibext", "VARIANTS", {})
#: (bytes, ways, line bytes) of the simulated caches.  Never change: every line's history
#: holds counts of this machine.
GEOMETRY = {"I1": (32 << 10, 8, 64), "D1": (48 << 10, 12, 64), "LL": (1 << 20, 16, 64)}
LINE = 64
#: Simulated cycles = Ir + PENALTY["D1"] x first-level misses + PENALTY["LL"] x LL misses.
PENALTY = {"D1": 10, "LL": 100}

# Append only: each value is a line in the history.
#: Working sets (bytes per buffer): inside D1 (16 KiB, a third of it), between D1 and LL
#: (192 KiB, 4x D1), beyond LL (4 MiB, 4x LL).  copy and the random read use two buffers of
#: this size (random: the data and an int64 index).
SIZES = [16 << 10, 192 << 10, 4 << 20]
IMPLS = ["cython", "c"]
#: The cases of every memory pattern of fibext.memory, the strided read at three strides (in
#: float64 elements: one per line, one per 8 lines, one per 4 KiB page).  Append only; a
#: pattern this commit's fibext lacks is skipped.
CASES = ["sequential", "strided8", "strided64", "strided512", "random", "chase", "fill",
         "copy"]
#: A pass covers this many elements at least (small buffers get several passes a call), so
#: that the few events the interpreter adds between two calls weigh < 1e-3 per element.
MIN_ELEMENTS = 1 << 16
#: Calls per case: warm-up, K1, K2, each of passes(case) passes.
MEMORY_LOOPS = (1, 1, 3)
#: Calls per fib loop: warm-up, K1, K2 (the counts are exact, cycles per call ~ Ir).
FIB_LOOPS = (20, 100, 300)
NS = [0, 90]
#: Decimals the track_ lines keep.  A pass's own events are exact; what is left below a
#: thousandth of a miss per element is the interpreter's few events between two calls, and a
#: line that moved from 0.00001 to 0.00002 would be a 100% step to asv.
DECIMALS = {"misses": 3, "cycles": 2}
#: Seconds one valgrind process may take.
TIMEOUT = 600

EVENTS = ("Ir", "Dr", "Dw", "I1mr", "D1mr", "D1mw", "ILmr", "DLmr", "DLmw")
_EVENTS_LINE = re.compile(rb"^events:\s*(.+)$", re.M)
_TOTALS = re.compile(rb"^(?:totals|summary):\s*([\d ]+)$", re.M)

# The script run under valgrind.  {setup} defines CASES, a list of zero-argument factories;
# each returns run(k), which runs k passes (or k calls).  Each case ends three parts: its
# build and warm-up (plus whatever came before), K1, K2.
_SCRIPT = """\
import os
mark = os.getppid
{setup}
for make in CASES:
    run = make()
    run({warm})
    mark()
    run({k1})
    mark()
    run({k2})
    mark()
"""


def _cache_option(level):
    size, ways, line = GEOMETRY[level]
    return f"--{level}={size},{ways},{line}"


def simulate(setup, n_cases, loops, python=None, timeout=TIMEOUT):
    """Per-case event deltas: [{event: part(K2) - part(K1)}], in the order of CASES.

    setup: Python source defining CASES (n_cases factories, see _SCRIPT); loops: (warm-up,
    K1, K2).  One valgrind process runs them all.  RuntimeError when valgrind fails or does
    not write one part per loop.
    """
    warm, k1, k2 = loops
    exe = valgrind()
    if exe is None:
        raise RuntimeError("valgrind is not installed (benchmarks/env.sh installs it)")
    python = python or sys.executable
    script = _SCRIPT.format(setup=setup, warm=warm, k1=k1, k2=k2)
    # A fixed, minimal environment (the counts must not depend on the caller's); one BLAS
    # thread, since valgrind runs threads one at a time and numpy's pool only costs start-up.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    safe_path = ["-P"] if sys.version_info >= (3, 11) else []
    with tempfile.TemporaryDirectory(prefix="fibext-cachesim-") as tmp:
        out = pathlib.Path(tmp) / "callgrind.out"
        command = [exe, "--tool=callgrind", "--quiet", f"--callgrind-out-file={out}",
                   "--cache-sim=yes", *(_cache_option(level) for level in GEOMETRY),
                   "--dump-before=getppid", "--dump-instr=no", "--compress-strings=no",
                   python, *safe_path, "-c", script]
        done = subprocess.run(command, cwd="/", env=env, capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"valgrind failed (exit {done.returncode}): {done.stderr[-2000:]}")
        parts = sorted(pathlib.Path(tmp).glob("callgrind.out.*"),
                       key=lambda p: int(p.suffix[1:]))
        totals = [_part_events(part) for part in parts]
    if len(totals) != 3 * n_cases:
        raise RuntimeError(f"callgrind wrote {len(totals)} parts, expected {3 * n_cases} "
                           "(one per loop; is getppid the marker this libc calls?)")
    return [{e: totals[3 * i + 2][e] - totals[3 * i + 1][e] for e in EVENTS}
            for i in range(n_cases)]


def _part_events(path):
    text = path.read_bytes()
    names, values = _EVENTS_LINE.search(text), _TOTALS.search(text)
    if names is None or values is None:
        raise RuntimeError(f"no events or totals line in {path.name}")
    names = names.group(1).decode().split()
    missing = [e for e in EVENTS if e not in names]
    if missing:
        raise RuntimeError(f"{path.name} lacks {missing}: was the cache simulation on?")
    # callgrind leaves out trailing zero counts
    values = [int(v) for v in values.group(1).split()]
    return dict(zip(names, values + [0] * (len(names) - len(values))))


def summarise(delta, per):
    """{metric: value per element/call} from one case's event delta over ``per`` units.

    d1: first-level data misses (reads and writes); ll: last-level data misses; i1/il: the
    instruction misses; cycles: the simulated cycles (PENALTY, instruction misses included).
    """
    d1 = delta["D1mr"] + delta["D1mw"]
    ll = delta["DLmr"] + delta["DLmw"]
    first = d1 + delta["I1mr"]
    last = ll + delta["ILmr"]
    cycles = delta["Ir"] + PENALTY["D1"] * first + PENALTY["LL"] * last
    return {"d1": d1 / per, "ll": ll / per, "i1": delta["I1mr"] / per,
            "il": delta["ILmr"] / per, "ir": delta["Ir"] / per,
            "accesses": (delta["Dr"] + delta["Dw"]) / per, "cycles": cycles / per}


def published(value, unit):
    """A simulated figure as the history publishes it: rounded to its unit's DECIMALS, and
    never below zero.  Where a kernel misses nothing, the difference of two runs' events (the
    interpreter's own around the loop) can dip a hair below zero; no count per element is
    negative, and asv compare marks two equal negative values as a change."""
    return max(0.0, round(value, DECIMALS[unit]))


def split(case):
    """'strided64' -> ('strided', 64); 'random' -> ('random', None)."""
    if case.startswith("strided"):
        return "strided", int(case[len("strided"):])
    return case, None


def per_pass(case, size):
    """Elements (or accesses) one pass of a memory case covers."""
    pattern, stride = split(case)
    if pattern == "chase":
        return size // LINE
    if pattern == "strided":
        n = size // 8
        return -(-n // min(stride, n))
    return size // 8


def passes(case, size):
    """Passes per call: enough for MIN_ELEMENTS."""
    return max(1, -(-MIN_ELEMENTS // per_pass(case, size)))


def memory_counts(keys=None, loops=MEMORY_LOOPS, python=None):
    """{(impl, case, size): summarise() per element read or written (per access for random,
    chase and strided)} from one valgrind process.  keys: (impl, case, size) triples, by
    default every one of MemoryCache."""
    keys = [(i, c, s) for i in IMPLS for c in CASES for s in SIZES] if keys is None else keys
    spec = [(impl, *split(case), size, passes(case, size)) for impl, case, size in keys]
    setup = (
        "from fibext import memory\n"
        "def case(impl, pattern, stride, size, passes):\n"
        "    def make():\n"
        "        w = memory.prepare(pattern, impl, size, stride=stride or 1)\n"
        "        # a chase pass is one walk around the cycle: a rep (one load) per node\n"
        "        reps = passes * (size // memory.LINE if pattern == 'chase' else 1)\n"
        "        return lambda k: w.run(k * reps)\n"
        "    return make\n"
        f"CASES = [case(*c) for c in {spec!r}]"
    )
    deltas = simulate(setup, len(keys), loops, python=python)
    k = loops[2] - loops[1]
    return {key: summarise(delta, k * passes(key[1], key[2]) * per_pass(key[1], key[2]))
            for key, delta in zip(keys, deltas)}


def fib_counts(variants=None, ns=NS, loops=FIB_LOOPS, python=None):
    """{(variant, n): summarise() per fib(n) call from a Python loop}."""
    names = list(variants or VARIANTS)
    cases = [(name, n) for name in names for n in ns]
    setup = (
        "from itertools import repeat\n"
        "from fibext import VARIANTS\n"
        "def case(name, n):\n"
        "    f = VARIANTS[name]\n"
        "    def run(k):\n"
        "        for _ in repeat(None, k):\n"
        "            f(n)\n"
        "    return lambda: run\n"
        f"CASES = [case(*c) for c in {cases!r}]"
    )
    deltas = simulate(setup, len(cases), loops, python=python)
    k = loops[2] - loops[1]
    return {case: summarise(delta, k) for case, delta in zip(cases, deltas)}


class MemoryCache:
    """Simulated misses per element (per access: random, chase, strided) of every compiled
    memory kernel, D1 and LL, and simulated cycles per element, at working sets inside D1,
    between D1 and LL and beyond LL (GEOMETRY in the module docstring)."""

    params = [IMPLS, CASES, SIZES]
    param_names = ["impl", "pattern", "size"]
    timeout = TIMEOUT
    version = "memory-cache-1"  # pinned: editing this file keeps the history

    def setup_cache(self):
        # One valgrind process for every case (interpreter and numpy start-up under valgrind
        # take ~7 s); a machine without valgrind or fibext.memory gets {}, and setup() skips.
        patterns = optional("fibext.memory", "PATTERNS", ())
        if valgrind() is None or not patterns:
            return {}
        return memory_counts([(i, c, s) for i in IMPLS for c in CASES for s in SIZES
                              if split(c)[0] in patterns])

    setup_cache.timeout = TIMEOUT

    def setup(self, counts, impl, pattern, size):
        require_counted(counts, (impl, pattern, size), f"the {impl} {pattern} kernel")

    def track_d1_misses(self, counts, impl, pattern, size):
        return published(counts[(impl, pattern, size)]["d1"], "misses")

    track_d1_misses.unit = "misses"

    def track_ll_misses(self, counts, impl, pattern, size):
        return published(counts[(impl, pattern, size)]["ll"], "misses")

    track_ll_misses.unit = "misses"

    def track_cycles(self, counts, impl, pattern, size):
        return published(counts[(impl, pattern, size)]["cycles"], "cycles")

    track_cycles.unit = "cycles"


class FibCycles:
    """Simulated cycles per fib(n) call from Python, for each variant: instructions plus the
    stated miss penalties (GEOMETRY and PENALTY in the module docstring)."""

    params = [list(VARIANTS) or ["python"], NS]
    param_names = ["variant", "n"]
    unit = "cycles"
    timeout = TIMEOUT
    version = "fib-cycles-1"

    def setup_cache(self):
        if valgrind() is None or not VARIANTS:
            return {}
        return fib_counts()

    setup_cache.timeout = TIMEOUT

    def setup(self, counts, variant, n):
        require_counted(counts, (variant, n), f"variant {variant!r}")

    def track_cycles(self, counts, variant, n):
        return published(counts[(variant, n)]["cycles"], "cycles")
