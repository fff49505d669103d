/*
 * gen_upg, version 1: counts {seq, N} casts, and crashes if one is
 * missing or repeated (N must be the count so far). The state is the
 * count, an integer.
 */
#include <ax.h>

static ax_term_t upg_init(ax_term_t args)
{
    (void)args;
    return ax_tuple(ax_heap(), 2, ax_atom("ok"), ax_int(NULL, 0));
}

static ax_term_t upg_call(ax_term_t req, ax_term_t from, ax_term_t n)
{
    (void)from;
    (void)req;
    return ax_tuple(ax_heap(), 3, ax_atom("reply"),
                    ax_tuple(ax_heap(), 2, ax_atom("v1"), n), n);
}

static ax_term_t upg_cast(ax_term_t msg, ax_term_t n)
{
    ax_term_t next;

    if (!ax_equal_exact(ax_tuple_get(msg, 1), n))
        ax_exit(ax_tuple(ax_heap(), 3, ax_atom("out_of_order"), n, msg));
    ax_arith(ax_heap(), AX_OP_ADD, n, ax_int(NULL, 1), &next);
    return ax_tuple(ax_heap(), 2, ax_atom("noreply"), next);
}

/* From version 2 back to 1: {v2, N} becomes N. */
static ax_term_t upg_code_change(ax_term_t old, ax_term_t s, ax_term_t extra)
{
    (void)old;
    (void)extra;
    return ax_tuple(ax_heap(), 2, ax_atom("ok"),
                    ax_is_tuple(s) ? ax_tuple_get(s, 1) : s);
}

AX_MODULE(gen_upg, "1", .init = upg_init, .handle_call = upg_call,
          .handle_cast = upg_cast, .code_change = upg_code_change);
