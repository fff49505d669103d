/*
 * m_ok_v2 - version "2" of the test module m_ok (test_module.c): init
 * keeps its argument as the state, every call answers 2, casts change
 * nothing. m_ok_v1.c is the same module at version "1".
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
    return ax_tuple(ax_heap(), 3, ax_atom("reply"), ax_int(NULL, 2), st);
}

static ax_term_t ok_cast(ax_term_t msg, ax_term_t st)
{
    (void)msg;
    return ax_tuple(ax_heap(), 2, ax_atom("noreply"), st);
}

AX_MODULE(m_ok, "2", .init = ok_init, .handle_call = ok_call,
          .handle_cast = ok_cast);
