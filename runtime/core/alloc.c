/*
 * alloc.c - the runtime's allocator and its fault injection (alloc.h).
 */
#include "alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls.h"


#ifdef AX_TESTING
static AX_TLS long fail_countdown = -1;

static int injected_failure(void)
{
    if (fail_countdown < 0)
        return 0;
    if (fail_countdown == 0)
        return 1;
    fail_countdown--;
    return 0;
}

void ax__alloc_fail_after(long n)
{
    fail_countdown = n;
}
#else
static int injected_failure(void)
{
    return 0;
}

void ax__alloc_fail_after(long n)
{
    (void)n;
}
#endif

void *ax__malloc(size_t size)
{
    return injected_failure() ? NULL : malloc(size ? size : 1);
}

void *ax__calloc(size_t n, size_t size)
{
    return injected_failure() ? NULL : calloc(n ? n : 1, size ? size : 1);
}

void *ax__realloc(void *p, size_t size)
{
    return injected_failure() ? NULL : realloc(p, size ? size : 1);
}

void *ax__calloc_aligned(size_t align, size_t size)
{
    void *p;

    if (injected_failure() || posix_memalign(&p, align, size ? size : 1))
        return NULL;
    memset(p, 0, size);
    return p;
}

void ax__free(void *p)
{
    free(p);
}

void *ax__malloc_array(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    return ax__malloc(n * size);
}

void *ax__realloc_array(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    return ax__realloc(p, n * size);
}
