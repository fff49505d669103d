/*
 * alloc.h - the runtime's allocator: malloc and friends, with overflow-
 * checked array sizes, and (in builds with AX_TESTING) fault injection:
 * after ax__alloc_fail_after(n), the n+1-th allocation and every one after
 * it fails, so out-of-memory paths can be tested (as SQLite and Lua do).
 */
#ifndef AX_CORE_ALLOC_H
#define AX_CORE_ALLOC_H

#include <stddef.h>

/* As malloc/calloc/realloc/free; NULL on failure (or injected failure). */
void *ax__malloc(size_t size);
void *ax__calloc(size_t n, size_t size);
void *ax__realloc(void *p, size_t size);
void ax__free(void *p);
/* size bytes aligned to align (a power of two, a multiple of the pointer
 * size), zeroed; freed with ax__free. NULL on failure. */
void *ax__calloc_aligned(size_t align, size_t size);
/* n * size bytes, NULL if the product overflows. */
void *ax__malloc_array(size_t n, size_t size);
void *ax__realloc_array(void *p, size_t n, size_t size);

/*
 * Fault injection (AX_TESTING builds; elsewhere a no-op): make every
 * allocation after the next n fail; n < 0 turns it off. Per thread.
 */
void ax__alloc_fail_after(long n);

#endif /* AX_CORE_ALLOC_H */
