/*
 * frame.c - the lines a view draws: UTF-8 text with roles inlined (see
 * obs.h), glyphs in UTF-8 or their ASCII fallbacks, bars and sparklines.
 * A frame owns its lines; a failed allocation marks it failed and drops
 * the rest (the next frame tries again).
 */
#include "obs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const glyphs[NGLYPHS][2] = {
    [G_HLINE] = {"-", "\xe2\x94\x80"},      [G_VLINE] = {"|", "\xe2\x94\x82"},
    [G_TEE] = {"|-", "\xe2\x94\x9c\xe2\x94\x80"},
    [G_ELBOW] = {"`-", "\xe2\x94\x94\xe2\x94\x80"},
    [G_OPEN] = {"[-]", "\xe2\x96\xbe"},     [G_CLOSED] = {"[+]", "\xe2\x96\xb8"},
    [G_FULL] = {"#", "\xe2\x96\x88"},       [G_LIGHT] = {".", "\xe2\x96\x91"},
    [G_ARROW_UP] = {"^", "\xe2\x96\xb2"},   [G_ARROW_DOWN] = {"v", "\xe2\x96\xbc"},
};

/* Eighths of a cell, for sparklines. */
static const char *const spark_utf8[9] = {
    " ", "\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83", "\xe2\x96\x84",
    "\xe2\x96\x85", "\xe2\x96\x86", "\xe2\x96\x87", "\xe2\x96\x88"};
static const char spark_ascii[] = " ..::-=+*#";

static void append(struct frame *f, const char *s, size_t len)
{
    char *line;
    size_t old;

    if (f->failed || f->n == 0)
        return;
    old = strlen(f->lines[f->n - 1]);
    line = realloc(f->lines[f->n - 1], old + len + 1);
    if (!line) {
        f->failed = true;
        return;
    }
    memcpy(line + old, s, len);
    line[old + len] = '\0';
    f->lines[f->n - 1] = line;
}

static void set_role(struct frame *f, enum role r)
{
    char m[2] = {FR_ROLE, (char)('A' + r)};

    append(f, m, 2);
}

void fr_line(struct frame *f)
{
    if (f->failed)
        return;
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 64;
        char **lines = reallocarray(f->lines, cap, sizeof(*lines));

        if (!lines) {
            f->failed = true;
            return;
        }
        f->lines = lines;
        f->cap = cap;
    }
    f->lines[f->n] = strdup("");
    if (!f->lines[f->n])
        f->failed = true;
    else
        f->n++;
}

void fr_add(struct frame *f, enum role r, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (r != R_NORMAL)
        set_role(f, r);
    append(f, buf, strlen(buf));
    if (r != R_NORMAL)
        set_role(f, R_NORMAL);
}

size_t text_columns(const char *s)
{
    size_t n = 0;

    for (; *s; s++) {
        if (*s == FR_ROLE && s[1])
            s++;
        else if (*s != FR_FILL && ((unsigned char)*s & 0xc0) != 0x80)
            n++;
    }
    return n;
}

/* The bytes of the first cols code points of s. */
static size_t prefix_bytes(const char *s, size_t cols)
{
    size_t i = 0;

    for (size_t c = 0; s[i]; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            if (c == cols)
                break;
            c++;
        }
    }
    return i;
}

void fr_cell(struct frame *f, enum role r, const char *text, int width,
             bool right)
{
    char buf[512];
    size_t cols = text_columns(text);
    size_t w = width > 0 && (size_t)width < sizeof(buf) / 4 ? (size_t)width
                                                            : 0;
    size_t pad = cols < w ? w - cols : 0;
    size_t bytes = prefix_bytes(text, w);
    size_t at = 0;

    if (right)
        for (; at < pad; at++)
            buf[at] = ' ';
    memcpy(buf + at, text, bytes);
    at += bytes;
    if (!right)
        for (size_t i = 0; i < pad; i++)
            buf[at++] = ' ';
    buf[at] = '\0';
    fr_add(f, r, "%s", buf);
}

void fr_tail(struct frame *f, enum role r, const char *text, int width,
             bool utf8)
{
    size_t cols = text_columns(text);
    const char *dots = utf8 ? "\xe2\x80\xa6" : "...";
    size_t ndots = utf8 ? 1 : 3;

    if (width < 0 || cols <= (size_t)width) {
        fr_add(f, r, "%s", text);
        return;
    }
    if ((size_t)width < ndots) { /* not even the ellipsis fits */
        fr_add(f, r, "%.*s", width, "...");
        return;
    }
    fr_add(f, r, "%s%s", dots,
           text + prefix_bytes(text, cols - ((size_t)width - ndots)));
}

void fr_fill(struct frame *f, enum role r)
{
    char m[3] = {FR_ROLE, (char)('A' + r), FR_FILL};

    append(f, m, 3);
}

void fr_glyph(struct frame *f, enum role r, enum glyph g, bool utf8)
{
    fr_add(f, r, "%s", glyphs[g][utf8]);
}

void fr_bar(struct frame *f, double fraction, int width, bool utf8)
{
    int full = (int)(fraction * width + 0.5);
    enum role r = fraction > 0.9 ? R_BAD : fraction > 0.6 ? R_WARN : R_GOOD;

    if (full > width)
        full = width;
    if (full < 0)
        full = 0;
    set_role(f, r);
    for (int i = 0; i < full; i++)
        append(f, glyphs[G_FULL][utf8], strlen(glyphs[G_FULL][utf8]));
    set_role(f, R_DIM);
    for (int i = full; i < width; i++)
        append(f, glyphs[G_LIGHT][utf8], strlen(glyphs[G_LIGHT][utf8]));
    set_role(f, R_NORMAL);
}

void fr_spark(struct frame *f, const double *v, size_t n, int width,
              bool utf8)
{
    size_t first = n > (size_t)width ? n - (size_t)width : 0;

    set_role(f, R_BAR);
    for (int i = 0; i < width - (int)(n - first); i++)
        append(f, " ", 1);
    for (size_t i = first; i < n; i++) {
        int level = (int)(v[i] * 8 + 0.5);

        level = level < 0 ? 0 : level > 8 ? 8 : level;
        if (utf8)
            append(f, spark_utf8[level], strlen(spark_utf8[level]));
        else
            append(f, &spark_ascii[level], 1);
    }
    set_role(f, R_NORMAL);
}

void fr_reset(struct frame *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->lines[i]);
    free(f->lines);
    memset(f, 0, sizeof(*f));
}

void fr_print_plain(const char *line, int cols, void *file)
{
    char out[4096];
    size_t len = 0;
    int c = 0;

    for (const char *s = line; *s && len < sizeof(out) - 1; s++) {
        if (*s == FR_ROLE) {
            if (s[1])
                s++;
            continue;
        }
        if (*s == FR_FILL)
            continue;
        if (((unsigned char)*s & 0xc0) != 0x80 && c++ >= cols)
            break;
        out[len++] = *s;
    }
    while (len > 0 && out[len - 1] == ' ')
        len--;
    out[len] = '\0';
    fprintf((FILE *)file, "%s\n", out);
}
