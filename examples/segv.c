/*
 * segv - a worker that dereferences NULL on request: "let it crash" in C.
 * The fault kills this process only; its reason is {signal, sigsegv, 0},
 * its links and monitors fire, its supervisor restarts it, and the node
 * goes on.
 *
 *   cast segv           -> writes through a NULL pointer
 *   call segv           -> the same, inside a call (the caller gets the
 *                          exit reason)
 *   call ping           -> pong
 */
#include <ax.h>

static void crash(void)
{
    volatile int *nowhere = 0;

    *nowhere = 1;
}

static ax_term_t segv_init(ax_term_t args)
{
    return ax_tuple(ax_heap(), 2, ax_atom("ok"), args);
}

static ax_term_t segv_call(ax_term_t req, ax_term_t from, ax_term_t st)
{
    (void)from;
    if (req == ax_atom("segv"))
        crash();
    return ax_tuple(ax_heap(), 3, ax_atom("reply"), ax_atom("pong"), st);
}

static ax_term_t segv_cast(ax_term_t msg, ax_term_t st)
{
    if (msg == ax_atom("segv"))
        crash();
    return ax_tuple(ax_heap(), 2, ax_atom("noreply"), st);
}

AX_MODULE(segv, "1", .init = segv_init, .handle_call = segv_call,
          .handle_cast = segv_cast);
