/*
 * sup_stubborn - a worker of the supervisor tests (test_supervisor.c)
 * that does not stop when its supervisor asks: it traps exits, and
 * whatever then reaches it (the 'EXIT' as a message, or terminate) waits
 * for ever, so only a kill ends it.
 *
 *   init([Notify, Tag])   sends Notify {started, Tag, Self}
 */
#include <ax.h>

static _Noreturn void wait_forever(void)
{
    ax_term_t m;

    for (;;)
        ax_receive(ax_atom("never_sent"), AX_INFINITY, &m, NULL);
}

static ax_term_t stubborn_init(ax_term_t args)
{
    ax_trap_exit(true);
    ax_send(ax_head(args), ax_tuple(ax_heap(), 3, ax_atom("started"),
                                    ax_head(ax_tail(args)), ax_self()));
    return ax_tuple(ax_heap(), 2, ax_atom("ok"), args);
}

static ax_term_t stubborn_call(ax_term_t req, ax_term_t from, ax_term_t st)
{
    (void)req;
    (void)from;
    return ax_tuple(ax_heap(), 3, ax_atom("reply"), ax_atom("pong"), st);
}

static ax_term_t stubborn_cast(ax_term_t msg, ax_term_t st)
{
    (void)msg;
    return ax_tuple(ax_heap(), 2, ax_atom("noreply"), st);
}

static ax_term_t stubborn_info(ax_term_t msg, ax_term_t st)
{
    (void)msg;
    (void)st;
    wait_forever();
}

static void stubborn_terminate(ax_term_t reason, ax_term_t st)
{
    (void)reason;
    (void)st;
    wait_forever();
}

AX_MODULE(sup_stubborn, "1", .init = stubborn_init,
          .handle_call = stubborn_call, .handle_cast = stubborn_cast,
          .handle_info = stubborn_info, .terminate = stubborn_terminate);
