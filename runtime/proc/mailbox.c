/*
 * mailbox.c - messages and the MPSC queue (mailbox.h).
 *
 * The queue keeps a stub node so that it is never empty of nodes: the
 * consumer re-pushes the stub when it is about to take the last real
 * message, which is what lets it hand that message out.
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

static struct msg *envelope(size_t size)
{
    struct msg *m;

    if (size != sizeof(*m) || (!cache && !refill()))
        return ax__malloc(size);
    m = cache;
    cache = m->qnext;
    cached--;
    return m;
}

static void release(struct msg *m)
{
    if (m->frag) {
        ax__free(m);
        return;
    }
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
    size_t size = sizeof(struct msg);
    struct msg *m;

    if (words)
        size += sizeof(struct frag) + words * sizeof(uint64_t);
    m = envelope(size);
    if (!m)
        return NULL;
    atomic_store_explicit(&m->node.next, NULL, memory_order_relaxed);
    m->kind = kind;
    m->flags = 0;
    m->to = to;
    m->from = from;
    m->ref = 0;
    m->frag = NULL;
    if (words) {
        m->frag = (struct frag *)(m + 1);
        m->frag->words = words;
        m->frag->mem = m;
        m->frag->next = NULL;
    }
    m->term = m->frag ? ax__frag_copy(m->frag, term) : term;
    return m;
}

void ax__msg_free(struct msg *m)
{
    if (!m)
        return;
    if (m->frag)
        ax__frag_release(m->frag);
    release(m);
}

ax_term_t ax__msg_take(struct msg *m, ax_heap_t *h)
{
    ax_term_t t = m->term;

    if (m->frag)
        ax__heap_attach(h, m->frag); /* h frees m with the fragment */
    else
        release(m);
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

static void push_node(struct mailbox *mb, struct mnode *n)
{
    struct mnode *prev;

    atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
    /* seq_cst: orders this push before the producer's later load of the
     * receiver's state (the wake protocol's Dekker pair). */
    prev = atomic_exchange_explicit(&mb->head, n, memory_order_seq_cst);
    /* release: the consumer's acquire load of next sees n's contents. */
    atomic_store_explicit(&prev->next, n, memory_order_release);
}

void ax__mailbox_push(struct mailbox *mb, struct msg *m)
{
    push_node(mb, &m->node);
}

struct msg *ax__mailbox_pop(struct mailbox *mb)
{
    struct mnode *tail = mb->tail;
    struct mnode *next =
        atomic_load_explicit(&tail->next, memory_order_acquire);
    struct mnode *head;

    if (tail == &mb->stub) {
        if (!next)
            return NULL;
        mb->tail = tail = next;
        next = atomic_load_explicit(&tail->next, memory_order_acquire);
    }
    if (next) {
        mb->tail = next;
        return (struct msg *)tail;
    }
    head = atomic_load_explicit(&mb->head, memory_order_acquire);
    if (tail != head)
        return NULL; /* a producer is between its exchange and its link */
    push_node(mb, &mb->stub);
    next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (next) {
        mb->tail = next;
        return (struct msg *)tail;
    }
    return NULL;
}

bool ax__mailbox_has_any(struct mailbox *mb, const struct mnode *tail)
{
    return tail != &mb->stub ||
           atomic_load_explicit(&mb->head, memory_order_seq_cst) !=
               &mb->stub;
}
