"""Import time of each compiled module of fibext."""

from .common import optional, require

# The extension modules, from the package's own registry.
COMPILED_MODULES = list(optional("fibext", "COMPILED_MODULES", ())) or ["fibext._capi"]


class ImportModule:
    """Seconds to import one extension module into a fresh interpreter.

    The package and the contract module every variant imports are loaded first (untimed), so
    the figure is the module's own: loading the shared object and running its init.
    """

    params = [COMPILED_MODULES]
    param_names = ["module"]
    number = 1  # a module imports once per process; each sample is a fresh process
    # asv's 2 rounds of 5 a run, and each sampling pass (benchmarks/measuring.py) one run more:
    # 40 samples over the default 4 passes, as one run of 2 x 20 gave, from 4 time windows.
    repeat = 5
    warmup_time = 0
    version = "import-1"

    def setup(self, module):
        try:
            __import__(module)
        except ImportError:
            require(False, module)

    def timeraw_import(self, module):
        return f"import {module}", "import fibext._contract"
