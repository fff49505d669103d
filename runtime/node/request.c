/*
 * request.c - the requests a client sends, run in its session's proxy
 * process (so the shell's pid is the caller: a spawn with link links to
 * it, a call's caller is it). Each answers {ok, Value} or {error, Reason},
 * Reason being the Erlang reason of the failure (noproc, badarg,
 * timeout, {exit, R}, interrupted, ...).
 *
 *   Request                             Value
 *   ping                                pong
 *   {spawn, Mod, Args, How}             Pid, or {Pid, Ref} for How =
 *                                       monitor (How: none | link |
 *                                       monitor); a gen_server of Mod
 *   {send, To, Msg}                     ok
 *   {link, Pid} / {unlink, Pid}         true
 *   {monitor, Pid}                      Ref
 *   {demonitor, Ref}                    true
 *   {exit, Pid, Reason}                 true
 *   {register, Name, Pid}               true
 *   {unregister, Name}                  true
 *   {whereis, Name}                     Pid | undefined
 *   {is_alive, Pid}                     Bool
 *   registered                          [Name]
 *   {trap_exit, Bool}                   the old flag
 *   {processes, Opts}                   #{total, offset, rows} (see
 *                                       introspect.c)
 *   {process_info, Pid}                 a map (introspect.c)
 *   {call, Server, Req, Timeout}        the reply (Timeout: ms | infinity)
 *   {cast, Server, Msg}                 ok
 *   {get_state, Server, Timeout}        the state
 *   {replace_state, Server, New}        New, now the server's state
 *   {load, What} / {compile, Src}       the module's name; errors
 *                                       {badfile | undef | compile_error,
 *                                       Message}
 *   {purge, Mod} / {soft_purge, Mod}    ok
 *   modules                             ax_modules()'s list
 *   {start_supervisor, Name, Flags, Children}  Pid (linked to the shell)
 *   {which_children, Sup}, {count_children, Sup},
 *   {start_child, Sup, Spec}, {terminate_child, Sup, Id},
 *   {restart_child, Sup, Id}, {delete_child, Sup, Id}
 *                                       the supervisor's reply, as OTP's
 *   tree / {tree, Sup}                  supervision trees (introspect.c)
 *   stats                               a map of node counters
 *   {crashes, Opts}                     the recent crash reports, newest
 *                                       first (crashes.c)
 *   {crash, Id}                         one report, every column
 *                                       (crashes.c)
 *   {gc, Pid}                           asks the process to collect its
 *                                       heap (see r_gc)
 *   halt                                ok; then the node stops
 *
 * Blocking requests (call, get_state and the supervisor's) wait in the
 * proxy for their reply, a 'DOWN', or the session's interrupt, whichever
 * comes first; an interrupted or timed out call's late reply is dropped
 * on arrival.
 */
#include "node.h"

#include <stdlib.h>
#include <string.h>

#include "../sched/sched.h"
#include "../term/term.h"

#define MAX_ARGS 4

struct request {
    const char *name;
    unsigned nargs;
    ax_term_t (*fn)(struct session *s, const ax_term_t *a);
};

static ax_term_t ok(ax_term_t v)
{
    return ax_tuple(ax_heap(), 2, ax_atom("ok"), v);
}

static ax_term_t error(ax_term_t why)
{
    return ax_tuple(ax_heap(), 2, ax_atom("error"), why);
}

ax_term_t ax__request_error(ax_heap_t *h, int err)
{
    return ax_tuple(h, 2, ax_atom("error"), ax_atom(ax_err_reason(err)));
}

/* {ok, v} if err is 0, else {error, Reason}. */
static ax_term_t ok_or(int err, ax_term_t v)
{
    return err ? ax__request_error(ax_heap(), err) : ok(v);
}

/* --- Interruptible calls ------------------------------------------------- */

struct call_wait {
    struct session *s;
    ax_term_t ref;
};

static bool call_match(ax_term_t m, void *arg)
{
    struct call_wait *w = arg;

    if (ax_tuple_size(m) == 2 && ax_equal_exact(ax_tuple_get(m, 0), w->ref))
        return true;
    if (ax_is_record(m, ax_atom("DOWN"), 5) &&
        ax_equal_exact(ax_tuple_get(m, 1), w->ref))
        return true;
    return ax__session_is_interrupt(w->s, m);
}

ax_term_t ax__request_call(struct session *s, ax_term_t server,
                           ax_term_t tag, ax_term_t req, int64_t timeout)
{
    ax_heap_t *h = ax_heap();
    struct call_wait w = {s, AX_NONE};
    ax_term_t pid = ax_is_atom(server) ? ax_whereis(server) : server;
    ax_term_t m;
    int err;

    if (!ax_is_pid(pid))
        return error(ax_atom("noproc"));
    err = ax_monitor(pid, &w.ref);
    if (!err)
        err = ax_send(pid, ax_tuple(h, 3, tag, ax_tuple(h, 2, ax_self(), w.ref),
                                    req));
    if (!err)
        err = ax_receive_fn(call_match, &w, timeout, &m);
    if (w.ref != AX_NONE)
        ax_demonitor(w.ref, AX_DEMONITOR_FLUSH);
    if (err == AX_ETIMEOUT || (!err && ax__session_is_interrupt(s, m)))
        ax__proc_drop_replies(ax__proc_self(), ref_local_number(w.ref));
    if (err)
        return ax__request_error(h, err);
    if (ax__session_is_interrupt(s, m))
        return error(ax_atom("interrupted"));
    if (ax_tuple_size(m) == 5) {
        m = ax_tuple_get(m, 4);
        return error(m == ax_atom("noproc")
                         ? m
                         : ax_tuple(h, 2, ax_atom("exit"), m));
    }
    return ok(ax_tuple_get(m, 1));
}

/* A timeout term: milliseconds or infinity; false if neither. */
static bool timeout_of(ax_term_t t, int64_t *ms)
{
    if (t == ax_atom("infinity")) {
        *ms = AX_INFINITY;
        return true;
    }
    return ax_get_int(t, ms) == 0 && *ms >= 0;
}

static ax_term_t r_call(struct session *s, const ax_term_t *a)
{
    int64_t ms;

    if (!timeout_of(a[2], &ms))
        return error(ax_atom("badarg"));
    return ax__request_call(s, a[0], ax_atom("$gen_call"), a[1], ms);
}

static ax_term_t r_get_state(struct session *s, const ax_term_t *a)
{
    int64_t ms;

    if (!timeout_of(a[1], &ms))
        return error(ax_atom("badarg"));
    return ax__request_call(s, a[0], ax_atom("$ax_sys"), ax_atom("get_state"), ms);
}

static ax_term_t r_replace_state(struct session *s, const ax_term_t *a)
{
    return ax__request_call(s, a[0], ax_atom("$ax_sys"),
                            ax_tuple(ax_heap(), 2, ax_atom("replace_state"),
                                     a[1]),
                            AX_CALL_TIMEOUT);
}

static ax_term_t r_cast(struct session *s, const ax_term_t *a)
{
    (void)s;
    return ok_or(ax_cast(a[0], a[1]), ax_atom("ok"));
}

/* The supervisor's requests: OTP's, sent as calls. */
static ax_term_t sup_call(struct session *s, ax_term_t sup, ax_term_t req)
{
    return ax__request_call(s, sup, ax_atom("$gen_call"), req, AX_INFINITY);
}

static ax_term_t r_which_children(struct session *s, const ax_term_t *a)
{
    return sup_call(s, a[0], ax_atom("which_children"));
}

static ax_term_t r_count_children(struct session *s, const ax_term_t *a)
{
    return sup_call(s, a[0], ax_atom("count_children"));
}

static ax_term_t sup_call2(struct session *s, const ax_term_t *a,
                           const char *what)
{
    return sup_call(s, a[0], ax_tuple(ax_heap(), 2, ax_atom(what), a[1]));
}

static ax_term_t r_start_child(struct session *s, const ax_term_t *a)
{
    return sup_call2(s, a, "start_child");
}

static ax_term_t r_terminate_child(struct session *s, const ax_term_t *a)
{
    return sup_call2(s, a, "terminate_child");
}

static ax_term_t r_restart_child(struct session *s, const ax_term_t *a)
{
    return sup_call2(s, a, "restart_child");
}

static ax_term_t r_delete_child(struct session *s, const ax_term_t *a)
{
    return sup_call2(s, a, "delete_child");
}

/* --- Processes ------------------------------------------------------------- */

static ax_term_t r_ping(struct session *s, const ax_term_t *a)
{
    (void)s;
    (void)a;
    return ok(ax_atom("pong"));
}

static ax_term_t r_spawn(struct session *s, const ax_term_t *a)
{
    ax_gen_opts_t o = {0};
    ax_term_t pid = AX_NONE;
    ax_term_t reason = AX_NONE;
    ax_term_t ref = AX_NONE;
    int err;

    (void)s;
    if (a[2] == ax_atom("link"))
        o.flags = AX_GEN_LINK;
    else if (a[2] != ax_atom("none") && a[2] != ax_atom("monitor"))
        return error(ax_atom("badarg"));
    err = ax_gen_start(a[0], a[1], &o, &pid, &reason);
    if (err == AX_EEXITED)
        return error(ax_tuple(ax_heap(), 2, ax_atom("exit"), reason));
    if (err)
        return ax__request_error(ax_heap(), err);
    if (pid == AX_NONE)
        return ok(ax_atom("ignore"));
    if (a[2] != ax_atom("monitor"))
        return ok(pid);
    err = ax_monitor(pid, &ref);
    return ok_or(err, ax_tuple(ax_heap(), 2, pid, ref));
}

static ax_term_t r_send(struct session *s, const ax_term_t *a)
{
    (void)s;
    return ok_or(ax_send(a[0], a[1]), ax_atom("ok"));
}

static ax_term_t r_link(struct session *s, const ax_term_t *a)
{
    (void)s;
    return ok_or(ax_is_pid(a[0]) ? ax_link(a[0]) : AX_EBADARG, ax_bool(true));
}

static ax_term_t r_unlink(struct session *s, const ax_term_t *a)
{
    (void)s;
    return ok_or(ax_is_pid(a[0]) ? ax_unlink(a[0]) : AX_EBADARG,
                 ax_bool(true));
}

static ax_term_t r_monitor(struct session *s, const ax_term_t *a)
{
    ax_term_t ref = AX_NONE;
    int err = ax_is_pid(a[0]) || ax_is_atom(a[0]) ? ax_monitor(a[0], &ref)
                                                   : AX_EBADARG;

    (void)s;
    return ok_or(err, ref);
}

static ax_term_t r_demonitor(struct session *s, const ax_term_t *a)
{
    (void)s;
    return ok_or(ax_is_ref(a[0]) ? ax_demonitor(a[0], 0) : AX_EBADARG,
                 ax_bool(true));
}

static ax_term_t r_exit(struct session *s, const ax_term_t *a)
{
    (void)s;
    return ok_or(ax_is_pid(a[0]) ? ax_exit_signal(a[0], a[1]) : AX_EBADARG,
                 ax_bool(true));
}

static ax_term_t r_register(struct session *s, const ax_term_t *a)
{
    (void)s;
    return ok_or(ax_register(a[0], a[1]), ax_bool(true));
}

static ax_term_t r_unregister(struct session *s, const ax_term_t *a)
{
    (void)s;
    return ok_or(ax_unregister(a[0]), ax_bool(true));
}

static ax_term_t r_whereis(struct session *s, const ax_term_t *a)
{
    ax_term_t pid = ax_is_atom(a[0]) ? ax_whereis(a[0]) : AX_NONE;

    (void)s;
    if (!ax_is_atom(a[0]))
        return error(ax_atom("badarg"));
    return ok(pid == AX_NONE ? ax_atom("undefined") : pid);
}

static ax_term_t r_is_alive(struct session *s, const ax_term_t *a)
{
    (void)s;
    if (!ax_is_pid(a[0]))
        return error(ax_atom("badarg"));
    return ok(ax_bool(ax_is_alive(a[0])));
}

static ax_term_t r_registered(struct session *s, const ax_term_t *a)
{
    (void)s;
    (void)a;
    return ok(ax_registered(ax_heap()));
}

static ax_term_t r_trap_exit(struct session *s, const ax_term_t *a)
{
    if (a[0] != ax_bool(true) && a[0] != ax_bool(false))
        return error(ax_atom("badarg"));
    return ok(ax_bool(ax__session_set_trap(s, ax_is_true(a[0]))));
}

static ax_term_t r_processes(struct session *s, const ax_term_t *a)
{
    return ax__req_processes(s, a[0]);
}

static ax_term_t r_process_info(struct session *s, const ax_term_t *a)
{
    (void)s;
    return ax__req_process_info(a[0]);
}

static ax_term_t r_messages(struct session *s, const ax_term_t *a)
{
    (void)s;
    return ax__req_messages(a[0], a[1]);
}

/* --- Modules ----------------------------------------------------------------- */

/* The text of an atom or a binary, as a C string in buf. */
static bool text_of(ax_term_t t, char *buf, size_t size)
{
    size_t len = 0;
    const char *p = ax_is_atom(t) ? ax_atom_text(t, &len)
                                  : (const char *)ax_binary_data(t, &len);

    if (!p || len == 0 || len >= size || memchr(p, '\0', len))
        return false;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return true;
}

/* {ok, Name} or {error, {Reason, Message}}. */
static ax_term_t loaded(int err, ax_term_t name, char *msg)
{
    ax_heap_t *h = ax_heap();
    ax_term_t r = err ? ax_tuple(h, 2, ax_atom("error"),
                                 ax_tuple(h, 2, ax_atom(ax_err_reason(err)),
                                          ax_string(h, msg ? msg : "")))
                      : ok(name);

    free(msg);
    return r;
}

/* Loads or compiles the module named by a[0]. */
static ax_term_t load_with(const ax_term_t *a,
                           int (*fn)(const char *, ax_term_t *, char **))
{
    char what[4096];
    char *msg = NULL;
    ax_term_t name = AX_NONE;

    int err;

    if (!text_of(a[0], what, sizeof(what)))
        return error(ax_atom("badarg"));
    err = fn(what, &name, &msg);
    return loaded(err, name, msg);
}

static ax_term_t r_load(struct session *s, const ax_term_t *a)
{
    (void)s;
    return load_with(a, ax_module_load);
}

static ax_term_t r_compile(struct session *s, const ax_term_t *a)
{
    (void)s;
    return load_with(a, ax_module_compile);
}

static ax_term_t r_purge(struct session *s, const ax_term_t *a)
{
    (void)s;
    return ok_or(ax_module_purge(a[0]), ax_atom("ok"));
}

static ax_term_t r_soft_purge(struct session *s, const ax_term_t *a)
{
    (void)s;
    return ok_or(ax_module_soft_purge(a[0]), ax_atom("ok"));
}

static ax_term_t r_modules(struct session *s, const ax_term_t *a)
{
    (void)s;
    (void)a;
    return ok(ax_modules(ax_heap()));
}

/* --- Supervisors, node ------------------------------------------------------- */

static ax_term_t r_start_supervisor(struct session *s, const ax_term_t *a)
{
    ax_term_t pid = AX_NONE;
    ax_term_t reason = AX_NONE;
    int err;

    (void)s;
    err = ax_supervisor_start(a[0], a[1], a[2], &pid, &reason);
    if (err && reason != AX_NONE)
        return error(reason);
    return ok_or(err, pid);
}

static ax_term_t r_tree(struct session *s, const ax_term_t *a)
{
    (void)a;
    return ax__req_tree(s, AX_NONE);
}

static ax_term_t r_tree_of(struct session *s, const ax_term_t *a)
{
    return ax__req_tree(s, a[0]);
}

static ax_term_t r_stats(struct session *s, const ax_term_t *a)
{
    (void)s;
    (void)a;
    return ax__req_stats();
}

static ax_term_t r_crashes(struct session *s, const ax_term_t *a)
{
    (void)s;
    return ax__req_crashes(a[0]);
}

static ax_term_t r_crash(struct session *s, const ax_term_t *a)
{
    (void)s;
    return ax__req_crash(a[0]);
}

/* A handler process (a gen_server, a supervisor) collects its heap, a
 * major collection with its state as the root, as soon as it is next
 * between messages: {ok, asked}. A body process's live terms are on its
 * own C stack, which only it knows: it collects with ax_gc, and the
 * request answers {error, notsup}. */
static ax_term_t r_gc(struct session *s, const ax_term_t *a)
{
    struct proc *p = ax_is_pid(a[0]) ? ax__ptab_lookup(a[0]) : NULL;

    (void)s;
    if (!ax_is_pid(a[0]))
        return error(ax_atom("badarg"));
    if (!p)
        return error(ax_atom("noproc"));
    if (p->kind != PK_HANDLER)
        return error(ax_atom("notsup"));
    return ok_or(ax__send_signal(a[0], SIG_GC, ax_self(), AX_NIL, 0),
                 ax_atom("asked"));
}

static ax_term_t r_halt(struct session *s, const ax_term_t *a)
{
    (void)s;
    (void)a;
    ax__node_halt_async();
    return ok(ax_atom("ok"));
}

static const struct request requests[] = {
    {"ping", 0, r_ping},
    {"spawn", 3, r_spawn},
    {"send", 2, r_send},
    {"link", 1, r_link},
    {"unlink", 1, r_unlink},
    {"monitor", 1, r_monitor},
    {"demonitor", 1, r_demonitor},
    {"exit", 2, r_exit},
    {"register", 2, r_register},
    {"unregister", 1, r_unregister},
    {"whereis", 1, r_whereis},
    {"is_alive", 1, r_is_alive},
    {"registered", 0, r_registered},
    {"trap_exit", 1, r_trap_exit},
    {"processes", 1, r_processes},
    {"process_info", 1, r_process_info},
    {"messages", 2, r_messages},
    {"call", 3, r_call},
    {"cast", 2, r_cast},
    {"get_state", 2, r_get_state},
    {"replace_state", 2, r_replace_state},
    {"load", 1, r_load},
    {"compile", 1, r_compile},
    {"purge", 1, r_purge},
    {"soft_purge", 1, r_soft_purge},
    {"modules", 0, r_modules},
    {"start_supervisor", 3, r_start_supervisor},
    {"which_children", 1, r_which_children},
    {"count_children", 1, r_count_children},
    {"start_child", 2, r_start_child},
    {"terminate_child", 2, r_terminate_child},
    {"restart_child", 2, r_restart_child},
    {"delete_child", 2, r_delete_child},
    {"tree", 0, r_tree},
    {"tree", 1, r_tree_of},
    {"stats", 0, r_stats},
    {"crashes", 1, r_crashes},
    {"crash", 1, r_crash},
    {"gc", 1, r_gc},
    {"halt", 0, r_halt},
};

#define NREQUESTS (sizeof(requests) / sizeof(requests[0]))

ax_term_t ax__request_run(struct session *s, ax_term_t req)
{
    ax_term_t tag = ax_is_atom(req) ? req : ax_tuple_get(req, 0);
    size_t nargs = ax_is_atom(req) ? 0 : ax_tuple_size(req) - 1;
    ax_term_t args[MAX_ARGS];
    size_t len;
    const char *name = ax_atom_text(tag, &len);

    if (!name || nargs > MAX_ARGS)
        return error(ax_atom("badreq"));
    for (size_t i = 0; i < nargs; i++)
        args[i] = ax_tuple_get(req, i + 1);
    for (size_t i = 0; i < NREQUESTS; i++)
        if (requests[i].nargs == nargs && strlen(requests[i].name) == len &&
            memcmp(requests[i].name, name, len) == 0)
            return requests[i].fn(s, args);
    return error(ax_tuple(ax_heap(), 2, ax_atom("badreq"), req));
}
