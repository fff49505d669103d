/*
 * cmd_shell.c - `ax` and `ax shell`: a shell on a node of its own (started
 * here, listening on its socket so that others may attach too, with a
 * supervision tree if --tree is given), or, with NODE, a shell attached
 * to a node that runs already. Either way the shell talks to the node
 * through its socket, so both kinds behave alike.
 *
 * Leaving: q() (or ^D) detaches from an attached node and stops a node of
 * the shell's own; halt() stops the node either way, after asking when
 * it is another program's and a person is at the terminal.
 */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../observer/observer.h"
#include "ax.h"
#include "cmd.h"
#include "remote.h"
#include "repl.h"
#include "tree.h"

#define SHELL_NAMES 64 /* shell, shell-2, ... shell-64 */

struct shell_opts {
    const char *node;       /* attach to it; NULL: a node of our own */
    const char *name;
    const char *cookie;
    const char *db;
    const char *tree;
    const char *expr;
    unsigned schedulers;
};

/* A node of the shell's own, and the thread running its tree. */
struct own_node {
    char name[64];
    ax_heap_t *h;
    ax_term_t tree;
    sem_t started;          /* posted when the tree has started, or not */
    pthread_t thread;
    bool has_thread;
};

static int usage(FILE *f, int status)
{
    fprintf(f,
            "usage: ax shell [--name NAME] [--cookie COOKIE] [--path DIR]...\n"
            "                [--schedulers N] [--db PATH] [--tree FILE] "
            "[-e EXPR] [NODE]\n"
            "Starts a node and a shell on it, or attaches a shell to the "
            "running\nnode NODE. With -e, or a script on standard input, "
            "runs without a\nterminal. See ax-shell(1).\n");
    return status;
}

static int parse_args(int argc, char **argv, struct shell_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return usage(stdout, 0) - 1;
        if (strcmp(a, "--name") == 0 && more)
            o->name = argv[++i];
        else if (strcmp(a, "--cookie") == 0 && more)
            o->cookie = argv[++i];
        else if (strcmp(a, "--path") == 0 && more)
            ax_module_add_path(argv[++i]);
        else if (strcmp(a, "--schedulers") == 0 && more)
            o->schedulers = (unsigned)atoi(argv[++i]);
        else if (strcmp(a, "--db") == 0 && more)
            o->db = argv[++i];
        else if (strcmp(a, "--tree") == 0 && more)
            o->tree = argv[++i];
        else if (strcmp(a, "-e") == 0 && more)
            o->expr = argv[++i];
        else if (a[0] != '-' && !o->node)
            o->node = a;
        else
            return usage(stderr, 2);
    }
    if (o->node && (o->tree || o->name || o->db || o->schedulers)) {
        fprintf(stderr, "ax shell: --name, --db, --tree and --schedulers "
                        "are for a node of the shell's own, not NODE\n");
        return 2;
    }
    return 0;
}

static void *run_tree(void *arg)
{
    struct own_node *n = arg;
    char *reason = NULL;

    if (ax_node_run(tree_root, n->tree, &reason) != 0 && reason &&
        strcmp(reason, "killed") != 0)
        fprintf(stderr, "\nax: the tree exited: %s\n", reason);
    free(reason);
    sem_post(&n->started); /* in case the root never ran */
    return NULL;
}

/* Starts the node named n->name, listening. */
static int start_named(struct own_node *n, const struct shell_opts *o)
{
    ax_node_opts_t no = {.schedulers = o->schedulers, .name = n->name};
    ax_listen_opts_t lo = {.cookie = o->cookie, .name = n->name};
    int err = o->db ? ax_crash_log_set_path(o->db) : 0;

    if (!err)
        err = ax_node_start(&no);
    if (err)
        return err;
    err = ax_node_listen(&lo);
    if (err)
        ax_node_stop();
    return err;
}

/* Starts the node: named as asked, else "shell", or "shell-2" and so on
 * if that one runs already (so that its crash log is found again). */
static int start_node(struct own_node *n, const struct shell_opts *o)
{
    int err = AX_EINUSE;

    if (o->name) {
        snprintf(n->name, sizeof(n->name), "%s", o->name);
        return start_named(n, o);
    }
    for (int i = 1; i <= SHELL_NAMES && err == AX_EINUSE; i++) {
        if (i == 1)
            snprintf(n->name, sizeof(n->name), "shell");
        else
            snprintf(n->name, sizeof(n->name), "shell-%d", i);
        err = start_named(n, o);
    }
    return err;
}

/* Starts the node (its threads never take SIGINT, SIGTERM nor SIGHUP:
 * the shell's thread does, for Ctrl-C, halt() and a hang-up). */
static int own_start(struct own_node *n, const struct shell_opts *o)
{
    sigset_t set;
    ax_term_t t;
    int err;

    n->h = ax_heap_new();
    if (!n->h)
        return AX_ENOMEM;
    if (o->tree && tree_load("ax shell", o->tree, n->h, &t))
        return AX_EINVAL;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    err = start_node(n, o);
    if (!err && o->tree) {
        sem_init(&n->started, 0, 0);
        n->tree = ax_tuple(n->h, 3, t, ax_bool(true),
                           ax_int(n->h, (int64_t)(uintptr_t)&n->started));
        if (pthread_create(&n->thread, NULL, run_tree, n) == 0) {
            n->has_thread = true;
            sem_wait(&n->started); /* the shell starts on a started tree */
        } else {
            err = AX_ENOMEM;
        }
    }
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    if (err)
        fprintf(stderr, "ax shell: cannot start node %s: %s\n", n->name,
                ax_strerror(err));
    return err;
}

static void own_stop(struct own_node *n)
{
    ax_node_stop(); /* ends the tree's root too */
    if (n->has_thread) {
        pthread_join(n->thread, NULL);
        sem_destroy(&n->started);
    }
    ax_heap_free(n->h);
}

/* halt() on an attached node: asks a person first. */
static void halt_remote(ax_client_t *c, bool ask)
{
    ax_heap_t *h = ax_heap_new();
    ax_term_t res;
    char answer[16] = "";

    if (ask) {
        printf("Stop node %s, and everything running on it? [y/N] ",
               ax_client_node(c));
        fflush(stdout);
        if (!fgets(answer, sizeof(answer), stdin) ||
            (answer[0] != 'y' && answer[0] != 'Y')) {
            printf("The node runs on.\n");
            ax_heap_free(h);
            return;
        }
    }
    if (h && ax_client_request(c, h, ax_atom("halt"), 5000, &res) == 0)
        printf("Node %s stopped.\n", ax_client_node(c));
    ax_heap_free(h);
}

/* observer(): the observer over the shell's own connection, until q. */
static int run_observer(struct remote *r)
{
    struct ax_observer_opts o = {.client = r->c};

    return ax_observer_run(ax_client_node(r->c), NULL, &o) ? AX_ENOCONN : 0;
}

int ax_cmd_shell(int argc, char **argv)
{
    struct shell_opts o = {0};
    struct own_node own = {0};
    struct repl_opts ro = {0};
    char banner[160];
    ax_client_t *c = NULL;
    bool halted = false;
    int status = parse_args(argc, argv, &o);
    int err;

    if (status)
        return status < 0 ? 0 : status;
    if (!o.node && own_start(&own, &o) != 0) {
        if (own.h)
            own_stop(&own);
        return 1;
    }
    err = ax_client_connect(o.node ? o.node : own.name, o.cookie, AX_NONE,
                            &c);
    if (err) {
        fprintf(stderr, "ax shell: cannot attach to %s: %s\n",
                o.node ? o.node : own.name, ax_strerror(err));
        status = 1;
        goto out;
    }
    snprintf(banner, sizeof(banner),
             "ax %s, node %s (h() for help, Ctrl-C interrupts, q() %s)",
             AX_VERSION_STRING, ax_client_node(c),
             o.node ? "detaches" : "quits");
    ro.expr = o.expr;
    ro.banner = banner;
    ro.halted = &halted;
    ro.observer = run_observer;
    status = ax_repl_run(c, &ro);
    if (halted && o.node)
        halt_remote(c, !o.expr && isatty(STDIN_FILENO));
out:
    ax_client_close(c);
    if (!o.node)
        own_stop(&own);
    return status;
}
