/*
 * remote.h - the shell language's backend over a node's control socket:
 * each operation is one request of the protocol (ax.h, "The control
 * socket"), run on the node by the session's shell process.
 *
 * Events come between replies: messages to the shell process are parked
 * here, in order, until a receive or flush() takes them. A shell_exit
 * event (the shell process was killed: the node made a new one) ends the
 * expression being evaluated, as the operation's SHELL_EEXIT; one that
 * comes between expressions is told by remote_poll() before the next
 * prompt.
 *
 * Ctrl-C: the driver's signal handler sets `interrupted` and wakes a
 * thread that calls ax_client_interrupt while a request is in flight
 * (the node answers {error, interrupted}); waiting for a message checks
 * the flag every few milliseconds.
 */
#ifndef AX_SHELL_REMOTE_H
#define AX_SHELL_REMOTE_H

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>

#include "ax.h"
#include "lang.h"

struct remote {
    ax_client_t *c;
    struct shell *sh;              /* set once made */
    ax_heap_t *parked_heap;        /* the parked messages live here */
    ax_term_t *parked;
    size_t nparked;
    size_t parked_cap;
    size_t parked_first;
    atomic_bool busy;              /* a request is in flight */
    volatile sig_atomic_t interrupted;
    ax_heap_t *exit_heap;          /* holds exit_reason, or NULL */
    ax_term_t exit_reason;         /* a shell_exit not yet told */
    bool exit_told;                /* a request told the next shell_exit */
    bool lost;                     /* the node went away */
    int (*observer)(struct remote *r); /* observer(), or NULL */
};

extern const struct shell_backend ax_remote_backend;

/* Sets r up for connection c. AX_ENOMEM. */
int remote_init(struct remote *r, ax_client_t *c);
void remote_destroy(struct remote *r);
/* Parks what arrived without waiting, and tells a shell_exit not yet
 * told (on a line of its own: after a newline to `newline`, if not
 * NULL): 1 if it did, else 0; AX_ENOCONN if the node went away. */
int remote_poll(struct remote *r, FILE *newline);

#endif /* AX_SHELL_REMOTE_H */
