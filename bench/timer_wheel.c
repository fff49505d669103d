/*
 * timer_wheel - the cost of a scheduler's timers with one million live:
 * adding them (deadlines random within 1 to 100,000 ms), cancelling them
 * all, and advancing a millisecond at a time until every one has fired.
 * Prints the median over the runs of the mean cost per operation, and
 * per fired timer for the advance.
 */
#include <stdio.h>

#include "bench.h"
#include "sched/timer.h"

#define TIMERS 1000000
#define SPAN_MS 100000
#define RUNS 7
#define START_MS UINT64_C(1000000007)

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = (*s += UINT64_C(0x9e3779b97f4a7c15));

    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* Nanoseconds a timer to add every timer of t. */
static double add_all(struct wheel *w, struct timer *t,
                      const uint64_t *deadline)
{
    uint64_t t0 = bench_now_ns();

    for (size_t i = 0; i < TIMERS; i++)
        ax__wheel_add(w, &t[i], deadline[i]);
    return (double)(bench_now_ns() - t0) / TIMERS;
}

static double cancel_all(struct wheel *w, struct timer *t)
{
    uint64_t t0 = bench_now_ns();

    for (size_t i = 0; i < TIMERS; i++)
        ax__wheel_cancel(w, &t[i]);
    return (double)(bench_now_ns() - t0) / TIMERS;
}

/* Nanoseconds a fired timer to advance 1 ms at a time until all fired,
 * walking each expired list as a caller firing them would. */
static double advance_all(struct wheel *w)
{
    uint64_t t0 = bench_now_ns();
    size_t fired = 0;
    struct timer *list;

    for (uint64_t now = START_MS + 1; ax__wheel_count(w) != 0; now++) {
        ax__wheel_advance(w, now, &list);
        for (; list != NULL; list = list->next)
            fired++;
    }
    if (fired != TIMERS) {
        fprintf(stderr, "timer_wheel: %zu of %d fired\n", fired, TIMERS);
        exit(1);
    }
    return (double)(bench_now_ns() - t0) / TIMERS;
}

int main(void)
{
    static struct wheel w;
    struct timer *t = calloc(TIMERS, sizeof(*t));
    uint64_t *deadline = calloc(TIMERS, sizeof(*deadline));
    double add[RUNS];
    double cancel[RUNS];
    double advance[RUNS];
    uint64_t rng = 42;

    if (t == NULL || deadline == NULL) {
        fprintf(stderr, "timer_wheel: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < TIMERS; i++) {
        ax__timer_init(&t[i]);
        deadline[i] = START_MS + 1 + rng_next(&rng) % SPAN_MS;
    }
    for (int r = 0; r < RUNS; r++) {
        ax__wheel_init(&w, START_MS);
        add[r] = add_all(&w, t, deadline);
        cancel[r] = cancel_all(&w, t);
        add_all(&w, t, deadline);
        advance[r] = advance_all(&w);
        ax__wheel_destroy(&w);
    }
    printf("timer_add %.1f ns\n", bench_median(add, RUNS));
    printf("timer_cancel %.1f ns\n", bench_median(cancel, RUNS));
    printf("timer_advance %.1f ns\n", bench_median(advance, RUNS));
    free(deadline);
    free(t);
    return 0;
}
