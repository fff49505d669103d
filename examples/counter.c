/*
 * counter - the smallest useful gen_server: a number that calls read and
 * casts change. It teaches the shape of a module: init makes the state,
 * handle_call answers, handle_cast changes, and every callback returns
 * the new state in a tuple, as Erlang's gen_server does.
 *
 *   call get        -> the count
 *   call {add, N}   -> the new count
 *   cast inc        -> count + 1
 *   cast reset      -> 0
 *
 * Version 2 of this file (change "1" below and add code_change) is how
 * ax-module(7) shows a hot upgrade.
 */
#include <ax.h>

static ax_term_t counter_init(ax_term_t args)
{
    /* args is [Start] or []. */
    ax_term_t start = ax_is_cons(args) ? ax_head(args) : ax_int(NULL, 0);

    return ax_tuple(ax_heap(), 2, ax_atom("ok"), start);
}

static ax_term_t counter_call(ax_term_t req, ax_term_t from, ax_term_t n)
{
    ax_term_t sum;

    (void)from;
    if (req == ax_atom("get"))
        return ax_tuple(ax_heap(), 3, ax_atom("reply"), n, n);
    if (ax_is_record(req, ax_atom("add"), 2) &&
        ax_arith(ax_heap(), AX_OP_ADD, n, ax_tuple_get(req, 1), &sum) == 0)
        return ax_tuple(ax_heap(), 3, ax_atom("reply"), sum, sum);
    return ax_tuple(ax_heap(), 3, ax_atom("reply"),
                    ax_tuple(ax_heap(), 2, ax_atom("error"), req), n);
}

static ax_term_t counter_cast(ax_term_t msg, ax_term_t n)
{
    ax_term_t next = n;

    if (msg == ax_atom("inc"))
        ax_arith(ax_heap(), AX_OP_ADD, n, ax_int(NULL, 1), &next);
    else if (msg == ax_atom("reset"))
        next = ax_int(NULL, 0);
    return ax_tuple(ax_heap(), 2, ax_atom("noreply"), next);
}

AX_MODULE(counter, "1", .init = counter_init, .handle_call = counter_call,
          .handle_cast = counter_cast);
