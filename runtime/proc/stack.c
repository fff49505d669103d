/*
 * stack.c - guarded stacks and their pools (stack.h).
 *
 * The page size and the stack limit are set once, by the first
 * ax__stack_pool_init or ax__stack_limit, before any stack exists; they
 * never change afterwards, so ax__stack_is_guard may read them from a
 * signal handler. `mapped` counts every stack from its reservation in
 * map_stack to its munmap, so it never exceeds the limit.
 */
#include "stack.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../ax.h"
#include "../core/alloc.h"

/* vm.max_map_count when /proc cannot tell. */
#define MAX_MAP_COUNT_DEFAULT 65530

static pthread_once_t limits_once = PTHREAD_ONCE_INIT;
static size_t page_size;
static size_t limit;
/* Relaxed: a count and a budget, it orders no other memory. */
static atomic_size_t mapped;

static size_t max_map_count(void)
{
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    unsigned long n = 0;

    if (!f)
        return MAX_MAP_COUNT_DEFAULT;
    if (fscanf(f, "%lu", &n) != 1 || n == 0)
        n = MAX_MAP_COUNT_DEFAULT;
    fclose(f);
    return n;
}

/* A quarter of the mappings for the rest of the program, two a stack. */
static void init_limits(void)
{
    size_t maps = max_map_count();

    page_size = (size_t)sysconf(_SC_PAGESIZE);
    limit = (maps - maps / 4) / 2;
}

/* Takes one stack out of the budget; false if it is spent. */
static bool reserve(void)
{
    size_t n = atomic_load_explicit(&mapped, memory_order_relaxed);

    do {
        if (n >= limit)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(
        &mapped, &n, n + 1, memory_order_relaxed, memory_order_relaxed));
    return true;
}

static void release(void)
{
    atomic_fetch_sub_explicit(&mapped, 1, memory_order_relaxed);
}

static struct stack *map_stack(size_t size)
{
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK;
    struct stack *s;
    char *base;
    int err = ENOMEM;

    if (!reserve()) {
        errno = EAGAIN;
        return NULL;
    }
    s = ax__malloc(sizeof(*s));
    if (!s)
        goto out_release;
    base = mmap(NULL, page_size + size, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (base == MAP_FAILED) {
        err = errno;
        goto out_free;
    }
    if (mprotect(base, page_size, PROT_NONE) != 0) {
        err = errno;
        goto out_unmap;
    }
    s->lo = base + page_size;
    s->size = size;
    s->next = NULL;
    return s;

out_unmap:
    munmap(base, page_size + size);
out_free:
    ax__free(s);
out_release:
    release();
    errno = err;
    return NULL;
}

/*
 * munmap can fail only if the kernel had merged the guard with a
 * neighbouring mapping and splitting it would exceed max_map_count; the
 * pages then stay mapped, and nothing refers to them.
 */
static void unmap_stack(struct stack *s)
{
    munmap((char *)s->lo - page_size, page_size + s->size);
    ax__free(s);
    release();
}

int ax__stack_pool_init(struct stack_pool *p, size_t stack_size,
                        size_t max_free)
{
    pthread_once(&limits_once, init_limits);
    if (stack_size == 0)
        stack_size = AX_STACK_SIZE_DEFAULT;
    if (stack_size > SIZE_MAX / 2)
        return AX_EINVAL;
    p->free = NULL;
    p->nfree = 0;
    p->max_free = max_free;
    p->stack_size = (stack_size + page_size - 1) & ~(page_size - 1);
    return 0;
}

void ax__stack_pool_destroy(struct stack_pool *p)
{
    struct stack *s;

    if (!p)
        return;
    while ((s = p->free)) {
        p->free = s->next;
        unmap_stack(s);
    }
    p->nfree = 0;
}

struct stack *ax__stack_get(struct stack_pool *p)
{
    struct stack *s = p->free;

    if (!s)
        return map_stack(p->stack_size);
    p->free = s->next;
    p->nfree--;
    s->next = NULL;
    return s;
}

void ax__stack_put(struct stack_pool *p, struct stack *s)
{
    if (p->nfree >= p->max_free || s->size != p->stack_size) {
        unmap_stack(s);
        return;
    }
    s->next = p->free;
    p->free = s;
    p->nfree++;
}

size_t ax__stack_count(void)
{
    return atomic_load_explicit(&mapped, memory_order_relaxed);
}

size_t ax__stack_limit(void)
{
    pthread_once(&limits_once, init_limits);
    return limit;
}

bool ax__stack_is_guard(const struct stack *s, const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    uintptr_t lo = (uintptr_t)s->lo;

    return a < lo && a >= lo - page_size;
}
