/*
 * fuzz_shell - the shell language (shell/lang.h) on arbitrary input: fed
 * line by line to a shell whose backend can do nothing, it may print
 * errors and raise exceptions, but never crash, hang or leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../shell/lang.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct shell_backend nothing; /* every operation: notsup */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *out;
    char *text = malloc(size + 1);
    struct shell *sh;
    char *line;
    char *next;

    if (!out)
        out = fopen("/dev/null", "w");
    if (!text || !out)
        abort();
    memcpy(text, data, size);
    text[size] = '\0'; /* a NUL inside ends the input there */
    sh = shell_new(&nothing, NULL, out);
    if (!sh)
        abort();
    for (line = text; line; line = next) {
        enum shell_status st;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        st = shell_feed(sh, line);
        if (st == SHELL_QUIT || st == SHELL_HALT)
            break;
    }
    shell_free(sh);
    free(text);
    return 0;
}
