/*
 * counter.c - striped counters (counter.h).
 */
#include "counter.h"

AX_TLS unsigned ax__counter_stripe;

unsigned ax__counter_pick(void)
{
    /* Relaxed: it only spreads threads over stripes. */
    static _Atomic unsigned next;
    unsigned n = atomic_fetch_add_explicit(&next, 1, memory_order_relaxed);

    ax__counter_stripe = n % AX_COUNTER_STRIPES + 1;
    return ax__counter_stripe;
}

uint64_t ax__counter_read(const struct counter *c)
{
    int64_t sum = 0;

    /* Relaxed: a total for display; no other data is read through it. */
    for (unsigned i = 0; i < AX_COUNTER_STRIPES; i++)
        sum += atomic_load_explicit(&c->s[i].v, memory_order_relaxed);
    return sum > 0 ? (uint64_t)sum : 0;
}
