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

/* Copies the object of t (not its children) to *top, if it fits below
 * limit; AX_NONE if not. */
static ax_term_t copy_object(struct bin_sink *sink, ax_term_t t,
                             uint64_t **top, const uint64_t *limit)
{
    uint64_t *p = term_ptr(t);
    uint64_t *q = *top;
    size_t n;

    if (term_is_immed(t))
        return t;
    n = term_is_cons(t) ? 2 : header_arity(p[0]) + 1;
    if ((size_t)(limit - q) < n)
        return AX_NONE;
    *top += n;
    for (size_t i = 0; i < n; i++) /* mostly a few words: no memcpy call */
        q[i] = p[i];
    if (term_is_cons(t))
        return make_cons_ptr(q);
    if (header_type(p[0]) == HDR_REFBIN) {
        ax__binary_ref(refbin_binary(t));
        ax__bins_link(sink->list, sink->bytes, q);
    }
    return make_boxed(q);
}

/* Copies the terms in n words at w, updating them in place; false if
 * the copies did not fit below limit. */
static bool copy_words(struct bin_sink *sink, uint64_t *w, size_t n,
                       uint64_t **top, const uint64_t *limit)
{
    for (size_t i = 0; i < n; i++) {
        w[i] = copy_object(sink, w[i], top, limit);
        if (w[i] == AX_NONE)
            return false;
    }
    return true;
}

/* Copies t into [start, limit); the root, or AX_NONE if it does not fit
 * (binaries already linked stay in the sink: the caller drops them).
 * *end gets the end of what was used. */
static ax_term_t copy_into(struct bin_sink *sink, uint64_t *start,
                           const uint64_t *limit, ax_term_t t,
                           uint64_t **end)
{
    uint64_t *top = start;
    ax_term_t root = copy_object(sink, t, &top, limit);

    *end = top;
    for (uint64_t *scan = start; root != AX_NONE && scan < top;) {
        uint64_t w = *scan;
        size_t n = term_tag(w) != TAG_HEADER ? 2 : header_arity(w);

        if (term_tag(w) != TAG_HEADER) {
            if (!copy_words(sink, scan, 2, &top, limit))
                return AX_NONE;
            scan += 2;
            continue;
        }
        if (header_is_scanned(w) &&
            !copy_words(sink, scan + 1, n, &top, limit))
            return AX_NONE;
        scan += n + 1;
    }
    *end = top;
    return root;
}

ax_term_t ax__copy_sized(ax_heap_t *dst, ax_term_t t, size_t words)
{
    struct bin_sink sink = {&dst->young_bins, &dst->offheap_bytes};
    uint64_t *start;
    uint64_t *end;

    if (term_is_immed(t))
        return t;
    start = ax__heap_alloc(dst, words);
    if (!start)
        return AX_NONE;
    return copy_into(&sink, start, start + words, t, &end);
}

ax_term_t ax_copy(ax_heap_t *dst, ax_term_t t)
{
    return term_is_immed(t) ? t : ax__copy_sized(dst, t, ax_copy_size(t));
}

ax_term_t ax__frag_copy(struct frag *f, ax_term_t t)
{
    struct bin_sink sink = {&f->bins, &f->bin_bytes};
    uint64_t *end;

    f->bins = NULL;
    f->bin_bytes = 0;
    if (term_is_immed(t))
        return t;
    return copy_into(&sink, f->data, f->data + f->words, t, &end);
}

ax_term_t ax__frag_copy_bounded(struct frag *f, size_t cap, ax_term_t t)
{
    struct bin_sink sink = {&f->bins, &f->bin_bytes};
    ax_term_t root;
    uint64_t *end;

    f->bins = NULL;
    f->bin_bytes = 0;
    f->words = 0;
    if (term_is_immed(t))
        return t;
    root = copy_into(&sink, f->data, f->data + cap, t, &end);
    if (root == AX_NONE) {
        ax__frag_release(f);
        return AX_NONE;
    }
    f->words = (size_t)(end - f->data);
    return root;
}
