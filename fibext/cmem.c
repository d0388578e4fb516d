/* Memory-access kernels in plain C, the reference for the Cython kernels in _memory.pyx.
 *
 * The loops are written the way the Cython ones are (same accumulators, same pass structure),
 * so that a gap between the two measures the language, not the algorithm:
 *
 * - reads sum into 8 (contiguous) or 4 (strided, gathered) independent accumulators.  With one
 *   accumulator a float sum waits ~3-4 cycles on each add (the compiler may not reorder float
 *   additions), and the kernel would measure the adder's latency instead of the memory.
 * - reps passes are separated by cmem_clobber(), so every pass loads (or stores) again, and the
 *   results of all passes are added up, so no pass is dead code.
 * - n == 0 is allowed everywhere and reads nothing; a strided read needs 1 <= stride <= n.
 * - gather and chase read their addresses from a buffer that another thread may write while
 *   they run (the caller checked it first, but released the GIL since): each index is read
 *   once (cmem_load_index) and compared with the bound before it is used: one unsigned compare
 *   and a branch never taken; an index outside stops the kernel, and cmem_fault says which.
 *   Where the loads hit the cache that costs nothing measurable; where they miss, the extra
 *   instruction per index leaves fewer misses in flight, so a gather whose buffers fill the
 *   last-level cache or more is slower than it was unchecked.
 */
/* clock_gettime() under a strict -std=c99 */
#define _POSIX_C_SOURCE 199309L

#include <time.h>

#include "cmem.h"

int64_t
cmem_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec;
}

double
cmem_sum_f64(const double *a, ptrdiff_t n, ptrdiff_t reps)
{
    double total = 0.0;
    for (ptrdiff_t r = 0; r < reps; r++) {
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0, s5 = 0.0, s6 = 0.0, s7 = 0.0;
        ptrdiff_t i = 0;
        for (; i + 8 <= n; i += 8) {
            s0 += a[i];
            s1 += a[i + 1];
            s2 += a[i + 2];
            s3 += a[i + 3];
            s4 += a[i + 4];
            s5 += a[i + 5];
            s6 += a[i + 6];
            s7 += a[i + 7];
        }
        for (; i < n; i++) {
            s0 += a[i];
        }
        total += ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
        cmem_clobber();
    }
    return total;
}

int64_t
cmem_sum_i64(const int64_t *a, ptrdiff_t n, ptrdiff_t reps)
{
    uint64_t total = 0;
    for (ptrdiff_t r = 0; r < reps; r++) {
        uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        ptrdiff_t i = 0;
        for (; i + 8 <= n; i += 8) {
            s0 += (uint64_t)a[i];
            s1 += (uint64_t)a[i + 1];
            s2 += (uint64_t)a[i + 2];
            s3 += (uint64_t)a[i + 3];
            s4 += (uint64_t)a[i + 4];
            s5 += (uint64_t)a[i + 5];
            s6 += (uint64_t)a[i + 6];
            s7 += (uint64_t)a[i + 7];
        }
        for (; i < n; i++) {
            s0 += (uint64_t)a[i];
        }
        total += ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
        cmem_clobber();
    }
    return (int64_t)total;
}

double
cmem_sum_strided_f64(const double *a, ptrdiff_t n, ptrdiff_t stride, ptrdiff_t reps)
{
    double total = 0.0;
    for (ptrdiff_t r = 0; r < reps; r++) {
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
        ptrdiff_t i = 0;
        /* i + 3*stride < n without overflow: the caller keeps stride <= n */
        for (; i < n - 3 * stride; i += 4 * stride) {
            s0 += a[i];
            s1 += a[i + stride];
            s2 += a[i + 2 * stride];
            s3 += a[i + 3 * stride];
        }
        for (; i < n; i += stride) {
            s0 += a[i];
        }
        total += (s0 + s1) + (s2 + s3);
        cmem_clobber();
    }
    return total;
}

void
cmem_set_fault(cmem_fault *fault, ptrdiff_t at, int64_t value)
{
    fault->at = at;
    fault->value = value;
}

double
cmem_gather_f64(const double *a, ptrdiff_t n, const int64_t *idx, ptrdiff_t m, ptrdiff_t reps,
                cmem_fault *fault)
{
    double total = 0.0;
    const int64_t *end8 = idx + (m - m % 8), *end = idx + m;
    for (ptrdiff_t r = 0; r < reps; r++) {
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
        const int64_t *p = idx;
        int64_t j;
        /* Each index checked just before its load, in order, so the first one outside is the
           one reported: checking four, then loading four, ran a 64 MiB gather ~6% slower.
           Eight per iteration (the four sums twice) and a pointer for the position: the
           check adds a fused compare-and-branch per index, and the loop's own bookkeeping
           (3 instructions per 8, not 5 per 4) leaves room in the reorder buffer for more
           misses in flight.  4.4 instructions per index (2.75 unchecked, 5.25 four at a
           time by position); a branchless clamp (cmov) and a flag ran 1.7-2x slower. */
        while (p != end8) {
            j = cmem_load_index(&p[0]);
            if (!CMEM_INSIDE(j, n)) { cmem_set_fault(fault, p - idx, j); return 0.0; }
            s0 += a[j];
            j = cmem_load_index(&p[1]);
            if (!CMEM_INSIDE(j, n)) { cmem_set_fault(fault, p - idx + 1, j); return 0.0; }
            s1 += a[j];
            j = cmem_load_index(&p[2]);
            if (!CMEM_INSIDE(j, n)) { cmem_set_fault(fault, p - idx + 2, j); return 0.0; }
            s2 += a[j];
            j = cmem_load_index(&p[3]);
            if (!CMEM_INSIDE(j, n)) { cmem_set_fault(fault, p - idx + 3, j); return 0.0; }
            s3 += a[j];
            j = cmem_load_index(&p[4]);
            if (!CMEM_INSIDE(j, n)) { cmem_set_fault(fault, p - idx + 4, j); return 0.0; }
            s0 += a[j];
            j = cmem_load_index(&p[5]);
            if (!CMEM_INSIDE(j, n)) { cmem_set_fault(fault, p - idx + 5, j); return 0.0; }
            s1 += a[j];
            j = cmem_load_index(&p[6]);
            if (!CMEM_INSIDE(j, n)) { cmem_set_fault(fault, p - idx + 6, j); return 0.0; }
            s2 += a[j];
            j = cmem_load_index(&p[7]);
            if (!CMEM_INSIDE(j, n)) { cmem_set_fault(fault, p - idx + 7, j); return 0.0; }
            s3 += a[j];
            p += 8;
        }
        while (p != end) {
            j = cmem_load_index(p);
            if (!CMEM_INSIDE(j, n)) { cmem_set_fault(fault, p - idx, j); return 0.0; }
            s0 += a[j];
            p++;
        }
        total += (s0 + s1) + (s2 + s3);
        cmem_clobber();
    }
    return total;
}

int64_t
cmem_chase(const int64_t *next, ptrdiff_t n, int64_t start, ptrdiff_t steps, cmem_fault *fault)
{
    /* Each load's address is the previous load's value: the CPU cannot start a load before
       the one before it has finished, so time / steps is the latency of one access.  The
       check is off that chain: the next load's address is q, not the branch's outcome. */
    int64_t p = start;
    for (ptrdiff_t i = 0; i < steps; i++) {
        int64_t q = cmem_load_index(&next[p]);
        if (!CMEM_INSIDE(q, n)) {
            cmem_set_fault(fault, p, q);
            return p;
        }
        p = q;
    }
    return p;
}

double
cmem_fill_f64(double *a, ptrdiff_t n, double value, ptrdiff_t reps)
{
    for (ptrdiff_t r = 0; r < reps; r++) {
        for (ptrdiff_t i = 0; i < n; i++) {
            a[i] = value;
        }
        cmem_clobber();
    }
    return n > 0 ? a[n - 1] : 0.0;
}

double
cmem_copy_f64(double *restrict dst, const double *restrict src, ptrdiff_t n, ptrdiff_t reps)
{
    for (ptrdiff_t r = 0; r < reps; r++) {
        for (ptrdiff_t i = 0; i < n; i++) {
            dst[i] = src[i];
        }
        cmem_clobber();
    }
    return n > 0 ? dst[n - 1] : 0.0;
}
