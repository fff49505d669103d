/*
 * fuzz_parse.c - libFuzzer target for the term parser and printer.
 *
 * Any input may be refused, but never with a crash, a hang or an error
 * without a place and a message; whatever parses must print to text that
 * parses back to a term =:= to it, and print within small bounds. The
 * input is also read as a file of terms with ax_parse_next().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ax.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An error must say where (inside the input) and what. */
static void check_error(const ax_parse_error_t *e)
{
    if (e->line < 1 || e->column < 1 || e->message[0] == '\0')
        __builtin_trap();
}

/* t prints, and the text parses back to t; bounded prints stay short. */
static void round_trip(ax_heap_t *h, ax_term_t t)
{
    static const ax_format_opts_t small = {2, 3, 24};
    ax_parse_error_t e;
    ax_term_t back;
    size_t len;
    char *text = ax_format(t, NULL, &len);

    if (!text || strlen(text) != len)
        __builtin_trap();
    if (ax_parse(h, text, len, &back, &e) != 0 || !ax_equal_exact(t, back))
        __builtin_trap();
    free(text);
    text = ax_format(t, &small, &len);
    if (!text || len > small.max_chars + 3)
        __builtin_trap();
    free(text);
}

/* The input as a file of terms, each ending with a full stop. */
static void read_terms(ax_heap_t *h, const char *text, size_t size)
{
    ax_parse_error_t e;
    ax_term_t t;
    size_t pos = 0;
    size_t last;
    int rc;

    do {
        last = pos;
        rc = ax_parse_next(h, text, size, &pos, &t, &e);
        if (rc == 1 && (pos <= last || pos > size))
            __builtin_trap();
        if (rc == 1)
            round_trip(h, t);
        if (rc == 0 && pos != last)
            __builtin_trap();
    } while (rc == 1);
    if (rc < 0)
        check_error(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ax_heap_t *h = ax_heap_new();
    ax_parse_error_t e;
    ax_term_t t;

    if (!h)
        return 0;
    if (ax_parse(h, (const char *)data, size, &t, &e) == 0)
        round_trip(h, t);
    else
        check_error(&e);
    read_terms(h, (const char *)data, size);
    ax_heap_free(h);
    return 0;
}
