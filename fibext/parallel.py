"""The GIL, threads and processes, measured: one CPU-bound batch run every way.

A *batch* is a fixed number of fib(n) calls (n = 90 by default) whose result is a checksum,
the sum modulo 2**64 of the bit patterns of the values (see fibext._parallel).  The batch is
split in near-equal shares among the workers (strong scaling), so with perfect scaling the
time per batch falls as 1/workers until the workers outnumber the cores.  The kinds:

======================  ==========================================================
kind                    who runs the shares
======================  ==========================================================
python_threads          threads, pure-Python fib: the GIL lets one run at a time
cython_gil_threads      threads, compiled loop that keeps the GIL: no better
cython_nogil_threads    threads, compiled loop inside ``with nogil``: scales
python_processes        processes (spawn), pure-Python fib: one GIL each, scales
cython_prange           one call, compiled loop split by OpenMP ``prange``: scales,
                        if the build got OpenMP (OPENMP); otherwise it runs serially
======================  ==========================================================

A share stops early, between chunks of about a millisecond, when another share failed or
the caller was interrupted, so an exception or Ctrl-C never waits for a long batch.

    >>> with Workers("cython_nogil_threads", 2) as workers:
    ...     workers.run(calls=1000) == serial_batch(1000)
    True

``python -m fibext.parallel`` measures every kind x workers on this machine.

Two threads on one core: ``python -m fibext.parallel --smt`` runs a floating-point and an
integer dependency chain (fibext._smt) alone on one pinned CPU, then two of them at once on two
pinned CPUs (FP beside FP, INT beside INT, FP beside INT), and prints what the pair gained:
(time alone of the one + time alone of the other) / time of the pair.  2.0 is two whole cores;
1.0 is nothing gained, one core time-sliced.  Which CPUs the threads got, and how the guest
says they are related (thread_siblings_list, core_id), is printed beside it: a hypervisor may
show two hardware threads of one core as two cores, so the pairing is the measurement that
tells.

    >>> measure_smt("fp+int", iterations=1000, repeat=1).pairing
    'fp+int'
"""

import argparse
import functools
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
from array import array
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass

from fibext import _cpu, _parallel, _smt
from fibext._args import index_in
from fibext._cli import int_in
from fibext._contract import index_n
from fibext._pyfib import fib

__all__ = [
    "BATCH_CALLS",
    "KINDS",
    "MAX_WORKERS",
    "N",
    "OPENMP",
    "OPENMP_VERSION",
    "SMT_PAIRINGS",
    "SMT_WIDTHS",
    "Kind",
    "PinningError",
    "SmtResult",
    "Workers",
    "effective_clock",
    "measure_smt",
    "prange_threads",
    "run_batch",
    "serial_batch",
    "smt_cpus",
    "smt_iterations",
    "worker_counts",
]

#: True when fibext._parallel was compiled with OpenMP (the compiler's _OPENMP macro), so the
#: cython_prange kind can use several threads; False in a serial fallback build.
OPENMP = _parallel.OPENMP
#: The OpenMP version compiled against (the _OPENMP date, e.g. 201511), or 0.
OPENMP_VERSION = _parallel.OPENMP_VERSION
#: prange_threads(k): how many threads a parallel region asked for k really used.
prange_threads = _parallel.prange_threads

#: The fib argument of every call in a batch.
N = 90

_MASK = 2**64 - 1
#: Pure-Python calls between stop checks: ~2.5 ms (the compiled kernels use _parallel.CHUNK).
PYTHON_CHUNK = 2_000
#: How long a failed batch waits for the other shares to notice the stop flag.
_STOP_TIMEOUT = 30.0
#: How long starting a pool may take (spawning processes is slow on a loaded machine).
_START_TIMEOUT = 120.0
#: Most workers a pool may have: twice the most worker_counts() measures.  Beyond it a typo
#: (1000 spawned interpreters) would exhaust the machine's memory or threads.
MAX_WORKERS = 4 * (os.cpu_count() or 1)


@dataclass(frozen=True)
class Kind:
    """One way to run a batch: who runs the shares, which kernel, and the batch size."""

    name: str
    runner: str  # "threads", "processes" or "prange"
    kernel: str  # a key of _KERNELS (unused by prange)
    calls: int  # calls per batch: 50-200 ms on one core here, >10 ms per share at 2 x cores
    doc: str


# Append only, and never change a batch size: each (kind, workers) is a line in the history.
# Compiled calls cost ~25 ns and pure-Python ones ~1.2 us, hence the two batch sizes.
_SPECS = (
    Kind("python_threads", "threads", "python", 50_000, "pure-Python fib in threads"),
    Kind("cython_gil_threads", "threads", "cython_gil", 2_000_000,
         "compiled fib loop holding the GIL, in threads"),
    Kind("cython_nogil_threads", "threads", "cython_nogil", 2_000_000,
         "compiled fib loop releasing the GIL (with nogil), in threads"),
    Kind("python_processes", "processes", "python", 50_000,
         "pure-Python fib in worker processes"),
    Kind("cython_prange", "prange", "", 2_000_000,
         "compiled fib loop split among OpenMP threads by prange"),
)
#: Kind name -> Kind.
KIND_SPECS = {spec.name: spec for spec in _SPECS}
#: The kinds, in the order benchmarks and reports list them.
KINDS = tuple(KIND_SPECS)
#: Kind name -> calls per batch.
BATCH_CALLS = {spec.name: spec.calls for spec in _SPECS}


def worker_counts(cpus=None):
    """Worker counts to measure: the powers of two up to cpus, cpus itself, and 2 x cpus (cpus
    defaults to os.cpu_count()).

    2 x cpus shows what oversubscription costs.  Powers of two keep a 64-CPU machine to 8
    counts (not 65) while a small one still gets every count.  os.cpu_count(), not the
    affinity mask, so the list (a benchmark parameter) is the same whether or not a run is
    pinned to fewer CPUs.
    """
    cpus = (os.cpu_count() or 1) if cpus is None else index_in(cpus, "cpus", low=0)
    if cpus < 1:
        raise ValueError(f"cpus must be at least 1, got {cpus}")
    powers = {1 << k for k in range(cpus.bit_length()) if 1 << k <= cpus}
    return sorted({*powers, cpus, 2 * cpus})


def split(calls, workers):
    """calls split into `workers` near-equal shares (the first ones one call larger)."""
    calls = index_in(calls, "calls", low=0)
    workers = index_in(workers, "workers", low=0)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    share, extra = divmod(calls, workers)
    return [share + (i < extra) for i in range(workers)]


def _python_share(calls, n, check=None):
    """Checksum of `calls` pure-Python fib(n) calls; check() between chunks may stop it."""
    index_n(n)  # validate here too, so that calls == 0 still rejects a bad n
    total = 0
    done = 0
    while done < calls:
        step = min(PYTHON_CHUNK, calls - done)
        values = array("d", [fib(n) for _ in range(step)])
        # The doubles' bits as unsigned 64-bit ints, as the compiled kernels sum them.
        total += sum(memoryview(values).cast("B").cast("Q"))
        done += step
        if check is not None:
            check()
    return total & _MASK


_KERNELS = {
    "python": _python_share,
    "cython_gil": _parallel.share_gil,
    "cython_nogil": _parallel.share_nogil,
}


def serial_batch(calls, n=N):
    """The batch's checksum computed serially in this thread: what every kind must return."""
    return _python_share(index_in(calls, "calls", low=0), n)


class _Stopped(Exception):
    """Raised inside a share told to stop (another share failed, or the caller gave up)."""


def _raise_if_set(stop):
    if stop.is_set():
        raise _Stopped


def _thread_task(kernel, calls, n, stop):
    return _KERNELS[kernel](calls, n, functools.partial(_raise_if_set, stop))


# In a worker process: the pool's stop flag and start barrier, set by _init_process.
_process_stop = None
_process_barrier = None


def _init_process(stop, barrier):
    global _process_stop, _process_barrier
    _process_stop, _process_barrier = stop, barrier
    # Ctrl-C goes to the whole process group.  The caller handles it (and stops the shares
    # through the flag); a worker killed by it would only break the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _process_task(kernel, calls, n):
    return _KERNELS[kernel](calls, n, functools.partial(_raise_if_set, _process_stop))


def _process_ready():
    # Each worker blocks here until all have arrived, so all of them started and imported.
    return _process_barrier.wait(_START_TIMEOUT)


class Workers:
    """A started pool of `workers` workers for one kind; run() times nothing, runs a batch.

    The pool starts (threads or spawned processes, all of them, each having imported fibext)
    in the constructor, so that timing run() measures the batch, not start-up.  Use it as a
    context manager, or call close().
    """

    def __init__(self, kind, workers):
        if kind not in KIND_SPECS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
        workers = index_in(workers, "workers", low=0)
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        if workers > MAX_WORKERS:
            raise ValueError(f"workers must be at most {MAX_WORKERS} (4 x os.cpu_count()), "
                             f"got {workers}")
        self.kind = KIND_SPECS[kind]
        self.workers = workers
        self._executor = None
        self._stop = None
        # Every worker waits here until all have started, so that run() times no start-up.
        self._barrier = None
        if self.kind.runner == "threads":
            self._stop = threading.Event()
            self._barrier = threading.Barrier(workers)
            self._executor = ThreadPoolExecutor(workers, thread_name_prefix=f"fibext-{kind}")
            self._start(functools.partial(self._barrier.wait, _START_TIMEOUT))
        elif self.kind.runner == "processes":
            # spawn: a fresh interpreter per worker.  fork would copy this process's threads'
            # locks in whatever state they are (unsafe once threads exist, and deprecated for
            # that reason in 3.12); spawn is also the only method on Windows and macOS's default.
            context = multiprocessing.get_context("spawn")
            self._stop = context.Event()
            self._barrier = context.Barrier(workers)
            self._executor = ProcessPoolExecutor(
                workers,
                mp_context=context,
                initializer=_init_process,
                initargs=(self._stop, self._barrier),
            )
            self._start(_process_ready)
        else:
            prange_threads(workers)  # starts the OpenMP team now, not in the first batch

    def _start(self, task):
        """Submit task once per worker (each submit may start a thread or process) and wait
        until every worker has run it; on any failure, stop the pool and raise."""
        ready = []
        try:
            for _ in range(self.workers):
                try:
                    ready.append(self._executor.submit(task))
                except (RuntimeError, OSError) as exc:  # "can't start new thread", EAGAIN...
                    raise RuntimeError(f"{self!r}: could not start worker {len(ready) + 1} of "
                                       f"{self.workers}: {exc}") from exc
            for future in ready:
                future.result(timeout=_START_TIMEOUT)
        except BaseException:
            # The workers already waiting at the barrier would wait out _START_TIMEOUT, and
            # close() with them: break it so that they return at once.
            self._barrier.abort()
            self.close()
            raise

    def __repr__(self):
        return f"Workers({self.kind.name!r}, {self.workers})"

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Stop any running shares and shut the pool down (waiting for it)."""
        if self._executor is not None:
            self._stop.set()
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def run(self, calls=None, n=N):
        """Run one batch of `calls` fib(n) calls (default: this kind's batch); its checksum.

        The calls are split in near-equal shares, one per worker.  The first exception a
        share raises is raised here, after the other shares were stopped.
        """
        calls = self.kind.calls if calls is None else index_in(calls, "calls", low=0)
        if self.kind.runner == "prange":
            return _parallel.batch_prange(calls, n, self.workers)
        return self.run_shares([(share, n) for share in split(calls, self.workers)])

    def run_shares(self, shares):
        """Run each (calls, n) of shares as one task of the pool; the total checksum.

        run() uses it with equal shares.  Any exception a share raises stops the others and
        is raised here; so is KeyboardInterrupt while waiting, after asking the shares to stop.
        """
        if self._executor is None:
            raise ValueError(f"{self!r} has no pool (prange kind, or closed)")
        self._stop.clear()
        if self.kind.runner == "threads":
            futures = [
                self._executor.submit(_thread_task, self.kind.kernel, calls, n, self._stop)
                for calls, n in shares
            ]
        else:
            futures = [
                self._executor.submit(_process_task, self.kind.kernel, calls, n)
                for calls, n in shares
            ]
        try:
            done, running = wait(futures, return_when=FIRST_EXCEPTION)
            if running:  # a share failed: stop the others before raising its exception
                self._stop.set()
                wait(running, timeout=_STOP_TIMEOUT)
        except BaseException:
            # Interrupted (Ctrl-C) while waiting: without the stop flag the shares would run
            # to the end, and the interpreter waits for pool threads and processes at exit.
            self._stop.set()
            for future in futures:
                future.cancel()
            raise
        failed = [
            f for f in futures
            if f.done() and not f.cancelled() and f.exception() is not None
        ]
        # A share's own error, rather than the _Stopped of the shares it stopped.
        failed.sort(key=lambda f: isinstance(f.exception(), _Stopped))
        if failed:
            failed[0].result()
        return sum(f.result() for f in futures) & _MASK


def run_batch(kind, workers, calls=None, n=N):
    """Start a pool, run one batch of `calls` fib(n) calls, stop the pool; the checksum."""
    with Workers(kind, workers) as pool:
        return pool.run(calls, n)


def _measure(kind, workers, repeat):
    """Seconds of the fastest of `repeat` batches (after one warm-up batch)."""
    repeat = index_in(repeat, "repeat", low=0)
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    with Workers(kind, workers) as pool:
        pool.run()  # warm-up: caches, and the first batch's one-time costs
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            pool.run()
            times.append(time.perf_counter() - start)
    return min(times)


# ---------------------------------------------------------------------------------------------
# Two threads on one core: FP and integer chains alone and in pairs, each thread pinned


#: The pairings measured, "kernel+kernel" (kernels: fibext._smt's fp_chain and int_chain).
#: Append only: each is a line in the history (bench_smt).
SMT_PAIRINGS = ("fp+fp", "int+int", "fp+int")
#: Independent chains per kernel: 1 (latency-bound) and 8 (more of the units busy).
SMT_WIDTHS = _smt.WIDTHS
#: Loop iterations per thread and run: 3-5 ms here, far above a thread's start (~0.1 ms), and
#: short enough that a run often finds both CPUs free on a busy machine (the fastest is kept).
SMT_ITERATIONS = 2_000_000
_SMT_KERNELS = {"fp": _smt.fp_chain, "int": _smt.int_chain}
#: How long a pinned thread may wait for the other to start.
_SMT_TIMEOUT = 60.0


class PinningError(RuntimeError):
    """Threads cannot be pinned to two CPUs here (one CPU, no sched_setaffinity, refused)."""


def smt_cpus(affinity=None, topo=None):
    """(cpu, cpu, siblings): two CPUs this process may run on, two hardware threads of one
    core where the guest shows any such pair, else the first two; siblings says which.

    PinningError where fewer than two CPUs are allowed or the system cannot pin threads.
    """
    if not hasattr(os, "sched_setaffinity") or not hasattr(os, "sched_getaffinity"):
        raise PinningError("pinning threads to CPUs needs os.sched_setaffinity (Linux); "
                           "this system has none")
    allowed = sorted(os.sched_getaffinity(0) if affinity is None else affinity)
    if len(allowed) < 2:
        raise PinningError(f"pairing two threads needs two CPUs to pin them to; this process "
                           f"may run on {len(allowed)} (os.sched_getaffinity: {allowed}, "
                           f"os.cpu_count(): {os.cpu_count()})")
    topo = _cpu.topology() if topo is None else topo
    for cpu in allowed:
        mates = [c for c in getattr(topo.get(cpu), "siblings", ()) if c != cpu and c in allowed]
        if mates:
            return cpu, mates[0], True
    return allowed[0], allowed[1], False


def _smt_args(iterations, width):
    iterations = index_in(iterations, "iterations", low=0)
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, got {iterations}")
    if isinstance(width, bool) or not isinstance(width, int) or width not in SMT_WIDTHS:
        raise ValueError(f"width must be one of {SMT_WIDTHS}, got {width!r}")
    return iterations, width


def run_pinned(jobs, iterations, width=1):
    """Run each (kernel, cpu) of jobs in a thread of its own pinned to cpu, all started
    together; [(start, end, result)] per job (time.perf_counter() seconds).

    kernel is "fp" or "int" (fibext._smt's chains, run nogil); iterations is one count for
    every job, or a sequence of one count per job.  A thread that cannot be pinned raises
    PinningError here, after the others were released; any other error of a thread is
    raised here too.
    """
    jobs = list(jobs)
    counts = list(iterations) if isinstance(iterations, (list, tuple)) else [iterations] * len(jobs)
    if len(counts) != len(jobs):
        raise ValueError(f"iterations: {len(counts)} counts for {len(jobs)} jobs")
    counts = [_smt_args(count, width)[0] for count in counts]
    width = _smt_args(1, width)[1]
    for kernel, _ in jobs:
        if kernel not in _SMT_KERNELS:
            raise ValueError(f"kernel must be one of {', '.join(_SMT_KERNELS)}; got {kernel!r}")
    barrier = threading.Barrier(len(jobs))
    out = [None] * len(jobs)
    errors = []

    def work(i, kernel, cpu, iterations):
        try:
            os.sched_setaffinity(0, {cpu})  # 0: the calling thread (Linux pins threads)
        except (OSError, ValueError) as exc:
            errors.append(PinningError(f"could not pin a thread to CPU {cpu}: {exc}"))
            barrier.abort()
            return
        try:
            barrier.wait(_SMT_TIMEOUT)
        except threading.BrokenBarrierError:
            return
        try:
            start = time.perf_counter()
            value = _SMT_KERNELS[kernel](iterations, width)
            out[i] = (start, time.perf_counter(), value)
        except BaseException as exc:  # raised in the caller's thread, not lost in this one
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, kernel, cpu, count),
                                name=f"fibext-smt-{i}")
               for i, ((kernel, cpu), count) in enumerate(zip(jobs, counts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    if any(o is None for o in out):
        raise RuntimeError("a pinned thread did not run (its start timed out)")
    return out


def smt_iterations(pairing, width=1, iterations=SMT_ITERATIONS, cpu=None):
    """(iterations of a, iterations of b) for the pairing "a+b": a gets `iterations`, b as many
    as take it as long alone as a's take (timed now on `cpu`, the fastest of 3 short runs), so
    that the two threads of a pair run side by side from start to end; the same count for a
    kernel beside itself."""
    if pairing not in SMT_PAIRINGS:
        raise ValueError(f"pairing must be one of {', '.join(SMT_PAIRINGS)}; got {pairing!r}")
    iterations, width = _smt_args(iterations, width)
    a, b = pairing.split("+")
    if a == b:
        return iterations, iterations
    cpu = smt_cpus()[0] if cpu is None else cpu
    probe = max(1, min(iterations, 1_000_000))
    seconds = {}
    for kernel in (a, b):
        runs = [run_pinned([(kernel, cpu)], probe, width)[0] for _ in range(3)]
        seconds[kernel] = min(end - start for start, end, _ in runs)
    return iterations, max(1, round(iterations * seconds[a] / seconds[b]))


@dataclass(frozen=True)
class SmtResult:
    """One pairing measured: seconds alone (each kernel on one CPU, the other idle) and in the
    pair (each thread's own seconds, and the pair's wall time from first start to last end).
    Each kernel's iterations are matched (smt_iterations), so both take as long alone."""

    pairing: str
    width: int
    iterations: tuple  # of kernel a, of kernel b
    cpus: tuple
    siblings: bool  # whether the guest says the two CPUs share a core
    alone: tuple  # seconds, kernel a and kernel b, each alone (on the CPU it gets in the pair)
    paired: tuple  # seconds, thread a and thread b, side by side
    wall: float  # seconds, the pair from first start to last end

    @property
    def speedup(self):
        """(alone a + alone b) / the pair's wall time: the pair's throughput over one thread's
        alone.  2.0 is two whole cores, 1.0 nothing gained (one core, time-sliced)."""
        return (self.alone[0] + self.alone[1]) / self.wall

    @property
    def slowdowns(self):
        """Each thread's time in the pair over its time alone (1.0: undisturbed)."""
        return tuple(p / a for p, a in zip(self.paired, self.alone))


def measure_smt(pairing, width=1, iterations=SMT_ITERATIONS, repeat=5, cpus=None):
    """Measure one pairing ("fp+int"...): kernel a alone, kernel b alone, both side by side,
    `repeat` rounds interleaved, the fastest of each kept; a :class:`SmtResult`.  a runs
    `iterations`, b as many as take as long (smt_iterations).

    cpus: the two CPUs (default smt_cpus()).  Each kernel runs alone on the CPU its thread
    gets in the pair (a on the first, b on the second), so that a CPU slower than the other
    (a busy neighbour on the host) counts against both of its figures alike.
    """
    if pairing not in SMT_PAIRINGS:
        raise ValueError(f"pairing must be one of {', '.join(SMT_PAIRINGS)}; got {pairing!r}")
    iterations, width = _smt_args(iterations, width)
    repeat = index_in(repeat, "repeat", low=0)
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    if cpus is None:
        first, second, siblings = smt_cpus()
    else:
        first, second = cpus
        siblings = first in getattr(_cpu.topology().get(second), "siblings", ())
    a, b = pairing.split("+")
    counts = smt_iterations(pairing, width, iterations, first)
    alone_a = alone_b = wall = math.inf
    paired = (math.inf, math.inf)
    for _ in range(repeat):
        (s, e, _), = run_pinned([(a, first)], counts[0], width)
        alone_a = min(alone_a, e - s)
        (s, e, _), = run_pinned([(b, second)], counts[1], width)
        alone_b = min(alone_b, e - s)
        (s1, e1, _), (s2, e2, _) = run_pinned([(a, first), (b, second)], counts, width)
        if max(e1, e2) - min(s1, s2) < wall:
            wall, paired = max(e1, e2) - min(s1, s2), (e1 - s1, e2 - s2)
    return SmtResult(pairing, width, counts, (first, second), siblings,
                     (alone_a, alone_b), paired, wall)


def effective_clock(iterations=2_000_000, repeat=40):
    """GHz the core really runs at: dependent register-to-register adds per ns (one cycle each
    on every x86-64 core; fibext._smt.add_chain), the fastest of `repeat` runs (~5 ms each:
    many short runs, so that one of them finds the CPU to itself on a busy machine).  None where
    the build has no add chain (not x86-64)."""
    if not _smt.HAVE_ADD_CHAIN:
        return None
    iterations = index_in(iterations, "iterations", low=0)
    best = math.inf
    for _ in range(max(1, index_in(repeat, "repeat", low=0))):
        start = time.perf_counter_ns()
        _smt.add_chain(iterations)
        best = min(best, time.perf_counter_ns() - start)
    return iterations * _smt.ADDS_PER_ITERATION / best


def _smt_main(repeat, iterations, widths):
    """Print the pairing table live, with the topology and the clocks."""
    first, second, siblings = smt_cpus()
    topo = _cpu.topology()
    clock = _cpu.stated_clock()
    probed = effective_clock()
    print(_cpu.describe_topology(topo))
    print(f"threads pinned to cpu{first} and cpu{second}: "
          + ("hardware threads of one core, as the guest sees them" if siblings else
             "separate cores as the guest sees them (the host may still pair them on one)"))
    print(f"stated clock: {clock}; measured: "
          + (f"{probed:.2f} GHz (dependent integer adds per ns)" if probed else "no probe here"))
    print(f"{iterations} iterations of a, of b as many as take as long alone; gain = "
          "(alone a + alone b) / pair - 1; two whole cores: +100%, one core shared: ~0%")
    print(f"{'pairing':8} {'width':>5} {'a alone':>9} {'b alone':>9} {'a paired':>9} "
          f"{'b paired':>9} {'speedup':>7} {'gain':>6}   (ns per iteration)")
    for width in widths:
        for pairing in SMT_PAIRINGS:
            r = measure_smt(pairing, width, iterations, repeat, cpus=(first, second))
            ns = [t / count * 1e9 for t, count in zip((*r.alone, *r.paired), r.iterations * 2)]
            print(f"{pairing:8} {width:5} {ns[0]:9.3f} {ns[1]:9.3f} {ns[2]:9.3f} {ns[3]:9.3f} "
                  f"{r.speedup:6.2f}x {100 * (r.speedup - 1):+5.0f}%", flush=True)
    return 0


def main(argv=None):
    """Print seconds per batch and speedup over 1 worker, for each kind x workers."""
    parser = argparse.ArgumentParser(prog="python -m fibext.parallel", description=main.__doc__)
    parser.add_argument("--repeat", type=int_in("repeat", 1, 1000), default=5,
                        help="batches timed per cell (min kept)")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=KINDS)
    parser.add_argument("--workers", nargs="+", type=int_in("workers", 1, MAX_WORKERS),
                        default=worker_counts())
    parser.add_argument("--smt", action="store_true",
                        help="instead: two threads, one per pinned CPU, FP and integer chains "
                             "alone and in pairs (what two threads on one core gain)")
    parser.add_argument("--iterations", type=int_in("iterations", 1, 2**40),
                        default=SMT_ITERATIONS, help="--smt: loop iterations per thread")
    parser.add_argument("--widths", nargs="+", type=int, choices=SMT_WIDTHS,
                        default=list(SMT_WIDTHS), help="--smt: independent chains per kernel")
    args = parser.parse_args(argv)
    if args.smt:
        try:
            return _smt_main(args.repeat, args.iterations, args.widths)
        except PinningError as exc:
            parser.exit(2, f"{parser.prog}: error: {exc}\n")
    workers = sorted(set(args.workers) | {1})
    omp = f"OpenMP {OPENMP_VERSION}" if OPENMP else "no OpenMP (prange runs serially)"
    print(f"cpus: {os.cpu_count()}; build: {omp}; prange({max(workers)}) used "
          f"{prange_threads(max(workers))} thread(s); fib({N}) per call")
    print(f"{'kind':22} {'calls':>9} {'workers':>7} {'s/batch':>9} {'speedup':>7}")
    for kind in args.kinds:
        base = None
        for count in workers:
            seconds = _measure(kind, count, args.repeat)
            base = seconds if count == 1 else base
            print(f"{kind:22} {BATCH_CALLS[kind]:9} {count:7} {seconds:9.4f} "
                  f"{base / seconds:6.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
