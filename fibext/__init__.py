"""fibext: one Fibonacci function implemented every way Python can be extended.

``VARIANTS`` maps each variant's name to its ``fib(n)``; all of them follow one contract (see
``fibext._contract``).  ``time_c`` times the pure-C loop from C.  ``python -m fibext`` prints a
table measured live on this machine.
"""

__version__ = "0.1.0"

from fibext._contract import LAST_FINITE_N, MAX_N
from fibext._ctiming import CTiming, time_c
from fibext._variants import COMPILED_MODULES, VARIANT_SPECS, VARIANTS, Variant

__all__ = [
    "COMPILED_MODULES", "CTiming", "LAST_FINITE_N", "MAX_N", "VARIANTS", "VARIANT_SPECS",
    "Variant", "time_c",
]
