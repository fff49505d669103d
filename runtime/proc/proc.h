/*
 * proc.h - the process: its struct, the process table, links, monitors,
 * registered names, and what a process does with the signals it receives.
 *
 * Ownership: everything in struct proc below `pid` is touched only by the
 * process itself, that is by whichever scheduler thread runs it at the
 * time (at most one). Other threads touch only the mailbox (push), the
 * state word (the wake protocol), the signal lock, and read `pid`.
 *
 * Memory: a struct proc is never freed while the node runs: it stays in
 * its process-table slot, and a later spawn reuses it with a new serial
 * number (type-stable memory, as SLAB_TYPESAFE_BY_RCU). So a sender that
 * found a process may push to it even if it has just died: the message
 * carries the pid it was meant for, and a process drops what was meant
 * for an earlier owner of its slot.
 *
 * Link, monitor and exit signals to a process are pushed under its
 * signal lock, which a dying process also takes to close its mailbox;
 * so each such signal is either handled by the living process or
 * answered on its behalf (noproc), never lost. Messages need no lock: to
 * a dead process they are dropped, as in Erlang.
 */
#ifndef AX_PROC_PROC_H
#define AX_PROC_PROC_H

#include "../term/term.h"
#include "ctx.h"
#include "mailbox.h"

enum proc_state {
    PS_FREE,     /* the slot has no process */
    PS_WAITING,  /* blocked on its mailbox: a push must wake it */
    PS_RUNNABLE, /* in a run queue, or about to be */
    PS_RUNNING,
    PS_EXITING,  /* its mailbox is closed; it is being torn down */
};

enum proc_kind { PK_BODY, PK_HANDLER };

enum proc_flag {
    PF_TRAP_EXIT = 1 << 0,
    PF_HAS_STACK = 1 << 1,  /* blocked mid-body: ctx and stack are live */
    PF_RECEIVING = 1 << 3,  /* inside a receive */
};

struct monitor {
    uint64_t ref;     /* reference number (this node's) */
    ax_term_t pid;    /* the other end */
};

/* The rarely used parts, behind one pointer so an idle process is small. */
struct proc_ext {
    ax_term_t *links;
    size_t nlinks;
    size_t links_cap;
    struct monitor *monitors;    /* the processes this one monitors */
    size_t nmonitors;
    size_t monitors_cap;
    struct monitor *watchers;    /* the processes monitoring this one */
    size_t nwatchers;
    size_t watchers_cap;
    uint64_t *dropped;           /* call references whose reply is dropped */
    size_t ndropped;             /* (a ring of DROPPED_MAX) */
    size_t dropped_next;
};

/* How many abandoned calls' late replies a process remembers to drop. */
#define DROPPED_MAX 64

struct sched;
struct stack;
struct module_version;

/*
 * The first cache line is what senders touch (the mailbox's head, the
 * pid, the state); the process's own fields start on the next, so that a
 * flood of sends does not keep stealing the line its activation reads.
 * The fields an activation touches come first there, so that running a
 * process that is cold in cache costs as few misses as can be; the rare
 * ones follow.
 */
struct proc {
    struct mailbox mbox;
    _Atomic(uint32_t) state;     /* enum proc_state, for observers */
    uint8_t kind;                /* enum proc_kind */
    uint8_t flags;               /* enum proc_flag */
    atomic_flag siglock;         /* see above */
    _Atomic(ax_term_t) pid;      /* AX_NONE while the slot is free */
    /* --- owned by the process --- */
    _Alignas(64) ax_heap_t *heap; /* NULL until first needed */
    union {
        ax_body_fn body;
        ax_handler_fn handler;
    } fn;
    ax_term_t state_term;        /* the handler's state, or the body's arg */
    struct msg *queue;           /* received, not yet taken: oldest first */
    struct ctx ctx;              /* saved while suspended */
    struct stack *stack;
    int32_t budget;              /* reductions left in this slice */
    uint32_t sched_id;           /* the scheduler that last ran it */
    uint64_t reductions;
    struct msg **queue_tail;
    size_t queue_len;
    uint32_t serial;             /* of the slot's latest pid */
    uint32_t wait_seq;           /* numbers each blocking receive */
    bool timed_out;              /* the blocked receive's timer fired */
    bool gc_asked;               /* a SIG_GC came: a handler collects
                                  * before it waits again (own context) */
    ax_term_t name;              /* registered name, or AX_NONE */
    struct msg **marker;         /* queue position when marker_ref made */
    uint64_t marker_ref;
    void *timeout;               /* the blocked receive's timer record */
    struct proc_ext *ext;
    _Atomic(struct module_version *) code; /* its module's version, or
                                            * NULL (written by itself,
                                            * read by purge) */
    struct proc *run_next;       /* link in a global run list */
    ax_term_t parent;
    uint64_t gen_tseq;           /* gen_server: the live timeout's number */
    ax_term_t last_msg;          /* the last message handled, on its heap
                                  * (a GC root), or AX_NONE: for its crash
                                  * report */
    _Atomic(ax_term_t) module;   /* the name of code's module, or AX_NONE:
                                  * an atom, so observers may read it */
    _Atomic(ax_term_t) version;  /* and its version, likewise */
};

/* --- The process table -------------------------------------------------- */

/* Makes the table for up to max processes. Not thread-safe: node start. */
int ax__ptab_init(size_t max);
/* Frees every process struct (their heaps and queues must be gone). */
void ax__ptab_destroy(void);
/*
 * A free slot's process struct, state PS_FREE, and in *pid the pid it
 * will have (the slot's serial bumped); NULL if the table is full.
 * Thread-safe. Slots are reused in the order they were freed, so a dead
 * pid is not reused soon.
 */
struct proc *ax__ptab_alloc(ax_term_t *pid);
/* Publishes p's pid (release) so lookups find it: p must be ready. */
void ax__ptab_publish(struct proc *p, ax_term_t pid);
/* Slot numbers a thread has freed, handed back to the table in batches
 * (one lock for many exits). */
#define FREED_BATCH 64
struct freed {
    size_t n;
    uint32_t slots[FREED_BATCH];
};
/* Returns a slot whose process is gone: at once if f is NULL, else with
 * f's batch (the process is unfindable at once either way). */
void ax__ptab_release(struct proc *p, struct freed *f);
/* Hands f's slots back now. */
void ax__ptab_flush(struct freed *f);
/* The live process of pid, or NULL. Lock-free; the result may exit at any
 * moment, but stays valid memory (see above). */
struct proc *ax__ptab_lookup(ax_term_t pid);
/* How many processes exist, and the limit. */
size_t ax__ptab_count(void);
size_t ax__ptab_limit(void);
/* Calls fn on every slot's struct, live or not (node stop). */
void ax__ptab_foreach_slot(void (*fn)(struct proc *p, void *arg), void *arg);
/* Calls fn on every process slot whose pid is set. Racy by nature: for
 * observation and shutdown. */
void ax__ptab_foreach(void (*fn)(struct proc *p, void *arg), void *arg);

/* --- Per-process parts --------------------------------------------------- */

/* What a process heap calls when it runs out (set by the scheduler: it
 * ends the process with reason oom); arg is the struct proc. */
extern ax_oom_fn ax__proc_oom;
/* The process's heap, made if needed (NULL on allocation failure). */
ax_heap_t *ax__proc_heap(struct proc *p);
/* The extension, made if needed (NULL on allocation failure). */
struct proc_ext *ax__proc_ext(struct proc *p);
/* Frees a dead process's heap, queue, extension; the slot stays. */
void ax__proc_clear(struct proc *p);
/* Collects p's heap (which must exist) as ax_heap_gc with roots[0..n),
 * keeping p's last message too. Errors: AX_ENOMEM. */
int ax__proc_gc(struct proc *p, ax_term_t *roots, size_t n,
                ax_gc_kind_t kind);

/* Links and monitors bookkeeping (the process's own side). */
int ax__proc_add_link(struct proc *p, ax_term_t pid);
bool ax__proc_remove_link(struct proc *p, ax_term_t pid);
bool ax__proc_has_link(const struct proc *p, ax_term_t pid);
int ax__proc_add_monitor(struct proc *p, uint64_t ref, ax_term_t pid);
bool ax__proc_remove_monitor(struct proc *p, uint64_t ref, ax_term_t *pid);
int ax__proc_add_watcher(struct proc *p, uint64_t ref, ax_term_t pid);
bool ax__proc_remove_watcher(struct proc *p, uint64_t ref);

/* Remembers that a reply tagged with ref is to be dropped on arrival (a
 * call that timed out); the oldest is forgotten past DROPPED_MAX. */
int ax__proc_drop_replies(struct proc *p, uint64_t ref);
/* True (and forgets it) if term is {Ref, _} for a dropped ref. */
bool ax__proc_is_dropped_reply(struct proc *p, ax_term_t term);

/* --- The signal lock ------------------------------------------------------ */

static inline void ax__proc_lock(struct proc *p)
{
    /* acquire: what the previous holder did (closing the mailbox) is
     * seen by the next. */
    while (atomic_flag_test_and_set_explicit(&p->siglock,
                                             memory_order_acquire))
        ;
}

static inline void ax__proc_unlock(struct proc *p)
{
    atomic_flag_clear_explicit(&p->siglock, memory_order_release);
}

#endif /* AX_PROC_PROC_H */
