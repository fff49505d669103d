/*
 * cmd_observer.c - `ax observer`: the observer (observer/) on a running
 * node, on a crash database with no node (--db), or as plain-text frames
 * for scripts (--batch).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../observer/observer.h"
#include "cmd.h"

static int usage(FILE *f, int status)
{
    fprintf(f,
            "usage: ax observer [NODE] [--cookie C] [--interval MS] "
            "[--read-only] [--big]\n"
            "                   [--view NAME] [--batch -n N]\n"
            "       ax observer --db PATH [--batch -n N]\n"
            "A live view of a running node: System, Processes, Tree, "
            "Crashes, Modules.\n--db opens a crash database with no node "
            "(post-mortem); --batch prints N\nplain-text frames of the "
            "view and exits. ? in the observer lists every key.\n"
            "See ax-observer(1).\n");
    return status;
}

int ax_cmd_observer(int argc, char **argv)
{
    struct ax_observer_opts o = {0};
    const char *node = NULL;
    const char *cookie = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return usage(stdout, 0);
        if (strcmp(a, "--cookie") == 0 && more)
            cookie = argv[++i];
        else if (strcmp(a, "--db") == 0 && more)
            o.db = argv[++i];
        else if (strcmp(a, "--view") == 0 && more)
            o.view = argv[++i];
        else if (strcmp(a, "--interval") == 0 && more)
            o.interval_ms = atoi(argv[++i]);
        else if (strcmp(a, "-n") == 0 && more)
            o.frames = atoi(argv[++i]);
        else if (strcmp(a, "--batch") == 0)
            o.batch = true;
        else if (strcmp(a, "--read-only") == 0)
            o.read_only = true;
        else if (strcmp(a, "--big") == 0)
            o.big = true;
        else if (a[0] != '-' && !node)
            node = a;
        else
            return usage(stderr, 2);
    }
    if ((o.batch && o.frames < 1) || (o.db && node)) {
        fprintf(stderr, "ax observer: --batch needs -n N (N >= 1); --db "
                        "takes no NODE\n");
        return 2;
    }
    if (o.frames && !o.batch)
        o.batch = true;
    return ax_observer_run(node, cookie, &o);
}
