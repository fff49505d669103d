/*
 * gen.c - gen_server: a process that runs a module's callbacks, as OTP's
 * gen_server does (ax.h "gen_server").
 *
 * A server starts as a body that runs init and acknowledges its starter,
 * then becomes a handler process: between messages it holds no stack.
 * Each message is dispatched by its shape:
 *
 *   {'$gen_call', {Pid, Ref}, Req}   handle_call; the reply is {Ref, R}
 *   {'$gen_cast', Msg}               handle_cast
 *   {'$ax_sys', {Pid, Ref}, Req}     get_state, replace_state (with a
 *                                    function, or {replace_state, New}),
 *                                    stop
 *   {'$ax_timeout', N}               the callback's timeout, if still due
 *   {'EXIT', Parent, Reason}         (trapping exits) terminate and exit
 *   anything else                    handle_info
 *
 * Hot code: before each message the server checks that its module version
 * is still current; if not, it moves to the current one through
 * code_change(OldVsn, State, []) (a crash there is its crash).
 *
 * A call monitors the server for its duration, and uses the monitor's
 * reference as the reply's tag: the reply and a 'DOWN' are both found
 * from the receive marker on. A reply that comes after the caller gave up
 * is dropped on arrival (the process remembers the tag), never left in
 * its mailbox.
 */
#include <stdio.h>

#include "../proc/registry.h"
#include "../sched/sched.h"
#include "../term/atom.h"
#include "module.h"

#define A_GEN_CALL make_atom(ATOM_IDX_CALL)
#define A_GEN_CAST make_atom(ATOM_IDX_CAST)

/* Atoms this file names, made once per node. */
static struct {
    ax_term_t ack;
    ax_term_t sys;
    ax_term_t tmo;
    ax_term_t get_state;
    ax_term_t replace_state;
    ax_term_t stop;
    ax_term_t ignore;
    ax_term_t hibernate;
    ax_term_t bad_return;
    ax_term_t undef;
} A;

static void init_atoms(void)
{
    A.ack = ax_atom("$ax_ack");
    A.sys = ax_atom("$ax_sys");
    A.tmo = ax_atom("$ax_timeout");
    A.get_state = ax_atom("get_state");
    A.replace_state = ax_atom("replace_state");
    A.stop = ax_atom("stop");
    A.ignore = ax_atom("ignore");
    A.hibernate = ax_atom("hibernate");
    A.bad_return = ax_atom("bad_return_value");
    A.undef = ax_atom("undef");
}

static ax_term_t T2(ax_term_t a, ax_term_t b)
{
    return ax_tuple(ax_heap(), 2, a, b);
}

static ax_term_t T3(ax_term_t a, ax_term_t b, ax_term_t c)
{
    return ax_tuple(ax_heap(), 3, a, b, c);
}

static const ax_module_desc_t *desc_of(struct proc *p)
{
    return ax__version_desc(atomic_load_explicit(&p->code,
                                                 memory_order_relaxed));
}

/* Runs terminate (if the module has it) and exits with reason. */
static _Noreturn void stop(struct proc *p, ax_term_t reason, ax_term_t st)
{
    const ax_module_desc_t *d = desc_of(p);

    if (d->terminate)
        d->terminate(reason, st);
    ax__proc_exit(p, reason);
}

/* --- Timeouts ---------------------------------------------------------------- */

/* Arms (or, with AX_NONE, only disarms) the callback's timeout: a later
 * {'$ax_timeout', N} counts only if N is still the process's number. */
static ax_term_t after(struct proc *p, ax_term_t t, ax_term_t st)
{
    int64_t ms;
    ax_term_t tref;

    p->gen_tseq++;
    if (t == A.hibernate) {
        if (!ax_heap() || ax__proc_gc(p, &st, 1, AX_GC_MAJOR))
            ax__proc_exit(p, make_atom(ATOM_IDX_OOM));
        return st;
    }
    if (t == AX_NONE || t == make_atom(ATOM_IDX_INFINITY) ||
        ax_get_int(t, &ms) || ms < 0)
        return st;
    ax_send_after(ms, atomic_load(&p->pid),
                  T2(A.tmo, ax_int(ax_heap(), (int64_t)p->gen_tseq)), &tref);
    return st;
}

/* --- Replies ------------------------------------------------------------------- */

int ax_reply(ax_term_t from, ax_term_t reply)
{
    ax_term_t msg;
    ax_heap_t *h = ax_heap();
    uint64_t box[4];

    if (!ax_is_tuple(from) || ax_tuple_size(from) != 2 ||
        !ax_is_pid(ax_tuple_get(from, 0)))
        return AX_EBADARG;
    if (h) {
        msg = T2(ax_tuple_get(from, 1), reply);
    } else {
        /* From a plain thread: the tuple lives on this stack. */
        box[0] = make_header(HDR_TUPLE, 2);
        box[1] = ax_tuple_get(from, 1);
        box[2] = reply;
        msg = make_boxed(box);
    }
    return ax_send(ax_tuple_get(from, 0), msg);
}

/* --- Dispatch -------------------------------------------------------------------- */

static _Noreturn void bad_return(struct proc *p, ax_term_t ret, ax_term_t st)
{
    stop(p, T2(A.bad_return, ret), st);
}

/* Acts on a callback's result; returns the new state. from is AX_NONE
 * unless it was handle_call. */
static ax_term_t result(struct proc *p, ax_term_t ret, ax_term_t from,
                        ax_term_t st)
{
    ax_term_t tag = ax_tuple_get(ret, 0);
    size_t n = ax_tuple_size(ret);

    if (tag == make_atom(ATOM_IDX_REPLY) && from != AX_NONE &&
        (n == 3 || n == 4)) {
        ax_reply(from, ax_tuple_get(ret, 1));
        return after(p, n == 4 ? ax_tuple_get(ret, 3) : AX_NONE,
                     ax_tuple_get(ret, 2));
    }
    if (tag == make_atom(ATOM_IDX_NOREPLY) && (n == 2 || n == 3))
        return after(p, n == 3 ? ax_tuple_get(ret, 2) : AX_NONE,
                     ax_tuple_get(ret, 1));
    if (tag == A.stop && n == 4 && from != AX_NONE) {
        ax_reply(from, ax_tuple_get(ret, 2));
        stop(p, ax_tuple_get(ret, 1), ax_tuple_get(ret, 3));
    }
    if (tag == A.stop && n == 3)
        stop(p, ax_tuple_get(ret, 1), ax_tuple_get(ret, 2));
    bad_return(p, ret, st);
}

/* Moves p to its module's current version through code_change. */
static ax_term_t upgrade(struct proc *p, ax_term_t st)
{
    struct module_version *old = atomic_load(&p->code);
    struct module_version *cur = ax__version_current(old);
    const ax_module_desc_t *d;
    ax_term_t ret;

    if (!cur)
        return st; /* the module is gone: stay on what we have */
    d = ax__version_desc(cur);
    ax__version_enter(cur); /* p's code is cur from here */
    ax__version_release(cur);
    if (d->code_change) {
        ret = d->code_change(ax__version_vsn_term(old, ax_heap()), st,
                             AX_NIL);
        if (!ax_is_record(ret, make_atom(ATOM_IDX_OK), 2)) {
            ax__version_leave(old);
            ax__proc_exit(p, ret);
        }
        st = ax_tuple_get(ret, 1);
    }
    ax__version_leave(old);
    return st;
}

static ax_term_t sys(struct proc *p, ax_term_t from, ax_term_t req,
                     ax_term_t st)
{
    if (req == A.get_state) {
        ax_reply(from, st);
        return st;
    }
    if (ax_is_record(req, A.replace_state, 2)) {
        /* A new state given as a term (the shell's replace_state). */
        st = ax_copy(ax_heap(), ax_tuple_get(req, 1));
        ax_reply(from, st);
        return st;
    }
    if (ax_is_record(req, A.replace_state, 3)) {
        int64_t fn;
        int64_t arg;

        ax_get_int(ax_tuple_get(req, 1), &fn);
        ax_get_int(ax_tuple_get(req, 2), &arg);
        st = ((ax_state_fn)(uintptr_t)fn)(st, (void *)(uintptr_t)arg);
        ax_reply(from, st);
        return st;
    }
    if (ax_is_record(req, A.stop, 2)) {
        ax_reply(from, make_atom(ATOM_IDX_OK));
        stop(p, ax_tuple_get(req, 1), st);
    }
    ax_reply(from, T2(make_atom(ATOM_IDX_ERROR), req));
    return st;
}

static ax_term_t info(struct proc *p, ax_term_t msg, ax_term_t st)
{
    const ax_module_desc_t *d = desc_of(p);

    if (d->handle_info)
        return result(p, d->handle_info(msg, st), AX_NONE, st);
    fprintf(stderr, "ax: %s dropped an unexpected message\n", d->name);
    return st;
}

static ax_term_t dispatch(ax_term_t msg, ax_term_t st)
{
    struct proc *p = ax__proc_self();
    ax_term_t tag = ax_tuple_get(msg, 0);
    size_t n = ax_tuple_size(msg);

    if (!ax__version_is_current(atomic_load(&p->code)))
        st = upgrade(p, st);
    if (tag == A_GEN_CALL && n == 3) {
        p->gen_tseq++;
        return result(p, desc_of(p)->handle_call(ax_tuple_get(msg, 2),
                                                 ax_tuple_get(msg, 1), st),
                      ax_tuple_get(msg, 1), st);
    }
    if (tag == A_GEN_CAST && n == 2) {
        p->gen_tseq++;
        return result(p, desc_of(p)->handle_cast(ax_tuple_get(msg, 1), st),
                      AX_NONE, st);
    }
    if (tag == A.sys && n == 3)
        return sys(p, ax_tuple_get(msg, 1), ax_tuple_get(msg, 2), st);
    if (tag == A.tmo && n == 2) {
        int64_t seq;

        ax_get_int(ax_tuple_get(msg, 1), &seq);
        return (uint64_t)seq == p->gen_tseq
                   ? info(p, make_atom(ATOM_IDX_TIMEOUT), st)
                   : st;
    }
    if (tag == make_atom(ATOM_IDX_EXIT) && n == 3 &&
        ax_tuple_get(msg, 1) == p->parent && (p->flags & PF_TRAP_EXIT))
        stop(p, ax_tuple_get(msg, 2), st);
    p->gen_tseq++;
    return info(p, msg, st);
}

/* --- Starting ------------------------------------------------------------------ */

/* The body a server starts with: {Starter, Ref, Module, Args}. */
static void gen_body(ax_term_t arg)
{
    struct proc *p = ax__proc_self();
    ax_term_t starter = ax_tuple_get(arg, 0);
    ax_term_t ref = ax_tuple_get(arg, 1);
    int err;
    struct module_version *v = ax__module_acquire(ax_tuple_get(arg, 2),
                                                  &err);
    ax_term_t ret;

    if (!v) {
        ax_send(starter, T3(A.ack, ref, T2(make_atom(ATOM_IDX_ERROR),
                                           A.undef)));
        ax__proc_exit(p, A.undef);
    }
    ax__version_enter(v); /* p's code is v from here */
    ax__version_release(v);
    p->gen_tseq = 0;
    ret = ax__version_desc(v)->init(ax_tuple_get(arg, 3));
    if (ax_is_record(ret, make_atom(ATOM_IDX_OK), 2) ||
        ax_is_record(ret, make_atom(ATOM_IDX_OK), 3)) {
        ax_term_t st = after(p, ax_tuple_size(ret) == 3 ? ax_tuple_get(ret, 2)
                                                       : AX_NONE,
                             ax_tuple_get(ret, 1));

        ax_send(starter, T3(A.ack, ref, make_atom(ATOM_IDX_OK)));
        ax__proc_become_handler(p, dispatch, st);
    }
    if (ret == A.ignore) {
        ax_send(starter, T3(A.ack, ref, A.ignore));
        ax__proc_exit(p, ATOM_NORMAL);
    }
    if (!ax_is_record(ret, A.stop, 2))
        ret = T2(A.stop, T2(A.bad_return, ret));
    ax_send(starter, T3(A.ack, ref, T2(make_atom(ATOM_IDX_ERROR),
                                       ax_tuple_get(ret, 1))));
    ax__proc_exit(p, ax_tuple_get(ret, 1));
}

struct waiter {
    uint64_t ref;
};

/* Matches {'$ax_ack', Ref, _} or {'DOWN', Ref, _, _, _} (also the call
 * reply {Ref, _}) for the waiter's reference. */
static bool for_ref(ax_term_t msg, void *arg)
{
    struct waiter *w = arg;
    size_t n = ax_tuple_size(msg);

    if (n == 2)
        return ref_local_number(ax_tuple_get(msg, 0)) == w->ref;
    if (n == 3 && ax_tuple_get(msg, 0) == A.ack)
        return ref_local_number(ax_tuple_get(msg, 1)) == w->ref;
    return n == 5 && ax_tuple_get(msg, 0) == make_atom(ATOM_IDX_DOWN) &&
           ref_local_number(ax_tuple_get(msg, 1)) == w->ref;
}

/* Reads the ack or 'DOWN' that answers a start. */
static int start_result(ax_term_t msg, ax_term_t *pid, ax_term_t *reason)
{
    ax_term_t res;

    if (ax_tuple_size(msg) == 5) { /* 'DOWN': it died before acking */
        if (reason)
            *reason = ax_tuple_get(msg, 4);
        *pid = AX_NONE;
        return AX_EEXITED;
    }
    res = ax_tuple_get(msg, 2);
    if (res == make_atom(ATOM_IDX_OK))
        return 0;
    *pid = AX_NONE;
    if (res == A.ignore)
        return 0;
    if (reason)
        *reason = ax_tuple_get(res, 1);
    return ax_tuple_get(res, 1) == A.undef ? AX_ENOMODULE : AX_EEXITED;
}

int ax_gen_start(ax_term_t module, ax_term_t args, const ax_gen_opts_t *o,
                 ax_term_t *pid, ax_term_t *reason)
{
    static const ax_gen_opts_t defaults = {.name = AX_NONE};
    ax_spawn_opts_t so = {.body = gen_body};
    struct proc *self = ax__proc_self();
    struct waiter w;
    ax_term_t mref;
    ax_term_t msg;
    int err;

    if (!self)
        return AX_ENOTPROC;
    if (!A.ack)
        init_atoms();
    o = o ? o : &defaults;
    /* One fresh reference tags the ack and the monitor's 'DOWN'; the
     * marker is set before the child can answer. */
    w.ref = ax__new_ref_number();
    mref = ax__ref_term(ax_heap(), w.ref);
    self->marker = self->queue_tail;
    self->marker_ref = w.ref;
    so.arg = ax_tuple(ax_heap(), 4, ax_self(), mref, module, args);
    /* Monitored from birth, by the same reference the ack carries. */
    so.flags = AX_SPAWN_MONITOR | ((o->flags & AX_GEN_LINK) ? AX_SPAWN_LINK
                                                            : 0);
    so.name = o->name ? o->name : AX_NONE;
    err = ax__spawn_ref(&so, w.ref, pid, NULL);
    if (err)
        return err;
    err = ax__receive_ref(w.ref, for_ref, &w,
                          o->timeout_ms ? o->timeout_ms : 5000, &msg);
    ax__demonitor(self, w.ref, true);
    if (err == AX_ETIMEOUT)
        ax_exit_signal(*pid, make_atom(ATOM_IDX_KILL));
    return err ? err : start_result(msg, pid, reason);
}

/* --- Calls ------------------------------------------------------------------- */

/*
 * Monitors pid and sends it {Tag, {Self, Ref}, Req} in one signal (the
 * monitor's reference is the call's tag); AX_ENOPROC if it is gone.
 */
static int send_call(struct proc *self, ax_term_t pid, ax_term_t tag,
                     ax_term_t req, uint64_t n)
{
    struct proc *p = ax__ptab_lookup(pid);
    ax_term_t me = atomic_load(&self->pid);
    ax_term_t mref = ax__ref_term(ax_heap(), n);
    struct msg *m;
    int err;

    if (!p)
        return AX_ENOPROC;
    err = ax__proc_add_monitor(self, n, pid);
    if (err)
        return err;
    self->marker = self->queue_tail;
    self->marker_ref = n;
    m = ax__msg_new(SIG_CALL, pid, me, T3(tag, T2(me, mref), req));
    if (!m)
        err = AX_ENOMEM;
    else
        m->ref = n;
    err = err ? err : ax__deliver_signal(p, pid, m);
    if (err)
        ax__proc_remove_monitor(self, n, NULL);
    return err;
}

/* Calls server with {Tag, {Self, Ref}, Req}; waits for {Ref, Reply}. */
static int call(ax_term_t server, ax_term_t tag, ax_term_t req,
                int64_t timeout_ms, ax_term_t *reply)
{
    ax_term_t pid = ax_is_atom(server) ? ax_whereis(server) : server;
    struct proc *self = ax__proc_self();
    struct waiter w;
    ax_term_t msg;
    int err;

    if (!self)
        return AX_ENOTPROC;
    if (!A.ack)
        init_atoms();
    if (!ax_is_pid(pid))
        return AX_ENOPROC;
    w.ref = ax__new_ref_number();
    err = send_call(self, pid, tag, req, w.ref);
    if (err)
        return err;
    err = ax__receive_ref(w.ref, for_ref, &w, timeout_ms, &msg);
    ax__demonitor(self, w.ref, true);
    if (err == AX_ETIMEOUT) {
        ax__proc_drop_replies(self, w.ref);
        return err;
    }
    if (err)
        return err;
    if (ax_tuple_size(msg) == 5) {
        *reply = ax_tuple_get(msg, 4);
        return *reply == make_atom(ATOM_IDX_NOPROC) ? AX_ENOPROC
                                                    : AX_EEXITED;
    }
    *reply = ax_tuple_get(msg, 1);
    return 0;
}

int ax_call(ax_term_t server, ax_term_t request, int64_t timeout_ms,
            ax_term_t *reply)
{
    return call(server, A_GEN_CALL, request, timeout_ms, reply);
}

int ax_cast(ax_term_t server, ax_term_t msg)
{
    int err = ax_send(server, ax_tuple(ax_heap(), 2, A_GEN_CAST, msg));

    return err == AX_EBADARG && ax_is_atom(server) ? 0 : err;
}

int ax_get_state(ax_term_t server, int64_t timeout_ms, ax_term_t *state)
{
    if (!A.ack)
        init_atoms();
    return call(server, A.sys, A.get_state, timeout_ms, state);
}

int ax_replace_state(ax_term_t server, ax_state_fn fn, void *arg,
                     int64_t timeout_ms, ax_term_t *state)
{
    if (!A.ack)
        init_atoms();
    return call(server, A.sys,
                T3(A.replace_state, ax_int(ax_heap(), (int64_t)(uintptr_t)fn),
                   ax_int(ax_heap(), (int64_t)(uintptr_t)arg)),
                timeout_ms, state);
}

int ax_gen_stop(ax_term_t server, ax_term_t reason, int64_t timeout_ms)
{
    ax_term_t pid = ax_is_atom(server) ? ax_whereis(server) : server;
    ax_term_t mref;
    ax_term_t ok;
    ax_term_t msg;
    struct waiter w;
    int err;

    if (!A.ack)
        init_atoms();
    if (!ax_is_pid(pid))
        return AX_ENOPROC;
    err = ax_monitor(pid, &mref);
    if (err)
        return err;
    err = call(pid, A.sys, T2(A.stop, reason), timeout_ms, &ok);
    w.ref = ref_local_number(mref);
    if (!err || err == AX_EEXITED)
        err = ax__receive_ref(w.ref, for_ref, &w, timeout_ms, &msg);
    ax_demonitor(mref, AX_DEMONITOR_FLUSH);
    return err;
}
