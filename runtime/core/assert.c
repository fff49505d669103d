/*
 * assert.c - the failure path of ax_assert() (assert.h).
 */
#include "assert.h"

#include <stdio.h>
#include <stdlib.h>

_Noreturn void ax__assert_fail(const char *expr, const char *file, int line,
                               const char *func)
{
    fprintf(stderr, "ax: assertion failed: %s (%s:%d %s)\n", expr, file,
            line, func);
    fflush(stderr);
    abort();
}
