/*
 * test_gc.c - per-process heaps: bump allocation, copying between heaps,
 * and the generational collector (live data intact, garbage reclaimed,
 * promotion after two minors, major when the old generation is full,
 * shrinking, shared binaries released, out-of-memory left harmless).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "ax.h"
#include "core/alloc.h"
#include "mem/heap.h"
#include "term/atom.h"
#include "term/term.h"
#include "heap_util.h"

TestSuite(gc, .init = heap_setup, .fini = heap_teardown);

/* A term of every kind, about n elements long. */
static ax_term_t sample(ax_heap_t *hp, int n)
{
    char big[100];
    ax_term_t list = AX_NIL;
    uint32_t w[3] = {7, 8, 9};

    memset(big, 'q', sizeof(big));
    for (int i = 0; i < n; i++) {
        ax_term_t k[] = {ax_atom("i"), ax_string(hp, "key")};
        ax_term_t v[] = {ax_int(hp, i % 2 ? INT64_MIN + i : i),
                         ax_float(hp, i * 0.5)};
        ax_term_t e = ax_tuple(hp, 5, ax_int(hp, INT64_MAX - i),
                               ax_map_from(hp, 2, k, v),
                               ax_binary(hp, big, sizeof(big)),
                               ax__make_ref(hp, 0, 3, w),
                               make_pid(0, (uint64_t)i, 1));
        list = ax_cons(hp, e, list);
    }
    return list;
}

Test(gc, live_data_survives_minor_and_major)
{
    ax_heap_t *ref = ax_heap_new();
    ax_term_t roots[2];
    ax_term_t expect;

    roots[0] = sample(h, 200);
    for (int i = 0; i < 1000; i++)
        ax_tuple(h, 2, make_small(i), AX_NIL); /* garbage */
    roots[1] = ax_tuple(h, 2, roots[0], roots[0]); /* shared */
    expect = ax_copy(ref, roots[1]);
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(ax_heap_gc(h, roots, 2,
                                i % 3 == 2 ? AX_GC_MAJOR : AX_GC_AUTO),
                     0);
        cr_assert(ax_equal_exact(roots[1], expect), "after gc %d", i);
        /* Sharing is kept by the collector. */
        cr_assert_eq(ax_tuple_get(roots[1], 0), roots[0]);
        cr_assert_eq(ax_tuple_get(roots[1], 1), roots[0]);
    }
    ax_heap_free(ref);
}

Test(gc, garbage_is_reclaimed_and_heap_stays_bounded)
{
    ax_term_t root = AX_NIL;
    ax_heap_stats_t st;
    size_t peak = 0;

    for (int i = 0; i < 1000000; i++) {
        /* The live term is a short rolling list; the rest is garbage. */
        ax_term_t garbage = ax_tuple(h, 3, make_small(i), AX_NIL, AX_NIL);

        (void)garbage;
        root = ax_cons(h, make_small(i), ax_list_length(root) < 10
                                             ? root
                                             : ax_tail(root));
        if (ax__heap_wants_gc(h))
            cr_assert_eq(ax_heap_gc(h, &root, 1, AX_GC_AUTO), 0);
        ax_heap_stats(h, &st);
        if (st.heap_size + st.old_heap_size > peak)
            peak = st.heap_size + st.old_heap_size;
    }
    cr_assert_lt(peak, 4096, "peak %zu words", peak);
    cr_assert_gt(st.minor_gcs, 100);
    cr_assert_gt(st.words_reclaimed, 3000000);
    cr_assert_eq(ax_head(root), make_small(999999));
}

Test(gc, objects_promoted_after_two_minors)
{
    ax_term_t root = ax_tuple(h, 1, ax_cons(h, make_small(1), AX_NIL));
    ax_heap_stats_t st;

    cr_assert_eq(ax_heap_gc(h, &root, 1, AX_GC_MINOR), 0);
    cr_assert_not(ax__heap_in_old(h, root));
    cr_assert_eq(ax_heap_gc(h, &root, 1, AX_GC_MINOR), 0);
    cr_assert(ax__heap_in_old(h, root));
    cr_assert(ax__heap_in_old(h, ax_tuple_get(root, 0)));
    ax_heap_stats(h, &st);
    cr_assert_eq(st.minor_gcs, 2);
    cr_assert_eq(st.major_gcs, 0);
    cr_assert_eq(st.old_heap_used, 4);
    /* A young term pointing at the old one survives a minor. */
    root = ax_tuple(h, 2, root, make_small(5));
    cr_assert_eq(ax_heap_gc(h, &root, 1, AX_GC_MINOR), 0);
    cr_assert(ax__heap_in_old(h, ax_tuple_get(root, 0)));
    cr_assert_eq(ax_head(ax_tuple_get(ax_tuple_get(root, 0), 0)),
                 make_small(1));
}

Test(gc, major_when_old_generation_outgrows_its_limit)
{
    ax_term_t root = AX_NIL;
    ax_heap_stats_t st;
    int i;

    for (i = 0; i < 10000; i++) {
        root = ax_cons(h, make_small(i), root);
        cr_assert_eq(ax_heap_gc(h, &root, 1, AX_GC_AUTO), 0);
        ax_heap_stats(h, &st);
        if (st.major_gcs > 0)
            break;
    }
    cr_assert_eq(st.major_gcs, 1, "no major after %d collections", i);
    cr_assert_eq(ax_list_length(root), i + 1);
    cr_assert_eq(st.old_heap_size, 0); /* a major empties it */
}

Test(gc, heap_shrinks_when_live_data_drops)
{
    ax_term_t roots[1];
    ax_heap_stats_t big;
    ax_heap_stats_t small;

    roots[0] = sample(h, 20000);
    cr_assert_eq(ax_heap_gc(h, roots, 1, AX_GC_MAJOR), 0);
    ax_heap_stats(h, &big);
    cr_assert_gt(big.heap_size, 100000);
    roots[0] = make_small(0);
    cr_assert_eq(ax_heap_gc(h, roots, 1, AX_GC_MAJOR), 0);
    ax_heap_stats(h, &small);
    cr_assert_leq(small.heap_size, HEAP_MIN_WORDS + 64);
    cr_assert_eq(small.old_heap_size, 0);
    cr_assert_eq(small.offheap_bytes, 0);
}

Test(gc, shared_binaries_released_by_gc_and_kept_by_copies)
{
    char data[256];
    ax_heap_t *other = ax_heap_new();
    ax_term_t bin;
    ax_term_t copy;
    ax_term_t root = AX_NIL;
    struct binary *b;
    ax_heap_stats_t st;
    size_t len;

    memset(data, 7, sizeof(data));
    bin = ax_binary(h, data, sizeof(data));
    b = refbin_binary(bin);
    copy = ax_copy(other, ax_tuple(h, 1, bin));
    cr_assert_eq(atomic_load(&b->refs), 2);
    cr_assert_eq(refbin_binary(ax_tuple_get(copy, 0)), b); /* shared */
    cr_assert_eq(ax_heap_gc(h, &root, 1, AX_GC_AUTO), 0);
    ax_heap_stats(h, &st);
    cr_assert_eq(st.offheap_bytes, 0);
    cr_assert_eq(atomic_load(&b->refs), 1);
    cr_assert_eq(ax_heap_gc(other, &copy, 1, AX_GC_MAJOR), 0);
    cr_assert_eq(memcmp(ax_binary_data(ax_tuple_get(copy, 0), &len), data,
                        sizeof(data)),
                 0);
    cr_assert_eq(len, sizeof(data));
    ax_heap_free(other);
}

Test(gc, binaries_survive_promotion)
{
    char data[100];
    ax_term_t root;
    ax_heap_stats_t st;

    memset(data, 1, sizeof(data));
    root = ax_tuple(h, 2, ax_binary(h, data, sizeof(data)),
                    ax_binary(h, data, 80));
    ax_binary(h, data, 90); /* dies */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ax_heap_gc(h, &root, 1, AX_GC_MINOR), 0);
    cr_assert(ax__heap_in_old(h, root));
    ax_heap_stats(h, &st);
    cr_assert_eq(st.offheap_bytes, 180);
    root = ax_tuple_get(root, 1);
    cr_assert_eq(ax_heap_gc(h, &root, 1, AX_GC_MAJOR), 0);
    ax_heap_stats(h, &st);
    cr_assert_eq(st.offheap_bytes, 80);
}

Test(gc, deep_and_long_terms)
{
    ax_term_t roots[2] = {AX_NIL, AX_NIL};

    for (int i = 0; i < 1000000; i++)
        roots[0] = ax_cons(h, make_small(i), roots[0]);
    for (int i = 0; i < 100000; i++)
        roots[1] = ax_tuple(h, 1, roots[1]);
    cr_assert_eq(ax_heap_gc(h, roots, 2, AX_GC_MINOR), 0);
    cr_assert_eq(ax_heap_gc(h, roots, 2, AX_GC_MINOR), 0);
    cr_assert_eq(ax_heap_gc(h, roots, 2, AX_GC_MAJOR), 0);
    cr_assert_eq(ax_list_length(roots[0]), 1000000);
    cr_assert_eq(ax_head(roots[0]), make_small(999999));
    for (int i = 0; i < 100000; i++)
        roots[1] = ax_tuple_get(roots[1], 0);
    cr_assert_eq(roots[1], AX_NIL);
}

Test(gc, statistics_are_counted)
{
    ax_term_t root = sample(h, 10);
    ax_heap_stats_t st;

    ax_heap_gc(h, &root, 1, AX_GC_MINOR);
    ax_heap_gc(h, &root, 1, AX_GC_MAJOR);
    ax_heap_stats(h, &st);
    cr_assert_eq(st.minor_gcs, 1);
    cr_assert_eq(st.major_gcs, 1);
    cr_assert_gt(st.max_pause_ns, 0);
    cr_assert_geq(st.max_pause_ns, st.last_pause_ns);
    cr_assert_gt(st.heap_used, 0);
}

Test(gc, empty_heap_allocates_nothing)
{
    ax_heap_stats_t st;
    ax_term_t root = ATOM_TRUE;

    cr_assert_eq(ax_heap_gc(h, &root, 1, AX_GC_MAJOR), 0);
    ax_heap_stats(h, &st);
    cr_assert_eq(st.heap_size, 0);
    cr_assert_eq(st.heap_used, 0);
    cr_assert_eq(root, ATOM_TRUE);
}

#ifdef AX_TESTING
Test(gc, out_of_memory_leaves_the_heap_usable)
{
    ax_heap_t *ref = ax_heap_new();
    ax_term_t root = sample(h, 50);
    ax_term_t expect = ax_copy(ref, root);
    int err;

    for (long n = 0; n < 4; n++) {
        ax__alloc_fail_after(n);
        err = ax_heap_gc(h, &root, 1, n % 2 ? AX_GC_MAJOR : AX_GC_MINOR);
        ax__alloc_fail_after(-1);
        cr_assert(err == 0 || err == AX_ENOMEM);
        cr_assert(ax_equal_exact(root, expect));
    }
    ax__alloc_fail_after(0);
    cr_assert_eq(ax_tuple(h, 200, 0), AX_NONE);
    ax__alloc_fail_after(-1);
    ax_heap_free(ref);
}

static void die_oom(ax_heap_t *hp, void *arg)
{
    (void)hp;
    *(int *)arg = 1;
}

Test(gc, oom_handler_is_called)
{
    int called = 0;

    ax_heap_set_oom(h, die_oom, &called);
    ax__alloc_fail_after(0);
    cr_assert_eq(ax_tuple(h, 1, AX_NIL), AX_NONE);
    ax__alloc_fail_after(-1);
    cr_assert_eq(called, 1);
}
#endif

TestSuite(copy, .init = heap_setup, .fini = heap_teardown);

Test(copy, copies_are_equal_and_independent)
{
    ax_heap_t *dst = ax_heap_new();
    ax_term_t t = sample(h, 50);
    ax_term_t c = ax_copy(dst, t);
    ax_heap_stats_t st;

    cr_assert(ax_equal_exact(t, c));
    ax_heap_stats(dst, &st);
    cr_assert_eq(st.heap_used, ax_copy_size(t));
    ax_heap_free(h);
    h = ax_heap_new(); /* the source is gone; the copy lives on */
    cr_assert_eq(ax_list_length(c), 50);
    ax_heap_free(dst);
}

Test(copy, sharing_is_flattened_as_in_erlang)
{
    ax_term_t leaf = ax_tuple(h, 2, make_small(1), make_small(2));
    ax_term_t t = ax_tuple(h, 2, leaf, leaf);

    cr_assert_eq(ax_copy_size(t), 3 + 3 + 3);
}

Test(copy, immediates_need_no_space)
{
    cr_assert_eq(ax_copy_size(ATOM_OK), 0);
    cr_assert_eq(ax_copy(h, make_small(3)), make_small(3));
}

Test(gc, fragments_are_merged_by_collection)
{
    ax_heap_t *src = ax_heap_new();
    ax_heap_t *ref = ax_heap_new();
    ax_term_t t = sample(src, 30);
    size_t words = ax_copy_size(t);
    struct frag *f = malloc(sizeof(*f) + words * sizeof(uint64_t));
    ax_term_t root;
    ax_heap_stats_t st;

    f->words = words;
    f->mem = f;
    root = ax__frag_copy(f, t);
    cr_assert_eq(f->bin_bytes, 30 * 100);
    ax_heap_free(src); /* the fragment holds its own references */
    ax__heap_attach(h, f);
    cr_assert_eq(ax__heap_young_used(h), words);
    ax_copy(ref, root);
    cr_assert_eq(ax_heap_gc(h, &root, 1, AX_GC_MINOR), 0);
    ax_heap_stats(h, &st);
    cr_assert_eq(st.offheap_bytes, 30 * 100);
    cr_assert_eq(ax_list_length(root), 30);
    cr_assert_eq(h->frags, NULL);
    ax_heap_free(ref);
}
