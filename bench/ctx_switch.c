/*
 * ctx_switch - the cost of one context switch, two contexts handing
 * control back and forth on one thread with their stacks hot in cache
 * (what a process blocking and being resumed pays, less the scheduler),
 * and of taking a stack from a pool and putting it back (the reuse path
 * every activation that blocks goes through). Each figure is the median
 * of RUNS runs.
 *
 * ctx_switch calls the switch in a loop; ctx_switch_call calls it inside
 * a function that then returns, as code that blocks does. The second is
 * the honest figure: after a switch the CPU's return predictor holds the
 * other context's return addresses, so the first return misses.
 */
#include <stdio.h>

#include "bench.h"
#include "proc/ctx.h"
#include "proc/stack.h"

#define RUNS 7
#define SWITCHES 10000000
#define GET_PUTS 10000000

static struct ctx main_ctx;
static struct ctx peer;
static volatile long calls;

static void bounce(void *arg)
{
    (void)arg;
    for (;;)
        ax__ctx_switch(&peer, &main_ctx);
}

/* Not inlined, and not a tail call: it has to return. */
static __attribute__((noinline)) void switch_call(struct ctx *from,
                                                  struct ctx *to)
{
    ax__ctx_switch(from, to);
    calls++;
}

static void bounce_call(void *arg)
{
    (void)arg;
    for (;;)
        switch_call(&peer, &main_ctx);
}

/* Nanoseconds a switch, over SWITCHES switches (half each way). */
static double switch_run(void (*sw)(struct ctx *, struct ctx *))
{
    uint64_t t0 = bench_now_ns();

    for (long i = 0; i < SWITCHES / 2; i++)
        sw(&main_ctx, &peer);
    return (double)(bench_now_ns() - t0) / SWITCHES;
}

static void measure_switch(const char *name, struct stack *s,
                           void (*entry)(void *),
                           void (*sw)(struct ctx *, struct ctx *))
{
    double ns[RUNS];

    ax__ctx_init(&peer, s->lo, s->size, entry, NULL);
    for (int r = 0; r < RUNS; r++)
        ns[r] = switch_run(sw);
    printf("%s %.1f ns\n", name, bench_median(ns, RUNS));
    ax__ctx_destroy(&peer);
}

/* Nanoseconds a get and put of a stack the pool keeps. */
static double get_put_run(struct stack_pool *p)
{
    uint64_t t0 = bench_now_ns();

    for (long i = 0; i < GET_PUTS; i++)
        ax__stack_put(p, ax__stack_get(p));
    return (double)(bench_now_ns() - t0) / GET_PUTS;
}

int main(void)
{
    struct stack_pool pool;
    struct stack *s;
    double ns[RUNS];

    if (ax__stack_pool_init(&pool, 0, 4) != 0 || !(s = ax__stack_get(&pool))) {
        fprintf(stderr, "ctx_switch: no stack\n");
        return 1;
    }
    ax__ctx_init_thread(&main_ctx);
    measure_switch("ctx_switch", s, bounce, ax__ctx_switch);
    measure_switch("ctx_switch_call", s, bounce_call, switch_call);
    for (int r = 0; r < RUNS; r++)
        ns[r] = get_put_run(&pool);
    printf("stack_get_put %.1f ns\n", bench_median(ns, RUNS));
    ax__stack_put(&pool, s);
    ax__stack_pool_destroy(&pool);
    return 0;
}
