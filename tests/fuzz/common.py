"""What the fuzz harnesses share: an outcome compared exactly, as tests/package/test_fib.py
compares them, and the bounds that keep one input fast."""

import pathlib
import sys
import warnings

# tests/helpers.py: Index, written once for the contract tests and the harnesses
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from helpers import Index  # noqa: E402,F401  (the harnesses import it from here)

# Index(True) and friends: a deprecated __index__ result that must still work (pyproject.toml's
# pytest filter says the same); printed once per input it would flood the fuzzer's output.
warnings.filterwarnings("ignore", "__index__ returned non-int", DeprecationWarning)

#: Valid n above this is not run: fib(2**31 - 1) in pure Python takes minutes.  The argument
#: paths of large valid n are the same exact-int compare as for small ones.
MAX_RUN_N = 3000


def outcome(func, *args, **kwargs):
    """What func(*args, **kwargs) does: ("value", type, exact bits or repr) or ("raises", type,
    message)."""
    try:
        result = func(*args, **kwargs)
    except Exception as exc:  # the outcome itself is under test
        return ("raises", type(exc), str(exc))
    if isinstance(result, float):
        return ("value", float, result.hex())
    return ("value", type(result), repr(result))


class Int(int):
    """An int subclass: not an exact int, so fibarg.h's fast path hands it to index_n."""
