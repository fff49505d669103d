/*
 * bench.h - what every benchmark shares: a monotonic clock, and medians
 * and percentiles of repeated measurements. Each benchmark is its own
 * program and prints `name value unit` lines; `make bench` runs them all.
 */
#ifndef AX_BENCH_H
#define AX_BENCH_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* The p-th percentile (0..100) of v[0..n); sorts v. */
static inline double bench_percentile(double *v, size_t n, double p)
{
    size_t i;

    qsort(v, n, sizeof(*v), bench_cmp_double);
    i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static inline double bench_median(double *v, size_t n)
{
    return bench_percentile(v, n, 50.0);
}

#endif /* AX_BENCH_H */

#include <stdio.h>

#include "ax.h"

/* Runs fn as the root process of a node with the default schedulers;
 * exits the program if it fails. */
static inline void bench_run_node(ax_body_fn fn, ax_term_t arg)
{
    char *reason = NULL;

    if (ax_node_start(NULL) != 0 || ax_node_run(fn, arg, &reason) != 0) {
        fprintf(stderr, "benchmark failed: %s\n", reason ? reason : "?");
        exit(1);
    }
    free(reason);
    ax_node_stop();
}

/* Ends the root with a reason if cond fails. */
#define BENCH_CHECK(cond)                                                 \
    do {                                                                  \
        if (!(cond))                                                      \
            ax_exit(ax_atom("check_failed: " #cond));                     \
    } while (0)
