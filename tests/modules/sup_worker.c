/*
 * sup_worker - the worker of the supervisor tests (test_supervisor.c)
 * and of bench/restart.c: it says when it starts and stops, and exits
 * when told to.
 *
 *   init([Notify, Tag | Opts])  sends Notify {started, Tag, Self}; Opts:
 *                               trap     traps exits (so terminate runs
 *                                        when its supervisor stops it)
 *                               ignore   init returns ignore
 *                               {stop, R}  init returns {stop, R}
 *                               gated    init returns {stop, gated}
 *                                        while a process is registered
 *                                        as sup_gate
 *   cast {exit, Reason}         stops with Reason (a crash unless
 *                               normal, shutdown or {shutdown, _})
 *   cast segv                   writes through NULL, in
 *                               sup_worker_fault (a native fault)
 *   call ping                   -> pong
 *   info {'EXIT', _, Reason}    stops with Reason
 *   terminate(Reason)           sends Notify {terminated, Tag, Reason}
 */
#include <ax.h>

static ax_term_t A(const char *name)
{
    return ax_atom(name);
}

static ax_term_t with_state(const char *tag, ax_term_t st)
{
    return ax_tuple(ax_heap(), 2, A(tag), st);
}

/* What the options in the list opts ask init to return, or AX_NONE. */
static ax_term_t init_result(ax_term_t opts)
{
    for (; ax_is_cons(opts); opts = ax_tail(opts)) {
        ax_term_t o = ax_head(opts);

        if (o == A("trap"))
            ax_trap_exit(true);
        else if (o == A("ignore") || ax_is_record(o, A("stop"), 2))
            return o;
        else if (o == A("gated") && ax_whereis(A("sup_gate")) != AX_NONE)
            return ax_tuple(ax_heap(), 2, A("stop"), A("gated"));
    }
    return AX_NONE;
}

static ax_term_t worker_init(ax_term_t args)
{
    ax_term_t notify = ax_head(args);
    ax_term_t tag = ax_head(ax_tail(args));
    ax_term_t st = ax_tuple(ax_heap(), 2, notify, tag);
    ax_term_t r = init_result(ax_tail(ax_tail(args)));

    if (r != AX_NONE)
        return r;
    ax_send(notify, ax_tuple(ax_heap(), 3, A("started"), tag, ax_self()));
    return with_state("ok", st);
}

static ax_term_t worker_call(ax_term_t req, ax_term_t from, ax_term_t st)
{
    (void)from;
    return ax_tuple(ax_heap(), 3, A("reply"),
                    req == A("ping") ? A("pong") : A("what"), st);
}

/* Not static, never inlined: its name is in the fault's backtrace. */
__attribute__((noinline)) void sup_worker_fault(void);

__attribute__((noinline)) void sup_worker_fault(void)
{
    volatile int *nowhere = 0;

    *nowhere = 1;
}

static ax_term_t worker_cast(ax_term_t msg, ax_term_t st)
{
    if (msg == A("segv"))
        sup_worker_fault();
    if (ax_is_record(msg, A("exit"), 2))
        return ax_tuple(ax_heap(), 3, A("stop"), ax_tuple_get(msg, 1), st);
    return with_state("noreply", st);
}

static ax_term_t worker_info(ax_term_t msg, ax_term_t st)
{
    if (ax_is_record(msg, A("EXIT"), 3))
        return ax_tuple(ax_heap(), 3, A("stop"), ax_tuple_get(msg, 2), st);
    return with_state("noreply", st);
}

static void worker_terminate(ax_term_t reason, ax_term_t st)
{
    ax_send(ax_tuple_get(st, 0), ax_tuple(ax_heap(), 3, A("terminated"),
                                          ax_tuple_get(st, 1), reason));
}

AX_MODULE(sup_worker, "1", .init = worker_init, .handle_call = worker_call,
          .handle_cast = worker_cast, .handle_info = worker_info,
          .terminate = worker_terminate);
