# The plain-C memory kernels (cmem.h), declared for Cython.  The base name is cmem's, not a
# .pyx's: a .pxd that shares a .pyx's name would be read as that module's own declarations.
from libc.stdint cimport int64_t

cdef extern from "cmem.h":
    const int CMEM_NODE_STRIDE

    ctypedef struct cmem_fault:
        Py_ssize_t at
        int64_t value

    void cmem_clobber() noexcept nogil
    int64_t cmem_load_index(const int64_t *p) noexcept nogil
    bint cmem_load_unit(const double *p, double *x) noexcept nogil
    void cmem_set_fault(cmem_fault *fault, Py_ssize_t at, int64_t value) noexcept nogil
    int64_t cmem_now_ns() noexcept nogil

    double cmem_sum_f64(const double *a, Py_ssize_t n, Py_ssize_t reps) noexcept nogil
    int64_t cmem_sum_i64(const int64_t *a, Py_ssize_t n, Py_ssize_t reps) noexcept nogil
    double cmem_sum_strided_f64(const double *a, Py_ssize_t n, Py_ssize_t stride,
                                Py_ssize_t reps) noexcept nogil
    double cmem_gather_f64(const double *a, Py_ssize_t n, const int64_t *idx, Py_ssize_t m,
                           Py_ssize_t reps, cmem_fault *fault) noexcept nogil
    int64_t cmem_chase(const int64_t *next, Py_ssize_t n, int64_t start, Py_ssize_t steps,
                       cmem_fault *fault) noexcept nogil
    double cmem_fill_f64(double *a, Py_ssize_t n, double value, Py_ssize_t reps) noexcept nogil
    double cmem_copy_f64(double *dst, const double *src, Py_ssize_t n,
                         Py_ssize_t reps) noexcept nogil
