/*
 * cmd_run.c - `ax run [--path DIR]... [--schedulers N] [--db PATH] FILE`:
 * starts a headless node with the supervision tree written in FILE (its
 * crash log in PATH if given), and runs it until SIGINT or SIGTERM, then
 * stops the node cleanly.
 *
 * FILE holds one term (tree.h). A malformed file is reported as
 * FILE:LINE:COL: what was wrong, and nothing starts.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ax.h"
#include "cmd.h"
#include "tree.h"

struct run_opts {
    const char *file;
    const char *db;
    unsigned schedulers;
    ax_listen_opts_t listen; /* a name: the node listens (ax.h) */
};

static int usage(FILE *f, int status)
{
    fprintf(f, "usage: ax run [--path DIR]... [--schedulers N] [--db PATH] "
               "[--name NAME [--cookie C]] FILE\n"
               "Starts a node with the supervision tree in FILE and runs "
               "it until\ninterrupted. FILE holds one term:\n"
               "  {supervisor, Name, Flags, Children}.\n");
    return status;
}

static int parse_args(int argc, char **argv, struct run_opts *o)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0)
            return usage(stdout, 0) - 1;
        if (strcmp(argv[i], "--path") == 0 && i + 1 < argc)
            ax_module_add_path(argv[++i]);
        else if (strcmp(argv[i], "--schedulers") == 0 && i + 1 < argc)
            o->schedulers = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            o->db = argv[++i];
        else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            o->listen.name = argv[++i];
        else if (strcmp(argv[i], "--cookie") == 0 && i + 1 < argc)
            o->listen.cookie = argv[++i];
        else if (argv[i][0] != '-' && !o->file)
            o->file = argv[i];
        else
            return usage(stderr, 2);
    }
    return o->file ? 0 : usage(stderr, 2);
}

struct runner {
    ax_term_t tree;
    atomic_bool stopping;  /* the main thread is stopping the node */
    int status;            /* 1 if the tree gave up on its own */
};

/* Runs the root to its end, then wakes the main thread's sigwait. */
static void *run_root(void *arg)
{
    struct runner *r = arg;
    char *reason = NULL;

    if (ax_node_run(tree_root, r->tree, &reason) != 0 &&
        !atomic_load(&r->stopping)) {
        fprintf(stderr, "ax run: the tree exited: %s\n",
                reason ? reason : "?");
        r->status = 1;
    }
    free(reason);
    kill(getpid(), SIGTERM);
    return NULL;
}

int ax_cmd_run(int argc, char **argv)
{
    struct run_opts o = {0};
    ax_node_opts_t no = {0};
    ax_heap_t *h = ax_heap_new();
    struct runner r = {0};
    pthread_t thread;
    ax_term_t tree;
    sigset_t set;
    int sig;
    int status = parse_args(argc, argv, &o);

    if (status || tree_load("ax run", o.file, h, &tree)) {
        ax_heap_free(h);
        return status < 0 ? 0 : (status ? status : 1);
    }
    /* The stop signals are blocked in every thread (the schedulers
     * inherit the mask) and taken here, by sigwait. A shell starts
     * background jobs with SIGINT ignored, and an ignored signal is
     * discarded even when blocked: restore the default first. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    no.schedulers = o.schedulers;
    no.name = o.listen.name; /* its crash log is NAME.db */
    status = o.db ? ax_crash_log_set_path(o.db) : 0;
    if (!status)
        status = ax_node_start(&no);
    if (!status && o.listen.name && (status = ax_node_listen(&o.listen)))
        ax_node_stop();
    r.tree = ax_tuple(h, 2, tree, ax_bool(false));
    if (!status && pthread_create(&thread, NULL, run_root, &r) != 0)
        status = AX_ENOMEM;
    if (status) {
        fprintf(stderr, "ax run: %s\n", ax_strerror(status));
        ax_heap_free(h);
        return 1;
    }
    sigwait(&set, &sig);
    atomic_store(&r.stopping, true);
    ax_node_stop(); /* ends the root too, so the thread returns */
    pthread_join(thread, NULL);
    ax_heap_free(h);
    return r.status;
}
