/*
 * mailbox.h - messages and signals in flight, and the lock-free queue
 * that carries them to a process.
 *
 * Everything another process sends to a process - messages, exit signals,
 * link and monitor requests - travels in one queue, so signals from one
 * sender arrive in the order sent (as on the BEAM). The queue is Vyukov's
 * intrusive multi-producer single-consumer list: a push is one atomic
 * exchange and one store; only the owning process pops.
 *
 * A message's term is copied by the sender into a fragment allocated with
 * the message; the receiver attaches the fragment to its heap when it takes
 * the message, so a received message is never copied twice.
 */
#ifndef AX_PROC_MAILBOX_H
#define AX_PROC_MAILBOX_H

#include "../mem/heap.h"

enum sig_kind {
    SIG_MESSAGE,   /* term: the message */
    SIG_EXIT,      /* term: the reason; from: the sender */
    SIG_EXIT_LINK, /* an exit signal because a linked process died */
    SIG_LINK,      /* from wants a link */
    SIG_UNLINK,    /* from drops its link */
    SIG_MONITOR,   /* from monitors us; ref: its reference */
    SIG_DEMONITOR, /* from drops monitor ref */
    SIG_DOWN,      /* term: a 'DOWN' message for monitor ref */
    SIG_INFO,      /* ref: a struct info_req * to fill and complete */
    SIG_WAKE       /* no content: a timer or the runtime wants attention */
};

struct mnode {
    _Atomic(struct mnode *) next;
};

struct msg {
    struct mnode node;    /* the queue link: must stay first */
    struct msg *qnext;    /* the receiver's private queue */
    uint32_t kind;        /* enum sig_kind */
    uint32_t flags;
    ax_term_t to;         /* the pid it was sent to */
    ax_term_t from;       /* the sender's pid, or AX_NONE */
    ax_term_t term;       /* message or reason, in frag (or immediate) */
    uint64_t ref;         /* a monitor's reference number */
    struct frag *frag;    /* NULL when term is immediate */
};

struct mailbox {
    _Atomic(struct mnode *) head; /* producers exchange here */
    struct mnode *tail;           /* the consumer pops here */
    struct mnode stub;
};

/*
 * A new message of the given kind carrying a copy of term (which may live
 * on any heap). NULL on allocation failure.
 */
struct msg *ax__msg_new(enum sig_kind kind, ax_term_t to, ax_term_t from,
                        ax_term_t term);
/* Frees a message that was not attached to a heap (accepts NULL). */
void ax__msg_free(struct msg *m);
/* Moves m's term onto h (no copy: the fragment is attached); returns the
 * term and frees the envelope unless the fragment lives in it. */
ax_term_t ax__msg_take(struct msg *m, ax_heap_t *h);
/* Frees the calling thread's cache of envelopes (as a thread ends), and
 * the shared depot of them (as the node stops). */
void ax__msg_cache_flush(void);
void ax__msg_depot_flush(void);
/* Bytes a queued message occupies. */
size_t ax__msg_size(const struct msg *m);

void ax__mailbox_init(struct mailbox *mb);
/*
 * Appends m; any thread. Release ordering publishes m's contents; the
 * exchange is sequentially consistent so that a producer's later load of
 * the receiver's state cannot be reordered before it (see sched.c's wake
 * protocol).
 */
void ax__mailbox_push(struct mailbox *mb, struct msg *m);
/*
 * Takes the oldest message, or NULL when empty - or when a producer is
 * between its two steps (then ax__mailbox_has_any() is still true and
 * the message shows up at a later pop). Consumer only.
 */
struct msg *ax__mailbox_pop(struct mailbox *mb);
/*
 * True if anything was pushed and not popped, given the consumer's tail
 * as read while it still owned the queue (a seq_cst load of head; the
 * tail itself is not read, since once a process is wakeable another
 * thread may already be consuming).
 */
bool ax__mailbox_has_any(struct mailbox *mb, const struct mnode *tail);

#endif /* AX_PROC_MAILBOX_H */
