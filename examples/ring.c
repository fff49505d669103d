/*
 * ring - message passing at speed: on request, builds a ring of N
 * processes and sends a token round it M times, then replies with the
 * hops per second. The ring's members are plain handler processes: each
 * holds only its neighbour's pid and no stack while it waits, so a ring
 * of a million costs a few hundred megabytes, not gigabytes.
 *
 *   call {run, N, M}    -> {hops, N*M, per_second, Rate}
 */
#include <ax.h>
#include <stdlib.h>
#include <time.h>

static ax_term_t hop(ax_term_t msg, ax_term_t state)
{
    int64_t n;

    /* state: {Next, Owner}; msg: hops left. */
    ax_get_int(msg, &n);
    if (n == 0)
        ax_send(ax_tuple_get(state, 1), ax_atom("ring_done"));
    else
        ax_send(ax_tuple_get(state, 0), ax_int(ax_heap(), n - 1));
    return state;
}

static ax_term_t first(ax_term_t msg, ax_term_t state)
{
    if (ax_is_pid(msg))
        return ax_tuple(ax_heap(), 2, msg, ax_tuple_get(state, 1));
    return hop(msg, state);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Ends the ring's members. */
static void stop_all(ax_term_t *pids, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        ax_exit_signal(pids[i], ax_atom("kill"));
    free(pids);
}

/* Runs the ring; the rate, or -1 if the ring could not be made. */
static double run(int64_t n, int64_t m)
{
    ax_term_t self = ax_self();
    ax_term_t *pids = malloc((size_t)n * sizeof(*pids));
    ax_term_t msg;
    double t0;

    if (!pids || ax_spawn_handler(first, ax_tuple(ax_heap(), 2, AX_NIL, self),
                                  &pids[0])) {
        free(pids);
        return -1;
    }
    for (int64_t i = 1; i < n; i++) {
        if (ax_spawn_handler(hop, ax_tuple(ax_heap(), 2, pids[i - 1], self),
                             &pids[i])) {
            stop_all(pids, i);
            return -1;
        }
    }
    ax_send(pids[0], pids[n - 1]); /* close the ring */
    t0 = now();
    ax_send(pids[0], ax_int(ax_heap(), n * m - 1));
    ax_receive(ax_atom("ring_done"), AX_INFINITY, &msg, NULL);
    t0 = now() - t0;
    stop_all(pids, n);
    return (double)(n * m) / t0;
}

static ax_term_t ring_init(ax_term_t args)
{
    return ax_tuple(ax_heap(), 2, ax_atom("ok"), args);
}

static ax_term_t ring_call(ax_term_t req, ax_term_t from, ax_term_t st)
{
    int64_t n;
    int64_t m;
    double rate;

    (void)from;
    if (!ax_is_record(req, ax_atom("run"), 3) ||
        ax_get_int(ax_tuple_get(req, 1), &n) || n < 1 ||
        ax_get_int(ax_tuple_get(req, 2), &m) || m < 1)
        return ax_tuple(ax_heap(), 3, ax_atom("reply"), ax_atom("badarg"),
                        st);
    rate = run(n, m);
    return ax_tuple(ax_heap(), 3, ax_atom("reply"),
                    ax_tuple(ax_heap(), 4, ax_atom("hops"),
                             ax_int(ax_heap(), n * m),
                             ax_atom("per_second"),
                             ax_float(ax_heap(), rate)),
                    st);
}

static ax_term_t ring_cast(ax_term_t msg, ax_term_t st)
{
    (void)msg;
    return ax_tuple(ax_heap(), 2, ax_atom("noreply"), st);
}

AX_MODULE(ring, "1", .init = ring_init, .handle_call = ring_call,
          .handle_cast = ring_cast);
