/*
 * runaway - a worker that, on request, loops for ever without returning to
 * the runtime. It shows what cooperative scheduling alone cannot do: only
 * the runtime's watchdog can preempt it (so the other processes on its
 * scheduler still run) and `exit(Pid, kill)` can still end it.
 *
 *   cast loop           -> spins for ever
 *   call ping           -> pong (while not looping)
 */
#include <ax.h>

static ax_term_t runaway_init(ax_term_t args)
{
    return ax_tuple(ax_heap(), 2, ax_atom("ok"), args);
}

static ax_term_t runaway_call(ax_term_t req, ax_term_t from, ax_term_t st)
{
    (void)from;
    return ax_tuple(ax_heap(), 3, ax_atom("reply"),
                    req == ax_atom("ping") ? ax_atom("pong") : req, st);
}

static ax_term_t runaway_cast(ax_term_t msg, ax_term_t st)
{
    volatile unsigned long spins = 0;

    if (msg == ax_atom("loop"))
        for (;;)
            spins++;
    return ax_tuple(ax_heap(), 2, ax_atom("noreply"), st);
}

AX_MODULE(runaway, "1", .init = runaway_init, .handle_call = runaway_call,
          .handle_cast = runaway_cast);
