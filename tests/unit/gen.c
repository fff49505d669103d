/*
 * gen.c - random terms for property tests (gen.h).
 *
 * Plain recursion is fine here: gen_term's depth is the caller's small
 * bound, and gen_deep builds its nesting in a loop.
 */
#include "gen.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "term/term.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Characters that need escapes, quotes, or care with UTF-8; "" stands
 * for the NUL character. */
static const char *const ascii_pieces[] = {
    " ", "'", "\\", "\"", "\n", "\t", "\r", "\x01", "\x1b", "\x7f", "",
    "@", "_", "A",  "Z",  "0",  "9",  ".",  "-",    "$",    "%",    "#"};

static const char *const utf8_pieces[] = {
    "é",           "ß",  "ÿ",  "À",    "Þ",        "×",        "÷",
    "ж",           "日", "本", "🙂", "\xc2\xa0", "\xc2\x85", "\xe2\x80\x8b",
    "\xef\xbf\xbd"};

static const char *const words[] = {
    "true",          "false", "ok",        "error", "undefined", "nil",
    "case",          "end",   "receive",   "maybe", "else",      "andalso",
    "nonode@nohost", "EXIT",  "$gen_call", "a.b",   "fun",       "when",
    "xor",           "div",
};

static const char name_chars[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@";

uint64_t gen_next(uint64_t *rng)
{
    uint64_t z = (*rng += UINT64_C(0x9E3779B97F4A7C15));

    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

uint64_t gen_below(uint64_t *rng, uint64_t n)
{
    return gen_next(rng) % n;
}

int64_t gen_int64(uint64_t *rng)
{
    static const int64_t special[] = {
        0,
        1,
        -1,
        255,
        256,
        -256,
        AX_SMALL_MAX,
        AX_SMALL_MIN,
        AX_SMALL_MAX + 1,
        AX_SMALL_MIN - 1,
        INT64_MAX,
        INT64_MIN,
    };
    uint64_t bits = gen_next(rng);

    switch (gen_below(rng, 4)) {
    case 0:
        return special[gen_below(rng, COUNT(special))];
    case 1:
        return (int64_t)gen_below(rng, 2000) - 1000;
    case 2:
        return (int64_t)bits;
    default: /* any magnitude, either sign */
        bits >>= gen_below(rng, 64);
        return gen_below(rng, 2) ? (int64_t)bits : -(int64_t)(bits >> 1);
    }
}

double gen_float(uint64_t *rng)
{
    static const double special[] = {
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.1,
        0.5,
        1e-10,
        1e300,
        -1.5e300,
        5e-324,
        DBL_MIN,
        DBL_MAX,
        -DBL_MAX,
        9007199254740992.0,
        9007199254740994.0,
        123456.0,
        1000.0,
        100.0,
        1e16,
        1e15,
        0.001,
        0.0001,
        2.2250738585072009e-308,
        1.0 / 3.0,
        6.02214076e23,
    };
    uint64_t bits;
    double d;

    switch (gen_below(rng, 4)) {
    case 0:
        return special[gen_below(rng, COUNT(special))];
    case 1:
        do {
            bits = gen_next(rng);
            memcpy(&d, &bits, sizeof(d));
        } while (!isfinite(d));
        return d;
    case 2:
        return (double)((int64_t)gen_below(rng, 2000001) - 1000000) /
               pow(10, (double)gen_below(rng, 8));
    default:
        return ldexp((double)(gen_next(rng) >> 11),
                     (int)gen_below(rng, 2098) - 1127);
    }
}

/* Appends one random character; returns the bytes added. */
static size_t put_char(uint64_t *r, char *buf, bool plain)
{
    const char *p;
    size_t n;

    if (plain || gen_below(r, 2)) {
        buf[0] = name_chars[gen_below(r, sizeof(name_chars) - 1)];
        return 1;
    }
    if (gen_below(r, 2))
        p = ascii_pieces[gen_below(r, COUNT(ascii_pieces))];
    else
        p = utf8_pieces[gen_below(r, COUNT(utf8_pieces))];
    n = strlen(p);
    memcpy(buf, p, n ? n : 1);
    return n ? n : 1;
}

/* The text of pool atom k, from a generator seeded by k alone: at most
 * 255 characters, so at most 1020 bytes. */
static size_t atom_text(uint64_t k, char *buf)
{
    uint64_t r = k * UINT64_C(0x5851F42D4C957F2D) + 1;
    size_t len = 0;
    size_t n;

    switch (k % 8) {
    case 0:
    case 1: /* a plain name */
        buf[len++] = (char)('a' + gen_below(&r, 26));
        n = gen_below(&r, 12);
        break;
    case 2:
        n = strlen(words[k / 8 % COUNT(words)]);
        memcpy(buf, words[k / 8 % COUNT(words)], n);
        return n;
    default: /* now and then a long one, once the empty atom */
        n = k % 64 == 3 ? 200 + gen_below(&r, 56) : gen_below(&r, 16);
        n = k == 3 ? 0 : n;
        break;
    }
    for (size_t i = 0; i < n; i++)
        len += put_char(&r, buf + len, k % 8 < 2);
    return len;
}

ax_term_t gen_atom(uint64_t *rng)
{
    char buf[4 * AX_ATOM_MAX_CHARS + 4];
    size_t len = atom_text(gen_below(rng, GEN_ATOM_POOL), buf);
    ax_term_t a;

    return ax_atom_intern(buf, len, &a) ? AX_NONE : a;
}

ax_term_t gen_binary(ax_heap_t *h, uint64_t *rng)
{
    uint8_t buf[4 * 400];
    size_t len = 0;
    size_t n;
    uint64_t kind = gen_below(rng, 4);

    n = kind == 2 ? AX_BINARY_SHARED_MIN + gen_below(rng, 300)
                  : gen_below(rng, 24);
    for (size_t i = 0; i < n; i++) {
        if (kind == 0 || (kind == 2 && n % 2))
            buf[len++] = (uint8_t)gen_next(rng);
        else
            len += put_char(rng, (char *)buf + len, kind == 3);
    }
    return ax_binary(h, buf, len);
}

ax_term_t gen_pid(uint64_t *rng)
{
    unsigned node = gen_below(rng, 4) ? 0 : (unsigned)gen_below(rng, 256);

    return make_pid(node,
                    gen_below(rng, 3) ? gen_below(rng, 1000) : gen_next(rng),
                    gen_below(rng, 2) ? 0 : gen_next(rng));
}

ax_term_t gen_ref(ax_heap_t *h, uint64_t *rng)
{
    uint32_t words_[5];
    unsigned n = 1 + (unsigned)gen_below(rng, 5);
    unsigned node = gen_below(rng, 4) ? 0 : (unsigned)gen_below(rng, 256);

    for (unsigned i = 0; i < n; i++)
        words_[i] = gen_below(rng, 4) ? (uint32_t)gen_next(rng)
                                      : (uint32_t)gen_below(rng, 3) - 1;
    return ax__make_ref(h, node, n, words_);
}

ax_term_t gen_scalar(ax_heap_t *h, uint64_t *rng)
{
    switch (gen_below(rng, 10)) {
    case 0:
    case 1:
        return ax_int(h, gen_int64(rng));
    case 2:
        return ax_float(h, gen_float(rng));
    case 3:
    case 4:
        return gen_atom(rng);
    case 5:
    case 6:
        return gen_binary(h, rng);
    case 7:
        return gen_pid(rng);
    case 8:
        return gen_ref(h, rng);
    default:
        switch (gen_below(rng, 3)) {
        case 0:
            return AX_NIL;
        case 1:
            return ax_tuple_v(h, 0, NULL);
        default:
            return ax_map_new(h);
        }
    }
}

/* n random terms of the given depth into e; false on AX_NONE. */
static bool gen_terms(ax_heap_t *h, uint64_t *rng, int depth, size_t n,
                      ax_term_t *e)
{
    for (size_t i = 0; i < n; i++) {
        e[i] = gen_term(h, rng, depth);
        if (e[i] == AX_NONE)
            return false;
    }
    return true;
}

/* A list of n scalars, built from its end; sometimes improper. */
static ax_term_t gen_long_list(ax_heap_t *h, uint64_t *rng, size_t n)
{
    ax_term_t list = gen_below(rng, 4) ? AX_NIL : gen_atom(rng);

    for (size_t i = 0; i < n && list != AX_NONE; i++) {
        ax_term_t x =
            gen_below(rng, 2) ? ax_int(h, gen_int64(rng)) : gen_scalar(h, rng);

        list = x == AX_NONE ? AX_NONE : ax_cons(h, x, list);
    }
    return list;
}

/* [e0, ..., en-2 | en-1]: a non-list tail. */
static ax_term_t improper(ax_heap_t *h, size_t n, const ax_term_t *e)
{
    ax_term_t list = e[n - 1];

    if (ax_is_list(list))
        list = ax_tuple_v(h, 1, &e[n - 1]);
    for (size_t i = n - 1; i-- > 0 && list != AX_NONE;)
        list = ax_cons(h, e[i], list);
    return list;
}

ax_term_t gen_term(ax_heap_t *h, uint64_t *rng, int depth)
{
    ax_term_t e[16];
    size_t n = gen_below(rng, gen_below(rng, 4) ? 5 : 8);
    uint64_t kind = gen_below(rng, 4);

    if (depth <= 0 || gen_below(rng, 3) == 0)
        return gen_scalar(h, rng);
    if (gen_below(rng, 2000) == 0)
        return gen_long_list(h, rng, 100 + gen_below(rng, 3000));
    if (!gen_terms(h, rng, depth - 1, kind == 3 ? 2 * n : n + 2 * (kind == 2),
                   e))
        return AX_NONE;
    switch (kind) {
    case 0:
        return ax_tuple_v(h, n, e);
    case 1:
        return ax_list_v(h, n, e);
    case 2:
        return improper(h, n + 2, e);
    default:
        return ax_map_from(h, n, e, e + n);
    }
}

/* t wrapped in one random container, with scalar siblings. */
static ax_term_t wrap(ax_heap_t *h, uint64_t *rng, ax_term_t t)
{
    ax_term_t s[2] = {gen_scalar(h, rng), gen_scalar(h, rng)};
    ax_term_t e[3];
    size_t n = 1 + gen_below(rng, 3);
    size_t at = gen_below(rng, n);

    if (s[0] == AX_NONE || s[1] == AX_NONE)
        return AX_NONE;
    for (size_t i = 0, j = 0; i < n; i++)
        e[i] = i == at ? t : s[j++];
    switch (gen_below(rng, 5)) {
    case 0:
        return ax_tuple_v(h, n, e);
    case 1:
        return ax_list_v(h, n, e);
    case 2:
        return ax_cons(h, s[0], t); /* t as an improper tail */
    case 3:
        return ax_map_from(h, 1, &s[0], &t);
    default:
        return ax_map_from(h, 1, &t, &s[0]);
    }
}

ax_term_t gen_deep(ax_heap_t *h, uint64_t *rng, int levels)
{
    ax_term_t t = gen_scalar(h, rng);

    for (int i = 0; i < levels && t != AX_NONE; i++)
        t = wrap(h, rng, t);
    return t;
}
