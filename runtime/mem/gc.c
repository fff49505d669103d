/*
 * gc.c - the generational copying collector of one heap (ax_heap_gc).
 *
 * Cheney's algorithm over two to-spaces at once. A minor collection
 * copies the live young objects into a new block, except those that had
 * already survived one collection ([block, hwm)), which it promotes to the
 * old generation; the old generation itself is not touched, which is
 * sound because an object only points at objects older than itself (terms
 * are immutable). A major collection copies everything live, young and
 * old, into a new block and frees the old generation. A minor collection
 * becomes major when the old generation lacks room for the promotions.
 *
 * A moved object leaves a forwarding pointer: a boxed object's header is
 * replaced by the boxed term of its copy; a cons cell's head becomes
 * AX_NONE and its tail the copy. Neither can be mistaken for live data:
 * a header is never a boxed term and a head is never AX_NONE.
 *
 * Cost: proportional to the live young data (and, for a major, to all
 * live data), never to the garbage, plus the off-heap list of the
 * generations collected.
 */
#include "heap.h"

#include <time.h>

#include "../core/alloc.h"

struct gc {
    ax_heap_t *h;
    bool major;
    uint64_t *to;        /* the new young block */
    uint64_t *to_top;
    uint64_t *old_limit; /* minor: objects below this in old stay put */
    uint64_t *promo_top; /* minor: where the next promotion goes */
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Where a from-space object at p goes: promoted, or to the new block. */
static uint64_t **dest_of(struct gc *g, const uint64_t *p)
{
    const ax_heap_t *h = g->h;

    if (!g->major && p >= h->block && p < h->hwm)
        return &g->promo_top;
    return &g->to_top;
}

/* True if p is an old object that a minor collection leaves where it is. */
static bool stays(const struct gc *g, const uint64_t *p)
{
    return !g->major && g->h->old && p >= g->h->old && p < g->old_limit;
}

/* The new address of the term t, copying its object if not yet done. */
static ax_term_t evacuate(struct gc *g, ax_term_t t)
{
    uint64_t *p;
    uint64_t **dest;
    uint64_t *q;
    size_t n;

    if (term_is_immed(t))
        return t;
    p = term_ptr(t);
    if (stays(g, p))
        return t;
    if (term_is_cons(t)) {
        if (p[0] == AX_NONE)
            return p[1];
        dest = dest_of(g, p);
        q = *dest;
        *dest += 2;
        q[0] = p[0];
        q[1] = p[1];
        p[0] = AX_NONE;
        p[1] = make_cons_ptr(q);
        return p[1];
    }
    if (term_tag(p[0]) == TAG_BOXED)
        return p[0];
    n = header_arity(p[0]) + 1;
    dest = dest_of(g, p);
    q = *dest;
    *dest += n;
    memcpy(q, p, n * sizeof(*q));
    p[0] = make_boxed(q);
    return p[0];
}

/* Evacuates the children of the objects in [scan, *top); returns the new
 * scan position (== *top when nothing is left). */
static uint64_t *scan_region(struct gc *g, uint64_t *scan, uint64_t **top)
{
    while (scan < *top) {
        uint64_t w = *scan;

        if (term_tag(w) != TAG_HEADER) {
            scan[0] = evacuate(g, scan[0]);
            scan[1] = evacuate(g, scan[1]);
            scan += 2;
        } else if (header_is_scanned(w)) {
            size_t n = header_arity(w);

            for (size_t i = 1; i <= n; i++)
                scan[i] = evacuate(g, scan[i]);
            scan += n + 1;
        } else {
            scan += header_arity(w) + 1;
        }
    }
    return scan;
}

/* Moves the REFBIN objects of a from-space list to the lists of their
 * copies' generations, and drops the references of those that died. */
static void sweep_bins(struct gc *g, uint64_t *obj, uint64_t **young,
                       uint64_t **old)
{
    ax_heap_t *h = g->h;

    while (obj) {
        uint64_t *next = (uint64_t *)(uintptr_t)obj[2];
        struct binary *b = (struct binary *)(uintptr_t)obj[1];

        if (term_tag(obj[0]) == TAG_BOXED) {
            uint64_t *copy = term_ptr(obj[0]);
            uint64_t **list = copy >= g->to && copy < g->to_top ? young : old;

            copy[2] = (uint64_t)(uintptr_t)*list;
            *list = copy;
        } else {
            h->offheap_bytes -= b->size;
            ax__binary_unref(b);
        }
        obj = next;
    }
}

static void free_young(ax_heap_t *h)
{
    struct chunk *c;

    ax__heap_free_frags(h);
    while ((c = h->chunks)) {
        h->chunks = c->next;
        ax__free(c);
    }
    ax__free(h->block);
}

/* The block size to keep for live words of young data. */
static size_t target_size(size_t live)
{
    size_t t = 2 * live + HEAP_MIN_WORDS;

    return (t + 63) & ~(size_t)63;
}

/*
 * Moves the new block's n used words to a block of size words, adjusting
 * every pointer into it by the distance moved: the roots, the objects in
 * it, and its REFBIN list. Nothing else can point into a young block.
 */
static int relocate(ax_heap_t *h, size_t n, size_t size, ax_term_t *roots,
                    size_t nroots)
{
    uint64_t *from = h->block;
    uint64_t *to = ax__malloc_array(size, sizeof(*to));
    uintptr_t lo = (uintptr_t)from;
    uintptr_t hi = (uintptr_t)(from + n);
    ptrdiff_t delta;

    if (!to)
        return AX_ENOMEM;
    memcpy(to, from, n * sizeof(*to));
    delta = (char *)to - (char *)from;
#define MOVED(t)                                                          \
    (!term_is_immed(t) && (uintptr_t)term_ptr(t) >= lo &&                 \
             (uintptr_t)term_ptr(t) < hi                                  \
         ? (ax_term_t)((char *)(uintptr_t)(t) + delta)                    \
         : (t))
    for (size_t i = 0; i < nroots; i++)
        roots[i] = MOVED(roots[i]);
    for (uint64_t *p = to; p < to + n;) {
        if (term_tag(*p) != TAG_HEADER) {
            p[0] = MOVED(p[0]);
            p[1] = MOVED(p[1]);
            p += 2;
            continue;
        }
        if (header_is_scanned(*p))
            for (size_t i = 1; i <= header_arity(*p); i++)
                p[i] = MOVED(p[i]);
        p += header_arity(*p) + 1;
    }
    for (uint64_t **link = &h->young_bins; *link;
         link = (uint64_t **)(uintptr_t)&(*link)[2])
        *link = (uint64_t *)((char *)*link + delta);
#undef MOVED
    ax__free(from);
    h->block = to;
    h->block_size = size;
    return 0;
}

/* Words that survived one collection and go old at the next minor. */
static size_t aged_words(const ax_heap_t *h)
{
    return h->block ? (size_t)(h->hwm - h->block) : 0;
}

/* Decides minor or major and makes sure the old generation has room for
 * a minor's promotions. */
static int plan(ax_heap_t *h, ax_gc_kind_t kind, bool *major)
{
    size_t aged = aged_words(h);
    size_t size;

    *major = kind == AX_GC_MAJOR;
    if (*major || aged == 0)
        return 0;
    if (h->old) {
        *major = (size_t)(h->old + h->old_size - h->old_top) < aged;
        return 0;
    }
    size = 2 * aged > OLD_MIN_WORDS ? 2 * aged : OLD_MIN_WORDS;
    h->old = ax__malloc_array(size, sizeof(uint64_t));
    if (!h->old)
        return AX_ENOMEM;
    h->old_top = h->old;
    h->old_size = size;
    return 0;
}

/* Installs the new block (and the old generation's new top), frees the
 * from-space, and counts what was reclaimed. */
static void finish(ax_heap_t *h, struct gc *g, size_t bound,
                   uint64_t *young_bins, uint64_t *old_bins)
{
    size_t before = ax__heap_young_used(h) +
                    (h->old ? (size_t)(h->old_top - h->old) : 0);
    size_t after = (size_t)(g->to_top - g->to);

    if (g->major) {
        ax__free(h->old);
        h->old = h->old_top = NULL;
        h->old_size = 0;
    } else if (h->old) {
        h->old_top = g->promo_top;
        after += (size_t)(h->old_top - h->old);
    }
    h->stats.words_reclaimed += before - after;
    free_young(h);
    h->block = g->to;
    h->block_size = bound;
    h->chunks = NULL;
    h->young_bins = young_bins;
    h->old_bins = old_bins;
}

int ax_heap_gc(ax_heap_t *h, ax_term_t *roots, size_t n, ax_gc_kind_t kind)
{
    uint64_t t0 = now_ns();
    size_t young = ax__heap_young_used(h);
    size_t old_used = h->old ? (size_t)(h->old_top - h->old) : 0;
    size_t bound;
    size_t live;
    uint64_t *young_bins = NULL;
    uint64_t *old_bins;
    uint64_t *scan_young;
    uint64_t *scan_old;
    struct gc g = {.h = h};
    int err;

    if (!h->block && !h->frags)
        return 0;
    err = plan(h, kind, &g.major);
    if (err)
        return err;
    if (h->chunks)
        h->chunks->used = (size_t)(h->top - h->chunks->data);
    else
        h->block_top = h->top;
    bound = young + (g.major ? old_used : 0);
    if (!g.major)
        bound -= aged_words(h);
    if (bound < HEAP_MIN_WORDS)
        bound = HEAP_MIN_WORDS;
    g.to = ax__malloc_array(bound, sizeof(uint64_t));
    if (!g.to)
        return AX_ENOMEM;
    g.to_top = g.to;
    g.old_limit = h->old_top;
    g.promo_top = h->old_top;

    scan_young = g.to;
    scan_old = g.promo_top;
    for (size_t i = 0; i < n; i++)
        roots[i] = evacuate(&g, roots[i]);
    while (scan_young < g.to_top || (scan_old && scan_old < g.promo_top)) {
        scan_young = scan_region(&g, scan_young, &g.to_top);
        if (scan_old)
            scan_old = scan_region(&g, scan_old, &g.promo_top);
    }

    old_bins = g.major ? NULL : h->old_bins;
    sweep_bins(&g, h->young_bins, &young_bins, &old_bins);
    for (struct frag *f = h->frags; f; f = f->next)
        sweep_bins(&g, f->bins, &young_bins, &old_bins);
    if (g.major)
        sweep_bins(&g, h->old_bins, &young_bins, &old_bins);
    finish(h, &g, bound, young_bins, old_bins);

    /* Keep a block of about twice the live data: shrink one that the
     * garbage made large (a failure to shrink is harmless). */
    live = (size_t)(g.to_top - g.to);
    if (bound > 2 * target_size(live))
        relocate(h, live, target_size(live), roots, n);
    h->top = h->block_top = h->hwm = h->block + live;
    h->limit = h->block + h->block_size;
    ax__heap_count(h, (ptrdiff_t)(h->block_size + h->old_size) -
                          (ptrdiff_t)h->counted);

    if (g.major)
        h->stats.major_gcs++;
    else
        h->stats.minor_gcs++;
    h->stats.last_pause_ns = now_ns() - t0;
    if (h->stats.last_pause_ns > h->stats.max_pause_ns)
        h->stats.max_pause_ns = h->stats.last_pause_ns;
    return 0;
}
