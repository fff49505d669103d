/*
 * scan.c - the scanner of Erlang term syntax (scan.h).
 *
 * Lexical rules are erl_scan's where terms need them: names are Latin-1
 * (a lowercase letter starts an atom, an uppercase one or _ a variable),
 * white space is every byte up to ' ' and U+0080..U+00A0, % comments run
 * to the end of the line, numbers take _ between digits and Base#Digits,
 * and a full stop is a '.' followed by white space, % or the end. Strings
 * and quoted atoms are UTF-8; an escape \xNN, \x{N..} or \NNN is a code
 * point, stored as UTF-8 (so "\xFF" is the two bytes of U+00FF).
 *
 * Every loop advances sc->pos, so any input ends; all reads are bounded
 * by sc->len, so NUL bytes and truncated UTF-8 are just more bytes.
 */
#include "scan.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "../core/alloc.h"
#include "../core/utf8.h"
#include "flonum.h"

/* Integer magnitudes stop here: -2^63 is the least int64. */
#define MAGNITUDE_MAX (UINT64_C(1) << 63)

void ax__scan_init(struct scanner *sc, const char *s, size_t len, size_t pos)
{
    memset(sc, 0, sizeof(*sc));
    sc->s = (const uint8_t *)s;
    sc->len = len;
    sc->pos = pos;
}

void ax__scan_destroy(struct scanner *sc)
{
    ax__free(sc->text);
}

int ax__scan_fail(struct scanner *sc, int code, size_t at, const char *fmt, ...)
{
    va_list ap;

    sc->err_at = at;
    va_start(ap, fmt);
    vsnprintf(sc->msg, sizeof(sc->msg), fmt, ap);
    va_end(ap);
    return code;
}

int ax__scan_put(struct scanner *sc, const void *p, size_t n)
{
    size_t cap = sc->text_cap ? sc->text_cap : 64;
    uint8_t *text;

    if (sc->text_cap - sc->text_len < n) {
        while (cap - sc->text_len < n) {
            if (cap > SIZE_MAX / 2)
                return ax__scan_fail(sc, AX_ENOMEM, sc->pos, "out of memory");
            cap *= 2;
        }
        text = ax__realloc(sc->text, cap);
        if (!text)
            return ax__scan_fail(sc, AX_ENOMEM, sc->pos, "out of memory");
        sc->text = text;
        sc->text_cap = cap;
    }
    memcpy(sc->text + sc->text_len, p, n);
    sc->text_len += n;
    return 0;
}

/* The byte at pos + k, or -1 past the end. */
static int peek(const struct scanner *sc, size_t k)
{
    return sc->len - sc->pos > k ? sc->s[sc->pos + k] : -1;
}

/* --- Character classes ---------------------------------------------------- */

static bool is_lower_start(uint32_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 0xDF && c <= 0xFF && c != 0xF7);
}

static bool is_var_start(uint32_t c)
{
    return (c >= 'A' && c <= 'Z') || c == '_' ||
           (c >= 0xC0 && c <= 0xDE && c != 0xD7);
}

static bool is_name_char(uint32_t c)
{
    return is_lower_start(c) || is_var_start(c) || (c >= '0' && c <= '9') ||
           c == '@';
}

static const char *const reserved_words[] = {
    "after",   "and",  "andalso", "band",  "begin", "bnot", "bor",  "bsl",
    "bsr",     "bxor", "case",    "catch", "cond",  "div",  "else", "end",
    "fun",     "if",   "let",     "maybe", "not",   "of",   "or",   "orelse",
    "receive", "rem",  "try",     "when",  "xor",
};

/* s[0..len), len > 0, is a reserved word. */
static bool is_reserved(const uint8_t *s, size_t len)
{
    const char *w;

    for (size_t i = 0; i < sizeof(reserved_words) / sizeof(*reserved_words);
         i++) {
        w = reserved_words[i];
        if ((uint8_t)w[0] == s[0] && strlen(w) == len && memcmp(w, s, len) == 0)
            return true;
    }
    return false;
}

bool ax__scan_is_bare_atom(const char *s, size_t len)
{
    const uint8_t *u = (const uint8_t *)s;
    uint32_t c;
    size_t n;

    for (size_t i = 0; i < len; i += n) {
        n = ax__utf8_decode(u + i, len - i, &c);
        if (n == 0 || !(i == 0 ? is_lower_start(c) : is_name_char(c)))
            return false;
    }
    return len > 0 && !is_reserved(u, len);
}

/* The bytes of white space at offset i (0 if none). */
static size_t blank_at(const struct scanner *sc, size_t i)
{
    if (i >= sc->len)
        return 0;
    if (sc->s[i] <= ' ')
        return 1;
    if (sc->s[i] == 0xC2 && i + 1 < sc->len && sc->s[i + 1] >= 0x80 &&
        sc->s[i + 1] <= 0xA0)
        return 2;
    return 0;
}

static void skip_blank(struct scanner *sc)
{
    const uint8_t *nl;
    size_t n;

    while (sc->pos < sc->len) {
        n = blank_at(sc, sc->pos);
        if (n) {
            sc->pos += n;
        } else if (sc->s[sc->pos] == '%') {
            nl = memchr(sc->s + sc->pos, '\n', sc->len - sc->pos);
            sc->pos = nl ? (size_t)(nl - sc->s) + 1 : sc->len;
        } else {
            break;
        }
    }
}

/* --- Names ---------------------------------------------------------------- */

/* Interns s[0..len) (UTF-8) as the current token; at is for errors. */
static int intern_atom(struct scanner *sc, size_t at, const uint8_t *s,
                       size_t len)
{
    size_t nchars = 0;
    int err;

    ax__utf8_valid(s, len, &nchars);
    if (nchars > AX_ATOM_MAX_CHARS)
        return ax__scan_fail(sc, AX_ESYNTAX, at, "atom too long");
    err = ax_atom_intern((const char *)s, len, &sc->tok.term);
    if (err == AX_ESYSLIMIT)
        return ax__scan_fail(sc, err, at, "atom table full");
    if (err)
        return ax__scan_fail(sc, err, at, "%s", ax_strerror(err));
    sc->tok.kind = TOK_ATOM;
    return 0;
}

/* A bare atom, a reserved word or a variable. */
static int scan_name(struct scanner *sc, bool atom)
{
    size_t start = sc->pos;
    uint32_t c;
    size_t n;

    while ((n = ax__utf8_decode(sc->s + sc->pos, sc->len - sc->pos, &c)) &&
           is_name_char(c))
        sc->pos += n;
    if (!atom)
        sc->tok.kind = TOK_VAR;
    else if (is_reserved(sc->s + start, sc->pos - start))
        sc->tok.kind = TOK_RESERVED;
    else
        return intern_atom(sc, start, sc->s + start, sc->pos - start);
    return 0;
}

/* --- Quoted text ---------------------------------------------------------- */

static unsigned digit_value(int b)
{
    if (b >= '0' && b <= '9')
        return (unsigned)(b - '0');
    if (b >= 'a' && b <= 'z')
        return (unsigned)(b - 'a' + 10);
    if (b >= 'A' && b <= 'Z')
        return (unsigned)(b - 'A' + 10);
    return 99;
}

/* Up to max digits of base at sc->pos (at least one); false if none. */
static bool escape_digits(struct scanner *sc, unsigned base, size_t max,
                          uint32_t *c)
{
    size_t n = 0;

    *c = 0;
    while (n < max && digit_value(peek(sc, 0)) < base) {
        if (*c <= 0x10FFFF) /* beyond, it is an error anyway */
            *c = *c * base + digit_value(peek(sc, 0));
        sc->pos++;
        n++;
    }
    return n > 0;
}

/* \xNN or \x{N...}, with sc->pos on the x. */
static bool hex_escape(struct scanner *sc, uint32_t *c)
{
    sc->pos++;
    if (peek(sc, 0) != '{')
        return escape_digits(sc, 16, 2, c);
    sc->pos++;
    if (!escape_digits(sc, 16, SIZE_MAX, c) || peek(sc, 0) != '}')
        return false;
    sc->pos++;
    return *c <= 0x10FFFF;
}

/*
 * The code point of the escape whose backslash is just before sc->pos:
 * \b \d \e \f \n \r \s \t \v \' \" \\, octal \NNN, \xNN, \x{N...} and
 * \^X (X's control character).
 */
static int scan_escape(struct scanner *sc, uint32_t *c)
{
    static const char from[] = "bdefnrstv'\"\\";
    static const uint8_t to[] = {'\b', 0x7F, 0x1B, '\f', '\n', '\r',
                                 ' ',  '\t', '\v', '\'', '"',  '\\'};
    size_t at = sc->pos - 1;
    int b = peek(sc, 0);
    const char *p = b > 0 ? memchr(from, b, sizeof(from) - 1) : NULL;
    bool ok = true;

    if (p) {
        *c = to[p - from];
        sc->pos++;
    } else if (b >= '0' && b <= '7') {
        ok = escape_digits(sc, 8, 3, c);
    } else if (b == 'x') {
        ok = hex_escape(sc, c);
    } else if (b == '^' && peek(sc, 1) >= 0x40 && peek(sc, 1) < 0x7F) {
        *c = (uint32_t)peek(sc, 1) & 31;
        sc->pos += 2;
    } else {
        ok = false;
    }
    return ok ? 0 : ax__scan_fail(sc, AX_ESYNTAX, at, "bad escape");
}

/* One character of quoted text at sc->pos (not the quote), decoded and
 * appended to sc->text. */
static int scan_quoted_char(struct scanner *sc)
{
    uint8_t buf[4];
    size_t at = sc->pos;
    uint32_t c;
    size_t n;
    int err;

    if (sc->s[at] != '\\') {
        n = ax__utf8_decode(sc->s + at, sc->len - at, &c);
        if (n == 0)
            return ax__scan_fail(sc, AX_ESYNTAX, at, "invalid UTF-8");
        sc->pos += n;
        return ax__scan_put(sc, sc->s + at, n);
    }
    sc->pos++;
    err = scan_escape(sc, &c);
    if (err)
        return err;
    n = ax__utf8_encode(c, buf);
    if (n == 0)
        return ax__scan_fail(sc, AX_ESYNTAX, at, "bad escape");
    return ax__scan_put(sc, buf, n);
}

/* Text between the quote at sc->pos and the next unescaped one,
 * appended to sc->text. */
static int scan_quoted(struct scanner *sc, const char *unterminated)
{
    size_t start = sc->pos;
    uint8_t q = sc->s[sc->pos++];
    int err;

    for (;;) {
        if (sc->pos >= sc->len ||
            (sc->s[sc->pos] == '\\' && sc->pos + 1 >= sc->len))
            return ax__scan_fail(sc, AX_ESYNTAX, start, "%s", unterminated);
        if (sc->s[sc->pos] == q) {
            sc->pos++;
            return 0;
        }
        err = scan_quoted_char(sc);
        if (err)
            return err;
    }
}

static int scan_string(struct scanner *sc)
{
    sc->tok.kind = TOK_STRING;
    sc->tok.text_start = sc->text_len;
    return scan_quoted(sc, "unterminated string");
}

static int scan_quoted_atom(struct scanner *sc)
{
    size_t start = sc->pos;
    size_t base = sc->text_len;
    int err = scan_quoted(sc, "unterminated quoted atom");

    /* sc->text is still NULL only after '' */
    if (!err)
        err = intern_atom(sc, start, sc->text ? sc->text + base : sc->s,
                          sc->text_len - base);
    sc->text_len = base;
    return err;
}

/* $c: the code point of c, which may be an escape. */
static int scan_char(struct scanner *sc)
{
    size_t start = sc->pos++;
    uint32_t c;
    size_t n;
    int err;

    if (sc->pos >= sc->len)
        return ax__scan_fail(sc, AX_ESYNTAX, start,
                             "expected a character after $");
    if (sc->s[sc->pos] == '\\') {
        sc->pos++;
        err = scan_escape(sc, &c);
        if (err)
            return err;
    } else {
        n = ax__utf8_decode(sc->s + sc->pos, sc->len - sc->pos, &c);
        if (n == 0)
            return ax__scan_fail(sc, AX_ESYNTAX, sc->pos, "invalid UTF-8");
        sc->pos += n;
    }
    sc->tok.kind = TOK_INT;
    sc->tok.u = c;
    return 0;
}

/* --- Numbers -------------------------------------------------------------- */

/*
 * Digits of base at sc->pos, with single _ between digits. The value goes
 * in *v unless it passes MAGNITUDE_MAX, which sets *big. Returns the
 * number of digits.
 */
static size_t scan_digits(struct scanner *sc, unsigned base, uint64_t *v,
                          bool *big)
{
    size_t n = 0;
    unsigned d;

    *v = 0;
    for (;;) {
        if (peek(sc, 0) == '_' && n > 0 && digit_value(peek(sc, 1)) < base)
            sc->pos++;
        d = digit_value(peek(sc, 0));
        if (d >= base)
            return n;
        if (*v > (MAGNITUDE_MAX - d) / base)
            *big = true;
        else
            *v = *v * base + d;
        sc->pos++;
        n++;
    }
}

/* The rest of Base#Digits, with sc->pos on the #. */
static int scan_radix(struct scanner *sc, size_t start, uint64_t base, bool big)
{
    uint64_t v;

    sc->pos++;
    if (big || base < 2 || base > 36)
        return ax__scan_fail(sc, AX_ESYNTAX, start,
                             "radix out of range (2..36)");
    if (scan_digits(sc, (unsigned)base, &v, &big) == 0)
        return ax__scan_fail(sc, AX_ESYNTAX, sc->pos,
                             "expected a digit of base %u", (unsigned)base);
    if (big)
        return ax__scan_fail(sc, AX_ESYNTAX, start, "integer out of range");
    sc->tok.kind = TOK_INT;
    sc->tok.u = v;
    return 0;
}

/* The rest of a float from start, with sc->pos on the '.'. */
static int scan_float(struct scanner *sc, size_t start)
{
    size_t base = sc->text_len;
    size_t mark;
    uint64_t v;
    bool big;
    int err = 0;

    sc->pos++;
    scan_digits(sc, 10, &v, &big);
    if (peek(sc, 0) == 'e' || peek(sc, 0) == 'E') {
        mark = sc->pos++;
        if (peek(sc, 0) == '+' || peek(sc, 0) == '-')
            sc->pos++;
        if (scan_digits(sc, 10, &v, &big) == 0)
            sc->pos = mark; /* 1.0e: the float ends before the e */
    }
    for (size_t i = start; i < sc->pos && !err; i++)
        if (sc->s[i] != '_')
            err = ax__scan_put(sc, sc->s + i, 1);
    if (!err)
        err = ax__scan_put(sc, "", 1);
    if (!err) {
        sc->tok.kind = TOK_FLOAT;
        sc->tok.f = ax__strtod((const char *)sc->text + base, NULL);
        if (!isfinite(sc->tok.f))
            err = ax__scan_fail(sc, AX_ESYNTAX, start, "float out of range");
    }
    sc->text_len = base;
    return err;
}

static int scan_number(struct scanner *sc)
{
    size_t start = sc->pos;
    uint64_t v;
    bool big = false;

    scan_digits(sc, 10, &v, &big);
    if (peek(sc, 0) == '#')
        return scan_radix(sc, start, v, big);
    if (peek(sc, 0) == '.' && digit_value(peek(sc, 1)) < 10)
        return scan_float(sc, start);
    if (big)
        return ax__scan_fail(sc, AX_ESYNTAX, start, "integer out of range");
    sc->tok.kind = TOK_INT;
    sc->tok.u = v;
    return 0;
}

/* --- Pids and references -------------------------------------------------- */

/*
 * Up to max decimal fields separated by '.' and closed by '>', at
 * sc->pos; a field too big for MAGNITUDE_MAX reads as UINT64_MAX. False
 * if malformed; *n gets the count.
 */
static bool scan_fields(struct scanner *sc, uint64_t *v, size_t max, size_t *n)
{
    bool big;
    int b;

    for (*n = 0; *n < max; ++*n) {
        big = false;
        if (scan_digits(sc, 10, &v[*n], &big) == 0)
            return false;
        if (big)
            v[*n] = UINT64_MAX;
        b = peek(sc, 0);
        if (b != '>' && b != '.')
            return false;
        sc->pos++;
        if (b == '>') {
            ++*n;
            return true;
        }
    }
    return false;
}

/* <Node.Number.Serial> */
static int scan_pid(struct scanner *sc)
{
    size_t start = sc->pos++;
    uint64_t v[3];
    size_t n;

    if (!scan_fields(sc, v, 3, &n) || n != 3)
        return ax__scan_fail(sc, AX_ESYNTAX, start, "malformed pid");
    if (v[0] > PID_NODE_MAX || v[1] > PID_NUMBER_MAX || v[2] > PID_SERIAL_MAX)
        return ax__scan_fail(sc, AX_ESYNTAX, start, "pid out of range");
    sc->tok.kind = TOK_PID;
    sc->tok.term = make_pid((unsigned)v[0], v[1], v[2]);
    return 0;
}

/* #Ref<Node.Wn-1...W0>: the words most significant first. */
static int scan_ref(struct scanner *sc)
{
    size_t start = sc->pos;
    uint64_t v[1 + REF_WORDS_MAX];
    size_t n;

    sc->pos += 5;
    if (!scan_fields(sc, v, 1 + REF_WORDS_MAX, &n) || n < 2)
        return ax__scan_fail(sc, AX_ESYNTAX, start, "malformed reference");
    if (v[0] > PID_NODE_MAX)
        return ax__scan_fail(sc, AX_ESYNTAX, start, "reference out of range");
    for (size_t i = 1; i < n; i++) {
        if (v[i] > UINT32_MAX)
            return ax__scan_fail(sc, AX_ESYNTAX, start,
                                 "reference out of range");
        sc->tok.words[n - 1 - i] = (uint32_t)v[i];
    }
    sc->tok.kind = TOK_REF;
    sc->tok.node = (unsigned)v[0];
    sc->tok.nwords = (unsigned)(n - 1);
    return 0;
}

/* --- Tokens --------------------------------------------------------------- */

static const struct punct {
    char text[3];
    enum tok_kind kind;
} puncts[] = {
    {"#{", TOK_MAP_OPEN}, {"<<", TOK_BIN_OPEN}, {">>", TOK_BIN_CLOSE},
    {"=>", TOK_ARROW},    {"{", TOK_LBRACE},    {"}", TOK_RBRACE},
    {"[", TOK_LBRACKET},  {"]", TOK_RBRACKET},  {",", TOK_COMMA},
    {"|", TOK_BAR},       {"-", TOK_MINUS},
};

static bool scan_punct(struct scanner *sc)
{
    const struct punct *p;

    for (size_t i = 0; i < sizeof(puncts) / sizeof(*puncts); i++) {
        p = &puncts[i];
        if (sc->s[sc->pos] != (uint8_t)p->text[0] ||
            (p->text[1] && peek(sc, 1) != (uint8_t)p->text[1]))
            continue;
        sc->tok.kind = p->kind;
        sc->pos += p->text[1] ? 2 : 1;
        return true;
    }
    return false;
}

/* A full stop, or any other dot. */
static int scan_dot(struct scanner *sc)
{
    sc->pos++;
    sc->tok.kind =
        sc->pos == sc->len || blank_at(sc, sc->pos) || sc->s[sc->pos] == '%'
            ? TOK_END
            : TOK_DOT;
    return 0;
}

/* A name, or a character that starts no token. */
static int scan_other(struct scanner *sc)
{
    uint32_t c;
    size_t n = ax__utf8_decode(sc->s + sc->pos, sc->len - sc->pos, &c);

    if (n == 0)
        return ax__scan_fail(sc, AX_ESYNTAX, sc->pos, "invalid UTF-8");
    if (is_lower_start(c))
        return scan_name(sc, true);
    if (is_var_start(c))
        return scan_name(sc, false);
    sc->tok.kind = TOK_OTHER;
    sc->pos += n;
    return 0;
}

static int scan_token(struct scanner *sc)
{
    int b = peek(sc, 0);

    if (b < 0) {
        sc->tok.kind = TOK_EOF;
        return 0;
    }
    if (b >= '0' && b <= '9')
        return scan_number(sc);
    if (b == '"')
        return scan_string(sc);
    if (b == '\'')
        return scan_quoted_atom(sc);
    if (b == '$')
        return scan_char(sc);
    if (b == '.')
        return scan_dot(sc);
    if (b == '<' && digit_value(peek(sc, 1)) < 10)
        return scan_pid(sc);
    if (b == '#' && sc->len - sc->pos >= 5 &&
        memcmp(sc->s + sc->pos, "#Ref<", 5) == 0)
        return scan_ref(sc);
    if (scan_punct(sc))
        return 0;
    return scan_other(sc);
}

int ax__scan_next(struct scanner *sc)
{
    int err;

    skip_blank(sc);
    sc->tok.start = sc->pos;
    err = scan_token(sc);
    sc->tok.end = sc->pos;
    return err;
}
