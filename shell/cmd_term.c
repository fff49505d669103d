/*
 * cmd_term.c - `ax term`: reads Erlang terms (from the arguments, or
 * terms ended by a full stop from standard input), and prints each back
 * in canonical form with its External Term Format bytes. A malformed
 * term gets its error and position; the rest still run. Exit status 1 if
 * any term failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ax.h"
#include "cmd.h"

static void print_etf(ax_term_t t)
{
    uint8_t *buf;
    size_t len;

    if (ax_etf_encode(t, 0, &buf, &len) != 0) {
        printf("   (no external format: out of memory)\n");
        return;
    }
    printf("   <<");
    for (size_t i = 0; i < len; i++)
        printf(i ? ",%u" : "%u", buf[i]);
    printf(">>\n");
    free(buf);
}

static void show(ax_term_t t)
{
    ax_print(stdout, t, NULL);
    printf("\n");
    print_etf(t);
}

static int report(int err, const ax_parse_error_t *perr)
{
    char msg[256];

    if (err == AX_ESYNTAX) {
        ax_parse_error_format(perr, msg, sizeof(msg));
        fprintf(stderr, "ax term: %s\n", msg);
    } else {
        fprintf(stderr, "ax term: %s\n", ax_strerror(err));
    }
    return 1;
}

static int from_args(ax_heap_t *h, int argc, char **argv)
{
    int status = 0;

    for (int i = 1; i < argc; i++) {
        ax_parse_error_t perr;
        ax_term_t t;
        int err = ax_parse(h, argv[i], strlen(argv[i]), &t, &perr);

        if (err)
            status = report(err, &perr);
        else
            show(t);
    }
    return status;
}

/* Reads all of standard input; NULL on failure. */
static char *slurp(FILE *f, size_t *len)
{
    size_t cap = 4096;
    size_t n = 0;
    char *buf = malloc(cap);

    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);

        n += got;
        if (got == 0)
            break;
        if (n == cap) {
            char *bigger = realloc(buf, cap * 2);

            if (!bigger)
                free(buf);
            buf = bigger;
            cap *= 2;
        }
    }
    *len = n;
    return buf;
}

static int from_stdin(ax_heap_t *h)
{
    size_t len;
    size_t pos = 0;
    char *text;
    int status = 0;

    if (isatty(STDIN_FILENO))
        fprintf(stderr, "Enter terms, each ended by a full stop; "
                        "Ctrl-D to finish.\n");
    text = slurp(stdin, &len);
    if (!text)
        return report(AX_ENOMEM, NULL);
    for (;;) {
        ax_parse_error_t perr;
        ax_term_t t;
        int r = ax_parse_next(h, text, len, &pos, &t, &perr);

        if (r == 0)
            break;
        if (r < 0) {
            status = report(r, &perr);
            break;
        }
        show(t);
    }
    free(text);
    return status;
}

int ax_cmd_term(int argc, char **argv)
{
    ax_heap_t *h;
    int status;

    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        printf("usage: ax term [TERM...]\n"
               "Parses each TERM (or, with none, terms ended by '.' from\n"
               "standard input), prints it back in Erlang syntax and its\n"
               "External Term Format bytes.\n");
        return 0;
    }
    h = ax_heap_new();
    if (!h)
        return report(AX_ENOMEM, NULL);
    status = argc > 1 ? from_args(h, argc, argv) : from_stdin(h);
    ax_heap_free(h);
    return status;
}
