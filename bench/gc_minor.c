/*
 * gc_minor - the pause of a minor collection as a function of live data.
 * Each round makes a fresh live structure of about LIVE words and as much
 * garbage, then collects with the fresh structure as the only root, so
 * every collection copies LIVE young words (what a process that rebuilds
 * its state per message does). Prints the median and 99th percentile.
 */
#include <stdio.h>

#include "ax.h"
#include "bench.h"

#define ROUNDS 2001

/* A list of 3-tuples: 5 words a element (2 for the cell, 3 the tuple). */
static ax_term_t live_data(ax_heap_t *h, size_t words)
{
    ax_term_t l = AX_NIL;

    for (size_t i = 0; i < words / 5; i++)
        l = ax_cons(h, ax_tuple(h, 2, ax_int(h, (int64_t)i), l), l);
    return l;
}

static void measure(size_t live)
{
    ax_heap_t *h = ax_heap_new();
    static double pause[ROUNDS];
    ax_term_t root = AX_NIL;
    size_t rounds = live >= 100000 ? ROUNDS / 4 : ROUNDS;
    ax_heap_stats_t st;

    for (size_t r = 0; r < rounds; r++) {
        root = live_data(h, live);
        live_data(h, live); /* garbage */
        if (ax_heap_gc(h, &root, 1, AX_GC_MINOR) != 0) {
            fprintf(stderr, "gc_minor: out of memory\n");
            exit(1);
        }
        ax_heap_stats(h, &st);
        pause[r] = (double)st.last_pause_ns / 1000.0;
    }
    printf("gc_minor_%zu_median %.2f us\n", live,
           bench_median(pause, rounds));
    printf("gc_minor_%zu_p99 %.2f us\n", live,
           bench_percentile(pause, rounds, 99.0));
    ax_heap_free(h);
}

int main(void)
{
    measure(1000);
    measure(100000);
    return 0;
}
