/*
 * m_syntax - a module that does not compile: the compiler's message must
 * name the line marked below (test_module.c finds it by the marker).
 */
#include <ax.h>

static ax_term_t syntax_init(ax_term_t args)
{
    return ax_tuple(ax_heap(), 2, ax_atom("ok") args); /* SYNTAX_ERROR */
}
