/*
 * parse_print - terms per second through the printer and through the
 * parser, on a mix like what a shell prints and reads: small records,
 * lists of integers, maps with atom keys, strings, floats and pids.
 * Prints the median of several runs of each.
 */
#include <stdio.h>
#include <string.h>

#include "ax.h"
#include "bench.h"

#define TERMS 2000
#define RUNS 7

static ax_term_t sample(ax_heap_t *h, int i)
{
    ax_term_t k[] = {ax_atom("name"), ax_atom("count"), ax_atom("ratio")};
    ax_term_t v[] = {ax_string(h, "worker"), ax_int(h, i),
                     ax_float(h, i / 7.0)};
    ax_term_t list = AX_NIL;

    for (int j = 0; j < 8; j++)
        list = ax_cons(h, ax_int(h, (int64_t)i * j), list);
    return ax_tuple(h, 5, ax_atom("state"), ax_map_from(h, 3, k, v), list,
                    ax_tuple(h, 2, ax_atom("ok"), ax_atom("ready")),
                    ax_string(h, "a short binary"));
}

int main(void)
{
    ax_heap_t *h = ax_heap_new();
    static ax_term_t terms[TERMS];
    static char *texts[TERMS];
    double print_rate[RUNS];
    double parse_rate[RUNS];

    for (int i = 0; i < TERMS; i++)
        terms[i] = sample(h, i);
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = bench_now_ns();

        for (int i = 0; i < TERMS; i++) {
            free(texts[i]);
            texts[i] = ax_format(terms[i], NULL, NULL);
        }
        print_rate[r] = TERMS / ((double)(bench_now_ns() - t0) / 1e9);
        t0 = bench_now_ns();
        for (int i = 0; i < TERMS; i++) {
            ax_heap_t *ph = ax_heap_new();
            ax_term_t t;

            if (ax_parse(ph, texts[i], strlen(texts[i]), &t, NULL) != 0 ||
                !ax_equal_exact(t, terms[i])) {
                fprintf(stderr, "parse_print: round trip failed\n");
                return 1;
            }
            ax_heap_free(ph);
        }
        parse_rate[r] = TERMS / ((double)(bench_now_ns() - t0) / 1e9);
    }
    printf("parse_print_print %.0f terms/s\n",
           bench_median(print_rate, RUNS));
    printf("parse_print_parse %.0f terms/s\n",
           bench_median(parse_rate, RUNS));
    printf("parse_print_bytes %zu bytes/term\n", strlen(texts[TERMS / 2]));
    for (int i = 0; i < TERMS; i++)
        free(texts[i]);
    ax_heap_free(h);
    return 0;
}
