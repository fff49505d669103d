/*
 * mailbox.c - messages and the MPSC queue (mailbox.h).
 *
 * The queue always holds at least one node, its stub: at first the one
 * embedded in the mailbox, later the message popped last. head is the
 * newest node, its low bit the idle tag; tail is the stub. Envelopes
 * are all the same size (fragments are allocated apart), so one cache
 * serves every message.
 */
#include "mailbox.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

#include "../core/alloc.h"
#include "../core/tls.h"

/*
 * Envelopes of messages with no fragment (an immediate term: an atom, a
 * small integer, a pid) are recycled: most signals and many messages are
 * such, and a send then costs no malloc. Each thread keeps a cache; when
 * a receiver frees more than it sends (fan-in), its surplus moves in
 * batches to a shared depot, where threads short of envelopes take them,
 * so the cost of the lock is shared by a whole batch.
 */
#define CACHE_MAX 1024
#define BATCH 512
#define DEPOT_MAX 64 /* batches */

/* Two sizes of envelope: plain, for immediates and big terms (which have
 * a fragment of their own), and with room for a small term inline. A
 * queue of plain ones stays compact (a fan-in backlog of millions). */
enum { PLAIN, INLINE, CLASSES };

static const size_t class_size[CLASSES] = {offsetof(struct msg, small),
                                           sizeof(struct msg)};

struct cache {
    struct msg *head;
    size_t n;
};

static AX_TLS struct cache caches[CLASSES];

struct depot {
    struct msg *batch[DEPOT_MAX]; /* each a list of BATCH envelopes */
    atomic_size_t len;            /* relaxed peeks; written locked */
    pthread_mutex_t lock;
};

static struct depot depots[CLASSES] = {
    {.lock = PTHREAD_MUTEX_INITIALIZER},
    {.lock = PTHREAD_MUTEX_INITIALIZER},
};

static void free_list(struct msg *m)
{
    while (m) {
        struct msg *next = m->qnext;

        ax__free(m);
        m = next;
    }
}

/* Moves BATCH envelopes from a cache to its depot (or frees them). */
static void spill(struct cache *c, struct depot *d)
{
    struct msg *batch = c->head;
    struct msg *last = c->head;

    for (size_t i = 1; i < BATCH; i++)
        last = last->qnext;
    c->head = last->qnext;
    c->n -= BATCH;
    last->qnext = NULL;
    pthread_mutex_lock(&d->lock);
    if (d->len < DEPOT_MAX) {
        d->batch[atomic_fetch_add_explicit(&d->len, 1,
                                           memory_order_relaxed)] = batch;
        batch = NULL;
    }
    pthread_mutex_unlock(&d->lock);
    free_list(batch);
}

/* Refills an empty cache from its depot; false if it has none. */
static bool refill(struct cache *c, struct depot *d)
{
    struct msg *batch = NULL;

    if (atomic_load_explicit(&d->len, memory_order_relaxed) == 0)
        return false; /* a peek: no lock when there is nothing to take */
    pthread_mutex_lock(&d->lock);
    if (d->len > 0)
        batch = d->batch[atomic_fetch_sub_explicit(&d->len, 1,
                                                   memory_order_relaxed) -
                         1];
    pthread_mutex_unlock(&d->lock);
    if (!batch)
        return false;
    c->head = batch;
    c->n = BATCH;
    return true;
}

static struct msg *envelope(unsigned cls)
{
    struct cache *c = &caches[cls];
    struct msg *m;

    if (!c->head && !refill(c, &depots[cls])) {
        m = ax__malloc(class_size[cls]);
        if (m)
            m->cls = (uint8_t)cls;
        return m;
    }
    m = c->head;
    c->head = m->qnext;
    c->n--;
    return m;
}

static void release(struct msg *m)
{
    struct cache *c = &caches[m->cls];

    m->qnext = c->head;
    c->head = m;
    if (++c->n > CACHE_MAX)
        spill(c, &depots[m->cls]);
}

void ax__msg_cache_flush(void)
{
    for (unsigned i = 0; i < CLASSES; i++) {
        free_list(caches[i].head);
        caches[i].head = NULL;
        caches[i].n = 0;
    }
}

void ax__msg_depot_flush(void)
{
    for (unsigned i = 0; i < CLASSES; i++) {
        pthread_mutex_lock(&depots[i].lock);
        while (depots[i].len > 0)
            free_list(depots[i].batch[atomic_fetch_sub(&depots[i].len, 1) -
                                      1]);
        pthread_mutex_unlock(&depots[i].lock);
    }
}

/* A fragment of its own for a term too big for the envelope. */
static struct frag *big_frag(ax_term_t term)
{
    size_t words = ax_copy_size(term);
    struct frag *f = ax__malloc(sizeof(*f) + words * sizeof(uint64_t));

    if (!f)
        return NULL;
    f->mem = f;
    f->words = words;
    f->next = NULL;
    return f;
}

struct msg *ax__msg_new(enum sig_kind kind, ax_term_t to, ax_term_t from,
                        ax_term_t term)
{
    struct msg *m = envelope(term_is_immed(term) ? PLAIN : INLINE);
    struct frag *f;

    if (!m)
        return NULL;
    atomic_store_explicit(&m->node.next, NULL, memory_order_relaxed);
    m->kind = kind;
    m->holds = 0;
    m->to = to;
    m->from = from;
    m->ref = 0;
    m->frag = NULL;
    m->term = term;
    if (term_is_immed(term))
        return m;
    /* Most messages are small: copy straight into the envelope, and size
     * the term only if it does not fit. */
    f = &m->small.hdr;
    f->mem = NULL;
    f->next = NULL;
    m->term = ax__frag_copy_bounded(f, MSG_INLINE_WORDS, term);
    if (m->term == AX_NONE) {
        f = big_frag(term);
        if (!f) {
            release(m);
            return NULL;
        }
        m->term = ax__frag_copy(f, term);
        /* A big term's envelope need not be inline-sized: keep it, it
         * goes back to its own cache when done. */
    }
    m->frag = f;
    return m;
}

/* The receiver is done with m: recycle it unless it is still the stub. */
static void unuse(struct msg *m)
{
    m->holds &= (uint8_t)~HOLD_USE;
    if (!m->holds)
        release(m);
}

void ax__msg_free(struct msg *m)
{
    if (!m)
        return;
    if (m->frag) {
        ax__frag_release(m->frag);
        ax__free(m->frag->mem);
        m->frag = NULL;
    }
    unuse(m);
}

ax_term_t ax__msg_take(struct msg *m, ax_heap_t *h)
{
    ax_term_t t = m->term;

    if (m->frag == &m->small.hdr) {
        /* Small: copied onto h, so the envelope can be reused. A copy
         * that fails leaves the process out of memory (its handler ends
         * it) and the term at AX_NONE. */
        t = ax__copy_sized(h, t, m->frag->words);
        ax__frag_release(m->frag);
    } else if (m->frag) {
        ax__heap_attach(h, m->frag); /* h frees it when it is collected */
    }
    m->frag = NULL;
    unuse(m);
    return t;
}

size_t ax__msg_size(const struct msg *m)
{
    return sizeof(*m) + (m->frag && m->frag != &m->small.hdr
                             ? sizeof(struct frag) + m->frag->words * 8
                             : 0);
}

void ax__mailbox_init(struct mailbox *mb)
{
    atomic_store_explicit(&mb->stub.next, NULL, memory_order_relaxed);
    atomic_store_explicit(&mb->head, &mb->stub, memory_order_relaxed);
    mb->tail = &mb->stub;
}

static struct mnode *untag(struct mnode *n)
{
    return (struct mnode *)((uintptr_t)n & ~(uintptr_t)1);
}

bool ax__mailbox_push(struct mailbox *mb, struct msg *m)
{
    atomic_store_explicit(&m->node.next, NULL, memory_order_relaxed);
    return ax__mailbox_push_chain(mb, m, m);
}

bool ax__mailbox_push_chain(struct mailbox *mb, struct msg *first,
                            struct msg *last)
{
    struct mnode *prev;

    /* acq_rel: the exchange orders the pushes; whoever takes the tagged
     * head also sees the consumer's state as it went idle. */
    prev = atomic_exchange_explicit(&mb->head, &last->node,
                                    memory_order_acq_rel);
    /* release: the consumer's acquire load of next sees the chain's
     * contents (the links inside it were written before the exchange). */
    atomic_store_explicit(&untag(prev)->next, &first->node,
                          memory_order_release);
    return (uintptr_t)prev & 1;
}

/* The previous stub leaves the queue: free it if nothing else holds it. */
static void retire(struct mailbox *mb, struct mnode *old)
{
    struct msg *m = (struct msg *)old;

    if (old == &mb->stub)
        return;
    m->holds &= (uint8_t)~HOLD_STUB;
    if (!m->holds)
        release(m);
}

struct msg *ax__mailbox_pop(struct mailbox *mb)
{
    struct mnode *tail = mb->tail;
    struct mnode *next =
        atomic_load_explicit(&tail->next, memory_order_acquire);
    struct msg *m;

    if (!next)
        return NULL;
    mb->tail = next;
    retire(mb, tail);
    m = (struct msg *)next;
    m->holds = HOLD_STUB | HOLD_USE;
    return m;
}

bool ax__mailbox_idle(struct mailbox *mb)
{
    struct mnode *tail = mb->tail;

    if (atomic_load_explicit(&mb->head, memory_order_relaxed) != tail)
        return false;
    /* release: a producer that takes the tag sees all the consumer did;
     * failure means a push came in, which the consumer must go and pop. */
    return atomic_compare_exchange_strong_explicit(
        &mb->head, &tail, (struct mnode *)((uintptr_t)tail | 1),
        memory_order_acq_rel, memory_order_relaxed);
}

void ax__mailbox_destroy(struct mailbox *mb)
{
    struct mnode *tail = mb->tail;

    if (tail != &mb->stub) {
        ((struct msg *)tail)->holds = 0;
        release((struct msg *)tail);
    }
    ax__mailbox_init(mb);
}
