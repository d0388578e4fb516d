"""Exact instruction counts per call (valgrind callgrind): the history's noise-free lines.

Wall-clock time on a shared 2-core VM moves by several per cent between identical commits;
the number of instructions a call executes does not move at all.  Hardware counters are not
available here (`perf stat -e instructions` prints `<not supported>`), so valgrind's
callgrind counts them, in software and exactly: the same commit gives the same count on
every run, and a change of a few instructions (well under 1%) is a visible step.

How one count is taken: a single callgrind process per class and commit (interpreter
start-up under callgrind costs 2-3 s, numpy's import 8 s, so one process per measurement
would cost minutes a commit) runs, for every case, a warm-up loop and then two loops of K1
and K2 calls, and callgrind writes out its counters before each ``os.getppid()`` call of the
script (``--dump-before=getppid``: the counters are zeroed at each dump, so each part holds
one loop).  Instructions per call = (part(K2) - part(K1)) / (K2 - K1): start-up, imports and
the warm-up are in other parts, and what the two loops share (the marker, the loop's own
set-up) cancels in the difference.

What makes it repeatable: PYTHONHASHSEED=0, a fixed and minimal environment, cwd "/", the
script given with -c (no path of its own) and -P (no cwd on sys.path).  The count still
belongs to one interpreter binary and one environment path: compare commits measured in the
same asv environment (as the history and the gate do), not across machines.

valgrind is installed by benchmarks/env.sh; where it is missing every benchmark here is
skipped (NotImplementedError), never failed.
"""

import os
import pathlib
import re
import subprocess
import sys
import tempfile

from .common import NS_ENDS, optional, require_counted, safe_import, valgrind

VARIANTS = optional("fibext", "VARIANTS", {})
memory = None
with safe_import():
    from fibext import memory

# Append only: each value is a line in the history.
NS = NS_ENDS
#: Calls per loop: the count is (part(K2) - part(K1)) / (K2 - K1).  Compiled fib calls are
#: 400-1800 instructions, pure Python up to 26 000; callgrind runs ~50x slower than native.
FIB_LOOPS = (100, 1000, 2000)          # warm-up, K1, K2
#: A memory kernel call is a whole pass over the buffer (2048 float64 elements).
MEMORY_LOOPS = (5, 10, 30)
#: Bytes per buffer: a working set well inside L1 (32-48 KiB per core; copy and the random
#: read use two buffers).  The count does not depend on the cache; the size fixes the work.
MEMORY_SIZE = 16 * 1024
MEMORY_IMPLS = ["cython", "c"]
MEMORY_PATTERNS = list(memory.PATTERNS) if memory is not None else [
    "sequential", "strided", "random", "chase", "fill", "copy"]
#: Seconds one callgrind process may take (its start-up alone is 2-10 s).
TIMEOUT = 600

_TOTALS = re.compile(rb"^(?:totals|summary):\s*(\d+)", re.M)

# The script run under callgrind.  {setup} defines CASES, a list of (callable, args); each
# case ends three parts: warm-up (plus whatever came before), K1 calls, K2 calls.  The loop
# is timeit's (itertools.repeat): a range() would allocate an int per call past 256.
_SCRIPT = """\
import os
from itertools import repeat
mark = os.getppid
{setup}
def loop(f, args, k):
    for _ in repeat(None, k):
        f(*args)
for f, args in CASES:
    loop(f, args, {warm})
    mark()
    loop(f, args, {k1})
    mark()
    loop(f, args, {k2})
    mark()
"""


def callgrind_counts(setup, n_cases, loops, python=None, timeout=TIMEOUT):
    """Instructions per call of each case, in the order of the script's CASES.

    setup: Python source that defines CASES = [(callable, args), ...] (n_cases of them).
    loops: (warm-up, K1, K2) calls.  Raises RuntimeError when callgrind fails or does not
    write one part per loop (the marker was not seen).
    """
    warm, k1, k2 = loops
    exe = valgrind()
    if exe is None:
        raise RuntimeError("valgrind is not installed (benchmarks/env.sh installs it)")
    python = python or sys.executable
    script = _SCRIPT.format(setup=setup, warm=warm, k1=k1, k2=k2)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    safe_path = ["-P"] if sys.version_info >= (3, 11) else []
    with tempfile.TemporaryDirectory(prefix="fibext-callgrind-") as tmp:
        out = pathlib.Path(tmp) / "callgrind.out"
        command = [exe, "--tool=callgrind", "--quiet", f"--callgrind-out-file={out}",
                   "--dump-before=getppid", "--dump-instr=no", "--compress-strings=no",
                   python, *safe_path, "-c", script]
        done = subprocess.run(command, cwd="/", env=env, capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"callgrind failed (exit {done.returncode}): {done.stderr[-2000:]}")
        # callgrind names the parts out.1, out.2, ... (and the rest after the last mark: out)
        parts = sorted(pathlib.Path(tmp).glob("callgrind.out.*"),
                       key=lambda p: int(p.suffix[1:]))
        totals = []
        for part in parts:
            match = _TOTALS.search(part.read_bytes())
            if match is None:
                raise RuntimeError(f"no totals line in {part.name}")
            totals.append(int(match.group(1)))
    if len(totals) != 3 * n_cases:
        raise RuntimeError(f"callgrind wrote {len(totals)} parts, expected {3 * n_cases} "
                           "(one per loop; is getppid the marker this libc calls?)")
    return [(totals[3 * i + 2] - totals[3 * i + 1]) / (k2 - k1) for i in range(n_cases)]


def fib_counts(variants=None, ns=NS, python=None):
    """{(variant, n): instructions per fib(n) call from a Python loop}."""
    names = [v for v in (variants or VARIANTS)]
    cases = [(name, n) for name in names for n in ns]
    setup = ("from fibext import VARIANTS\n"
             f"CASES = [(VARIANTS[name], (n,)) for name, n in {cases!r}]")
    counts = callgrind_counts(setup, len(cases), FIB_LOOPS, python=python)
    return dict(zip(cases, counts))


def memory_counts(impls=MEMORY_IMPLS, patterns=MEMORY_PATTERNS, size=MEMORY_SIZE, python=None):
    """{(impl, pattern): instructions per kernel call: one pass over an L1-sized buffer
    (the pointer chase: one walk around the whole cycle, a load per node)}."""
    cases = [(impl, pattern) for impl in impls for pattern in patterns]
    setup = (
        "from fibext import memory\n"
        "def case(impl, pattern):\n"
        f"    w = memory.prepare(pattern, impl, {size})\n"
        "    if pattern == 'chase':\n"
        "        nodes, start = w.args\n"
        "        return w.kernel, (nodes, start, len(nodes) // memory.NODE_STRIDE)\n"
        "    return w.kernel, (*w.args, 1)\n"
        f"CASES = [case(impl, pattern) for impl, pattern in {cases!r}]"
    )
    counts = callgrind_counts(setup, len(cases), MEMORY_LOOPS, python=python)
    return dict(zip(cases, counts))


class FibInstructions:
    """Instructions per fib(n) call from Python, for each variant (callgrind, exact)."""

    params = [list(VARIANTS) or ["python"], NS]
    param_names = ["variant", "n"]
    unit = "instructions"
    timeout = TIMEOUT
    version = "fib-instructions-1"  # pinned: editing this file keeps the history

    def setup_cache(self):
        # One callgrind process measures every combination (see the module docstring); a
        # machine without valgrind gets an empty dict, and setup() skips.
        if valgrind() is None or not VARIANTS:
            return {}
        return fib_counts()

    setup_cache.timeout = TIMEOUT

    def setup(self, counts, variant, n):
        require_counted(counts, (variant, n), f"variant {variant!r}")

    def track_instructions(self, counts, variant, n):
        return counts[(variant, n)]


class MemoryInstructions:
    """Instructions per call of a compiled memory kernel over a 16 KiB buffer (inside L1)."""

    params = [MEMORY_IMPLS, MEMORY_PATTERNS]
    param_names = ["impl", "pattern"]
    unit = "instructions"
    timeout = TIMEOUT
    version = "memory-instructions-1"

    def setup_cache(self):
        if valgrind() is None or memory is None or optional("fibext.memory", "prepare", None) is None:
            return {}
        return memory_counts()

    setup_cache.timeout = TIMEOUT

    def setup(self, counts, impl, pattern):
        require_counted(counts, (impl, pattern), f"the {impl} {pattern} kernel")

    def track_instructions(self, counts, impl, pattern):
        return counts[(impl, pattern)]
