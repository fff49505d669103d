/*
 * heap.c - heaps: creation, bump allocation, chunks, statistics (heap.h).
 */
#include "heap.h"

#include <stdlib.h>

#include "../core/alloc.h"
#include "../core/counter.h"

/* The largest chunk made for ordinary allocation; bigger requests get a
 * chunk of their own size. */
#define CHUNK_MAX_WORDS (1u << 20)

/* Every heap's words: striped, as heaps grow on every scheduler. */
static struct counter heap_words;

uint64_t ax__heap_words_total(void)
{
    return ax__counter_read(&heap_words);
}

void ax__heap_count(ax_heap_t *h, ptrdiff_t delta)
{
    h->counted += (size_t)delta;
    ax__counter_add(&heap_words, delta);
}

ax_heap_t *ax_heap_new(void)
{
    ax_heap_t *h = ax__calloc(1, sizeof(*h));

    return h;
}

static void unref_list(uint64_t *obj)
{
    while (obj) {
        uint64_t *next = (uint64_t *)(uintptr_t)obj[2];

        ax__binary_unref((struct binary *)(uintptr_t)obj[1]);
        obj = next;
    }
}

void ax__frag_release(struct frag *f)
{
    unref_list(f->bins);
    f->bins = NULL;
}

void ax__heap_attach(ax_heap_t *h, struct frag *f)
{
    f->next = h->frags;
    h->frags = f;
    h->frag_words += f->words;
    h->offheap_bytes += f->bin_bytes;
    ax__heap_count(h, (ptrdiff_t)f->words);
}

/* Frees the attached fragments; their binaries are the caller's concern. */
void ax__heap_free_frags(ax_heap_t *h)
{
    struct frag *f;

    while ((f = h->frags)) {
        h->frags = f->next;
        ax__free(f->mem);
    }
    h->frag_words = 0;
}

void ax_heap_free(ax_heap_t *h)
{
    struct chunk *c;

    if (!h)
        return;
    unref_list(h->young_bins);
    unref_list(h->old_bins);
    for (struct frag *f = h->frags; f; f = f->next)
        unref_list(f->bins);
    ax__heap_free_frags(h);
    while ((c = h->chunks)) {
        h->chunks = c->next;
        ax__free(c);
    }
    ax__free(h->block);
    ax__free(h->old);
    ax__heap_count(h, -(ptrdiff_t)h->counted);
    ax__free(h);
}

void ax_heap_set_oom(ax_heap_t *h, ax_oom_fn fn, void *arg)
{
    h->oom = fn;
    h->oom_arg = arg;
}

/* Records how much of the current region is used before leaving it. */
static void close_region(ax_heap_t *h)
{
    if (h->chunks)
        h->chunks->used = (size_t)(h->top - h->chunks->data);
    else if (h->block)
        h->block_top = h->top;
}

static uint64_t *alloc_failed(ax_heap_t *h)
{
    if (h->oom)
        h->oom(h, h->oom_arg);
    return NULL;
}

/* The slow path: the first block, or a new chunk. */
static uint64_t *alloc_slow(ax_heap_t *h, size_t n)
{
    size_t size;
    struct chunk *c;

    if (!h->block) {
        size = n > HEAP_MIN_WORDS ? n : HEAP_MIN_WORDS;
        h->block = ax__malloc_array(size, sizeof(uint64_t));
        if (!h->block)
            return alloc_failed(h);
        h->block_size = size;
        ax__heap_count(h, (ptrdiff_t)size);
        h->block_top = h->hwm = h->block;
        h->top = h->block + n;
        h->limit = h->block + size;
        return h->block;
    }
    /* Each chunk is as large as all the young generation so far, so the
     * room doubles and a long run of allocation makes few chunks. */
    size = ax__heap_young_used(h);
    if (size > CHUNK_MAX_WORDS)
        size = CHUNK_MAX_WORDS;
    if (size < n)
        size = n;
    if (size > (SIZE_MAX - sizeof(*c)) / sizeof(uint64_t))
        return alloc_failed(h);
    c = ax__malloc(sizeof(*c) + size * sizeof(uint64_t));
    if (!c)
        return alloc_failed(h);
    close_region(h);
    c->size = size;
    ax__heap_count(h, (ptrdiff_t)size);
    c->used = 0;
    c->next = h->chunks;
    h->chunks = c;
    h->top = c->data + n;
    h->limit = c->data + size;
    return c->data;
}

uint64_t *ax__heap_alloc(ax_heap_t *h, size_t n)
{
    uint64_t *p = h->top;

    h->allocated += n;
    if ((size_t)(h->limit - p) >= n) {
        h->top = p + n;
        return p;
    }
    return alloc_slow(h, n);
}

void ax__heap_add_refbin(ax_heap_t *h, uint64_t *obj)
{
    ax__bins_link(&h->young_bins, &h->offheap_bytes, obj);
}

void ax__bins_link(uint64_t **list, size_t *bytes, uint64_t *obj)
{
    obj[2] = (uint64_t)(uintptr_t)*list;
    *list = obj;
    *bytes += ((struct binary *)(uintptr_t)obj[1])->size;
}

size_t ax__heap_young_used(const ax_heap_t *h)
{
    size_t n = h->frag_words;

    if (!h->block)
        return n;
    if (h->chunks) {
        n += (size_t)(h->top - h->chunks->data);
        for (const struct chunk *c = h->chunks->next; c; c = c->next)
            n += c->used;
        n += (size_t)(h->block_top - h->block);
    } else {
        n += (size_t)(h->top - h->block);
    }
    return n;
}

void ax_heap_stats(const ax_heap_t *h, ax_heap_stats_t *out)
{
    *out = h->stats;
    out->heap_size = h->block_size + h->frag_words;
    for (const struct chunk *c = h->chunks; c; c = c->next)
        out->heap_size += c->size;
    out->heap_used = ax__heap_young_used(h);
    out->old_heap_size = h->old_size;
    out->old_heap_used = h->old ? (size_t)(h->old_top - h->old) : 0;
    out->offheap_bytes = h->offheap_bytes;
}
