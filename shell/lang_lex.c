/*
 * lang_lex.c - the shell language's tokens, from text up to the first
 * full stop.
 *
 * The lexer only finds where a literal ends; its value comes from
 * ax_parse() on that span, so numbers (16#FF, $a, 1.0e3), quoted atoms,
 * strings with their escapes, pids and references read exactly as the
 * term parser reads them, and print back the same. Adjacent strings are
 * one literal, as in Erlang. Text that ends inside a string or quoted
 * atom, or before a full stop, is incomplete, not wrong: the REPL reads
 * another line. A malformed token does not stop the lexer, so that the
 * whole bad expression, up to its full stop, is consumed and reported.
 */
#include "lang_int.h"

#include <stdlib.h>
#include <string.h>

struct lexer {
    const char *s;
    size_t len;
    size_t pos;
    ax_heap_t *h;
    struct tokens *out;
    bool eof_inside; /* the text ended inside a token */
};

struct word {
    const char *text;
    enum tok kind;
};

static const struct word keywords[] = {
    {"after", T_AFTER},     {"begin", T_BEGIN},     {"case", T_CASE},
    {"end", T_END_KW},      {"of", T_OF},           {"receive", T_RECEIVE},
    {"when", T_WHEN},       {"not", T_NOT},         {"andalso", T_ANDALSO},
    {"orelse", T_ORELSE},   {"div", T_DIV},         {"rem", T_REM},
    {"and", T_RESERVED},    {"band", T_RESERVED},   {"bnot", T_RESERVED},
    {"bor", T_RESERVED},    {"bsl", T_RESERVED},    {"bsr", T_RESERVED},
    {"bxor", T_RESERVED},   {"catch", T_RESERVED},  {"cond", T_RESERVED},
    {"fun", T_RESERVED},    {"if", T_RESERVED},     {"let", T_RESERVED},
    {"or", T_RESERVED},     {"try", T_RESERVED},    {"xor", T_RESERVED},
    {"maybe", T_RESERVED},  {"else", T_RESERVED},
};

/* Longest first where one is a prefix of another. */
static const struct word puncts[] = {
    {"=:=", T_EXACT_EQ}, {"=/=", T_EXACT_NE}, {"==", T_EQ},
    {"=<", T_LE},        {"=>", T_MAP_ARROW}, {"=", T_MATCH},
    {"/=", T_NE},        {"/", T_SLASH},      {"->", T_ARROW},
    {"-", T_MINUS},      {"++", T_PLUSPLUS},  {"+", T_PLUS},
    {">=", T_GE},        {">>", T_BIN_CLOSE}, {">", T_GT},
    {"<<", T_BIN_OPEN},  {"<", T_LT},         {":=", T_ASSIGN},
    {":", T_COLON},      {"|", T_BAR},        {"!", T_SEND},
    {"*", T_STAR},       {",", T_COMMA},      {";", T_SEMI},
    {"(", T_LPAREN},     {")", T_RPAREN},     {"{", T_LBRACE},
    {"}", T_RBRACE},     {"[", T_LBRACKET},   {"]", T_RBRACKET},
    {"#{", T_MAP_OPEN},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *lang_tok_name(enum tok kind)
{
    static const char *const names[] = {
        [T_END] = ".",       [T_AFTER] = "after", [T_BEGIN] = "begin",
        [T_CASE] = "case",   [T_END_KW] = "end",  [T_OF] = "of",
        [T_RECEIVE] = "receive", [T_WHEN] = "when",
        [T_NOT] = "not",     [T_ANDALSO] = "andalso",
        [T_ORELSE] = "orelse", [T_DIV] = "div",   [T_REM] = "rem",
    };

    if (kind < COUNT(names) && names[kind])
        return names[kind];
    for (size_t i = 0; i < COUNT(puncts); i++)
        if (puncts[i].kind == kind)
            return puncts[i].text;
    return NULL;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           is_digit(c) || c == '_' || c == '@' || (unsigned char)c >= 0x80;
}

static char peek(const struct lexer *lx, size_t ahead)
{
    return lx->pos + ahead < lx->len ? lx->s[lx->pos + ahead] : '\0';
}

static int push(struct lexer *lx, enum tok kind, size_t start, ax_term_t t)
{
    struct tokens *o = lx->out;

    if (lang_grow(&o->v, &o->cap, o->n, sizeof(*o->v)))
        return AX_ENOMEM;
    o->v[o->n++] = (struct token){kind, start, lx->pos, t};
    return 0;
}

static int push_error(struct lexer *lx, size_t start, const char *msg)
{
    if (!lx->out->err[0]) {
        lx->out->err_at = start;
        snprintf(lx->out->err, sizeof(lx->out->err), "%s", msg);
    }
    return push(lx, T_ERROR, start, AX_NONE);
}

/* The literal s[start..pos) read by the term parser. */
static int push_literal(struct lexer *lx, enum tok kind, size_t start)
{
    ax_parse_error_t perr;
    ax_term_t t;
    int err = ax_parse(lx->h, lx->s + start, lx->pos - start, &t, &perr);

    if (err == AX_ENOMEM)
        return err;
    if (err)
        return push_error(lx, start + (size_t)perr.column - 1, perr.message);
    return push(lx, kind, start, t);
}

/* Skips white space and comments. */
static void skip_space(struct lexer *lx)
{
    while (lx->pos < lx->len) {
        char c = lx->s[lx->pos];

        if (c == '%') {
            while (lx->pos < lx->len && lx->s[lx->pos] != '\n')
                lx->pos++;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
                   c == '\f' || c == '\v') {
            lx->pos++;
        } else {
            return;
        }
    }
}

/* Past a quoted run ending in quote (the opening one already passed);
 * false if the text ends first. */
static bool skip_quoted(struct lexer *lx, char quote)
{
    while (lx->pos < lx->len) {
        char c = lx->s[lx->pos++];

        if (c == '\\')
            lx->pos++;
        else if (c == quote)
            return lx->pos <= lx->len;
    }
    return false;
}

static int lex_string(struct lexer *lx, size_t start)
{
    size_t end;

    for (;;) {
        lx->pos++;
        if (!skip_quoted(lx, '"')) {
            lx->eof_inside = true;
            return 0;
        }
        end = lx->pos;
        skip_space(lx);
        if (peek(lx, 0) != '"')
            break;
    }
    lx->pos = end;
    return push_literal(lx, T_LIT, start);
}

static int lex_quoted_atom(struct lexer *lx, size_t start)
{
    lx->pos++;
    if (!skip_quoted(lx, '\'')) {
        lx->eof_inside = true;
        return 0;
    }
    return push_literal(lx, T_ATOM, start);
}

static void skip_digits(struct lexer *lx, bool alnum)
{
    while (lx->pos < lx->len) {
        char c = lx->s[lx->pos];

        if (!(is_digit(c) || c == '_' ||
              (alnum && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))))
            return;
        lx->pos++;
    }
}

/* 12, 1_000, 16#ff, 1.5, 2.0e-3. */
static int lex_number(struct lexer *lx, size_t start)
{
    skip_digits(lx, false);
    if (peek(lx, 0) == '#' && is_name_char(peek(lx, 1))) {
        lx->pos++;
        skip_digits(lx, true);
    } else if (peek(lx, 0) == '.' && is_digit(peek(lx, 1))) {
        lx->pos++;
        skip_digits(lx, false);
        if ((peek(lx, 0) == 'e' || peek(lx, 0) == 'E') &&
            (is_digit(peek(lx, 1)) ||
             ((peek(lx, 1) == '-' || peek(lx, 1) == '+') &&
              is_digit(peek(lx, 2))))) {
            lx->pos += 2;
            skip_digits(lx, false);
        }
    }
    return push_literal(lx, T_LIT, start);
}

/* $c, $\n, $\x{41}, $\101, $\^A, or a UTF-8 character. */
static int lex_char(struct lexer *lx, size_t start)
{
    size_t n = 1;

    lx->pos++;
    if (peek(lx, 0) == '\\') {
        lx->pos++;
        if (peek(lx, 0) == 'x' && peek(lx, 1) == '{') {
            while (lx->pos < lx->len && lx->s[lx->pos] != '}')
                lx->pos++;
        } else if (peek(lx, 0) == 'x') {
            n = 3;
        } else if (peek(lx, 0) >= '0' && peek(lx, 0) <= '7') {
            while (n < 3 && peek(lx, n) >= '0' && peek(lx, n) <= '7')
                n++;
        } else if (peek(lx, 0) == '^') {
            n = 2;
        }
    } else {
        while (((unsigned char)peek(lx, n) & 0xC0) == 0x80)
            n++;
    }
    if (lx->pos + n > lx->len) {
        lx->eof_inside = true;
        lx->pos = lx->len;
        return 0;
    }
    lx->pos += n;
    return push_literal(lx, T_LIT, start);
}

static int lex_name(struct lexer *lx, size_t start)
{
    bool var = !(lx->s[start] >= 'a' && lx->s[start] <= 'z') &&
               (unsigned char)lx->s[start] < 0x80;
    size_t len;
    ax_term_t name;

    while (lx->pos < lx->len && is_name_char(lx->s[lx->pos]))
        lx->pos++;
    len = lx->pos - start;
    if (!var) {
        for (size_t i = 0; i < COUNT(keywords); i++)
            if (strlen(keywords[i].text) == len &&
                memcmp(keywords[i].text, lx->s + start, len) == 0)
                return push(lx, keywords[i].kind, start, AX_NONE);
        return push_literal(lx, T_ATOM, start);
    }
    if (ax_atom_intern(lx->s + start, len, &name) != 0)
        return push_error(lx, start, "bad variable name");
    return push(lx, T_VAR, start, name);
}

static bool looking_at(const struct lexer *lx, const char *w)
{
    size_t n = strlen(w);

    return n <= lx->len - lx->pos && memcmp(lx->s + lx->pos, w, n) == 0;
}

/* How long the pid literal <A.B.C> at pos is, or 0. */
static size_t pid_length(const struct lexer *lx)
{
    size_t i = 1;

    for (int part = 0; part < 3; part++) {
        size_t from = i;

        while (is_digit(peek(lx, i)))
            i++;
        if (i == from || peek(lx, i) != (part < 2 ? '.' : '>'))
            return 0;
        i++;
    }
    return i;
}

static int lex_punct(struct lexer *lx, size_t start)
{
    size_t n = pid_length(lx);

    if (peek(lx, 0) == '<' && n > 0) {
        lx->pos += n;
        return push_literal(lx, T_LIT, start);
    }
    if (looking_at(lx, "#Ref<")) {
        while (lx->pos < lx->len && lx->s[lx->pos] != '>')
            lx->pos++;
        lx->pos += lx->pos < lx->len;
        return push_literal(lx, T_LIT, start);
    }
    for (size_t i = 0; i < COUNT(puncts); i++) {
        if (looking_at(lx, puncts[i].text)) {
            lx->pos += strlen(puncts[i].text);
            return push(lx, puncts[i].kind, start, AX_NONE);
        }
    }
    lx->pos++;
    return push_error(lx, start, "illegal character");
}

/* A full stop ends the expression if white space, % or the end follows. */
static bool at_full_stop(const struct lexer *lx)
{
    char c = peek(lx, 1);

    return peek(lx, 0) == '.' &&
           (lx->pos + 1 == lx->len || c == ' ' || c == '\t' || c == '\n' ||
            c == '\r' || c == '%');
}

static int lex_one(struct lexer *lx)
{
    size_t start = lx->pos;
    char c = lx->s[start];

    if (is_digit(c))
        return lex_number(lx, start);
    if (c == '$')
        return lex_char(lx, start);
    if (c == '"')
        return lex_string(lx, start);
    if (c == '\'')
        return lex_quoted_atom(lx, start);
    if (is_name_char(c))
        return lex_name(lx, start);
    if (c == '.') {
        lx->pos++;
        return push_error(lx, start, "illegal character");
    }
    return lex_punct(lx, start);
}

int lang_lex(ax_heap_t *h, const char *text, size_t len, struct tokens *out)
{
    struct lexer lx = {text, len, 0, h, out, false};
    int err = 0;

    memset(out, 0, sizeof(*out));
    for (;;) {
        skip_space(&lx);
        if (lx.pos >= len)
            return 0;
        if (at_full_stop(&lx)) {
            lx.pos++;
            out->complete = true;
            out->used = lx.pos;
            return push(&lx, T_END, lx.pos - 1, AX_NONE);
        }
        err = lex_one(&lx);
        if (err)
            return err;
        if (lx.eof_inside) {
            out->inside = true;
            return 0;
        }
    }
}

void lang_tokens_destroy(struct tokens *t)
{
    free(t->v);
    memset(t, 0, sizeof(*t));
}
