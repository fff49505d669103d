/*
 * gen_srv - a gen_server for the gen_server tests: each request exercises
 * one rule of the behaviour. State: {Count, Held} where Held is the From
 * of a deferred call, or [].
 */
#include <ax.h>

static ax_term_t A(const char *s)
{
    return ax_atom(s);
}

static ax_term_t st(ax_term_t count, ax_term_t held)
{
    return ax_tuple(ax_heap(), 2, count, held);
}

static ax_term_t srv_init(ax_term_t args)
{
    if (args == A("fail"))
        return ax_tuple(ax_heap(), 2, A("stop"), A("init_failed"));
    if (args == A("ignore"))
        return A("ignore");
    if (args == A("crash"))
        ax_exit(A("init_crashed"));
    if (args == A("trap"))
        ax_trap_exit(true);
    return ax_tuple(ax_heap(), 2, A("ok"), st(ax_int(NULL, 0), AX_NIL));
}

static ax_term_t reply(ax_term_t r, ax_term_t s)
{
    return ax_tuple(ax_heap(), 3, A("reply"), r, s);
}

static ax_term_t srv_call(ax_term_t req, ax_term_t from, ax_term_t s)
{
    ax_term_t count = ax_tuple_get(s, 0);
    int64_t ms;

    if (req == A("get"))
        return reply(count, s);
    if (req == A("defer"))
        return ax_tuple(ax_heap(), 2, A("noreply"), st(count, from));
    if (req == A("crash"))
        ax_exit(A("crashed_in_call"));
    if (req == A("stop"))
        return ax_tuple(ax_heap(), 4, A("stop"), A("normal"), A("stopped"),
                        s);
    if (req == A("hibernate"))
        return ax_tuple(ax_heap(), 4, A("reply"), A("ok"), s,
                        A("hibernate"));
    if (ax_is_record(req, A("sleep"), 2) &&
        ax_get_int(ax_tuple_get(req, 1), &ms) == 0) {
        ax_sleep(ms);
        return reply(A("slept"), s);
    }
    if (ax_is_record(req, A("timeout_in"), 2))
        return ax_tuple(ax_heap(), 4, A("reply"), A("ok"), s,
                        ax_tuple_get(req, 1));
    if (ax_is_record(req, A("call"), 3)) /* a call to another server */
    {
        ax_term_t r;
        int err = ax_call(ax_tuple_get(req, 1), ax_tuple_get(req, 2), 1000,
                          &r);

        return reply(err ? A("failed") : r, s);
    }
    return A("not_a_valid_return");
}

static ax_term_t srv_cast(ax_term_t msg, ax_term_t s)
{
    ax_term_t count = ax_tuple_get(s, 0);
    ax_term_t next = count;

    if (msg == A("inc"))
        ax_arith(ax_heap(), AX_OP_ADD, count, ax_int(NULL, 1), &next);
    if (msg == A("release") && ax_tuple_get(s, 1) != AX_NIL) {
        ax_reply(ax_tuple_get(s, 1), A("released"));
        return ax_tuple(ax_heap(), 2, A("noreply"), st(count, AX_NIL));
    }
    if (msg == A("stop"))
        return ax_tuple(ax_heap(), 3, A("stop"), A("cast_stop"), s);
    return ax_tuple(ax_heap(), 2, A("noreply"), st(next, ax_tuple_get(s, 1)));
}

static ax_term_t srv_info(ax_term_t msg, ax_term_t s)
{
    ax_term_t w = ax_whereis(A("gen_watcher"));

    if (ax_is_pid(w))
        ax_send(w, ax_tuple(ax_heap(), 2, A("info"), msg));
    return ax_tuple(ax_heap(), 2, A("noreply"), s);
}

static void srv_terminate(ax_term_t reason, ax_term_t s)
{
    ax_term_t w = ax_whereis(A("gen_watcher"));

    (void)s;
    if (ax_is_pid(w))
        ax_send(w, ax_tuple(ax_heap(), 2, A("terminated"), reason));
}

AX_MODULE(gen_srv, "1", .init = srv_init, .handle_call = srv_call,
          .handle_cast = srv_cast, .handle_info = srv_info,
          .terminate = srv_terminate);
