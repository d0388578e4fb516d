/* Memory-access kernels in plain C: the reference the Cython kernels in _memory.pyx are
 * measured against (see cmem.c).  No Python.h: callers pass raw pointers and lengths, and
 * the callers (fibext._memory) have checked that every index lies inside its buffer.  The
 * kernels that read an index from a buffer check it again as they use it: another thread
 * may write the buffer between the caller's check and the loop (see cmem_fault).
 */
#ifndef FIBEXT_CMEM_H
#define FIBEXT_CMEM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* One pointer-chase node per 64-byte cache line: NODE_STRIDE int64 slots, of which the first
   holds the slot index of the next node and the rest are padding. */
#define CMEM_NODE_STRIDE 8

/* Compiler-only barrier (it emits no instruction): memory may have changed, so a repeated
   pass over the same buffer must really load it again, and stores before it must happen.
   Shared with the Cython kernels so that both sides repeat their passes the same way. */
#if defined(__GNUC__)
static inline void cmem_clobber(void) { __asm__ volatile("" : : : "memory"); }
#else
#  error "cmem.h needs GCC or Clang inline assembly for its compiler barrier"
#endif

/* An index read from a buffer, read exactly once: a relaxed atomic load is a plain load on
   x86-64 and AArch64, but the compiler may not read the buffer again between the check of the
   value and its use (with a plain load, another thread's write makes that a data race, and
   the compiler may assume none happens). */
static inline int64_t
cmem_load_index(const int64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* A draw read exactly once into *x; true when it lies in [0, 1) (-0.0 included, nan not).
   One unsigned compare of its bits in the common case: every double in [+0, 1) has bits
   below 1.0's, and every other one (negative, >= 1, nan) above them, except -0.0.  Two float
   compares here slowed a 4M-element shuffle by half. */
static inline int
cmem_load_unit(const double *p, double *x)
{
    uint64_t bits;
    __atomic_load(p, x, __ATOMIC_RELAXED);
    memcpy(&bits, x, sizeof bits);  /* the defined way to read a double's bits */
    return bits < UINT64_C(0x3ff0000000000000) || bits == UINT64_C(0x8000000000000000);
}

/* 0 <= j < n in one unsigned compare (a negative j wraps past any n): the branch on it is
   never taken, so the predictor always gets it right and the check costs ~nothing. */
#define CMEM_INSIDE(j, n) ((uint64_t)(j) < (uint64_t)(n))

/* Where a kernel stopped on an index outside its buffer, which only another thread's write
   after the caller's check can put there: the position read and the value found.  The
   caller sets at = -1 before the call and raises if the kernel set it. */
typedef struct {
    ptrdiff_t at;  /* idx[at] or next[at] held the value; -1: no fault */
    int64_t value;
} cmem_fault;

/* Sets *fault: the kernels' way out on an index outside its buffer (out of line, so that
   their loops keep only the compare and the branch). */
__attribute__((cold)) void cmem_set_fault(cmem_fault *fault, ptrdiff_t at, int64_t value);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t cmem_now_ns(void);

/* Each read kernel runs reps passes and returns the sum of all of them (reps x one pass). */
double cmem_sum_f64(const double *a, ptrdiff_t n, ptrdiff_t reps);
/* Wraps modulo 2**64 on overflow, as numpy's int64 sum does (unsigned arithmetic: no UB). */
int64_t cmem_sum_i64(const int64_t *a, ptrdiff_t n, ptrdiff_t reps);
/* a[0] + a[stride] + a[2*stride] + ... for indices below n; stride >= 1. */
double cmem_sum_strided_f64(const double *a, ptrdiff_t n, ptrdiff_t stride, ptrdiff_t reps);
/* a[idx[0]] + ... + a[idx[m-1]] over a[0..n).  An idx[i] outside [0, n) stops the kernel
   before it is used: *fault says where, and the return value means nothing. */
double cmem_gather_f64(const double *a, ptrdiff_t n, const int64_t *idx, ptrdiff_t m,
                       ptrdiff_t reps, cmem_fault *fault);
/* steps dependent loads p = next[p] from p = start (in [0, n)); returns the last p.  A
   next[p] outside [0, n) stops the kernel before it is followed: *fault says where. */
int64_t cmem_chase(const int64_t *next, ptrdiff_t n, int64_t start, ptrdiff_t steps,
                   cmem_fault *fault);
/* Writes value to a[0..n) reps times; returns a[n-1]. */
double cmem_fill_f64(double *a, ptrdiff_t n, double value, ptrdiff_t reps);
/* Copies src[0..n) to dst[0..n) reps times (the buffers must not overlap); returns dst[n-1]. */
double cmem_copy_f64(double *restrict dst, const double *restrict src, ptrdiff_t n,
                     ptrdiff_t reps);

#endif
