/* The Fibonacci loop in plain C: the reference every other variant is measured against. */
#ifndef FIBEXT_CFIB_H
#define FIBEXT_CFIB_H

/* fib(n) by the float loop a, b = a + b, a; n >= 0 (negative n returns 0.0). */
double cfib(int n);

#endif
