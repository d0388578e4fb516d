# cython: language_level=3
# cython: embedsignature=True, embedsignature.format=clinic
# No GIL needed (free-threaded builds): the kernels keep no shared state and work in locals.
# cython: freethreading_compatible=True
"""The kernels of fibext.parallel's two-threads-on-one-core measurement (``--smt``).

Each kernel runs ``iterations`` steps of ``width`` independent dependency chains with the GIL
released, and returns a value that depends on every step (so the compiler must run them all):

- fp_chain: x = x * M + A on doubles.  No -ffast-math, so the compiler may neither reassociate
  nor fold the chain; each step waits for the multiply and then the add of the step before.
- int_chain: x = x * M + C, then x ^= x >> 29 (a 64-bit LCG step and an xorshift): the
  multiply, add, shift and xor of each step wait for the step before; the xorshift makes the
  recurrence nonlinear, so no closed form exists to fold it into.
- add_chain: 8 dependent register-to-register integer adds per iteration written in x86-64
  assembly, so the compiler can neither merge nor reorder them; such an add takes one cycle
  on every x86-64 core (an add of an immediate does not: recent Intel cores fold those at
  rename), so add_chain's adds per ns is the clock the core really ran at.

width 1 is one chain: latency-bound, the units mostly idle between steps.  width 8 runs 8
independent chains side by side: more work in flight than one chain's latency hides, so the
floating-point or integer units stay busier, the case where two threads on one core compete
for them.  8, not more: every chain and constant stays in a register (x86-64 has 16 of each
kind), and with gcc the chains stay scalar (a vectorised loop would measure other units).
"""

from libc.stdint cimport int64_t, uint64_t

from fibext._args import index_in

cdef extern from *:
    """
    #include <stdint.h>
    #if defined(__GNUC__) && !defined(__clang__)
    /* 8 scalar chains, not 4 two-wide vectors: one kernel per kind of unit. */
    #define FIBEXT_SCALAR __attribute__((optimize("no-tree-vectorize")))
    #else
    #define FIBEXT_SCALAR
    #endif
    /* M < 1 keeps x finite: the chain converges to A / (1 - M) = 1 without reaching it. */
    #define FIBEXT_FP_M 0.999999999
    #define FIBEXT_FP_A 1e-9
    #define FIBEXT_INT_M 6364136223846793005ULL
    #define FIBEXT_INT_C 1442695040888963407ULL
    #define FIBEXT_FP_STEP(x) ((x) = (x) * FIBEXT_FP_M + FIBEXT_FP_A)
    #define FIBEXT_INT_STEP(x) ((x) = (x) * FIBEXT_INT_M + FIBEXT_INT_C, (x) ^= (x) >> 29)

    static double fibext_fp1(int64_t n, double x) {
        for (int64_t i = 0; i < n; i++)
            FIBEXT_FP_STEP(x);
        return x;
    }

    static FIBEXT_SCALAR double fibext_fp8(int64_t n, double seed) {
        double x[8];
        for (int c = 0; c < 8; c++)
            x[c] = seed + c;
        for (int64_t i = 0; i < n; i++)
            for (int c = 0; c < 8; c++)  /* fully unrolled: 8 chains in registers */
                FIBEXT_FP_STEP(x[c]);
        double total = 0.0;
        for (int c = 0; c < 8; c++)
            total += x[c];
        return total;
    }

    static uint64_t fibext_int1(int64_t n, uint64_t x) {
        for (int64_t i = 0; i < n; i++)
            FIBEXT_INT_STEP(x);
        return x;
    }

    static FIBEXT_SCALAR uint64_t fibext_int8(int64_t n, uint64_t seed) {
        uint64_t x[8];
        for (int c = 0; c < 8; c++)
            x[c] = seed + (uint64_t)c;
        for (int64_t i = 0; i < n; i++)
            for (int c = 0; c < 8; c++)
                FIBEXT_INT_STEP(x[c]);
        uint64_t total = 0;
        for (int c = 0; c < 8; c++)
            total ^= x[c];
        return total;
    }

    #if defined(__x86_64__) && defined(__GNUC__)
    #define FIBEXT_ADD_CHAIN 1
    static uint64_t fibext_add_chain(int64_t n, uint64_t x) {
        const uint64_t one = 1;
        for (int64_t i = 0; i < n; i++)
            /* volatile and in assembly: the compiler sees neither the adds nor their sum.
               A register operand, not an immediate: Intel cores since Golden Cove fold
               dependent add-immediates at rename, several a cycle. */
            __asm__ volatile("add %1, %0\\n\\tadd %1, %0\\n\\tadd %1, %0\\n\\tadd %1, %0\\n\\t"
                             "add %1, %0\\n\\tadd %1, %0\\n\\tadd %1, %0\\n\\tadd %1, %0"
                             : "+r"(x) : "r"(one));
        return x;
    }
    #else
    #define FIBEXT_ADD_CHAIN 0
    static uint64_t fibext_add_chain(int64_t n, uint64_t x) { (void)n; return x; }
    #endif
    """
    double fibext_fp1(int64_t n, double x) noexcept nogil
    double fibext_fp8(int64_t n, double seed) noexcept nogil
    uint64_t fibext_int1(int64_t n, uint64_t x) noexcept nogil
    uint64_t fibext_int8(int64_t n, uint64_t seed) noexcept nogil
    uint64_t fibext_add_chain(int64_t n, uint64_t x) noexcept nogil
    const int FIBEXT_ADD_CHAIN

#: Independent chains a kernel may run side by side: one (latency-bound) or 8 (throughput).
WIDTHS = (1, 8)
#: Dependent adds per add_chain iteration.
ADDS_PER_ITERATION = 8
#: True where add_chain is the assembly loop (x86-64 with gcc or clang); elsewhere it does nothing.
HAVE_ADD_CHAIN = FIBEXT_ADD_CHAIN != 0


cdef int64_t _iterations(object iterations) except -1:
    """iterations as a positive C int64, else TypeError or ValueError naming it."""
    return index_in(iterations, "iterations", 1, 2**63 - 1)


cdef int _width(object width) except -1:
    if width not in WIDTHS or isinstance(width, bool) or not isinstance(width, int):
        raise ValueError(f"width must be one of {WIDTHS}, got {width!r}")
    return width


def fp_chain(iterations, width=1):
    """iterations steps of x = x * M + A on `width` independent double chains, GIL released;
    the chains' sum (about `width` for long runs: each converges to 1)."""
    cdef int64_t n = _iterations(iterations)
    cdef int w = _width(width)
    cdef double out
    with nogil:
        out = fibext_fp1(n, 0.0) if w == 1 else fibext_fp8(n, 0.0)
    return out


def int_chain(iterations, width=1):
    """iterations steps of an LCG step plus an xorshift on `width` independent 64-bit chains,
    GIL released; the chains' xor."""
    cdef int64_t n = _iterations(iterations)
    cdef int w = _width(width)
    cdef uint64_t out
    with nogil:
        out = fibext_int1(n, 1) if w == 1 else fibext_int8(n, 1)
    return out


def add_chain(iterations):
    """iterations x ADDS_PER_ITERATION dependent integer adds (x86-64 assembly), GIL released;
    the sum, iterations x 8.  NotImplementedError where HAVE_ADD_CHAIN is False."""
    cdef int64_t n = _iterations(iterations)
    cdef uint64_t out
    if not HAVE_ADD_CHAIN:
        raise NotImplementedError("add_chain is x86-64 assembly; this build has none")
    with nogil:
        out = fibext_add_chain(n, 0)
    return out
