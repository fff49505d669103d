/*
 * m_badabi - a module descriptor written by hand for a module ABI this
 * runtime does not have (test_module.c).
 */
#include <ax.h>

static ax_term_t bad_init(ax_term_t args)
{
    return ax_tuple(ax_heap(), 2, ax_atom("ok"), args);
}

static ax_term_t bad_call(ax_term_t req, ax_term_t from, ax_term_t st)
{
    (void)from;
    return ax_tuple(ax_heap(), 3, ax_atom("reply"), req, st);
}

static ax_term_t bad_cast(ax_term_t msg, ax_term_t st)
{
    (void)msg;
    return ax_tuple(ax_heap(), 2, ax_atom("noreply"), st);
}

__attribute__((visibility("default"))) const ax_module_desc_t
    ax_module_info = {.abi = 7,
                      .name = "m_badabi",
                      .version = "1",
                      .init = bad_init,
                      .handle_call = bad_call,
                      .handle_cast = bad_cast};
