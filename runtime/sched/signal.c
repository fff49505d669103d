/*
 * signal.c - messages and signals between processes: sending, the
 * handling of what arrives (links, monitors, exit signals, trap_exit),
 * and a process's exit, all as the Erlang Reference Manual's "Processes"
 * chapter has them.
 *
 * A signal is handled by its receiver, in its own context, when it drains
 * its mailbox: at the start of each slice and whenever it receives. An
 * exit signal that kills it therefore ends it there, on its own stack,
 * with nothing of its state half-changed.
 */
#include "sched.h"

#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../core/alloc.h"
#include "../core/assert.h"
#include "../proc/registry.h"
#include "../term/atom.h"

/* --- References -------------------------------------------------------------- */

ax_term_t ax__ref_term(ax_heap_t *h, uint64_t n)
{
    uint32_t w[3] = {(uint32_t)n, (uint32_t)(n >> 32), 0};

    return ax__make_ref(h, 0, 3, w);
}

uint64_t ax__new_ref_number(void)
{
    return atomic_fetch_add_explicit(&ax__node.ref_counter, 1,
                                     memory_order_relaxed) + 1;
}

ax_term_t ax_make_ref(ax_heap_t *h)
{
    struct proc *p = ax__proc_self();
    uint64_t n = ax__new_ref_number();

    if (!h && p)
        h = ax__proc_heap(p);
    if (!h)
        return AX_NONE;
    if (p && h == p->heap) {
        /* A receive for this reference need not look at what is queued
         * now: the BEAM's receive marker. */
        p->marker = p->queue_tail;
        p->marker_ref = n;
    }
    return ax__ref_term(h, n);
}

/* --- Sending ----------------------------------------------------------------- */

int ax__send_signal(ax_term_t to, enum sig_kind kind, ax_term_t from,
                    ax_term_t term, uint64_t ref)
{
    struct proc *p = ax__ptab_lookup(to);
    struct msg *m;

    if (!p)
        return AX_ENOPROC;
    m = ax__msg_new(kind, to, from, term);
    if (!m)
        return AX_ENOMEM;
    m->ref = ref;
    if (kind == SIG_MESSAGE || kind == SIG_WAKE || kind == SIG_DOWN) {
        ax__deliver(p, m);
        return 0;
    }
    return ax__deliver_signal(p, to, m);
}

int ax__deliver_signal(struct proc *p, ax_term_t to, struct msg *m)
{
    bool idle;

    ax__flush(); /* what the sender sent before goes first */
    ax__proc_lock(p);
    if (atomic_load(&p->pid) != to || atomic_load(&p->state) == PS_EXITING) {
        ax__proc_unlock(p);
        ax__msg_free(m);
        return AX_ENOPROC;
    }
    idle = ax__mailbox_push(&p->mbox, m);
    ax__proc_unlock(p);
    if (idle)
        ax__sched_wake(p);
    return 0;
}

/* Resolves a registered name to its pid; pids pass through. */
static ax_term_t resolve(ax_term_t to)
{
    return term_is_atom(to) ? ax__registry_lookup(to) : to;
}

/* The reductions p's allocations since the last charge cost. */
static int32_t alloc_cost(struct proc *p)
{
    return p->heap ? (int32_t)(ax__heap_take_allocated(p->heap) /
                               WORDS_PER_REDUCTION)
                   : 0;
}

void ax__charge(unsigned n)
{
    struct proc *p = ax__proc_self();

    if (!p)
        return;
    p->budget -= (int32_t)n + alloc_cost(p);
    if (p->budget <= 0) {
        ax__sched_leave(p, OUT_YIELD, true);
        ax__proc_drain(p);
    }
}

/*
 * Batching. Messages a process sends in a row to one destination are
 * chained and pushed with one exchange when it does anything else: sends
 * elsewhere, sends any other signal, spawns, receives, yields, finishes a
 * handler call, exits - or when the chain reaches BATCH_MAX. So a fan-in
 * sender pays one contended exchange per batch, not per message, and the
 * order of everything a process sends, to whomever, is the order in which
 * it is delivered.
 */
#define BATCH_MAX 64

void ax__flush_sends(struct sched *s)
{
    struct proc *dest = s->out_dest;
    struct msg *first = s->out_first;
    struct msg *last = s->out_last;

    s->out_n = 0;
    s->out_dest = NULL;
    if (ax__mailbox_push_chain(&dest->mbox, first, last))
        ax__sched_wake(dest);
}

/* Sends from a process: batched (above). */
static int send_batched(struct sched *s, struct proc *self, ax_term_t pid,
                        ax_term_t msg)
{
    struct proc *dest = ax__ptab_lookup(pid);
    struct msg *m;

    if (!dest)
        return 0; /* a dead process: dropped, as Erlang does */
    if (s->out_n && (s->out_dest != dest || s->out_pid != pid))
        ax__flush_sends(s);
    m = ax__msg_new(SIG_MESSAGE, pid, atomic_load(&self->pid), msg);
    if (!m)
        return AX_ENOMEM;
    atomic_store_explicit(&m->node.next, NULL, memory_order_relaxed);
    if (s->out_n++ == 0) {
        s->out_dest = dest;
        s->out_pid = pid;
        s->out_first = m;
    } else {
        atomic_store_explicit(&s->out_last->node.next, &m->node,
                              memory_order_relaxed);
    }
    s->out_last = m;
    if (s->out_n >= BATCH_MAX)
        ax__flush_sends(s);
    return 0;
}

int ax_send(ax_term_t to, ax_term_t msg)
{
    ax_term_t pid = resolve(to);
    struct sched *s = ax__sched_self();
    struct proc *self = s ? s->current : NULL;
    int err;

    if (!term_is_pid(pid))
        return AX_EBADARG;
    if (self) {
        err = send_batched(s, self, pid, msg);
    } else {
        err = ax__send_signal(pid, SIG_MESSAGE, AX_NONE, msg, 0);
        if (err == AX_ENOPROC)
            err = 0; /* sending to a dead process is no error */
    }
    if (!err && s)
        sched_count(&s->messages, 1);
    ax__charge(1);
    return err;
}

/* {'DOWN', Ref, process, Pid, Reason} to a watcher. */
static void send_down(ax_term_t to, uint64_t ref, ax_term_t pid,
                      ax_term_t reason)
{
    uint64_t obj[4 + 6];

    obj[0] = make_header(HDR_REF, 3);
    obj[1] = 3;
    obj[2] = ref;
    obj[3] = 0;
    obj[4] = make_header(HDR_TUPLE, 5);
    obj[5] = make_atom(ATOM_IDX_DOWN);
    obj[6] = make_boxed(obj);
    obj[7] = make_atom(ATOM_IDX_PROCESS);
    obj[8] = pid;
    obj[9] = reason;
    ax__send_signal(to, SIG_DOWN, pid, make_boxed(obj + 4), ref);
}

/* --- Information requests ---------------------------------------------------- */

static long futex_op(_Atomic(uint32_t) *addr, int op, uint32_t val)
{
    return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

void ax__info_complete(struct info_req *r)
{
    ax_term_t requester = r->requester;
    uint32_t seq = r->seq;

    /* release: the requester reads the snapshot after seeing done; r may
     * be gone right after this store, so nothing of it is read later. */
    atomic_store_explicit(&r->done, 1, memory_order_release);
    if (requester != AX_NONE)
        ax__send_signal(requester, SIG_WAKE, AX_NONE, AX_NIL, seq);
    else
        futex_op(&r->done, FUTEX_WAKE_PRIVATE, 1);
}

/*
 * A process waits without handling its signals: one could end it, and r
 * lives on its stack until answered. What arrives meanwhile stays in its
 * mailbox (so it may be requeued before the answer: a short spin).
 */
void ax__info_wait(struct info_req *r)
{
    struct proc *self = ax__proc_self();

    while (!atomic_load_explicit(&r->done, memory_order_acquire)) {
        if (self)
            ax__sched_leave(self, OUT_WAIT, true);
        else
            futex_op(&r->done, FUTEX_WAIT_PRIVATE, 0);
    }
}

/* Drops a signal its process will never handle, answering a pending
 * information request so that its requester does not wait forever. */
static void refuse(struct msg *m)
{
    if (m->kind == SIG_INFO) {
        struct info_req *r = (struct info_req *)(uintptr_t)m->ref;

        r->err = AX_ENOPROC;
        ax__info_complete(r);
    }
    ax__msg_free(m);
}

/* --- Handling signals --------------------------------------------------------- */

static void append(struct proc *p, struct msg *m)
{
    m->qnext = NULL;
    *p->queue_tail = m;
    p->queue_tail = &m->qnext;
    p->queue_len++;
}

/* Queues {'EXIT', From, Reason} for a process that traps exits. */
static void queue_exit_message(struct proc *p, ax_term_t from,
                               ax_term_t reason)
{
    uint64_t tuple[4] = {make_header(HDR_TUPLE, 3), make_atom(ATOM_IDX_EXIT),
                         from, reason};
    struct msg *m = ax__msg_new(SIG_MESSAGE, atomic_load(&p->pid), from,
                                make_boxed(tuple));

    if (!m)
        ax__proc_exit(p, make_atom(ATOM_IDX_OOM));
    append(p, m);
}

/*
 * An exit signal, from exit/2 (link false) or from a linked process that
 * died: queues {'EXIT', From, Reason} if p traps exits, and returns the
 * reason p must die with, or AX_NONE.
 */
static ax_term_t on_exit_signal(struct proc *p, struct msg *m, bool link)
{
    ax_term_t reason = m->term;
    ax_term_t self = atomic_load(&p->pid);

    if (link && !ax__proc_remove_link(p, m->from))
        return AX_NONE; /* unlinked meanwhile */
    if (!link && reason == ATOM_KILL)
        return ATOM_KILLED;
    if (p->flags & PF_TRAP_EXIT)
        queue_exit_message(p, m->from, reason);
    else if (reason != ATOM_NORMAL || (!link && m->from == self))
        return reason;
    return AX_NONE;
}

/* A copy of reason on p's heap (an immediate needs none); oom if it
 * cannot be made. */
static ax_term_t keep_reason(struct proc *p, ax_term_t reason)
{
    ax_heap_t *h;
    ax_term_t r;

    if (term_is_immed(reason))
        return reason;
    h = ax__proc_heap(p);
    r = h ? ax_copy(h, reason) : AX_NONE;
    return r != AX_NONE ? r : make_atom(ATOM_IDX_OOM);
}

/* Ends p with reason, which lives in m: copied out before m goes. */
static _Noreturn void exit_with(struct proc *p, struct msg *m,
                                ax_term_t reason)
{
    ax_term_t r = keep_reason(p, reason);

    ax__msg_free(m);
    ax__proc_exit(p, r);
}

/* Handles one signal: m is queued, or freed. */
static void handle(struct proc *p, struct msg *m)
{
    switch ((enum sig_kind)m->kind) {
    case SIG_MESSAGE:
        if (p->ext && p->ext->ndropped && ax__proc_is_dropped_reply(p, m->term))
            break; /* the late reply to a call that gave up */
        append(p, m);
        return;
    case SIG_DOWN:
        if (!ax__proc_remove_monitor(p, m->ref, NULL))
            break; /* demonitored meanwhile */
        append(p, m);
        return;
    case SIG_WAKE:
        if (m->ref == p->wait_seq)
            p->timed_out = true;
        break;
    case SIG_GC:
        p->gc_asked = true;
        break;
    case SIG_EXIT:
    case SIG_EXIT_LINK: {
        ax_term_t reason = on_exit_signal(p, m, m->kind == SIG_EXIT_LINK);

        if (reason != AX_NONE)
            exit_with(p, m, reason);
        break;
    }
    case SIG_LINK:
        if (ax__proc_add_link(p, m->from))
            ax__proc_exit(p, make_atom(ATOM_IDX_OOM));
        break;
    case SIG_UNLINK:
        ax__proc_remove_link(p, m->from);
        break;
    case SIG_MONITOR:
        if (ax__proc_add_watcher(p, m->ref, m->from))
            ax__proc_exit(p, make_atom(ATOM_IDX_OOM));
        break;
    case SIG_CALL:
        if (ax__proc_add_watcher(p, m->ref, m->from))
            ax__proc_exit(p, make_atom(ATOM_IDX_OOM));
        append(p, m);
        return;
    case SIG_DEMONITOR:
        ax__proc_remove_watcher(p, m->ref);
        break;
    case SIG_INFO: {
        struct info_req *r = (struct info_req *)(uintptr_t)m->ref;

        ax__info_fill(p, r);
        ax__info_complete(r);
        break;
    }
    }
    ax__msg_free(m);
}

size_t ax__proc_drain(struct proc *p)
{
    ax_term_t self = atomic_load_explicit(&p->pid, memory_order_relaxed);
    size_t before = p->queue_len;
    struct msg *m;

    ax__flush(); /* it may have sent to itself */
    while ((m = ax__mailbox_pop(&p->mbox))) {
        if (m->to != self) {
            refuse(m); /* meant for an earlier owner of the slot */
            continue;
        }
        handle(p, m); /* may queue a message: a trapped exit too */
    }
    return p->queue_len - before;
}

/* --- Exiting ------------------------------------------------------------------ */

/* Answers, on behalf of a process that is gone, the link, monitor and
 * information requests still in its mailbox. */
static void answer_closed(struct proc *p, ax_term_t self)
{
    struct msg *m;

    while ((m = ax__mailbox_pop(&p->mbox))) {
        if (m->to == self && m->kind == SIG_LINK)
            ax__send_signal(m->from, SIG_EXIT_LINK, self,
                            make_atom(ATOM_IDX_NOPROC), 0);
        else if (m->to == self &&
                 (m->kind == SIG_MONITOR || m->kind == SIG_CALL))
            send_down(m->from, m->ref, self, make_atom(ATOM_IDX_NOPROC));
        refuse(m);
    }
}

static void notify_links_and_monitors(struct proc *p, ax_term_t self,
                                      ax_term_t reason)
{
    struct proc_ext *e = p->ext;

    if (!e)
        return;
    for (size_t i = 0; i < e->nlinks; i++)
        ax__send_signal(e->links[i], SIG_EXIT_LINK, self, reason, 0);
    for (size_t i = 0; i < e->nwatchers; i++)
        send_down(e->watchers[i].pid, e->watchers[i].ref, self, reason);
    for (size_t i = 0; i < e->nmonitors; i++)
        ax__send_signal(e->monitors[i].pid, SIG_DEMONITOR, self, AX_NIL,
                        e->monitors[i].ref);
}

void (*ax__exit_hook)(struct proc *p, ax_term_t reason);

_Noreturn void ax__proc_exit(struct proc *p, ax_term_t reason)
{
    ax_term_t self = atomic_load(&p->pid);
    ax_term_t r = keep_reason(p, reason);

    ax__flush();
    ax__proc_lock(p);
    atomic_store(&p->state, PS_EXITING);
    ax__proc_unlock(p);
    /* Before anyone hears of the exit: whoever gets its 'DOWN' or 'EXIT'
     * finds its crash report queued (a flush then covers it). */
    if (ax__exit_hook)
        ax__exit_hook(p, r);
    answer_closed(p, self);
    notify_links_and_monitors(p, self, r);
    if (p->name != AX_NONE)
        ax__registry_remove(p->name, self);
    ax__timeout_clear(p);
    ax__node_note_exit(self, r);
    ax__proc_clear(p);
    ax__sched_leave(p, OUT_EXIT, false);
    ax_unreachable();
}

_Noreturn void ax_exit(ax_term_t reason)
{
    struct proc *p = ax__proc_self();

    if (!p)
        ax__assert_fail("ax_exit called outside a process", __FILE__,
                        __LINE__, __func__);
    ax__proc_exit(p, reason);
}

int ax_exit_signal(ax_term_t pid, ax_term_t reason)
{
    struct proc *p = ax__proc_self();
    ax_term_t self = p ? atomic_load(&p->pid) : AX_NONE;
    int err;

    if (!term_is_pid(pid))
        return AX_EBADARG;
    err = ax__send_signal(pid, SIG_EXIT, self, reason, 0);
    if (err == AX_ENOPROC)
        return 0;
    if (!err && pid == self)
        ax__proc_drain(p); /* a signal to oneself acts at once */
    return err;
}

bool ax_is_alive(ax_term_t pid)
{
    struct proc *p = ax__ptab_lookup(pid);

    return p && atomic_load(&p->state) != PS_EXITING;
}

bool ax_trap_exit(bool on)
{
    struct proc *p = ax__proc_self();
    bool old;

    if (!p)
        return false;
    old = p->flags & PF_TRAP_EXIT;
    if (on)
        p->flags |= PF_TRAP_EXIT;
    else
        p->flags &= (uint8_t)~PF_TRAP_EXIT;
    return old;
}

/* --- Links and monitors -------------------------------------------------------- */

int ax_link(ax_term_t pid)
{
    struct proc *p = ax__proc_self();
    ax_term_t self;
    int err;

    if (!p)
        return AX_ENOTPROC;
    if (!term_is_pid(pid))
        return AX_EBADARG;
    self = atomic_load(&p->pid);
    if (pid == self || ax__proc_has_link(p, pid))
        return 0;
    err = ax__send_signal(pid, SIG_LINK, self, AX_NIL, 0);
    if (err)
        return err;
    return ax__proc_add_link(p, pid);
}

int ax_unlink(ax_term_t pid)
{
    struct proc *p = ax__proc_self();

    if (!p)
        return AX_ENOTPROC;
    if (!term_is_pid(pid))
        return AX_EBADARG;
    if (ax__proc_remove_link(p, pid))
        ax__send_signal(pid, SIG_UNLINK, atomic_load(&p->pid), AX_NIL, 0);
    return 0;
}

int ax__monitor_with(ax_term_t target, uint64_t n)
{
    struct proc *p = ax__proc_self();
    ax_term_t pid = resolve(target);
    ax_term_t self;
    int err;

    if (!p)
        return AX_ENOTPROC;
    if (!term_is_pid(pid) && !term_is_atom(target))
        return AX_EBADARG;
    self = atomic_load(&p->pid);
    err = ax__proc_add_monitor(p, n, pid);
    if (err)
        return err;
    /* No queued message can name a fresh reference: a receive for it
     * may skip them (the marker, as ax_make_ref sets it). */
    if (p->marker_ref != n) {
        p->marker = p->queue_tail;
        p->marker_ref = n;
    }
    err = term_is_pid(pid) ? ax__send_signal(pid, SIG_MONITOR, self, AX_NIL,
                                             n)
                           : AX_ENOPROC;
    if (err == AX_ENOPROC) {
        send_down(self, n, term_is_pid(pid) ? pid : target,
                  make_atom(ATOM_IDX_NOPROC));
        return 0;
    }
    if (err)
        ax__proc_remove_monitor(p, n, NULL);
    return err;
}

int ax_monitor(ax_term_t target, ax_term_t *ref)
{
    uint64_t n = ax__new_ref_number();
    ax_heap_t *h = ax_heap();

    if (!h)
        return AX_ENOTPROC;
    *ref = ax__ref_term(h, n);
    return *ref == AX_NONE ? AX_ENOMEM : ax__monitor_with(target, n);
}

int ax_demonitor(ax_term_t ref, unsigned flags)
{
    struct proc *p = ax__proc_self();
    uint64_t n = ref_local_number(ref);

    if (!p)
        return AX_ENOTPROC;
    if (!n)
        return AX_EBADARG;
    ax__demonitor(p, n, flags & AX_DEMONITOR_FLUSH);
    return 0;
}

void ax__demonitor(struct proc *p, uint64_t n, bool flush)
{
    ax_term_t pid;

    if (ax__proc_remove_monitor(p, n, &pid))
        ax__send_signal(pid, SIG_DEMONITOR, atomic_load(&p->pid), AX_NIL,
                        n);
    if (!flush)
        return;
    ax__proc_drain(p);
    for (struct msg **link = &p->queue; *link; link = &(*link)->qnext) {
        if ((*link)->kind == SIG_DOWN && (*link)->ref == n) {
            struct msg *m = *link;

            ax__queue_unlink(p, link);
            ax__msg_free(m);
            break;
        }
    }
}

/* --- A process's entry ----------------------------------------------------- */

/*
 * The next message for a handler, oldest first: from its queue if a
 * receive left some there, else straight from its mailbox, handling the
 * signals met on the way (no detour through the queue). NULL when none.
 */
static struct msg *next_message(struct proc *p)
{
    ax_term_t self = atomic_load_explicit(&p->pid, memory_order_relaxed);
    struct msg *m;

    ax__flush(); /* it may have sent to itself */
    while (!p->queue && (m = ax__mailbox_pop(&p->mbox))) {
        if (m->to != self)
            refuse(m);
        else if (m->kind == SIG_MESSAGE && !(p->ext && p->ext->ndropped))
            return m;
        else
            handle(p, m);
    }
    m = p->queue;
    if (m)
        ax__queue_unlink(p, &p->queue);
    return m;
}

/* A major collection a SIG_GC asked for: the state is the only root. */
static void collect_asked(struct proc *p)
{
    ax_heap_t *h = p->heap;

    p->gc_asked = false;
    if (!h)
        return;
    if (ax__proc_gc(p, &p->state_term, 1, AX_GC_MAJOR))
        ax__proc_exit(p, make_atom(ATOM_IDX_OOM));
    sched_count(&ax__sched_self()->gcs, 1);
}

static _Noreturn void handler_loop(struct proc *p)
{
    for (;;) {
        struct msg *m = next_message(p);
        ax_heap_t *h;

        if (!m && p->gc_asked)
            collect_asked(p);
        if (!m)
            ax__sched_leave(p, OUT_WAIT, false);
        h = ax__proc_heap(p);
        if (!h)
            ax__proc_exit(p, make_atom(ATOM_IDX_OOM));
        p->last_msg = ax__msg_take(m, h);
        p->state_term = p->fn.handler(p->last_msg, p->state_term);
        ax__flush(); /* a reply leaves with its call's end */
        p->budget -= 1 + alloc_cost(p);
        if (ax__heap_wants_gc(h)) {
            if (ax__proc_gc(p, &p->state_term, 1, AX_GC_AUTO))
                ax__proc_exit(p, make_atom(ATOM_IDX_OOM));
            sched_count(&ax__sched_self()->gcs, 1);
        }
        if (p->budget <= 0)
            ax__sched_leave(p, OUT_YIELD, false);
    }
}

_Noreturn void ax__proc_become_handler(struct proc *p, ax_handler_fn fn,
                                       ax_term_t state)
{
    p->kind = PK_HANDLER;
    p->fn.handler = fn;
    p->state_term = state;
    ax__sched_leave(p, OUT_YIELD, false);
    ax_unreachable();
}

void ax__proc_entry(void *arg)
{
    struct proc *p = arg;

    if (p->kind == PK_HANDLER)
        handler_loop(p);
    ax__proc_drain(p);
    p->fn.body(p->state_term);
    ax__proc_exit(p, ATOM_NORMAL);
}
