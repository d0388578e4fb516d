/* Memory-access kernels in plain C: the reference the Cython kernels in _memory.pyx are
 * measured against (see cmem.c).  No Python.h: callers pass raw pointers and lengths, and
 * the callers (fibext._memory) have checked that every index lies inside its buffer.
 */
#ifndef FIBEXT_CMEM_H
#define FIBEXT_CMEM_H

#include <stddef.h>
#include <stdint.h>

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

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t cmem_now_ns(void);

/* Each read kernel runs reps passes and returns the sum of all of them (reps x one pass). */
double cmem_sum_f64(const double *a, ptrdiff_t n, ptrdiff_t reps);
/* Wraps modulo 2**64 on overflow, as numpy's int64 sum does (unsigned arithmetic: no UB). */
int64_t cmem_sum_i64(const int64_t *a, ptrdiff_t n, ptrdiff_t reps);
/* a[0] + a[stride] + a[2*stride] + ... for indices below n; stride >= 1. */
double cmem_sum_strided_f64(const double *a, ptrdiff_t n, ptrdiff_t stride, ptrdiff_t reps);
/* a[idx[0]] + ... + a[idx[m-1]]; every idx[i] must lie in [0, len(a)). */
double cmem_gather_f64(const double *a, const int64_t *idx, ptrdiff_t m, ptrdiff_t reps);
/* steps dependent loads p = next[p] from p = start; returns the last p.  Every next[i] must
   lie in [0, len(next)). */
int64_t cmem_chase(const int64_t *next, int64_t start, ptrdiff_t steps);
/* Writes value to a[0..n) reps times; returns a[n-1]. */
double cmem_fill_f64(double *a, ptrdiff_t n, double value, ptrdiff_t reps);
/* Copies src[0..n) to dst[0..n) reps times (the buffers must not overlap); returns dst[n-1]. */
double cmem_copy_f64(double *restrict dst, const double *restrict src, ptrdiff_t n,
                     ptrdiff_t reps);

#endif
