/*
 * heap_util.h - the fixture of tests that work on one heap: `h`, made
 * before each test and freed after it (so the leak checks of the
 * sanitizer builds mean something). Use as
 * TestSuite(name, .init = heap_setup, .fini = heap_teardown).
 */
#ifndef AX_TESTS_HEAP_UTIL_H
#define AX_TESTS_HEAP_UTIL_H

#include <criterion/criterion.h>

#include "ax.h"

static ax_heap_t *h;

static inline void heap_setup(void)
{
    h = ax_heap_new();
    cr_assert_not_null(h);
}

static inline void heap_teardown(void)
{
    ax_heap_free(h);
}

#endif /* AX_TESTS_HEAP_UTIL_H */
