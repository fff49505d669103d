/*
 * mailbox.h - messages and signals in flight, and the lock-free queue
 * that carries them to a process.
 *
 * Everything another process sends to a process - messages, exit signals,
 * link and monitor requests - travels in one queue, so signals from one
 * sender arrive in the order sent (as on the BEAM). The queue is Pony's
 * (libponyrt/actor/messageq.c): an intrusive multi-producer single-
 * consumer list where a push is one atomic exchange and one store, and a
 * pop takes no locked instruction at all, because the node popped stays
 * in the queue as its stub until the next pop.
 *
 * Scheduling rides on the same word: the consumer that finds its queue
 * empty tags the head (one CAS) and stops; the one producer whose
 * exchange takes a tagged head learns it must schedule the process. So a
 * process is queued exactly once however many send to it at once.
 *
 * A message's term is copied by the sender into a fragment of its own;
 * the receiver attaches the fragment to its heap when it takes the
 * message, so a received message is never copied twice. The envelope
 * (struct msg) lives until it is neither the queue's stub nor in use.
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
    SIG_CALL,      /* a monitor (ref) and a message (term) at once: a
                    * gen_server call */
    SIG_WAKE,      /* no content: a timer or the runtime wants attention */
    SIG_GC         /* no content: collect the heap at the next safe point
                    * (a handler's; the observer's {gc, Pid}) */
};

struct mnode {
    _Atomic(struct mnode *) next;
};

enum msg_hold {
    HOLD_STUB = 1 << 0,   /* it is its mailbox's stub (last popped) */
    HOLD_USE = 1 << 1     /* the receiver still uses it */
};

/* Terms of up to this many words travel inside the envelope: no malloc,
 * and the receiver copies them onto its heap (a request, a reply). */
#define MSG_INLINE_WORDS 16

struct msg {
    struct mnode node;    /* the queue link: must stay first */
    struct msg *qnext;    /* the receiver's private queue */
    uint16_t kind;        /* enum sig_kind */
    uint8_t cls;          /* which size of envelope (mailbox.c) */
    uint8_t holds;        /* enum msg_hold; consumer only */
    ax_term_t to;         /* the pid it was sent to */
    ax_term_t from;       /* the sender's pid, or AX_NONE */
    ax_term_t term;       /* message or reason: in frag, or immediate */
    uint64_t ref;         /* a monitor's reference number */
    struct frag *frag;    /* NULL when term is immediate; else `small`
                           * or a fragment of its own */
    union {
        struct frag hdr;  /* the inline fragment: its header, ... */
        uint64_t raw[sizeof(struct frag) / 8 + MSG_INLINE_WORDS];
    } small;              /* ... then its MSG_INLINE_WORDS words; only
                           * in envelopes made with room for it */
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
/* Drops a message (accepts NULL): its fragment now, its envelope once
 * its mailbox no longer uses it as the stub. */
void ax__msg_free(struct msg *m);
/* Moves m's term onto h (no copy: the fragment is attached) and drops the
 * envelope as ax__msg_free does; returns the term. */
ax_term_t ax__msg_take(struct msg *m, ax_heap_t *h);
/* Frees the calling thread's cache of envelopes (as a thread ends), and
 * the shared depot of them (as the node stops). */
void ax__msg_cache_flush(void);
void ax__msg_depot_flush(void);
/* Bytes a queued message occupies. */
size_t ax__msg_size(const struct msg *m);

/* An empty mailbox, not idle (its process is to be queued by its
 * spawner). */
void ax__mailbox_init(struct mailbox *mb);
/*
 * Appends m; any thread. Returns true if the mailbox was idle: the caller
 * must then schedule its process (no one else will).
 */
bool ax__mailbox_push(struct mailbox *mb, struct msg *m);
/*
 * Appends the chain first..last (linked through node.next, last's next
 * NULL) with one exchange, as ax__mailbox_push appends one message.
 */
bool ax__mailbox_push_chain(struct mailbox *mb, struct msg *first,
                            struct msg *last);
/*
 * Takes the oldest message, or NULL when empty (or when a producer is
 * between its two steps: its message shows up at a later pop, and
 * ax__mailbox_idle fails meanwhile). The message stays the queue's stub
 * (HOLD_STUB) until the next pop. Consumer only.
 */
struct msg *ax__mailbox_pop(struct mailbox *mb);
/*
 * Marks the mailbox idle if nothing waits in it: true if so, and the
 * consumer must stop (the next push schedules it); false if something
 * arrived (go on). Consumer only, as it stops running.
 */
bool ax__mailbox_idle(struct mailbox *mb);
/* Frees the stub envelope a dead process's mailbox keeps (node stop). */
void ax__mailbox_destroy(struct mailbox *mb);

#endif /* AX_PROC_MAILBOX_H */
