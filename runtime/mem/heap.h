/*
 * heap.h - a process heap: young generation, old generation, off-heap
 * binaries, and its collector's counters.
 *
 * The young generation is one block, [block, block_top), filled by
 * bumping `top`; what does not fit goes to chunks (newest first), which
 * also take whole message buffers later. [block, hwm) holds the objects
 * that survived one collection: the next minor collection promotes them
 * to the old generation [old, old_top). The block and every chunk are
 * freed at each collection, and the survivors compacted into a new block
 * sized from what lived, so a heap shrinks when its live data does.
 *
 * Fragments are buffers of terms made away from the heap (a message in
 * flight, copied by its sender); once attached, a fragment is part of the
 * young generation, and the next collection copies out what lives in it
 * and frees it.
 *
 * REFBIN objects (references to shared binaries) are linked, through
 * their word 2, into one list per generation (and one per fragment), so a
 * collection can drop the references of those that died.
 */
#ifndef AX_MEM_HEAP_H
#define AX_MEM_HEAP_H

#include "../term/term.h"

/* Words of the first block, and the least a block shrinks to. */
#define HEAP_MIN_WORDS 64
/* The least an old generation is made. */
#define OLD_MIN_WORDS 256

struct chunk {
    struct chunk *next;
    size_t size;  /* capacity, words */
    size_t used;  /* words, kept up to date when it stops being current */
    uint64_t data[];
};

struct frag {
    struct frag *next;
    size_t words;       /* used, which is its capacity */
    uint64_t *bins;     /* its REFBIN list */
    size_t bin_bytes;   /* bytes of the binaries those refer to */
    void *mem;          /* what to free: the allocation holding it */
    uint64_t data[];
};

/* What every allocation and every "time to collect?" reads comes first:
 * one cache line. */
struct ax_heap {
    uint64_t *top;     /* next free word of the current region */
    uint64_t *limit;   /* end of the current region */
    uint64_t allocated;     /* words allocated since last taken */
    struct chunk *chunks;   /* newest first; the current region if any */
    size_t frag_words;
    size_t block_size;
    uint64_t *block;   /* the young block; NULL before the first term */
    uint64_t *block_top;
    uint64_t *hwm;     /* [block, hwm) survived one collection */
    struct frag *frags;     /* attached fragments */
    uint64_t *old;          /* the old generation; NULL when empty */
    uint64_t *old_top;
    size_t old_size;
    uint64_t *young_bins;   /* REFBIN lists, linked through word 2 */
    uint64_t *old_bins;
    size_t offheap_bytes;
    ax_oom_fn oom;
    void *oom_arg;
    size_t counted;         /* words of h in ax__heap_words_total() */
    ax_heap_stats_t stats;  /* counters; sizes are filled on demand */
};

/*
 * Copies t into f, which the caller allocated with room for exactly
 * ax_copy_size(t) words in f->data and f->words set to that; fills in the
 * fragment's binary list. Returns the copy.
 */
ax_term_t ax__frag_copy(struct frag *f, ax_term_t t);

/*
 * Copies t into f->data, which has room for cap words, without sizing it
 * first: the copy, with f->words set to what it used; or AX_NONE if it
 * needs more than cap (nothing is left in f then).
 */
ax_term_t ax__frag_copy_bounded(struct frag *f, size_t cap, ax_term_t t);

/* ax_copy() for a term known to take words words (from ax_copy_size, or
 * a fragment's size). */
ax_term_t ax__copy_sized(ax_heap_t *dst, ax_term_t t, size_t words);

/* Makes f (filled by ax__frag_copy) part of h's young generation: h now
 * owns it and frees f->mem when it is collected or freed. */
void ax__heap_attach(ax_heap_t *h, struct frag *f);

/* Drops a fragment that was never attached: its binaries' references.
 * Does not free f->mem (the caller owns it). */
void ax__frag_release(struct frag *f);

/* Frees h's attached fragments (after a collection moved what lived). */
void ax__heap_free_frags(ax_heap_t *h);

/* Links a REFBIN object into a list, counting its binary's bytes. */
void ax__bins_link(uint64_t **list, size_t *bytes, uint64_t *obj);

/* Words allocated on h since the last call (the scheduler charges
 * reductions for them). */
static inline uint64_t ax__heap_take_allocated(ax_heap_t *h)
{
    uint64_t n = h->allocated;

    h->allocated = 0;
    return n;
}

/* Words of memory every heap holds (young blocks, chunks, fragments, old
 * generations), all heaps together: for the node's stats. Kept as heaps
 * grow and shrink, so reading it walks no heap. Any thread. */
uint64_t ax__heap_words_total(void);

/* Adds delta words to what h counts in that total (mem/ only). */
void ax__heap_count(ax_heap_t *h, ptrdiff_t delta);

/* Words used in the young generation (block, chunks, fragments). */
size_t ax__heap_young_used(const ax_heap_t *h);

/* True if the young generation overflowed its block: a good moment for a
 * collection at the next safe point. */
static inline bool ax__heap_wants_gc(const ax_heap_t *h)
{
    return h->chunks != NULL || h->frag_words > h->block_size;
}

/* True if the boxed or cons term t lives in h's old generation. */
static inline bool ax__heap_in_old(const ax_heap_t *h, ax_term_t t)
{
    const uint64_t *p = term_ptr(t);

    return h->old && p >= h->old && p < h->old_top;
}

#endif /* AX_MEM_HEAP_H */
