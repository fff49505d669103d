/*
 * m_ok_v1 - version "1" of the test module m_ok (test_module.c): init
 * keeps its argument as the state, every call answers 1, casts change
 * nothing. m_ok_v2.c is the same module at version "2".
 */
#include <ax.h>

static ax_term_t ok_init(ax_term_t args)
{
    return ax_tuple(ax_heap(), 2, ax_atom("ok"), args);
}

static ax_term_t ok_call(ax_term_t req, ax_term_t from, ax_term_t st)
{
    (void)req;
    (void)from;
    return ax_tuple(ax_heap(), 3, ax_atom("reply"), ax_int(NULL, 1), st);
}

static ax_term_t ok_cast(ax_term_t msg, ax_term_t st)
{
    (void)msg;
    return ax_tuple(ax_heap(), 2, ax_atom("noreply"), st);
}

AX_MODULE(m_ok, "1", .init = ok_init, .handle_call = ok_call,
          .handle_cast = ok_cast);
