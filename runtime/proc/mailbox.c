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
#include <stdlib.h>

#include "../core/alloc.h"

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

static _Thread_local struct msg *cache;
static _Thread_local size_t cached;

static struct msg *depot[DEPOT_MAX]; /* each a list of BATCH envelopes */
static atomic_size_t depot_len;      /* relaxed peeks; written locked */
static pthread_mutex_t depot_lock = PTHREAD_MUTEX_INITIALIZER;

/* Moves BATCH envelopes from the cache to the depot (or frees them). */
static void spill(void)
{
    struct msg *batch = cache;
    struct msg *last = cache;

    for (size_t i = 1; i < BATCH; i++)
        last = last->qnext;
    cache = last->qnext;
    cached -= BATCH;
    last->qnext = NULL;
    pthread_mutex_lock(&depot_lock);
    if (depot_len < DEPOT_MAX) {
        depot[atomic_fetch_add_explicit(&depot_len, 1,
                                        memory_order_relaxed)] = batch;
        batch = NULL;
    }
    pthread_mutex_unlock(&depot_lock);
    while (batch) {
        struct msg *next = batch->qnext;

        ax__free(batch);
        batch = next;
    }
}

/* Refills an empty cache from the depot; false if it has none. */
static bool refill(void)
{
    struct msg *batch = NULL;

    if (atomic_load_explicit(&depot_len, memory_order_relaxed) == 0)
        return false; /* a peek: no lock when there is nothing to take */
    pthread_mutex_lock(&depot_lock);
    if (depot_len > 0)
        batch = depot[atomic_fetch_sub_explicit(&depot_len, 1,
                                                memory_order_relaxed) -
                      1];
    pthread_mutex_unlock(&depot_lock);
    if (!batch)
        return false;
    cache = batch;
    cached = BATCH;
    return true;
}

static struct msg *envelope(void)
{
    struct msg *m;

    if (!cache && !refill())
        return ax__malloc(sizeof(*m));
    m = cache;
    cache = m->qnext;
    cached--;
    return m;
}

static void release(struct msg *m)
{
    m->qnext = cache;
    cache = m;
    if (++cached > CACHE_MAX)
        spill();
}

void ax__msg_cache_flush(void)
{
    struct msg *m;

    while ((m = cache)) {
        cache = m->qnext;
        ax__free(m);
    }
    cached = 0;
}

void ax__msg_depot_flush(void)
{
    pthread_mutex_lock(&depot_lock);
    while (depot_len > 0) {
        struct msg *m = depot[atomic_fetch_sub(&depot_len, 1) - 1];

        while (m) {
            struct msg *next = m->qnext;

            ax__free(m);
            m = next;
        }
    }
    pthread_mutex_unlock(&depot_lock);
}

struct msg *ax__msg_new(enum sig_kind kind, ax_term_t to, ax_term_t from,
                        ax_term_t term)
{
    size_t words = ax_copy_size(term);
    struct frag *f = NULL;
    struct msg *m;

    if (words) {
        f = ax__malloc(sizeof(*f) + words * sizeof(uint64_t));
        if (!f)
            return NULL;
        f->words = words;
        f->mem = f;
        f->next = NULL;
    }
    m = envelope();
    if (!m) {
        ax__free(f);
        return NULL;
    }
    atomic_store_explicit(&m->node.next, NULL, memory_order_relaxed);
    m->kind = kind;
    m->holds = 0;
    m->to = to;
    m->from = from;
    m->ref = 0;
    m->frag = f;
    m->term = f ? ax__frag_copy(f, term) : term;
    return m;
}

/* The receiver is done with m: recycle it unless it is still the stub. */
static void unuse(struct msg *m)
{
    m->holds &= ~(uint32_t)HOLD_USE;
    if (!m->holds)
        release(m);
}

void ax__msg_free(struct msg *m)
{
    if (!m)
        return;
    if (m->frag) {
        ax__frag_release(m->frag);
        ax__free(m->frag);
        m->frag = NULL;
    }
    unuse(m);
}

ax_term_t ax__msg_take(struct msg *m, ax_heap_t *h)
{
    ax_term_t t = m->term;

    if (m->frag)
        ax__heap_attach(h, m->frag); /* h frees it when it is collected */
    m->frag = NULL;
    unuse(m);
    return t;
}

size_t ax__msg_size(const struct msg *m)
{
    return sizeof(*m) +
           (m->frag ? sizeof(struct frag) + m->frag->words * 8 : 0);
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
    struct mnode *prev;

    atomic_store_explicit(&m->node.next, NULL, memory_order_relaxed);
    /* acq_rel: the exchange orders the pushes; whoever takes the tagged
     * head also sees the consumer's state as it went idle. */
    prev = atomic_exchange_explicit(&mb->head, &m->node,
                                    memory_order_acq_rel);
    /* release: the consumer's acquire load of next sees m's contents. */
    atomic_store_explicit(&untag(prev)->next, &m->node,
                          memory_order_release);
    return (uintptr_t)prev & 1;
}

/* The previous stub leaves the queue: free it if nothing else holds it. */
static void retire(struct mailbox *mb, struct mnode *old)
{
    struct msg *m = (struct msg *)old;

    if (old == &mb->stub)
        return;
    m->holds &= ~(uint32_t)HOLD_STUB;
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
