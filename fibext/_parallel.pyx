# cython: language_level=3, boundscheck=False, wraparound=False
# cython: embedsignature=True, embedsignature.format=clinic
# No GIL needed (free-threaded builds): the kernels keep no shared state and sum into locals.
# cython: freethreading_compatible=True
# distutils: sources = fibext/cfib.c
# distutils: include_dirs = fibext
"""The compiled kernels of fibext.parallel: a share of a batch of fib(n) calls.

A batch's result is a checksum: the sum, modulo 2**64, of the bit patterns of every fib(n)
value.  Integer addition modulo 2**64 does not depend on order, so however the batch is split
among workers the checksum is bit-for-bit the serial one, and a skipped or repeated call shows.

The three kernels differ only in what they do with the GIL:

- share_gil holds it for the whole share, as compiled code does unless told otherwise;
- share_nogil releases it (``with nogil``) around each chunk of CHUNK calls;
- batch_prange splits each chunk of PRANGE_CHUNK calls among OpenMP threads (``prange``).

Between chunks each kernel takes the GIL, calls PyErr_CheckSignals() (so Ctrl-C stops a long
batch run in the main thread) and the caller's ``check`` (so fibext.parallel can stop workers
when another worker failed or the caller was interrupted).

Whether prange really ran in parallel depends on the build: setup.py adds -fopenmp only when
the compiler can build and link an OpenMP program.  Without it Cython's prange is a plain
serial loop; OPENMP (from the compiler's own _OPENMP macro) says which build this is.
"""

from libc.stdint cimport uint64_t
from libc.string cimport memcpy
from cpython.exc cimport PyErr_CheckSignals
from cython.parallel cimport parallel, prange, threadid

from fibext._contract import index_n as _index_n
from fibext.cfib cimport cfib
from fibext.fibarg cimport as_n

cdef object index_n = _index_n

cdef extern from *:
    # _OPENMP is defined by the compiler itself, only under -fopenmp: the truth about this build,
    # whatever setup.py believed.
    """
    #ifdef _OPENMP
    #define FIBEXT_OPENMP_VERSION ((long)_OPENMP)
    #else
    #define FIBEXT_OPENMP_VERSION 0L
    #endif
    """
    const long FIBEXT_OPENMP_VERSION

#: The OpenMP version this module was compiled against (the _OPENMP date, e.g. 201511), or 0.
OPENMP_VERSION = FIBEXT_OPENMP_VERSION
#: True when this module was compiled with OpenMP, so prange can use several threads.
OPENMP = FIBEXT_OPENMP_VERSION != 0

# C constants, exported below as module attributes: the loops read the constants, so that
# rebinding an attribute (from the stop check, or from another thread while a share runs)
# cannot change a share's chunks under it (a chunk of 0 or less would never end the loop).
cdef enum:
    _CHUNK = 20_000
    _PRANGE_CHUNK = 200_000
    _MAX_THREADS = 1024  # also sizes prange_threads()'s array

#: Calls between GIL re-acquisitions in the thread kernels: ~1 ms, so Ctrl-C and the stop
#: check answer within a millisecond while re-taking the GIL costs well under 1%.
CHUNK = _CHUNK
#: Calls per prange region: a few ms, so starting the OpenMP team (microseconds) is noise.
PRANGE_CHUNK = _PRANGE_CHUNK
#: Most OpenMP threads prange_threads() can count.
MAX_THREADS = _MAX_THREADS


cdef inline uint64_t _bits(double x) noexcept nogil:
    # memcpy is the defined way to read a double's bits (a pointer cast breaks aliasing rules).
    cdef uint64_t b
    memcpy(&b, &x, sizeof(b))
    return b


cdef uint64_t _checksum(Py_ssize_t calls, int n) noexcept nogil:
    # cfib lives in cfib.c, another translation unit: the compiler cannot see it is pure, so
    # it cannot hoist the call out of the loop and every call is really made.
    cdef Py_ssize_t _i
    cdef uint64_t total = 0
    for _i in range(calls):
        total += _bits(cfib(n))
    return total


cdef Py_ssize_t _check_calls(Py_ssize_t calls) except -1:
    if calls < 0:
        raise ValueError(f"calls must be non-negative, got {calls}")
    return calls


cdef int _between_chunks(object check) except -1:
    PyErr_CheckSignals()  # a no-op outside the main thread, where Python handles no signals
    if check is not None:
        check()
    return 0


def share_gil(Py_ssize_t calls, n, check=None):
    """Checksum of `calls` calls of cfib(n), holding the GIL throughout.

    check() is called between chunks, with the GIL; it stops the share by raising.
    """
    cdef int k = as_n(n, index_n)
    cdef uint64_t total = 0
    cdef Py_ssize_t done = 0, step
    _check_calls(calls)
    while done < calls:
        step = min(<Py_ssize_t>_CHUNK, calls - done)
        total += _checksum(step, k)
        done += step
        _between_chunks(check)
    return total


def share_nogil(Py_ssize_t calls, n, check=None):
    """Checksum of `calls` calls of cfib(n), releasing the GIL around each chunk.

    check() is called between chunks, with the GIL; it stops the share by raising.
    """
    cdef int k = as_n(n, index_n)
    cdef uint64_t total = 0, part
    cdef Py_ssize_t done = 0, step
    _check_calls(calls)
    while done < calls:
        step = min(<Py_ssize_t>_CHUNK, calls - done)
        with nogil:
            part = _checksum(step, k)
        total += part
        done += step
        _between_chunks(check)
    return total


def batch_prange(Py_ssize_t calls, n, int num_threads):
    """Checksum of `calls` calls of cfib(n), each chunk split among num_threads by prange.

    schedule="static" gives each thread one contiguous, equal slice: every call costs the
    same, so nothing is gained by dynamic scheduling's bookkeeping.
    """
    cdef int k = as_n(n, index_n)
    cdef uint64_t total = 0, part
    cdef Py_ssize_t done = 0, step, _i
    _check_calls(calls)
    if num_threads < 1:
        raise ValueError(f"num_threads must be at least 1, got {num_threads}")
    while done < calls:
        step = min(<Py_ssize_t>_PRANGE_CHUNK, calls - done)
        part = 0
        with nogil:
            # `part +=` makes part a reduction variable: each thread sums privately, and
            # OpenMP adds the partial sums (order-free for integers modulo 2**64).
            for _i in prange(step, num_threads=num_threads, schedule="static"):
                part += _bits(cfib(k))
        total += part
        done += step
        _between_chunks(None)
    return total


def prange_threads(int num_threads):
    """How many threads a parallel region asked for num_threads really ran with.

    Counts the distinct thread ids seen in the region: num_threads with OpenMP (unless
    OMP_THREAD_LIMIT caps it), 1 in a serial build, where Cython's prange is a plain loop.
    """
    cdef int seen[_MAX_THREADS]
    cdef int count = 0, j
    if not 1 <= num_threads <= _MAX_THREADS:
        raise ValueError(f"num_threads must be in [1, {MAX_THREADS}], got {num_threads}")
    for j in range(_MAX_THREADS):
        seen[j] = 0
    with nogil, parallel(num_threads=num_threads):
        seen[threadid()] = 1  # each thread writes only its own slot: no race
    for j in range(_MAX_THREADS):
        count += seen[j]
    return count
