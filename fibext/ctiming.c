/* Pure C, timed from C, with no interpreter in the loop.
 *
 * A call from Python cannot time cfib() alone (the call itself costs more than fib(0)), so
 * time_c() runs the loop in C and reports two figures that must not be confused:
 *
 *   throughput_ns: back-to-back independent calls.  A modern out-of-order core overlaps the
 *                  end of one call with the start of the next, so this is the cost per call
 *                  when many are in flight: the best C can do.
 *   latency_ns:    each call starts only after the previous one has finished (a serialising
 *                  fence between calls; fibext.time_c takes off the fence's own cost, timed
 *                  alone, best against best, so that noise in one cannot cancel the other),
 *                  so this is the time one call takes from start to
 *                  result: what a caller that needs the answer waits, and the fair figure to
 *                  set beside a call from Python.
 */
#include <time.h>

#include "cfib.h"
#include "ctiming.h"

#if !defined(__GNUC__)
#  error "ctiming.c needs GCC or Clang inline assembly for its compiler barriers"
#endif

/* The compiler must neither fold repeated calls nor hoist cfib(n) out of the loop (cfib is
   pure, and with LTO it could be inlined): the empty asm "changes" n on every iteration and
   "uses" each result, so every call is made.  The asm emits no instruction, so the CPU sees
   no dependency between calls and is free to overlap them. */
#define OPAQUE(x) __asm__ volatile("" : "+r"(x))
#define KEEP(x) __asm__ volatile("" : : "r,m"(x) : "memory")

/* Waits until every earlier instruction has completed before any later one starts: a real
   barrier for the CPU, unlike the compiler-only ones above. */
#if defined(__x86_64__) || defined(__i386__)
#  define SERIALISE() __builtin_ia32_lfence()
#elif defined(__aarch64__)
#  define SERIALISE() __asm__ volatile("dsb sy\n\tisb" : : : "memory")
#else
#  error "ctiming.c: no serialising instruction known for this architecture"
#endif

static double
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

double
cfib_throughput_ns(int n, long loops)
{
    double start = now_ns();
    for (long i = 0; i < loops; i++) {
        int k = n;
        OPAQUE(k);
        double result = cfib(k);
        KEEP(result);
    }
    return (now_ns() - start) / (double)loops;
}

double
cfib_serial_ns(int n, long loops)
{
    double start = now_ns();
    for (long i = 0; i < loops; i++) {
        int k = n;
        OPAQUE(k);
        double result = cfib(k);
        KEEP(result);
        SERIALISE();
    }
    return (now_ns() - start) / (double)loops;
}

double
fence_ns(long loops)
{
    /* The fence costs several ns even with nothing to wait for: timed alone, it is taken off
       serialised calls to give their latency. */
    double start = now_ns();
    for (long i = 0; i < loops; i++) {
        int k = 0;
        OPAQUE(k);
        KEEP(k);
        SERIALISE();
    }
    return (now_ns() - start) / (double)loops;
}
