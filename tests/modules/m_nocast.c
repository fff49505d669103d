/*
 * m_nocast - a module without handle_cast, which every module needs
 * (test_module.c).
 */
#include <ax.h>

static ax_term_t nocast_init(ax_term_t args)
{
    return ax_tuple(ax_heap(), 2, ax_atom("ok"), args);
}

static ax_term_t nocast_call(ax_term_t req, ax_term_t from, ax_term_t st)
{
    (void)from;
    return ax_tuple(ax_heap(), 3, ax_atom("reply"), req, st);
}

AX_MODULE(m_nocast, "1", .init = nocast_init, .handle_call = nocast_call);
