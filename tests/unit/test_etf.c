/*
 * test_etf.c - the External Term Format: OTP's own vectors (the file named
 * by AX_ETF_VECTORS), every tag including the legacy ones only decoded,
 * round trips of generated terms, foreign nodes, and malformed input:
 * truncated, oversized length fields, values ax cannot hold. The deepest
 * terms are handled on a thread with a small stack, as a process has.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax.h"
#include "core/alloc.h"
#include "gen.h"
#include "term/atom.h"
#include "term/etf.h"
#include "term/term.h"
#include "heap_util.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

TestSuite(etf, .init = heap_setup, .fini = heap_teardown);

/* --- Helpers -------------------------------------------------------------- */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The bytes of hex[0..len) in a malloc'd buffer; *n gets their count. */
static uint8_t *from_hex(const char *hex, size_t len, size_t *n)
{
    uint8_t *buf = malloc(len / 2 + 1);

    cr_assert_not_null(buf);
    cr_assert_eq(len % 2, 0, "odd hex length %zu", len);
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hex_digit(hex[2 * i]);
        int lo = hex_digit(hex[2 * i + 1]);

        cr_assert(hi >= 0 && lo >= 0, "bad hex at %zu", 2 * i);
        buf[i] = (uint8_t)(hi << 4 | lo);
    }
    *n = len / 2;
    return buf;
}

/* Lowercase hex of buf[0..n), NUL-terminated, malloc'd. */
static char *to_hex(const uint8_t *buf, size_t n)
{
    char *s = malloc(2 * n + 1);

    cr_assert_not_null(s);
    for (size_t i = 0; i < n; i++)
        sprintf(s + 2 * i, "%02x", buf[i]);
    s[2 * n] = '\0';
    return s;
}

/* The FLOAT_EXT encoding of text (NUL-padded to 31 bytes), in hex. */
static char *float_ext_hex(const char *text)
{
    uint8_t buf[2 + 31] = {131, 99};

    cr_assert_leq(strlen(text), 31);
    memcpy(buf + 2, text, strlen(text));
    return to_hex(buf, sizeof(buf));
}

/* A NEW_PID_EXT of pid 1 of node (SMALL_ATOM_UTF8_EXT), in hex. */
static char *foreign_pid_hex(const char *node, uint32_t creation)
{
    uint8_t buf[64] = {131, 88, 119};
    size_t n = strlen(node);

    cr_assert_leq(n, sizeof(buf) - 16);
    buf[3] = (uint8_t)n;
    memcpy(buf + 4, node, n);
    memcpy(buf + 4 + n, "\0\0\0\1\0\0\0\0", 8);
    for (int i = 0; i < 4; i++)
        buf[4 + n + 8 + i] = (uint8_t)(creation >> (24 - 8 * i));
    return to_hex(buf, 4 + n + 12);
}

/* Decodes hex, which must be one whole term; returns the error. */
static int decode_hex(const char *hex, ax_term_t *out)
{
    size_t n;
    size_t used = 0;
    uint8_t *buf = from_hex(hex, strlen(hex), &n);
    int err = ax_etf_decode(h, buf, n, out, &used);

    if (!err)
        cr_assert_eq(used, n, "%s: used %zu of %zu bytes", hex, used, n);
    free(buf);
    return err;
}

/* Decodes hex, which must succeed. */
static ax_term_t decoded(const char *hex)
{
    ax_term_t t = AX_NONE;
    int err = decode_hex(hex, &t);

    cr_assert_eq(err, 0, "%s: %s", hex, ax_strerror(err));
    return t;
}

/* Asserts that t encodes (with flags) to exactly the bytes of hex. */
static void assert_encodes(ax_term_t t, unsigned flags, const char *hex)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int err = ax_etf_encode(t, flags, &buf, &len);
    char *got;

    cr_assert_eq(err, 0, "encode: %s", ax_strerror(err));
    cr_assert_eq(ax_etf_size(t, flags), (ptrdiff_t)len);
    got = to_hex(buf, len);
    cr_assert_str_eq(got, hex, "encoded %s, expected %s", got, hex);
    free(got);
    free(buf);
}

/*
 * Encodes t, checks the size, decodes it back (=:= t, every byte used),
 * and checks that encoding the copy gives the same bytes. Returns what
 * went wrong, or NULL.
 */
static const char *round_trip_error(ax_term_t t, unsigned flags)
{
    uint8_t *a = NULL;
    uint8_t *b = NULL;
    size_t alen = 0;
    size_t blen = 0;
    size_t used = 0;
    ax_term_t back = AX_NONE;
    const char *what = NULL;

    if (ax_etf_encode(t, flags, &a, &alen) != 0)
        return "encode failed";
    if (ax_etf_size(t, flags) != (ptrdiff_t)alen)
        what = "ax_etf_size differs from the encoded size";
    else if (ax_etf_decode(h, a, alen, &back, &used) != 0 || used != alen)
        what = "the encoding does not decode";
    else if (!ax_equal_exact(back, t))
        what = "the round trip changed the term";
    else if (ax_etf_encode(back, flags, &b, &blen) != 0 || alen != blen ||
             memcmp(a, b, alen) != 0)
        what = "re-encoding differs";
    free(a);
    free(b);
    return what;
}

static void assert_round_trip(ax_term_t t, unsigned flags)
{
    const char *what = round_trip_error(t, flags);

    cr_assert_null(what, "flags %u: %s", flags, what);
}

/* --- The vectors made by Erlang/OTP --------------------------------------- */

struct vector {
    int line;
    const char *text; /* the term in ~w syntax */
    size_t text_len;
    const char *hex;
    size_t hex_len;
};

/* The file's contents (malloc'd, NUL-terminated). */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long size;

    cr_assert_not_null(f, "cannot open the vectors file %s", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    cr_assert(size >= 0);
    rewind(f);
    buf = malloc((size_t)size + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
    buf[size] = '\0';
    fclose(f);
    return buf;
}

/* Splits the file into vectors: text TAB hex per line. A line that starts
 * with '#' and has no TAB is a comment ("#{" also starts a map). */
static size_t split_vectors(char *buf, struct vector *v, size_t max)
{
    size_t n = 0;
    int line = 0;

    for (char *p = buf; *p;) {
        char *eol = strchr(p, '\n');
        char *tab;

        if (!eol)
            eol = p + strlen(p);
        line++;
        tab = memchr(p, '\t', (size_t)(eol - p));
        if (eol > p && !(*p == '#' && !tab)) {
            cr_assert_not_null(tab, "line %d: no TAB", line);
            cr_assert(n < max, "too many vectors");
            v[n++] = (struct vector){line, p, (size_t)(tab - p), tab + 1,
                                     (size_t)(eol - tab - 1)};
        }
        p = *eol ? eol + 1 : eol;
    }
    return n;
}

static void check_vector(const struct vector *v, unsigned flags)
{
    size_t n;
    size_t used = 0;
    uint8_t *bytes = from_hex(v->hex, v->hex_len, &n);
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    ax_term_t t = AX_NONE;
    ax_term_t parsed = AX_NONE;
    ax_parse_error_t perr;
    int err = ax_etf_decode(h, bytes, n, &t, &used);

    cr_assert_eq(err, 0, "line %d: decode: %s", v->line, ax_strerror(err));
    cr_assert_eq(used, n, "line %d: used %zu of %zu", v->line, used, n);
    err = ax_parse(h, v->text, v->text_len, &parsed, &perr);
    cr_assert_eq(err, 0, "line %d: parse: %s", v->line, perr.message);
    cr_assert(ax_equal_exact(t, parsed),
              "line %d: decoded term differs from %.*s", v->line,
              (int)v->text_len, v->text);
    if (ax_is_map(t) && ax_map_size(t) > 32) {
        /* OTP orders a large map by hash: only the round trip counts. */
        assert_round_trip(t, flags);
    } else {
        cr_assert_eq(ax_etf_encode(t, flags, &enc, &enc_len), 0);
        if (enc_len != n || memcmp(enc, bytes, n) != 0) {
            char *got = to_hex(enc, enc_len);

            cr_assert_fail("line %d: encoded %s, OTP wrote %.*s", v->line,
                           got, (int)v->hex_len, v->hex);
        }
    }
    free(enc);
    free(bytes);
}

Test(etf, otp_vectors)
{
    const char *path = getenv("AX_ETF_VECTORS");
    char *buf;
    struct vector v[256];
    size_t n;

    if (!path)
        path = "../shared/etf-vectors.txt";
    buf = read_file(path);
    n = split_vectors(buf, v, ARRAY_LEN(v));
    cr_assert(n > 3, "only %zu vectors in %s", n, path);
    /* The last 3 were made with [{minor_version,2}]: UTF-8 atoms. */
    for (size_t i = 0; i < n; i++)
        check_vector(&v[i], i + 3 >= n ? AX_ETF_UTF8_ATOMS : 0);
    free(buf);
}

/* --- Each tag ------------------------------------------------------------- */

Test(etf, integers_at_every_boundary)
{
    static const struct {
        int64_t v;
        const char *hex;
    } cases[] = {
        {0, "836100"},
        {255, "8361ff"},
        {256, "836200000100"},
        {-1, "8362ffffffff"},
        {INT64_C(1) << 27, "836208000000"},
        {-(INT64_C(1) << 27), "8362f8000000"},
        {INT32_MAX, "83627fffffff"},
        {INT32_MIN, "836280000000"},
        {INT64_C(1) << 31, "836e040000000080"},
        {-(INT64_C(1) << 31) - 1, "836e040101000080"},
        {INT64_C(1) << 32, "836e050000000000" "01"},
        {AX_SMALL_MAX, "836e0800ffffffffffffff07"},
        {AX_SMALL_MAX + 1, "836e08000000000000000008"},
        {AX_SMALL_MIN, "836e08010000000000000008"},
        {AX_SMALL_MIN - 1, "836e08010100000000000008"},
        {INT64_MAX, "836e0800ffffffffffffff7f"},
        {INT64_MIN, "836e08010000000000000080"},
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        ax_term_t t = ax_int(h, cases[i].v);
        int64_t v;

        assert_encodes(t, 0, cases[i].hex);
        cr_assert_eq(ax_get_int(decoded(cases[i].hex), &v), 0);
        cr_assert_eq(v, cases[i].v, "%s", cases[i].hex);
    }
}

Test(etf, bignums_that_fit_int64)
{
    int64_t v;

    /* Leading zero digits, LARGE_BIG_EXT, negative zero: all accepted. */
    cr_assert_eq(ax_get_int(decoded("836e0900ffffffffffffff7f00"), &v), 0);
    cr_assert_eq(v, INT64_MAX);
    cr_assert_eq(ax_get_int(decoded("836f00000008010000000000000080"), &v),
                 0);
    cr_assert_eq(v, INT64_MIN);
    cr_assert_eq(decoded("836f000000010005"), make_small(5));
    cr_assert_eq(decoded("836e0001"), make_small(0));
    cr_assert_eq(decoded("836e02010000"), make_small(0));
}

Test(etf, integers_beyond_int64_are_refused)
{
    static const char *const bad[] = {
        "836e08000000000000000080",       /* 2^63 */
        "836e08010100000000000080",       /* -(2^63 + 1) */
        "836e0900000000000000000001",     /* 2^64 */
        "836f0000000900000000000000000001",
        "836e0a01ffffffffffffffffffff",
    };
    ax_term_t t;

    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        cr_assert_eq(decode_hex(bad[i], &t), AX_EBADETF, "%s", bad[i]);
}

Test(etf, floats)
{
    static const struct {
        const char *text;
        double v;
    } old[] = {
        {"1.50000000000000000000e+00", 1.5},
        {"-2.25000000000000000000e+00", -2.25},
        {"1.0e300", 1e300},
        {"+3.5", 3.5},
    };
    double d;

    assert_encodes(ax_float(h, 1.5), 0, "83463ff8000000000000");
    assert_encodes(ax_float(h, -0.0), 0, "83468000000000000000");
    cr_assert_eq(ax_get_float(decoded("83463ff8000000000000"), &d), 0);
    cr_assert_eq(d, 1.5);
    for (size_t i = 0; i < ARRAY_LEN(old); i++) {
        char *hex = float_ext_hex(old[i].text);

        cr_assert_eq(ax_get_float(decoded(hex), &d), 0);
        cr_assert_eq(d, old[i].v, "%s", old[i].text);
        free(hex);
    }
}

Test(etf, non_finite_and_malformed_floats_are_refused)
{
    static const char *const new_bad[] = {
        "83467ff8000000000000", /* NaN */
        "83467ff0000000000000", /* +inf */
        "8346fff0000000000000", /* -inf */
    };
    static const char *const old_bad[] = {
        "nan", "inf", "1e5", "1.5x", "1.5e999", "", " 1.5", "1.", ".5",
        "1.5e", "0x1.8p0",
    };
    ax_term_t t;

    for (size_t i = 0; i < ARRAY_LEN(new_bad); i++)
        cr_assert_eq(decode_hex(new_bad[i], &t), AX_EBADETF, "%s",
                     new_bad[i]);
    for (size_t i = 0; i < ARRAY_LEN(old_bad); i++) {
        char *hex = float_ext_hex(old_bad[i]);

        cr_assert_eq(decode_hex(hex, &t), AX_EBADETF, "'%s'", old_bad[i]);
        free(hex);
    }
}

Test(etf, atoms_in_every_tag)
{
    ax_term_t ok = ATOM_OK;
    ax_term_t e_acute = ax_atom("\xc3\xa9t\xc3\xa9");
    ax_term_t lambda = ax_atom("\xce\xbb");

    cr_assert_eq(decoded("836400026f6b"), ok);
    cr_assert_eq(decoded("8373026f6b"), ok);
    cr_assert_eq(decoded("837600026f6b"), ok);
    cr_assert_eq(decoded("8377026f6b"), ok);
    /* Latin-1 bytes become UTF-8 text. */
    cr_assert_eq(decoded("83640003e974e9"), e_acute);
    cr_assert_eq(decoded("837303e974e9"), e_acute);
    assert_encodes(e_acute, 0, "83640003e974e9");
    assert_encodes(e_acute, AX_ETF_UTF8_ATOMS, "837705c3a974c3a9");
    /* Beyond Latin-1: UTF-8 whatever the flags. */
    assert_encodes(lambda, 0, "837702cebb");
    assert_encodes(lambda, AX_ETF_UTF8_ATOMS, "837702cebb");
    assert_encodes(ok, AX_ETF_UTF8_ATOMS, "8377026f6b");
}

Test(etf, long_utf8_atoms_use_atom_utf8_ext)
{
    char text[2 * AX_ATOM_MAX_CHARS];
    char hex[16 + 4 * AX_ATOM_MAX_CHARS + 1] = "83760" "1fe";
    ax_term_t a;

    for (int i = 0; i < AX_ATOM_MAX_CHARS; i++) {
        memcpy(text + 2 * i, "\xce\xbb", 2);
        memcpy(hex + 8 + 4 * i, "cebb", 4);
    }
    hex[8 + 4 * AX_ATOM_MAX_CHARS] = '\0';
    cr_assert_eq(ax_atom_intern(text, sizeof(text), &a), 0);
    assert_encodes(a, 0, hex);
    assert_encodes(a, AX_ETF_UTF8_ATOMS, hex);
    cr_assert_eq(decoded(hex), a);
}

Test(etf, bad_atoms_are_refused)
{
    char hex[8 + 2 * 256 + 1] = "83640100";
    ax_term_t t;

    cr_assert_eq(decode_hex("837702c328", &t), AX_EBADETF); /* bad UTF-8 */
    cr_assert_eq(decode_hex("837601ffc0", &t), AX_EBADETF);
    cr_assert_eq(decode_hex("837702eda080", &t), AX_EBADETF); /* surrogate */
    /* ATOM_EXT of 256 characters. */
    for (int i = 0; i < 256; i++)
        memcpy(hex + 8 + 2 * i, "61", 2);
    hex[8 + 2 * 256] = '\0';
    cr_assert_eq(decode_hex(hex, &t), AX_EBADETF);
}

Test(etf, lists_and_strings)
{
    ax_term_t abc[] = {make_small('a'), make_small('b'), make_small('c')};
    ax_term_t l = ax_list_v(h, 3, abc);
    ax_term_t improper = ax_cons(h, make_small(1), make_small(2));

    assert_encodes(AX_NIL, 0, "836a");
    assert_encodes(l, 0, "836b0003616263");
    assert_encodes(improper, 0, "836c0000000161016102");
    cr_assert(ax_equal_exact(decoded("836c00000003616161626163" "6a"), l));
    /* STRING_EXT of no bytes, and LIST_EXT of no elements: just the tail */
    cr_assert_eq(decoded("836b0000"), AX_NIL);
    cr_assert_eq(decoded("836c000000006a"), AX_NIL);
    cr_assert_eq(decoded("836c000000006101"), make_small(1));
}

/* A proper list of n copies of the byte 7. */
static ax_term_t byte_list(size_t n)
{
    ax_term_t *elems = malloc(n * sizeof(*elems));
    ax_term_t l;

    cr_assert_not_null(elems);
    for (size_t i = 0; i < n; i++)
        elems[i] = make_small(7);
    l = ax_list_v(h, n, elems);
    free(elems);
    return l;
}

Test(etf, string_ext_stops_below_65535_bytes)
{
    ax_term_t s = byte_list(65534);
    ax_term_t l = byte_list(65535);
    uint8_t *buf;
    size_t len;

    /* OTP's is_external_string: STRING_EXT only for len < 0xFFFF. */
    cr_assert_eq(ax_etf_encode(s, 0, &buf, &len), 0);
    cr_assert_eq(len, 1 + 3 + 65534);
    cr_assert_eq(buf[1], 107);
    free(buf);
    cr_assert_eq(ax_etf_encode(l, 0, &buf, &len), 0);
    cr_assert_eq(len, 1 + 5 + 2 * 65535 + 1);
    cr_assert_eq(buf[1], 108);
    free(buf);
    assert_round_trip(s, 0);
    assert_round_trip(l, 0);
}

Test(etf, tuples_binaries_maps)
{
    ax_term_t elems[300];
    ax_term_t keys[] = {ATOM_OK, make_small(1)};
    ax_term_t vals[] = {AX_NIL, ATOM_ERROR};
    uint8_t big[100];

    for (size_t i = 0; i < ARRAY_LEN(elems); i++)
        elems[i] = make_small((int64_t)i);
    memset(big, 'x', sizeof(big));
    assert_encodes(ax_tuple(h, 0), 0, "836800");
    assert_round_trip(ax_tuple_v(h, 300, elems), 0);
    cr_assert(ax_equal_exact(decoded("8369000000016101"),
                             decoded("8368016101")));
    assert_encodes(ax_binary(h, "ab", 2), 0, "836d000000026162");
    assert_round_trip(ax_binary(h, big, sizeof(big)), 0);
    /* Keys in exact term order: 1 < ok. */
    assert_encodes(ax_map_from(h, 2, keys, vals), 0,
                   "83740000000261016400056572726f72" "6400026f6b6a");
    assert_encodes(ax_map_new(h), 0, "837400000000");
}

Test(etf, maps_decode_in_any_order_but_without_duplicates)
{
    ax_term_t t;
    ax_term_t m = decoded("837400000002" "6400026f6b6a" "61016101");

    cr_assert_eq(ax_map_size(m), 2);
    cr_assert_eq(ax_map_get(m, make_small(1)), make_small(1));
    cr_assert_eq(decode_hex("837400000002" "61016101" "61016102", &t),
                 AX_EBADETF);
    /* 1 and 1.0 are different keys. */
    cr_assert_eq(decode_hex("837400000002" "61016101"
                            "46" "3ff0000000000000" "6102",
                            &t),
                 0);
}

/* --- Pids, references, nodes ---------------------------------------------- */

#define NONODE_HEX "64000d6e6f6e6f6465406e6f686f7374"
#define FOO_HEX "640007666f6f40626172" /* 'foo@bar' */

Test(etf, local_pids_and_refs)
{
    uint32_t words[3] = {1, 2, 3};
    ax_term_t pid = make_pid(0, 42, 3);
    ax_term_t ref = ax__make_ref(h, 0, 3, words);

    assert_encodes(pid, 0, "8358" NONODE_HEX "0000002a0000000300000000");
    assert_encodes(ref, 0, "835a0003" NONODE_HEX "00000000"
                           "000000010000000200000003");
    /* PID_EXT and NEW_REFERENCE_EXT: one-byte creation. */
    cr_assert_eq(decoded("8367" NONODE_HEX "0000002a0000000300"), pid);
    cr_assert(ax_equal_exact(
        decoded("83720003" NONODE_HEX "00" "000000010000000200000003"), ref));
    cr_assert(ax_equal_exact(decoded("8365" NONODE_HEX "0000000700"),
                             ax__make_ref(h, 0, 1, (uint32_t[]){7})));
    for (unsigned n = 1; n <= REF_WORDS_MAX; n++)
        assert_round_trip(ax__make_ref(h, 0, n, (uint32_t[]){9, 8, 7, 6, 5}),
                          0);
}

Test(etf, bad_pids_and_refs_are_refused)
{
    static const char *const bad[] = {
        "8358" NONODE_HEX "10000000" "00000000" "00000000", /* ID 2^28 */
        "8358" NONODE_HEX "00000001" "01000000" "00000000", /* serial 2^24 */
        "8358" "6a" "00000001" "00000000" "00000000",       /* node [] */
        "835a0000" NONODE_HEX "00000000",                   /* no words */
        "835a0006" NONODE_HEX "00000000" "000000010000000200000003"
        "000000040000000500000006",
    };
    ax_term_t t;

    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        cr_assert_eq(decode_hex(bad[i], &t), AX_EBADETF, "%s", bad[i]);
}

Test(etf, foreign_nodes_keep_their_names)
{
    const char *pid_hex = "8358" FOO_HEX "0000002a0000000500000007";
    const char *ref_hex = "835a0002" FOO_HEX "00000007" "0000000100000002";
    ax_term_t pid = decoded(pid_hex);
    ax_term_t ref = decoded(ref_hex);
    ax_term_t other = decoded("8358" FOO_HEX "0000002a0000000500000008");
    ax_term_t name;
    uint32_t creation;

    cr_assert(ax_is_pid(pid) && ax_is_ref(ref));
    cr_assert_neq(pid_node(pid), 0);
    cr_assert_eq(ref_node(ref), pid_node(pid));
    cr_assert_neq(pid_node(other), pid_node(pid)); /* another creation */
    cr_assert_eq(pid_number(pid), 42);
    cr_assert_eq(pid_serial(pid), 5);
    cr_assert(ax__etf_node(pid_node(pid), &name, &creation));
    cr_assert_eq(name, ax_atom("foo@bar"));
    cr_assert_eq(creation, 7);
    assert_encodes(pid, 0, pid_hex);
    assert_encodes(ref, 0, ref_hex);
    assert_encodes(pid, AX_ETF_UTF8_ATOMS,
                   "83587707666f6f40626172" "0000002a0000000500000007");
    cr_assert_eq(decoded("8367" FOO_HEX "0000002a0000000507"), pid);
}

Test(etf, own_node_name)
{
    ax_term_t pid = make_pid(0, 1, 2);
    ax_term_t old;

    cr_assert_eq(ax_etf_set_node_name("a@b", 3), 0);
    assert_encodes(pid, 0, "835864000361406200000001000000020000" "0003");
    cr_assert_eq(decoded("835864000361406200000001000000020000" "0003"), pid);
    /* The old name is now a node like any other. */
    old = decoded("8358" NONODE_HEX "000000010000000200000000");
    cr_assert_neq(pid_node(old), 0);
    cr_assert_eq(ax_etf_set_node_name(NULL, 0), AX_EINVAL);
    cr_assert_eq(ax_etf_set_node_name("nonode@nohost", 0), 0);
    cr_assert_eq(decoded("8358" NONODE_HEX "000000010000000200000000"), pid);
}

Test(etf, node_table_full)
{
    char name[16];
    unsigned added = 0;
    int err = 0;
    ax_term_t t;
    char *hex;

    for (unsigned i = 0; i <= PID_NODE_MAX + 1 && !err; i++) {
        snprintf(name, sizeof(name), "n%03u@h", i);
        hex = foreign_pid_hex(name, 1);
        err = decode_hex(hex, &t);
        free(hex);
        if (!err) {
            cr_assert_neq(pid_node(t), 0);
            added++;
        }
    }
    cr_assert_eq(err, AX_ESYSLIMIT);
    cr_assert_leq(added, PID_NODE_MAX);
    /* Known nodes still decode, and the last index now encodes. */
    hex = foreign_pid_hex("n000@h", 1);
    cr_assert_eq(decode_hex(hex, &t), 0);
    free(hex);
    cr_assert_gt(ax_etf_size(make_pid(PID_NODE_MAX, 1, 0), 0), 0);
}

Test(etf, encoding_refuses_unknown_nodes_and_none)
{
    uint8_t *buf = NULL;
    size_t len;

    cr_assert_eq(ax_etf_encode(make_pid(PID_NODE_MAX, 1, 0), 0, &buf, &len),
                 AX_EBADARG);
    cr_assert_eq(ax_etf_size(ax_tuple(h, 2, ATOM_OK, AX_NONE), 0),
                 AX_EBADARG);
    cr_assert_eq(ax_etf_encode(AX_NONE, 0, &buf, &len), AX_EBADARG);
    cr_assert_null(buf);
}

/* --- Malformed input ------------------------------------------------------ */

Test(etf, bad_tags_and_headers)
{
    static const char *const bad[] = {
        "", "83", "8300", "826100", "846101", "8350000000027801",
        "83ff", "834d0000000101ff", "8371", "83660000", "8370",
    };
    ax_term_t t;

    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        cr_assert_eq(decode_hex(bad[i], &t), AX_EBADETF, "'%s'", bad[i]);
}

Test(etf, trailing_bytes_are_left)
{
    static const uint8_t buf[] = {131, 97, 5, 1, 2, 3};
    ax_term_t t;
    size_t used = 0;

    cr_assert_eq(ax_etf_decode(h, buf, sizeof(buf), &t, &used), 0);
    cr_assert_eq(t, make_small(5));
    cr_assert_eq(used, 3);
    cr_assert_eq(ax_etf_decode(h, buf, sizeof(buf), &t, NULL), 0);
}

/* Every proper prefix of hex fails with AX_EBADETF. */
static void assert_prefixes_fail(const uint8_t *buf, size_t n)
{
    for (size_t len = 0; len < n; len++) {
        ax_term_t t;
        int err = ax_etf_decode(h, buf, len, &t, NULL);

        cr_assert_eq(err, AX_EBADETF, "prefix %zu of %zu: %s", len, n,
                     ax_strerror(err));
    }
}

Test(etf, every_truncation_is_refused)
{
    static const char *const hexes[] = {
        "8367" NONODE_HEX "0000002a0000000300",
        "83720003" NONODE_HEX "00" "000000010000000200000003",
        "8365" NONODE_HEX "0000000700",
        "836f00000008010000000000000080",
        "837400000002" "6400026f6b6a" "61016101",
    };
    ax_term_t elems[] = {
        ax_int(h, INT64_MIN), ax_float(h, 2.5), ax_atom("\xce\xbb"),
        ax_binary(h, "bin", 3), make_pid(0, 7, 1), AX_NIL,
        ax_cons(h, ATOM_OK, make_small(300)), ax_map_new(h),
        ax__make_ref(h, 0, 2, (uint32_t[]){1, 2}), byte_list(3)};
    ax_term_t keys[] = {ATOM_OK, ax_tuple_v(h, ARRAY_LEN(elems), elems)};
    ax_term_t vals[] = {ax_list_v(h, ARRAY_LEN(elems), elems), AX_NIL};
    ax_term_t big = ax_map_from(h, 2, keys, vals);
    uint8_t *buf;
    size_t len;

    for (size_t i = 0; i < ARRAY_LEN(hexes); i++) {
        uint8_t *b = from_hex(hexes[i], strlen(hexes[i]), &len);

        assert_prefixes_fail(b, len);
        free(b);
    }
    for (unsigned flags = 0; flags <= AX_ETF_UTF8_ATOMS; flags++) {
        cr_assert_eq(ax_etf_encode(big, flags, &buf, &len), 0);
        assert_prefixes_fail(buf, len);
        free(buf);
    }
}

Test(etf, huge_lengths_are_refused_without_allocating)
{
    static const char *const bad[] = {
        "8369ffffffff",
        "8369ffffffff6101",
        "836cffffffff6a",
        "8374ffffffff61016101",
        "8374800000006101",
        "836dffffffff00",
        "836bffff61",
        "8364ffff61",
        "8376ffff61",
        "8373ff61",
        "836fffffffff0001",
        "835affff" NONODE_HEX,
        "8368ff6101",
        "836c00000003" "69ffffffff" "6101",
        "836c00000002" "6c7fffffff" "6a",
    };
    ax_heap_stats_t stats;
    ax_term_t t;

    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        cr_assert_eq(decode_hex(bad[i], &t), AX_EBADETF, "%s", bad[i]);
    ax_heap_stats(h, &stats);
    cr_assert_eq(stats.heap_size, 0, "the heap grew to %zu words",
                 stats.heap_size);
}

/* Gives every node index a node, as gen_pid() and gen_ref() use any. */
static void fill_node_table(void)
{
    char name[32];
    unsigned index;
    int err = 0;

    for (unsigned i = 0; !err; i++) {
        cr_assert_leq(i, PID_NODE_MAX + 1);
        snprintf(name, sizeof(name), "gen%u@host", i);
        err = ax__etf_node_index(ax_atom(name), 1, &index);
    }
    cr_assert_eq(err, AX_ESYSLIMIT);
}

/* With allocation failing after n calls (AX_TESTING builds; elsewhere
 * nothing fails), encoding and decoding give AX_ENOMEM, until n is large
 * enough for them to succeed. */
Test(etf, out_of_memory_is_an_error)
{
    uint64_t rng = 42;
    ax_term_t elems[8];
    ax_term_t t;
    uint8_t *buf;
    size_t len;
    int err = AX_ENOMEM;

    fill_node_table();
    for (size_t i = 0; i < ARRAY_LEN(elems); i++)
        elems[i] = gen_term(h, &rng, 3);
    t = ax_tuple(h, 2, ax_tuple_v(h, ARRAY_LEN(elems), elems),
                 byte_list(100));
    cr_assert_eq(ax_etf_encode(t, 0, &buf, &len), 0);
    for (long n = 0; err == AX_ENOMEM; n++) {
        ax_heap_t *heap = ax_heap_new();
        uint8_t *again = NULL;
        size_t again_len = 0;

        cr_assert_not_null(heap);
        cr_assert_lt(n, 100000);
        ax__alloc_fail_after(n);
        err = ax_etf_decode(heap, buf, len, &t, NULL);
        if (!err)
            err = ax_etf_encode(t, 0, &again, &again_len);
        ax__alloc_fail_after(-1);
        cr_assert(err == 0 || err == AX_ENOMEM, "%ld: %s", n,
                  ax_strerror(err));
        if (!err)
            cr_assert(again_len == len && memcmp(again, buf, len) == 0);
        free(again);
        ax_heap_free(heap);
    }
    free(buf);
}

/* --- Deep and long terms, on a small stack -------------------------------- */

#define DEEP 100000
#define LONG 1000000

static void *deep_terms(void *arg)
{
    ax_term_t t = AX_NIL;
    ax_term_t *elems = malloc(LONG * sizeof(*elems));

    (void)arg;
    for (int i = 0; i < DEEP; i++)
        t = ax_tuple(h, 1, t);
    assert_round_trip(t, 0);
    t = AX_NIL;
    for (int i = 0; i < DEEP; i++)
        t = ax_cons(h, t, AX_NIL);
    assert_round_trip(t, 0);
    cr_assert_not_null(elems);
    for (int i = 0; i < LONG; i++)
        elems[i] = make_small(i);
    assert_round_trip(ax_list_v(h, LONG, elems), 0);
    free(elems);
    return NULL;
}

Test(etf, deep_and_long_terms_on_a_small_stack, .timeout = 60)
{
    pthread_attr_t attr;
    pthread_t thread;

    cr_assert_eq(pthread_attr_init(&attr), 0);
    cr_assert_eq(pthread_attr_setstacksize(&attr, 256 * 1024), 0);
    cr_assert_eq(pthread_create(&thread, &attr, deep_terms, NULL), 0);
    cr_assert_eq(pthread_join(thread, NULL), 0);
    pthread_attr_destroy(&attr);
}

/* --- Round trips of generated terms ------------------------------------ */

Test(etf, generated_terms_round_trip)
{
    uint64_t rng = UINT64_C(0x5EED0E7F);

    fill_node_table();
    for (int i = 0; i < 2000; i++) {
        uint64_t seed = rng;
        ax_term_t t = gen_term(h, &rng, 4);
        uint8_t *buf;
        size_t len;

        cr_assert_neq(t, AX_NONE);
        for (unsigned flags = 0; flags <= AX_ETF_UTF8_ATOMS; flags++) {
            const char *what = round_trip_error(t, flags);

            cr_assert_null(what, "seed %#llx, flags %u: %s",
                           (unsigned long long)seed, flags, what);
        }
        cr_assert_eq(ax_etf_encode(t, 0, &buf, &len), 0);
        if (len < 300)
            assert_prefixes_fail(buf, len);
        free(buf);
    }
}
