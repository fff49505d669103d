/*
 * mailbox.c - messages and the MPSC queue (mailbox.h).
 *
 * The queue keeps a stub node so that it is never empty of nodes: the
 * consumer re-pushes the stub when it is about to take the last real
 * message, which is what lets it hand that message out.
 */
#include "mailbox.h"

#include <stdlib.h>

#include "../core/alloc.h"

struct msg *ax__msg_new(enum sig_kind kind, ax_term_t to, ax_term_t from,
                        ax_term_t term)
{
    size_t words = ax_copy_size(term);
    size_t size = sizeof(struct msg);
    struct msg *m;

    if (words)
        size += sizeof(struct frag) + words * sizeof(uint64_t);
    m = ax__malloc(size);
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
    ax__free(m);
}

ax_term_t ax__msg_take(struct msg *m, ax_heap_t *h)
{
    ax_term_t t = m->term;

    if (m->frag)
        ax__heap_attach(h, m->frag); /* h frees m with the fragment */
    else
        ax__free(m);
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
