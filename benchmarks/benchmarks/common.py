"""Facts and helpers shared by the benchmark modules.

The suite must import on every commit asv may build, including old ones that lack a module or
a name: top-level imports of fibext go through safe_import(), and a benchmark whose subject is
missing raises NotImplementedError from setup(), which asv records as skipped, not failed.
"""

import contextlib
import importlib
import os
import shutil

#: fib's arguments in the timed benchmarks.  Append only: each value is a line in the history.
NS = [0, 10, 90]
#: The two ends, where a benchmark measures fewer: fib(0) is the call alone, fib(90) the loop too.
NS_ENDS = [NS[0], NS[-1]]


class safe_import(contextlib.AbstractContextManager):
    """Suppress ImportError from the block (as scipy's suite does), keeping it in .error.

    FIBEXT_BENCH_STRICT_IMPORTS=1 re-raises instead: the tests use it so that a suite that
    silently imports nothing cannot pass.
    """

    def __init__(self):
        self.error = None

    def __exit__(self, exc_type, exc_value, traceback):
        if exc_type is not None and issubclass(exc_type, ImportError):
            if os.environ.get("FIBEXT_BENCH_STRICT_IMPORTS") == "1":
                return False
            self.error = exc_value
            return True
        return False


def optional(module, name, default):
    """module.name on this commit, or default where the commit does not have it yet."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        if os.environ.get("FIBEXT_BENCH_STRICT_IMPORTS") == "1":
            raise
        return default


def require(available, what):
    """Skip the benchmark (NotImplementedError) when this commit lacks what it measures."""
    if not available:
        raise NotImplementedError(f"{what} is not in this commit's fibext")


def valgrind():
    """The valgrind executable, or None (the counted and simulated benchmarks then skip)."""
    return shutil.which("valgrind")


def require_counted(counts, key, what):
    """Skip (NotImplementedError) what a valgrind set-up could not count."""
    if valgrind() is None:
        raise NotImplementedError("valgrind is not installed (apt-get install valgrind)")
    if key not in counts:
        raise NotImplementedError(f"{what} is not in this commit's fibext")
