/*
 * counter.h - striped counters: a total that many threads change often
 * and a reader (the node's stats request) sums rarely, such as the bytes
 * of every process heap.
 *
 * Each thread adds to its own stripe, one cache line, so threads that
 * allocate do not bounce a shared line between cores. A stripe may go
 * negative (a heap grown on one scheduler is freed on another); only the
 * sum means something. A read is a snapshot of each stripe in turn, so
 * while adds go on it is approximate, never torn.
 */
#ifndef AX_CORE_COUNTER_H
#define AX_CORE_COUNTER_H

#include <stdatomic.h>
#include <stdint.h>

#include "tls.h"

#define AX_COUNTER_STRIPES 16

struct counter {
    struct {
        _Alignas(64) _Atomic int64_t v;
    } s[AX_COUNTER_STRIPES];
};

/* The calling thread's stripe plus one; 0 until its first add. */
extern AX_TLS unsigned ax__counter_stripe;

/* Picks the calling thread's stripe (round robin over the threads). */
unsigned ax__counter_pick(void);

/*
 * Adds d to c. Relaxed: the total orders nothing else, and each thread
 * mostly owns its stripe; fetch_add (not load and store) because more
 * threads than stripes share some. Any thread.
 */
static inline void ax__counter_add(struct counter *c, int64_t d)
{
    unsigned i = ax__counter_stripe;

    if (!i)
        i = ax__counter_pick();
    atomic_fetch_add_explicit(&c->s[i - 1].v, d, memory_order_relaxed);
}

/* The sum of c's stripes (0 if it came out negative mid-update). Any
 * thread. */
uint64_t ax__counter_read(const struct counter *c);

#endif /* AX_CORE_COUNTER_H */
