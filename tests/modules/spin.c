/*
 * spin - a server for the preemption tests. A cast `loop` spins for ever
 * without calling the runtime; a cast `libc_loop` too, but spends nearly
 * all its time in libc (memset, 16 KiB at a time, a length the compiler
 * cannot see and inline: 98% of it, measured with perf); a call
 * {work, N, Seed} runs spin_work
 * (spin_work.h) and replies with its result.
 */
#include <ax.h>
#include <string.h>

#include "spin_work.h"

static ax_term_t spin_init(ax_term_t args)
{
    return ax_tuple(ax_heap(), 2, ax_atom("ok"), args);
}

static ax_term_t spin_call(ax_term_t req, ax_term_t from, ax_term_t st)
{
    int64_t n = 0;
    int64_t seed = 0;
    uint64_t r;

    (void)from;
    if (!ax_is_record(req, ax_atom("work"), 3) ||
        ax_get_int(ax_tuple_get(req, 1), &n) ||
        ax_get_int(ax_tuple_get(req, 2), &seed))
        return ax_tuple(ax_heap(), 3, ax_atom("reply"), ax_atom("badarg"),
                        st);
    r = spin_work((uint64_t)n, (uint64_t)seed);
    /* A small integer holds 60 bits. */
    return ax_tuple(ax_heap(), 3, ax_atom("reply"),
                    ax_int(ax_heap(), (int64_t)(r >> 4)), st);
}

static char page[1 << 16];
static char *volatile sink = page;    /* so the stores are not dropped */
static volatile size_t chunk = 16384; /* so memset is not inlined */

static ax_term_t spin_cast(ax_term_t msg, ax_term_t st)
{
    volatile unsigned long spins = 0;

    if (msg == ax_atom("loop"))
        for (;;)
            spins++;
    if (msg == ax_atom("libc_loop"))
        for (unsigned i = 0;; i++)
            memset(sink, (int)i, chunk);
    return ax_tuple(ax_heap(), 2, ax_atom("noreply"), st);
}

AX_MODULE(spin, "1", .init = spin_init, .handle_call = spin_call,
          .handle_cast = spin_cast);
