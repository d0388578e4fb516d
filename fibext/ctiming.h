/* cfib() timed inside C: see ctiming.c for what the two figures mean. */
#ifndef FIBEXT_CTIMING_H
#define FIBEXT_CTIMING_H

/* Nanoseconds per cfib(n) over loops back-to-back, independent calls. */
double cfib_throughput_ns(int n, long loops);

/* Nanoseconds per cfib(n) over loops calls, each starting after the previous one finished,
   the serialising fence between calls included. */
double cfib_serial_ns(int n, long loops);

/* Nanoseconds per serialising fence alone, over loops fences. */
double fence_ns(long loops);

#endif
