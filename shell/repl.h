/*
 * repl.h - the shell's read-eval-print loop over a connection to a node:
 * a line editor on a terminal, plain lines from a script or -e otherwise.
 */
#ifndef AX_SHELL_REPL_H
#define AX_SHELL_REPL_H

#include <stdbool.h>

#include "ax.h"

struct remote;

struct repl_opts {
    const char *expr;    /* -e: evaluate this instead of reading */
    const char *banner;  /* printed first on a terminal, or NULL */
    bool *halted;        /* set if the shell ended with halt() */
    int (*observer)(struct remote *r); /* observer(), or NULL */
};

/* Runs the shell on c until q(), halt(), the end of input or the loss of
 * the node. Returns the exit status: 0, or 1 if an expression failed,
 * the input ended inside one, or the node went away. Takes SIGINT while
 * it runs. From the main thread. */
int ax_repl_run(ax_client_t *c, const struct repl_opts *o);

#endif /* AX_SHELL_REPL_H */
