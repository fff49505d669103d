/*
 * stack.h - stacks for processes that block in the middle of a handler,
 * and the per-scheduler pools that keep them for reuse.
 *
 * A stack is one anonymous mapping: an inaccessible guard page, then the
 * usable region [lo, lo + size) (size a multiple of the page size), so
 * that running off its low end faults on the guard page and can be told
 * apart (ax__stack_is_guard) as the process's stack_overflow. Pages are
 * reserved neither in swap nor in RAM until touched.
 *
 * Each stack costs two of the kernel's memory mappings, whose number
 * vm.max_map_count bounds for the whole program (65,530 by default). The
 * stacks mapped at once are therefore capped at ax__stack_limit(), which
 * leaves a quarter of the mappings to the rest of the program; past it
 * ax__stack_get fails, so the caller can report system_limit rather than
 * have mmap or the kernel fail somewhere less clear.
 *
 * A pool belongs to one thread (a scheduler) and takes no lock; a stack
 * may be put back into another thread's pool than the one it came from.
 */
#ifndef AX_PROC_STACK_H
#define AX_PROC_STACK_H

#include <stdbool.h>
#include <stddef.h>

/* Usable bytes of a stack unless a pool asks for another size. */
#define AX_STACK_SIZE_DEFAULT (256u * 1024)

struct stack {
    void *lo;           /* lowest usable byte; the guard page lies below */
    size_t size;        /* usable bytes */
    struct stack *next; /* in a pool's free list */
};

struct stack_pool {
    struct stack *free; /* most recently put back first */
    size_t nfree;
    size_t max_free;   /* more than this are unmapped when put back */
    size_t stack_size; /* usable bytes of each stack, page-rounded */
};

/*
 * Makes p an empty pool of stacks of stack_size usable bytes (rounded up
 * to whole pages; 0 means AX_STACK_SIZE_DEFAULT), which keeps up to
 * max_free stacks for reuse. The caller owns p. Returns 0, or AX_EINVAL
 * if stack_size is too large to map. Reads vm.max_map_count the first
 * time any thread calls it.
 */
int ax__stack_pool_init(struct stack_pool *p, size_t stack_size,
                        size_t max_free);

/*
 * Unmaps every stack p keeps; stacks taken from it and not put back stay
 * the caller's (put them into another pool, or back into p first).
 * Accepts NULL. The owning thread only.
 */
void ax__stack_pool_destroy(struct stack_pool *p);

/*
 * A stack of p's size for the caller to own: one p keeps, or a newly
 * mapped one. Its contents are whatever its last user left. NULL when
 * there is none to be had, with errno EAGAIN when ax__stack_limit()
 * stacks are mapped already, or ENOMEM when memory or mappings ran out.
 * The owning thread only.
 */
struct stack *ax__stack_get(struct stack_pool *p);

/*
 * Gives s back: p keeps it for reuse if it holds fewer than max_free and
 * s has p's size, else s is unmapped. Either way s is no longer the
 * caller's, and no context may still run on it. The owning thread only.
 *
 * A kept stack keeps the pages its last user touched: releasing them
 * (madvise MADV_DONTNEED) would cost a syscall on every put and page
 * faults on the next use, while what a pool can hold this way is bounded
 * by max_free stacks.
 */
void ax__stack_put(struct stack_pool *p, struct stack *s);

/* Stacks mapped now, by all pools of all threads. Any thread. */
size_t ax__stack_count(void);

/* The most stacks that may be mapped at once (see above). Any thread. */
size_t ax__stack_limit(void);

/*
 * Whether addr lies in s's guard page, i.e. a fault at addr is s's
 * overflow. Async-signal-safe: no lock, no allocation.
 */
bool ax__stack_is_guard(const struct stack *s, const void *addr);

#endif /* AX_PROC_STACK_H */
