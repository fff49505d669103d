/*
 * term_copy - how fast a term is copied from one heap to another (the
 * core of a send): a mixed term of about 1 MB (lists, tuples, maps,
 * floats, atoms, small binaries and shared ones) copied repeatedly.
 * Prints the median throughput over the runs, in MB/s of words copied.
 */
#include <stdio.h>
#include <string.h>

#include "ax.h"
#include "bench.h"

#define RUNS 41

static ax_term_t mixed_term(ax_heap_t *h, size_t target_words)
{
    char text[100];
    ax_term_t list = AX_NIL;
    ax_term_t ok = ax_atom("ok");

    memset(text, 'x', sizeof(text));
    for (int i = 0; ax_copy_size(list) < target_words; i++) {
        for (int j = 0; j < 256; j++, i++) {
            ax_term_t k[] = {ok, ax_int(h, i)};
            ax_term_t v[] = {ax_string(h, "value"), ax_float(h, i * 0.25)};
            ax_term_t e = ax_tuple(h, 4, ax_int(h, (int64_t)i * 1000003),
                                   ax_map_from(h, 2, k, v),
                                   ax_binary(h, text, i % 16 ? 20 : 100),
                                   ax_cons(h, ok, AX_NIL));
            list = ax_cons(h, e, list);
        }
    }
    return list;
}

int main(void)
{
    ax_heap_t *src = ax_heap_new();
    ax_term_t t = mixed_term(src, (1u << 20) / 8);
    size_t bytes = ax_copy_size(t) * 8;
    double mbs[RUNS];

    for (int r = 0; r < RUNS; r++) {
        ax_heap_t *dst = ax_heap_new();
        uint64_t t0 = bench_now_ns();
        ax_term_t c = ax_copy(dst, t);
        uint64_t dt = bench_now_ns() - t0;

        if (c == AX_NONE || ax_compare(c, t) != 0) {
            fprintf(stderr, "term_copy: bad copy\n");
            return 1;
        }
        mbs[r] = (double)bytes / 1e6 / ((double)dt / 1e9);
        ax_heap_free(dst);
    }
    printf("term_copy %.0f MB/s\n", bench_median(mbs, RUNS));
    printf("term_copy_size %.2f MB\n", (double)bytes / 1e6);
    ax_heap_free(src);
    return 0;
}
