"""The GIL, threads and processes: seconds per batch of fib(90) calls, per kind x workers.

The batch is fixed per kind and split among the workers (strong scaling), so the history
shows, at each worker count (powers of two up to os.cpu_count(), and twice that), pure-Python and
GIL-holding threads staying at the one-worker time while nogil threads, processes and prange
divide it by the number of cores.  fibext.parallel is the one place that defines the kinds,
the batch and the worker counts; the figure of speedup against workers is drawn by
benchmarks/figures_parallel.py.
"""

from .common import optional, require

# From the package; a commit without fibext.parallel gets one placeholder, skipped in setup.
KINDS = list(optional("fibext.parallel", "KINDS", ())) or ["python_threads"]
_worker_counts = optional("fibext.parallel", "worker_counts", None)
WORKERS = _worker_counts() if _worker_counts else [1]


class Batch:
    """Seconds per batch of fibext.parallel.BATCH_CALLS[kind] calls of fib(90), by `workers`.

    The pool (threads, or spawned processes that have imported fibext) starts in setup and
    stops in teardown: only the batch is timed, by the wall clock (asv's default timer), which
    is what the caller waits for.
    """

    params = [KINDS, WORKERS]
    param_names = ["kind", "workers"]
    number = 1  # a batch is 50-500 ms: one per sample is far above the timer's resolution
    # One round of 2 batches a run, one run a sampling pass (benchmarks/measuring.py): 8
    # samples over the default 4 passes from 4 time windows and 4 pools, where one run's 2
    # rounds of 5 shared one window.  A round's cost is mostly starting its pool.
    rounds = 1
    repeat = 2
    warmup_time = 0  # the pool started in setup; a batch has nothing else to warm
    timeout = 60  # one combination takes seconds (spawning up to 2 x cpus processes, 5 batches)
    version = "parallel-batch-1"  # pinned: editing this file keeps the history

    def setup(self, kind, workers):
        self.pool = None
        workers_class = optional("fibext.parallel", "Workers", None)
        require(workers_class, "fibext.parallel")
        if kind == "cython_prange" and not optional("fibext.parallel", "OPENMP", False):
            raise NotImplementedError(
                "built without OpenMP: prange would run serially, so it is not measured"
            )
        self.pool = workers_class(kind, workers)

    def teardown(self, kind, workers):
        if self.pool is not None:
            self.pool.close()

    def time_batch(self, kind, workers):
        self.pool.run()
