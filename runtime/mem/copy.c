/*
 * copy.c - copying a term from any heap onto another (ax_copy), the core
 * of a send: one walk to size it, one allocation, then a Cheney copy into
 * that allocation (the copied region is its own work list, so no stack is
 * needed however deep the term). The source is only read. Shared binaries
 * gain a reference instead of being copied.
 */
#include "heap.h"

#include "../core/assert.h"
#include "../term/tstack.h"

size_t ax_copy_size(ax_term_t t)
{
    struct tstack s;
    size_t words = 0;

    tstack_init(&s);
    for (;;) {
        if (term_is_cons(t)) {
            /* Follow the tail in place; only heads go on the stack. */
            words += 2;
            if (!term_is_immed(cons_cell(t)[0]) &&
                !tstack_push(&s, cons_cell(t)[0]))
                ax__assert_fail("out of memory", __FILE__, __LINE__,
                                __func__);
            t = cons_cell(t)[1];
            continue;
        }
        if (term_is_boxed(t)) {
            uint64_t hdr = *term_ptr(t);
            size_t n = header_arity(hdr);

            words += n + 1;
            if (header_is_scanned(hdr)) {
                if (!ax__tstack_reserve(&s, n))
                    ax__assert_fail("out of memory", __FILE__, __LINE__,
                                    __func__);
                for (size_t i = 1; i <= n; i++)
                    if (!term_is_immed(term_ptr(t)[i]))
                        tstack_push(&s, term_ptr(t)[i]);
            }
        }
        if (tstack_empty(&s))
            break;
        t = tstack_pop(&s);
    }
    tstack_destroy(&s);
    return words;
}

/* Where the REFBIN objects of a copy are linked. */
struct bin_sink {
    uint64_t **list;
    size_t *bytes;
};

/* Copies the object of t (not its children) to *top. */
static ax_term_t copy_object(struct bin_sink *sink, ax_term_t t,
                             uint64_t **top)
{
    uint64_t *p = term_ptr(t);
    uint64_t *q = *top;
    size_t n;

    if (term_is_immed(t))
        return t;
    if (term_is_cons(t)) {
        q[0] = p[0];
        q[1] = p[1];
        *top += 2;
        return make_cons_ptr(q);
    }
    n = header_arity(p[0]) + 1;
    memcpy(q, p, n * sizeof(*q));
    *top += n;
    if (header_type(p[0]) == HDR_REFBIN) {
        ax__binary_ref(refbin_binary(t));
        ax__bins_link(sink->list, sink->bytes, q);
    }
    return make_boxed(q);
}

/* Copies t into start[0..words), which ax_copy_size(t) said it needs. */
static ax_term_t copy_into(struct bin_sink *sink, uint64_t *start,
                           size_t words, ax_term_t t)
{
    uint64_t *top = start;
    ax_term_t root = copy_object(sink, t, &top);

    for (uint64_t *scan = start; scan < top;) {
        uint64_t w = *scan;

        if (term_tag(w) != TAG_HEADER) {
            scan[0] = copy_object(sink, scan[0], &top);
            scan[1] = copy_object(sink, scan[1], &top);
            scan += 2;
        } else if (header_is_scanned(w)) {
            for (size_t i = 1; i <= header_arity(w); i++)
                scan[i] = copy_object(sink, scan[i], &top);
            scan += header_arity(w) + 1;
        } else {
            scan += header_arity(w) + 1;
        }
    }
    ax_assert(top == start + words);
    return root;
}

ax_term_t ax_copy(ax_heap_t *dst, ax_term_t t)
{
    struct bin_sink sink = {&dst->young_bins, &dst->offheap_bytes};
    size_t words;
    uint64_t *start;

    if (term_is_immed(t))
        return t;
    words = ax_copy_size(t);
    start = ax__heap_alloc(dst, words);
    if (!start)
        return AX_NONE;
    return copy_into(&sink, start, words, t);
}

ax_term_t ax__frag_copy(struct frag *f, ax_term_t t)
{
    struct bin_sink sink = {&f->bins, &f->bin_bytes};

    f->bins = NULL;
    f->bin_bytes = 0;
    if (term_is_immed(t))
        return t;
    return copy_into(&sink, f->data, f->words, t);
}
