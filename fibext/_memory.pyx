# cython: language_level=3, binding=False
# cython: embedsignature=True, embedsignature.format=clinic
# cython: initializedcheck=False, cdivision=True
# No GIL needed (free-threaded builds): no mutable module state; the kernels already run nogil.
# cython: freethreading_compatible=True
# distutils: sources = fibext/cmem.c
# distutils: include_dirs = fibext
"""Memory-access kernels in Cython, and the same kernels in plain C (cmem.c) as the reference.

Each kernel has one timed entry point, a method of :class:`Kernels`; the instance chooses the
loop: ``CYTHON.sum_f64(a)`` runs the Cython loop below, ``C.sum_f64(a)`` the C one, with the
same checks and the same clock.  Every method returns ``(value, ns)``: the kernel's result (so
that nothing can be optimised away) and the nanoseconds the kernel took, read from one C clock
(CLOCK_MONOTONIC) around the kernel alone, with the GIL released.  Argument checks, including
a scan that every index lies inside its buffer, happen before the clock starts.  The buffers
are shared, so another thread may write an index between that scan and the loop (which runs
without the GIL): the kernels that read addresses from a buffer (gather, chase, and
apply_swaps' draws) check each value again as they use it, at the cost of one unsigned
compare; one found outside stops the loop, which then raises the check's own error.

The read kernels run ``reps`` passes and return the sum over all of them; fill and copy run
``reps`` passes and return the last element written.  Buffers come from fibext._buffers, which
allocates, touches and shuffles them outside any timing.
"""

cimport cython
from libc.stdint cimport int64_t, uint64_t

from fibext.cmem cimport (
    CMEM_NODE_STRIDE,
    cmem_chase,
    cmem_clobber,
    cmem_copy_f64,
    cmem_fault,
    cmem_fill_f64,
    cmem_gather_f64,
    cmem_load_index,
    cmem_load_unit,
    cmem_now_ns,
    cmem_set_fault,
    cmem_sum_f64,
    cmem_sum_i64,
    cmem_sum_strided_f64,
)

#: int64 slots per pointer-chase node: one node per 64-byte cache line.
NODE_STRIDE = CMEM_NODE_STRIDE


# ---------------------------------------------------------------------------------------------
# The Cython kernels.  Their loops mirror cmem.c line for line (accumulators, passes, barrier);
# cmem.c says why they are shaped so.  Bounds and wraparound checks are off: the Kernels
# methods below have checked the lengths and every index before calling them, and the loops
# that read an index check the value they read (cmem_load_index reads it exactly once).

@cython.boundscheck(False)
@cython.wraparound(False)
cdef double _sum_f64(const double[::1] a, Py_ssize_t reps) noexcept nogil:
    cdef Py_ssize_t n = a.shape[0], i, _r
    cdef double total = 0.0
    cdef double s0, s1, s2, s3, s4, s5, s6, s7
    for _r in range(reps):
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
        i = 0
        while i + 8 <= n:
            s0 += a[i]
            s1 += a[i + 1]
            s2 += a[i + 2]
            s3 += a[i + 3]
            s4 += a[i + 4]
            s5 += a[i + 5]
            s6 += a[i + 6]
            s7 += a[i + 7]
            i += 8
        while i < n:
            s0 += a[i]
            i += 1
        total += ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
        cmem_clobber()
    return total


@cython.boundscheck(False)
@cython.wraparound(False)
cdef int64_t _sum_i64(const int64_t[::1] a, Py_ssize_t reps) noexcept nogil:
    # Unsigned sums wrap modulo 2**64 (as numpy's int64 sum does); signed overflow is UB in C.
    cdef Py_ssize_t n = a.shape[0], i, _r
    cdef uint64_t total = 0
    cdef uint64_t s0, s1, s2, s3, s4, s5, s6, s7
    for _r in range(reps):
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0
        i = 0
        while i + 8 <= n:
            s0 += <uint64_t>a[i]
            s1 += <uint64_t>a[i + 1]
            s2 += <uint64_t>a[i + 2]
            s3 += <uint64_t>a[i + 3]
            s4 += <uint64_t>a[i + 4]
            s5 += <uint64_t>a[i + 5]
            s6 += <uint64_t>a[i + 6]
            s7 += <uint64_t>a[i + 7]
            i += 8
        while i < n:
            s0 += <uint64_t>a[i]
            i += 1
        total += ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
        cmem_clobber()
    return <int64_t>total


@cython.boundscheck(False)
@cython.wraparound(False)
cdef double _sum_strided_f64(const double[::1] a, Py_ssize_t stride,
                             Py_ssize_t reps) noexcept nogil:
    cdef Py_ssize_t n = a.shape[0], i, _r
    cdef double total = 0.0
    cdef double s0, s1, s2, s3
    for _r in range(reps):
        s0 = s1 = s2 = s3 = 0.0
        i = 0
        while i < n - 3 * stride:  # i + 3*stride < n; stride <= n, so no overflow
            s0 += a[i]
            s1 += a[i + stride]
            s2 += a[i + 2 * stride]
            s3 += a[i + 3 * stride]
            i += 4 * stride
        while i < n:
            s0 += a[i]
            i += stride
        total += (s0 + s1) + (s2 + s3)
        cmem_clobber()
    return total


@cython.boundscheck(False)
@cython.wraparound(False)
cdef double _gather_f64(const double[::1] a, const int64_t[::1] idx, Py_ssize_t reps,
                        cmem_fault *fault) noexcept nogil:
    # <uint64_t>j < n is 0 <= j < n in one compare (a negative j wraps past any n).
    cdef uint64_t n = a.shape[0]
    cdef Py_ssize_t m = idx.shape[0], _r
    cdef const int64_t *first = &idx[0]
    cdef const int64_t *end8 = first + (m - m % 8)
    cdef const int64_t *end = first + m
    cdef const int64_t *p
    cdef int64_t j
    cdef double total = 0.0
    cdef double s0, s1, s2, s3
    for _r in range(reps):
        s0 = s1 = s2 = s3 = 0.0
        p = first
        while p != end8:
            # Each index checked just before its load, in order; eight per iteration and a
            # pointer for the position (as cmem.c does, and why).
            j = cmem_load_index(&p[0])
            if <uint64_t>j >= n:
                cmem_set_fault(fault, p - first, j)
                return 0.0
            s0 += a[j]
            j = cmem_load_index(&p[1])
            if <uint64_t>j >= n:
                cmem_set_fault(fault, p - first + 1, j)
                return 0.0
            s1 += a[j]
            j = cmem_load_index(&p[2])
            if <uint64_t>j >= n:
                cmem_set_fault(fault, p - first + 2, j)
                return 0.0
            s2 += a[j]
            j = cmem_load_index(&p[3])
            if <uint64_t>j >= n:
                cmem_set_fault(fault, p - first + 3, j)
                return 0.0
            s3 += a[j]
            j = cmem_load_index(&p[4])
            if <uint64_t>j >= n:
                cmem_set_fault(fault, p - first + 4, j)
                return 0.0
            s0 += a[j]
            j = cmem_load_index(&p[5])
            if <uint64_t>j >= n:
                cmem_set_fault(fault, p - first + 5, j)
                return 0.0
            s1 += a[j]
            j = cmem_load_index(&p[6])
            if <uint64_t>j >= n:
                cmem_set_fault(fault, p - first + 6, j)
                return 0.0
            s2 += a[j]
            j = cmem_load_index(&p[7])
            if <uint64_t>j >= n:
                cmem_set_fault(fault, p - first + 7, j)
                return 0.0
            s3 += a[j]
            p += 8
        while p != end:
            j = cmem_load_index(p)
            if <uint64_t>j >= n:
                cmem_set_fault(fault, p - first, j)
                return 0.0
            s0 += a[j]
            p += 1
        total += (s0 + s1) + (s2 + s3)
        cmem_clobber()
    return total


@cython.boundscheck(False)
@cython.wraparound(False)
cdef int64_t _chase(const int64_t[::1] nxt, int64_t p, Py_ssize_t steps,
                    cmem_fault *fault) noexcept nogil:
    # Each load's address is the previous load's value: time / steps is one access's latency.
    # The check is off that chain: the next load's address is q, not the branch's outcome.
    cdef uint64_t n = nxt.shape[0]
    cdef Py_ssize_t _i
    cdef int64_t q
    for _i in range(steps):
        q = cmem_load_index(&nxt[p])
        if <uint64_t>q >= n:
            cmem_set_fault(fault, p, q)
            return p
        p = q
    return p


@cython.boundscheck(False)
@cython.wraparound(False)
cdef double _fill_f64(double[::1] a, double value, Py_ssize_t reps) noexcept nogil:
    cdef Py_ssize_t n = a.shape[0], i, _r
    for _r in range(reps):
        for i in range(n):
            a[i] = value
        cmem_clobber()
    return a[n - 1]


@cython.boundscheck(False)
@cython.wraparound(False)
cdef double _copy_f64(double[::1] dst, const double[::1] src, Py_ssize_t reps) noexcept nogil:
    cdef Py_ssize_t n = dst.shape[0], i, _r
    for _r in range(reps):
        for i in range(n):
            dst[i] = src[i]
        cmem_clobber()
    return dst[n - 1]


# ---------------------------------------------------------------------------------------------
# Checks shared by both implementations: they run before the clock starts.

cdef int _check_reps(Py_ssize_t reps, str name) except -1:
    if reps < 1:
        raise ValueError(f"{name} must be at least 1, got {reps}")
    return 0


cdef int _check_len(Py_ssize_t n, str what) except -1:
    if n < 1:
        raise ValueError(f"{what} must not be empty")
    return 0


@cython.boundscheck(False)
@cython.wraparound(False)
cdef Py_ssize_t _first_outside(const int64_t[::1] idx, int64_t n, int64_t *value) noexcept nogil:
    """Position of the first entry outside [0, n), and in *value what it held (read once:
    another thread may change it meanwhile); -1 when all lie inside."""
    cdef Py_ssize_t i
    cdef int64_t v
    for i in range(idx.shape[0]):
        v = cmem_load_index(&idx[i])
        if <uint64_t>v >= <uint64_t>n:  # v < 0 or v >= n, in one compare
            value[0] = v
            return i
    return -1


cdef int _check_indices(const int64_t[::1] idx, Py_ssize_t n, str what) except -1:
    cdef Py_ssize_t bad
    cdef int64_t value
    with nogil:
        bad = _first_outside(idx, n, &value)
    if bad >= 0:
        raise IndexError(f"{what}[{bad}] = {value} lies outside [0, {n})")
    return 0


cdef int _check_fault(const cmem_fault *fault, Py_ssize_t n, str what) except -1:
    # After a kernel's loop: an index it found outside its buffer, written after the check.
    if fault.at >= 0:
        raise IndexError(f"{what}[{fault.at}] = {fault.value} lies outside [0, {n}) "
                         f"(changed while the kernel ran)")
    return 0


cdef Py_ssize_t _clamp_stride(Py_ssize_t stride, Py_ssize_t n) except -1:
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}")
    # A stride past the end reads a[0] alone, as stride == n does; the kernels need stride <= n.
    return stride if stride <= n else n


cdef int _check_chase(const int64_t[::1] nxt, int64_t start, Py_ssize_t steps) except -1:
    _check_len(nxt.shape[0], "nodes")
    if steps < 0:
        raise ValueError(f"steps must be at least 0, got {steps}")
    if start < 0 or start >= nxt.shape[0]:
        raise IndexError(f"start = {start} lies outside [0, {nxt.shape[0]})")
    _check_indices(nxt, nxt.shape[0], "nodes")
    return 0


@cython.boundscheck(False)  # &dst[0], &src[0]: both lengths checked first
cdef int _check_copy(double[::1] dst, const double[::1] src) except -1:
    _check_len(src.shape[0], "src")
    if dst.shape[0] != src.shape[0]:
        raise ValueError(f"dst has {dst.shape[0]} elements, src {src.shape[0]}: they must match")
    # cmem_copy_f64 takes restrict pointers, so the buffers must not overlap (both kernels
    # refuse, so that they keep one contract).
    cdef const double *d = &dst[0]
    cdef const double *s = &src[0]
    if d < s + src.shape[0] and s < d + dst.shape[0]:
        raise ValueError("dst and src overlap")
    return 0


# ---------------------------------------------------------------------------------------------
# The timed entry points: one method per kernel; self.c picks the C loop or the Cython one.

cdef class Kernels:
    """The timed kernels of one implementation: ``CYTHON`` (the loops above) or ``C`` (cmem.c).

    Each method checks its arguments, then times the kernel alone and returns (value, ns).
    """

    cdef readonly bint c

    def __cinit__(self, bint c):
        self.c = c

    def __repr__(self):
        return "fibext._memory.C" if self.c else "fibext._memory.CYTHON"

    # boundscheck off for &buffer[0]: each method has checked first that element 0 exists.

    @cython.boundscheck(False)
    def sum_f64(self, const double[::1] a, Py_ssize_t reps=1):
        """Sum a float64 buffer reps times: (sum of all passes, ns)."""
        _check_len(a.shape[0], "a")
        _check_reps(reps, "reps")
        cdef bint c = self.c
        cdef int64_t t0, t1
        cdef double v
        with nogil:
            t0 = cmem_now_ns()
            v = cmem_sum_f64(&a[0], a.shape[0], reps) if c else _sum_f64(a, reps)
            t1 = cmem_now_ns()
        return v, t1 - t0

    @cython.boundscheck(False)
    def sum_i64(self, const int64_t[::1] a, Py_ssize_t reps=1):
        """Sum an int64 buffer reps times, wrapping modulo 2**64: (sum of all passes, ns)."""
        _check_len(a.shape[0], "a")
        _check_reps(reps, "reps")
        cdef bint c = self.c
        cdef int64_t t0, t1, v
        with nogil:
            t0 = cmem_now_ns()
            v = cmem_sum_i64(&a[0], a.shape[0], reps) if c else _sum_i64(a, reps)
            t1 = cmem_now_ns()
        return v, t1 - t0

    @cython.boundscheck(False)
    def sum_strided_f64(self, const double[::1] a, Py_ssize_t stride, Py_ssize_t reps=1):
        """Sum a[::stride] reps times: (sum of all passes, ns)."""
        _check_len(a.shape[0], "a")
        _check_reps(reps, "reps")
        stride = _clamp_stride(stride, a.shape[0])
        cdef bint c = self.c
        cdef int64_t t0, t1
        cdef double v
        with nogil:
            t0 = cmem_now_ns()
            if c:
                v = cmem_sum_strided_f64(&a[0], a.shape[0], stride, reps)
            else:
                v = _sum_strided_f64(a, stride, reps)
            t1 = cmem_now_ns()
        return v, t1 - t0

    @cython.boundscheck(False)
    def gather_f64(self, const double[::1] a, const int64_t[::1] idx, Py_ssize_t reps=1):
        """Sum a[idx] reps times: (sum of all passes, ns)."""
        _check_len(a.shape[0], "a")
        _check_len(idx.shape[0], "idx")
        _check_reps(reps, "reps")
        _check_indices(idx, a.shape[0], "idx")
        cdef bint c = self.c
        cdef int64_t t0, t1
        cdef double v
        cdef cmem_fault fault
        fault.at = -1
        with nogil:
            t0 = cmem_now_ns()
            if c:
                v = cmem_gather_f64(&a[0], a.shape[0], &idx[0], idx.shape[0], reps, &fault)
            else:
                v = _gather_f64(a, idx, reps, &fault)
            t1 = cmem_now_ns()
        _check_fault(&fault, a.shape[0], "idx")
        return v, t1 - t0

    @cython.boundscheck(False)
    def chase(self, const int64_t[::1] nodes, int64_t start, Py_ssize_t steps):
        """steps dependent loads p = nodes[p] from start: (last p, ns)."""
        _check_chase(nodes, start, steps)
        cdef bint c = self.c
        cdef int64_t t0, t1, p
        cdef cmem_fault fault
        fault.at = -1
        with nogil:
            t0 = cmem_now_ns()
            if c:
                p = cmem_chase(&nodes[0], nodes.shape[0], start, steps, &fault)
            else:
                p = _chase(nodes, start, steps, &fault)
            t1 = cmem_now_ns()
        _check_fault(&fault, nodes.shape[0], "nodes")
        return p, t1 - t0

    @cython.boundscheck(False)
    def fill_f64(self, double[::1] a, double value, Py_ssize_t reps=1):
        """Write value to every element reps times: (last element, ns)."""
        _check_len(a.shape[0], "a")
        _check_reps(reps, "reps")
        cdef bint c = self.c
        cdef int64_t t0, t1
        cdef double v
        with nogil:
            t0 = cmem_now_ns()
            if c:
                v = cmem_fill_f64(&a[0], a.shape[0], value, reps)
            else:
                v = _fill_f64(a, value, reps)
            t1 = cmem_now_ns()
        return v, t1 - t0

    @cython.boundscheck(False)
    def copy_f64(self, double[::1] dst, const double[::1] src, Py_ssize_t reps=1):
        """Copy src into dst reps times: (last element of dst, ns)."""
        _check_copy(dst, src)
        _check_reps(reps, "reps")
        cdef bint c = self.c
        cdef int64_t t0, t1
        cdef double v
        with nogil:
            t0 = cmem_now_ns()
            if c:
                v = cmem_copy_f64(&dst[0], &src[0], dst.shape[0], reps)
            else:
                v = _copy_f64(dst, src, reps)
            t1 = cmem_now_ns()
        return v, t1 - t0


#: The Cython loops.
CYTHON = Kernels(False)
#: The C loops of cmem.c: the reference.
C = Kernels(True)


# ---------------------------------------------------------------------------------------------
# Setup helper (never timed).

@cython.boundscheck(False)
@cython.wraparound(False)
cdef Py_ssize_t _apply_swaps(int64_t[::1] perm, const double[::1] u, Py_ssize_t first,
                             bint cyclic, double *bad) noexcept nogil:
    # Each draw is read once and checked again here: another thread may have written u since
    # apply_swaps checked it, and a draw outside [0, 1) (or nan) makes j outside perm.  Returns
    # the position of such a draw (its value in *bad), having swapped up to it, or -1.
    cdef Py_ssize_t n = perm.shape[0], k, i
    cdef int64_t count, j, tmp
    cdef double x
    for k in range(u.shape[0]):
        if not cmem_load_unit(&u[k], &x):
            bad[0] = x
            return k
        i = n - 1 - (first + k)
        count = i if cyclic else i + 1
        j = <int64_t>(x * count)
        if j >= count:  # u * count can round up to count when u is within 2**-53 of 1
            j = count - 1
        tmp = perm[i]
        perm[i] = perm[j]
        perm[j] = tmp
    return -1


@cython.boundscheck(False)  # u[k] for k in range(len(u)): in bounds
@cython.wraparound(False)
def apply_swaps(int64_t[::1] perm, const double[::1] u, bint cyclic=False, Py_ssize_t first=0):
    """Steps first .. first+len(u)-1 of a shuffle of perm, in place, with uniform draws u in
    [0, 1) (checked first): step k swaps perm[i], i = n-1-k, with perm[j], j = floor(u * (i+1))
    for Fisher-Yates, or j = floor(u * i) for Sattolo's single cycle (cyclic=True).  A whole
    shuffle is steps 0 .. n-2, in one call or in consecutive chunks.

    A draw that another thread changes to one outside [0, 1) while the swaps run stops them
    there (the steps before it are done) with the same ValueError.

    The draws do not depend on the data, so the CPU overlaps the cache misses of successive
    swaps, and chunks of draws keep the floats' memory small.
    """
    cdef Py_ssize_t n = perm.shape[0], m = u.shape[0], k
    cdef Py_ssize_t steps = n - 1 if n > 1 else 0
    # Compared with what is left after first, never as first + m: that sum can overflow.
    if first < 0 or first > steps or m > steps - first:
        raise ValueError(f"steps {first} .. {<object>first + m - 1} lie outside the "
                         f"{steps} steps of a shuffle of {n}")
    for k in range(m):
        if not (0.0 <= u[k] < 1.0):
            raise ValueError(f"u[{k}] = {u[k]!r} lies outside [0, 1)")
    cdef double bad
    with nogil:
        k = _apply_swaps(perm, u, first, cyclic, &bad)
    if k >= 0:
        raise ValueError(f"u[{k}] = {bad!r} lies outside [0, 1) (changed while the swaps ran)")
