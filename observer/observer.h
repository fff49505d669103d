/*
 * observer.h - the observer's entry point, for the ax binary's
 * `ax observer` and the shell's observer(): a live ncurses view of a
 * running node (or, with a database and no node, of its crash log), or
 * plain-text frames for scripts (batch).
 */
#ifndef AX_OBSERVER_OBSERVER_H
#define AX_OBSERVER_OBSERVER_H

#include <stdbool.h>

#include "ax.h"

struct ax_observer_opts {
    ax_client_t *client; /* borrowed: observe over it (the shell's); NULL:
                          * connect to node */
    const char *db;      /* post-mortem: this crash database, no node */
    const char *view;    /* the first view: system, processes, tree,
                          * crashes, modules (or 1..5); NULL: system */
    int interval_ms;     /* refresh; 0: 1000 */
    int frames;          /* batch: print this many frames, no curses */
    bool batch;
    bool read_only;      /* no kill, exit, send, gc, reload */
    bool big;            /* the high-contrast theme for projectors */
};

/*
 * Runs the observer on node (a name or socket path; cookie NULL:
 * ~/.ax/cookie) or over o->client, until the user quits (or, in batch
 * mode, after o->frames frames on stdout). The terminal is left as it was
 * found, on every exit, a fatal signal included. Returns the exit
 * status: 0, 1 if it could not attach or open the database, 2 for bad
 * options. From the main thread; it takes SIGINT, SIGTERM, SIGHUP and
 * SIGWINCH while it runs and gives back the handlers it found.
 */
int ax_observer_run(const char *node, const char *cookie,
                    const struct ax_observer_opts *o);

#endif /* AX_OBSERVER_OBSERVER_H */
