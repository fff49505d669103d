/*
 * tree.c - reading a supervision tree from a file and the process that
 * starts it (tree.h).
 */
#include "tree.h"

#include <errno.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
        *len = fread(buf, 1, (size_t)n, f);
        buf[*len] = '\0';
    }
    fclose(f);
    return buf;
}

/* Reads file's one term onto h; reports and returns nonzero on error. */
static int read_term(const char *who, const char *file, ax_heap_t *h,
                     ax_term_t *t)
{
    ax_parse_error_t perr;
    char msg[256];
    size_t len = 0;
    size_t pos = 0;
    char *text = read_file(file, &len);
    int r;

    if (!text) {
        fprintf(stderr, "%s: %s: %s\n", who, file, strerror(errno));
        return 1;
    }
    r = ax_parse_next(h, text, len, &pos, t, &perr);
    free(text);
    if (r == 1)
        return 0;
    if (r == 0)
        fprintf(stderr, "%s: %s: no term in the file\n", who, file);
    else if (r != AX_ESYNTAX)
        fprintf(stderr, "%s: %s: %s\n", who, file, ax_strerror(r));
    else {
        ax_parse_error_format(&perr, msg, sizeof(msg));
        fprintf(stderr, "%s: %s:%s\n", who, file, msg);
    }
    return 1;
}

/* {supervisor, Name, Flags, Children}, or a message saying why not. */
static const char *check_tree(ax_term_t t)
{
    if (!ax_is_record(t, ax_atom("supervisor"), 4))
        return "expected {supervisor, Name, Flags, Children}";
    if (!ax_is_atom(ax_tuple_get(t, 1)))
        return "the supervisor's name must be an atom";
    if (!ax_is_map(ax_tuple_get(t, 2)))
        return "the supervisor's flags must be a map";
    if (ax_list_length(ax_tuple_get(t, 3)) < 0)
        return "the children must be a list";
    return NULL;
}

int tree_load(const char *who, const char *file, ax_heap_t *h,
              ax_term_t *tree)
{
    const char *why;

    if (read_term(who, file, h, tree))
        return 1;
    if ((why = check_tree(*tree))) {
        fprintf(stderr, "%s: %s: %s\n", who, file, why);
        return 1;
    }
    return 0;
}

void tree_root(ax_term_t arg)
{
    ax_term_t tree = ax_tuple_get(arg, 0);
    ax_term_t pid;
    ax_term_t reason = AX_NIL;
    ax_term_t m;
    int64_t sem = 0;
    int err;

    ax_trap_exit(true);
    err = ax_supervisor_start(ax_tuple_get(tree, 1), ax_tuple_get(tree, 2),
                              ax_tuple_get(tree, 3), &pid, &reason);
    if (ax_tuple_size(arg) > 2 && ax_get_int(ax_tuple_get(arg, 2), &sem) == 0)
        sem_post((sem_t *)(uintptr_t)sem);
    if (err) {
        fprintf(stderr, "ax: the tree did not start: %s: ",
                ax_strerror(err));
        ax_print(stderr, reason, NULL);
        fputc('\n', stderr);
        ax_exit(ax_atom("start_failed"));
    }
    if (!ax_is_true(ax_tuple_get(arg, 1))) {
        printf("ax run: %s started as ",
               ax_atom_text(ax_tuple_get(tree, 1), NULL));
        ax_print(stdout, pid, NULL);
        printf("\n");
        fflush(stdout);
    }
    /* The tree's exit (it gave up) ends the run. */
    ax_receive(ax_tuple(ax_heap(), 3, ax_atom("EXIT"), pid, AX_ANY),
               AX_INFINITY, &m, NULL);
    ax_exit(ax_tuple_get(m, 2));
}
