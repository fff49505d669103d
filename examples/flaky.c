/*
 * flaky - a worker that crashes: when told to, or on its own at random.
 * Put it under a supervisor and watch the tree heal: each crash is a
 * restart (and a crash report), until more than `intensity` crashes come
 * within `period` and the supervisor gives up in turn.
 *
 *   init([])            never crashes on its own
 *   init([Rate])        every 100 ms, crashes with probability Rate (a
 *                       float, 0.0 to 1.0)
 *   call crash | cast crash   -> exits with reason boom
 *   call ping           -> pong
 */
#include <ax.h>
#include <stdlib.h>

#define TICK_MS 100

static ax_term_t with_tick(ax_term_t tag, ax_term_t rest, ax_term_t rate)
{
    double r = 0;

    if (ax_get_float(rate, &r) == 0 && r > 0)
        return ax_tuple(ax_heap(), 3, tag, rest, ax_int(NULL, TICK_MS));
    return ax_tuple(ax_heap(), 2, tag, rest);
}

static ax_term_t flaky_init(ax_term_t args)
{
    ax_term_t rate = ax_is_cons(args) ? ax_head(args) : ax_float(ax_heap(), 0);

    return with_tick(ax_atom("ok"), rate, rate);
}

static ax_term_t flaky_call(ax_term_t req, ax_term_t from, ax_term_t rate)
{
    (void)from;
    if (req == ax_atom("crash"))
        ax_exit(ax_atom("boom"));
    if (req == ax_atom("ping"))
        return ax_tuple(ax_heap(), 3, ax_atom("reply"), ax_atom("pong"),
                        rate);
    return ax_tuple(ax_heap(), 3, ax_atom("reply"), ax_atom("what"), rate);
}

static ax_term_t flaky_cast(ax_term_t msg, ax_term_t rate)
{
    if (msg == ax_atom("crash"))
        ax_exit(ax_atom("boom"));
    return with_tick(ax_atom("noreply"), rate, rate);
}

static ax_term_t flaky_info(ax_term_t msg, ax_term_t rate)
{
    double r = 0;

    ax_get_float(rate, &r);
    if (msg == ax_atom("timeout") && (double)rand() / RAND_MAX < r)
        ax_exit(ax_tuple(ax_heap(), 2, ax_atom("random_failure"), rate));
    return with_tick(ax_atom("noreply"), rate, rate);
}

AX_MODULE(flaky, "1", .init = flaky_init, .handle_call = flaky_call,
          .handle_cast = flaky_cast, .handle_info = flaky_info);
