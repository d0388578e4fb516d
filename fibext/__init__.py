"""fibext: one Fibonacci function implemented every way Python can be extended.

``VARIANTS`` maps each variant's name to its ``fib(n)``; all of them follow one contract (see
``fibext._contract``).  ``time_c`` times the pure-C loop from C.  ``python -m fibext`` prints a
table measured live on this machine.

The names below load on first use (PEP 562), so ``import fibext._capi`` loads only that
extension: the import-time benchmarks time one module, not the whole package.
"""

import importlib

__version__ = "0.1.0"

# public name -> the submodule that defines it
_LAZY = {
    "LAST_FINITE_N": "fibext._contract",
    "MAX_N": "fibext._contract",
    "CTiming": "fibext._ctiming",
    "time_c": "fibext._ctiming",
    "COMPILED_MODULES": "fibext._variants",
    "VARIANT_SPECS": "fibext._variants",
    "VARIANTS": "fibext._variants",
    "Variant": "fibext._variants",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'fibext' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
