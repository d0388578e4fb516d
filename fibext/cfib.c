#include "cfib.h"

double
cfib(int n)
{
    double a = 0.0, b = 1.0, t;
    for (int i = 0; i < n; i++) {
        t = a;
        a = a + b;
        b = t;
    }
    return a;
}
