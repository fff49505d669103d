/*
 * sched.h - schedulers: one thread per core, each with a run queue of
 * processes, a pool of stacks and a timer wheel; and the life of a
 * process on them (activation, blocking, waking, exiting).
 *
 * A process runs on a stack borrowed from its scheduler's pool. A handler
 * process gives it back after each slice; a body that blocks mid-way
 * keeps it (PF_HAS_STACK) until it is resumed and returns.
 *
 * The wake protocol. A process never marks itself idle: it switches back
 * to its scheduler, which, on its own stack, tags the mailbox idle (one
 * CAS, failing if anything arrived); the one sender whose push takes the
 * tag queues the process (mailbox.h). So a message is never left unseen,
 * and a process is never queued while its context still runs.
 */
#ifndef AX_SCHED_SCHED_H
#define AX_SCHED_SCHED_H

#include <pthread.h>
#include <time.h>

#include "../core/tls.h"
#include "../proc/ctx.h"
#include "../proc/proc.h"
#include "../proc/stack.h"
#include "timer.h"

#define RQ_SIZE 256             /* a power of two */
#define SLICE_REDUCTIONS 4000   /* a process's budget per slice */
#define WORDS_PER_REDUCTION 64  /* what allocating costs */

/* Why a process switched back to its scheduler. */
enum outcome {
    OUT_WAIT,   /* wait for a message (keeps its stack if PF_HAS_STACK) */
    OUT_YIELD,  /* run again later (likewise) */
    OUT_PREEMPT, /* interrupted mid-code (preempt.c): keeps its stack, runs
                  * again from its scheduler's preempted list */
    OUT_EXIT    /* gone: free its stack and slot */
};

struct sched {
    unsigned id;
    pthread_t thread;
    struct ctx ctx;               /* the scheduler loop's own context */
    struct proc *current;
    enum outcome outcome;
    /* The run queue: a ring the owner pushes at tail and pops at head,
     * and thieves take halves of (Go's runq), plus the slot for the
     * process the running one just woke. */
    _Atomic(uint32_t) rq_head;
    _Atomic(uint32_t) rq_tail;
    _Atomic(struct proc *) rq[RQ_SIZE];
    struct proc *runnext;
    unsigned streak;              /* runnext picks in a row */
    /* Processes preempted mid-code, oldest first (linked by run_next):
     * never stolen; the head runs once pre_due has passed or nothing else
     * is ready (preempt.h). */
    struct proc *pre_head;
    struct proc *pre_tail;
    uint64_t pre_due;
    unsigned pre_tick;            /* picks since the clock was read */
    /* The slice number, odd while a process runs; the watchdog reads it
     * and names in preempt_slice the one to preempt (preempt.c). */
    _Atomic(uint64_t) slice;
    _Atomic(uint64_t) preempt_slice;
    /* A timer that signals this thread again soon, when the watchdog's
     * signal found it outside module code (preempt.c); and how many
     * times it has since the watchdog's last. Its own thread's. */
    timer_t retry;
    bool has_retry;
    unsigned retries;
    struct stack_pool stacks;
    struct freed freed;           /* slots of processes that ended here */
    /* Messages the running process sent in a row to one destination,
     * pushed as one chain when it does anything else (signal.c). */
    struct proc *out_dest;
    ax_term_t out_pid;
    struct msg *out_first;
    struct msg *out_last;
    unsigned out_n;
    void *trec_cache;             /* spare timer records (receive.c) */
    unsigned trec_cached;
    struct wheel wheel;
    _Atomic(uint32_t) sleeping;   /* advertised before sleeping */
    _Atomic(uint32_t) wake_word;  /* the futex an idle scheduler waits on */
    uint64_t rng;                 /* deterministic mode's generator */
    unsigned tick;                /* activations since timers were polled */
    /* Counters, written by this scheduler only. */
    _Atomic(uint64_t) idle_ns;    /* time asleep; busy is the rest */
    _Atomic(uint64_t) switches;
    _Atomic(uint64_t) steals;
    _Atomic(uint64_t) preemptions;
    _Atomic(uint64_t) messages;
    _Atomic(uint64_t) reductions;
    _Atomic(uint64_t) spawns;
    _Atomic(uint64_t) exits;
    _Atomic(uint64_t) gcs;
    uint64_t stats_idle;          /* at the last ax_sched_stats */
    uint64_t stats_wall;
};

/* A request for another process's information (spawn.c), filled by that
 * process in its own context. Lives on the requester's stack. */
struct info_req {
    ax_term_t requester;       /* a pid, or AX_NONE for a plain thread */
    uint32_t seq;              /* the requester's wait number */
    _Atomic(uint32_t) done;    /* release by the filler, acquire reader */
    int err;
    ax_proc_status_t status;
    ax_term_t name;
    uint64_t reductions;
    size_t queue_len;
    uint8_t flags;
    uint8_t kind;
    void *fn;                  /* the body or handler */
    ax_heap_stats_t heap;
    ax_term_t *links;
    struct monitor *monitors;
    struct monitor *watchers;
    size_t nlinks;
    size_t nmonitors;
    size_t nwatchers;
    /* Asked for (ax__process_messages): the first want_msgs messages of
     * the queue, in msg_words words at most, one fragment each (the
     * requester frees them); msgs_cut when a message did not fit. */
    size_t want_msgs;
    size_t msg_words;
    struct msg_copy *msgs;
    size_t nmsgs;
    bool msgs_cut;
};

/* A copy of one queued message, for an info_req. */
struct msg_copy {
    struct frag *f;
    ax_term_t term;            /* in f, or immediate */
};

/* The node. */
struct node {
    _Atomic(bool) running;
    _Atomic(bool) stopping;
    unsigned nscheds;
    struct sched *scheds;
    uint64_t seed;
    size_t stack_size;
    _Atomic(uint32_t) nsleeping;
    /* Threads other than the schedulers in wake_one (wake_from_outside):
     * the schedulers are not freed under them. */
    _Atomic(unsigned) outside_wakers;
    pthread_mutex_t global_lock;  /* the global run list */
    struct proc *global_head;
    struct proc *global_tail;
    _Atomic(size_t) global_len;
    pthread_mutex_t wait_lock;    /* ax_node_run and ax_node_stop wait */
    pthread_cond_t wait_cond;
    _Atomic(ax_term_t) root;      /* ax_node_run's process */
    _Atomic(bool) stopping_wait;  /* ax_node_stop waits for exits */
    char *root_reason;
    bool root_done;
    _Atomic(uint64_t) ref_counter;
    uint64_t start_ns;
};

extern struct node ax__node;

/*
 * Adds to a scheduler's counter. Only its own thread writes it, so a
 * relaxed load and store do (no locked instruction); other threads read
 * it with relaxed loads.
 */
static inline void sched_count(_Atomic(uint64_t) *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/*
 * The scheduler of the calling thread. A process may resume on another
 * thread after any switch; the compiler does not keep this variable's
 * value across a call (it is not static, so any callee may change it),
 * and each read is a load relative to the current thread's %fs, so a
 * read after a switch sees the new thread's value.
 */
extern AX_TLS struct sched *ax__tls_sched;

/* The scheduler of the calling thread, or NULL. */
static inline struct sched *ax__sched_self(void)
{
    return ax__tls_sched;
}

/* The process running on the calling thread, or NULL. */
static inline struct proc *ax__proc_self(void)
{
    struct sched *s = ax__tls_sched;

    return s ? s->current : NULL;
}

/* Puts a RUNNABLE process on a run queue: the caller's if it is a
 * scheduler (as runnext if `next`), else the global list. */
void ax__sched_enqueue(struct proc *p, bool next);
/* Wakes one sleeping scheduler, if a node runs and one sleeps. */
void ax__sched_wake_idle(void);
/* Whether a core is spare for another thread: no node runs, or it has
 * fewer schedulers than the cores this process may use. */
bool ax__sched_spare_core(void);
/* Queues p, whose mailbox a push found idle. */
void ax__sched_wake(struct proc *p);
/* Pushes m to p's mailbox, queueing p if it was idle. Any thread. */
void ax__deliver(struct proc *p, struct msg *m);
/* Switches the running process p back to its scheduler with outcome o,
 * keeping its stack or not; returns when p is resumed (only if kept). */
void ax__sched_leave(struct proc *p, enum outcome o, bool keep_stack);

uint64_t ax__now_ns(void);
uint64_t ax__now_ms(void);

/* Starts and stops the schedulers (for ax_node_start / ax_node_stop,
 * which the node layer wraps). Errors as those. */
int ax__sched_start(const ax_node_opts_t *opts);
int ax__sched_stop(void);
/* Called on each scheduler thread as it starts and as it ends (set by the
 * layers above, before the node starts). */
extern void (*ax__sched_on_thread)(struct sched *s, bool starting);

/* Called by an exiting process: wakes ax_node_run and ax_node_stop. */
void ax__node_note_exit(ax_term_t pid, ax_term_t reason);

/* --- signal.c ------------------------------------------------------------ */

/* Moves what arrived in p's mailbox to its queue, handling signals (this
 * may end p: then it does not return). Returns how many messages were
 * queued. In p's context. */
size_t ax__proc_drain(struct proc *p);
/* Ends the running process p with reason (on any heap). */
_Noreturn void ax__proc_exit(struct proc *p, ax_term_t reason);
/* Sends a signal; the result of a link/monitor/exit signal to a pid that
 * is gone is AX_ENOPROC (nothing was sent). from is the sender's pid. */
int ax__send_signal(ax_term_t to, enum sig_kind kind, ax_term_t from,
                    ax_term_t term, uint64_t ref);
/* Pushes a link, monitor, exit or information signal to p, which must
 * still be pid to and not exiting (checked under its signal lock, which
 * its exit takes too); AX_ENOPROC (and m freed) otherwise. */
int ax__deliver_signal(struct proc *p, ax_term_t to, struct msg *m);
/* Delivers the messages the running process has batched (see
 * ax_send); a no-op when there are none. */
void ax__flush_sends(struct sched *s);
static inline void ax__flush(void)
{
    struct sched *s = ax__tls_sched;

    if (s && s->out_n)
        ax__flush_sends(s);
}
/* A number for a new reference, unique in the node. */
uint64_t ax__new_ref_number(void);
/* Charges the running process n reductions, yielding if its slice is
 * spent (which may end it, if a signal kills it meanwhile). */
void ax__charge(unsigned n);
/* A local reference term for number n, on h. */
ax_term_t ax__ref_term(ax_heap_t *h, uint64_t n);
/* Turns the running body p into a handler process with fn and state:
 * its stack is dropped and its next activation runs the handler loop. */
_Noreturn void ax__proc_become_handler(struct proc *p, ax_handler_fn fn,
                                       ax_term_t state);
/* Called as a process exits, before its links and monitors hear of it
 * and its heap goes (set by the node layer: the module layer leaves the
 * code, the crash log records it). */
extern void (*ax__exit_hook)(struct proc *p, ax_term_t reason);
/* Removes p's monitor n (and with flush a 'DOWN' already received for
 * it), as ax_demonitor. In p's context. */
void ax__demonitor(struct proc *p, uint64_t n, bool flush);
/* ax_spawn_opt with the monitor's reference number chosen by the
 * caller (used with AX_SPAWN_MONITOR). */
int ax__spawn_ref(const ax_spawn_opts_t *o, uint64_t n, ax_term_t *pid,
                  ax_term_t *mref);
/* Monitors target (a pid or a name) with the reference number n, as
 * ax_monitor does with a fresh one. In a process. */
int ax__monitor_with(ax_term_t target, uint64_t n);
/* Runs the body or the handler loop of p (the entry of its context). */
void ax__proc_entry(void *arg);

/*
 * The first n messages in pid's queue (oldest first), copied by the
 * process in its own context, in max_bytes at most: never more than that
 * is copied however long the queue or large a message. *list is a list
 * on h; *total the queue's length; *cut is set when a message did not
 * fit in what was left of max_bytes (the list stops before it). Errors:
 * AX_ENOPROC, AX_ENOMEM. From a process or a plain thread.
 */
int ax__process_messages(ax_term_t pid, size_t n, size_t max_bytes,
                         ax_heap_t *h, ax_term_t *list, size_t *total,
                         bool *cut);

/* Fills r from p, in p's context (spawn.c). */
void ax__info_fill(struct proc *p, struct info_req *r);
/* Marks r answered (with r->err) and wakes its requester. */
void ax__info_complete(struct info_req *r);
/* Waits until r is answered. */
void ax__info_wait(struct info_req *r);

/* --- receive.c ----------------------------------------------------------- */

/* Fires the expired timer records of s (called by its scheduler). */
void ax__timers_poll(struct sched *s, uint64_t now_ms);
/* Frees every timer record of s (node stop), and its spare ones. */
void ax__timers_drop(struct sched *s);
void ax__timers_flush_cache(struct sched *s);
/* ax_receive_fn for a matcher that only accepts messages naming the
 * local reference ref: the scan may start at the receive marker. */
int ax__receive_ref(uint64_t ref, ax_match_fn match, void *arg,
                    int64_t timeout_ms, ax_term_t *msg);
/* Drops the running process's receive timer, if any. */
void ax__timeout_clear(struct proc *p);
/* Removes m (whose link is *link) from p's queue, fixing the tail and
 * the marker. */
void ax__queue_unlink(struct proc *p, struct msg **link);

#endif /* AX_SCHED_SCHED_H */
