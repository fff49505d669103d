/*
 * echo - answers every call with what it was given, and sends every cast
 * back to the process named in it. The "hello world" of message passing:
 * useful to see a round trip, and to measure one.
 *
 *   call Term           -> Term
 *   cast {Pid, Term}    -> Pid ! Term
 */
#include <ax.h>

static ax_term_t echo_init(ax_term_t args)
{
    return ax_tuple(ax_heap(), 2, ax_atom("ok"), args);
}

static ax_term_t echo_call(ax_term_t req, ax_term_t from, ax_term_t st)
{
    (void)from;
    return ax_tuple(ax_heap(), 3, ax_atom("reply"), req, st);
}

static ax_term_t echo_cast(ax_term_t msg, ax_term_t st)
{
    if (ax_tuple_size(msg) == 2 && ax_is_pid(ax_tuple_get(msg, 0)))
        ax_send(ax_tuple_get(msg, 0), ax_tuple_get(msg, 1));
    return ax_tuple(ax_heap(), 2, ax_atom("noreply"), st);
}

AX_MODULE(echo, "1", .init = echo_init, .handle_call = echo_call,
          .handle_cast = echo_cast);
