/*
 * test_print_parse.c - the Erlang-syntax printer and parser: the text of
 * each type, escapes, bounds, error messages and their positions, and the
 * round trip print -> parse -> =:= over random terms (gen.h).
 */
#include <criterion/criterion.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax.h"
#include "core/alloc.h"
#include "gen.h"
#include "term/term.h"
#include "heap_util.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

TestSuite(print_parse, .init = heap_setup, .fini = heap_teardown);

/* --- Helpers -------------------------------------------------------------- */

static ax_term_t parse_ok(const char *text)
{
    ax_parse_error_t e = {0};
    ax_term_t t = AX_NONE;
    int rc = ax_parse(h, text, strlen(text), &t, &e);

    cr_assert_eq(rc, 0, "parse of <%s>: %d %d:%d: %s", text, rc, e.line,
                 e.column, e.message);
    return t;
}

/* text parses to a term =:= expect. */
static void check_parse(const char *text, ax_term_t expect)
{
    ax_term_t t = parse_ok(text);
    char *got = ax_format(t, NULL, NULL);

    cr_assert(ax_equal_exact(t, expect), "<%s> parsed as <%s>", text, got);
    free(got);
}

/* t prints as text, with opts, and (unbounded) reads back. */
static void check_print_opts(ax_term_t t, const ax_format_opts_t *opts,
                             const char *text)
{
    size_t len = 0;
    char *s = ax_format(t, opts, &len);

    cr_assert_not_null(s);
    cr_assert_str_eq(s, text);
    cr_assert_eq(len, strlen(text));
    free(s);
    if (!opts)
        check_parse(text, t);
}

static void check_print(ax_term_t t, const char *text)
{
    check_print_opts(t, NULL, text);
}

/* text fails with code, formatted as where ("1:7: expected ..."). */
static void check_error(const char *text, int code, const char *where)
{
    ax_parse_error_t e = {0};
    ax_term_t t = AX_NONE;
    char buf[256];
    int rc = ax_parse(h, text, strlen(text), &t, &e);

    ax_parse_error_format(&e, buf, sizeof(buf));
    cr_assert_eq(rc, code, "<%s>: rc %d, %s", text, rc, buf);
    cr_assert_str_eq(buf, where, "<%s>", text);
}

static ax_term_t atom(const char *s)
{
    ax_term_t a = ax_atom(s);

    cr_assert_neq(a, AX_NONE);
    return a;
}

static ax_term_t atom_n(const char *s, size_t n)
{
    ax_term_t a;

    cr_assert_eq(ax_atom_intern(s, n, &a), 0);
    return a;
}

static ax_term_t num(int64_t v)
{
    return ax_int(h, v);
}

static ax_term_t flt(double v)
{
    return ax_float(h, v);
}

static ax_term_t str(const char *s)
{
    return ax_string(h, s);
}

static ax_term_t list_of(size_t n, const ax_term_t *e)
{
    return ax_list_v(h, n, e);
}

/* --- Printing ------------------------------------------------------------- */

Test(print_parse, print_integers)
{
    check_print(num(0), "0");
    check_print(num(42), "42");
    check_print(num(-7), "-7");
    check_print(num(AX_SMALL_MAX + 1), "576460752303423488");
    check_print(num(INT64_MAX), "9223372036854775807");
    check_print(num(INT64_MIN), "-9223372036854775808");
}

Test(print_parse, print_floats)
{
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {1.0, "1.0"},
        {-1.5, "-1.5"},
        {0.0, "0.0"},
        {-0.0, "-0.0"},
        {0.1, "0.1"},
        {0.30000000000000004, "0.30000000000000004"},
        {1.0 / 3.0, "0.3333333333333333"},
        {3.14159, "3.14159"},
        {10.0, "10.0"},
        {100.0, "100.0"},
        {1000.0, "1.0e3"},
        {12340.0, "12340.0"},
        {123456.0, "123456.0"},
        {123400.0, "1.234e5"},
        {0.001, "0.001"},
        {0.0001, "1.0e-4"},
        {0.000123, "1.23e-4"},
        {1e-10, "1.0e-10"},
        {1e300, "1.0e300"},
        {1.5e300, "1.5e300"},
        {-1.5e-300, "-1.5e-300"},
        {1e16, "1.0e16"},
        {1e23, "1.0e23"},
        {9007199254740992.0, "9.007199254740992e15"},
        {6.02214076e23, "6.02214076e23"},
        {5e-324, "5.0e-324"},
        {DBL_MIN, "2.2250738585072014e-308"},
        {DBL_MAX, "1.7976931348623157e308"},
    };

    for (size_t i = 0; i < COUNT(cases); i++)
        check_print(flt(cases[i].v), cases[i].text);
}

Test(print_parse, print_atoms)
{
    static const struct {
        const char *name;
        const char *text;
    } cases[] = {
        {"ok", "ok"},
        {"true", "true"},
        {"a@b_C9", "a@b_C9"},
        {"nonode@nohost", "nonode@nohost"},
        {"hello world", "'hello world'"},
        {"Hello", "'Hello'"},
        {"_x", "'_x'"},
        {"9a", "'9a'"},
        {"", "''"},
        {"a.b", "'a.b'"},
        {"case", "'case'"},
        {"maybe", "'maybe'"},
        {"else", "'else'"},
        {"andalso", "'andalso'"},
        {"it's", "'it\\'s'"},
        {"a\"b", "'a\"b'"},
        {"back\\slash", "'back\\\\slash'"},
        {"l\ni\tn\re", "'l\\ni\\tn\\re'"},
        {"\x01\x1b\x7f", "'\\x01\\x1B\\x7F'"},
        {"\xc2\x85", "'\\x85'"},
        {"ñandú", "ñandú"},
        {"ßüÿ", "ßüÿ"},
        {"Ärger", "'Ärger'"},
        {"a×b", "'a×b'"},
        {"a÷b", "'a÷b'"},
        {"÷", "'÷'"},
        {"жук", "'жук'"},
        {"日本", "'日本'"},
        {"🙂", "'🙂'"},
        {"a\xc2\xa0z", "'a\xc2\xa0z'"},
    };

    for (size_t i = 0; i < COUNT(cases); i++)
        check_print(atom(cases[i].name), cases[i].text);
    check_print(atom_n("a\0b", 3), "'a\\x00b'");
}

Test(print_parse, print_containers)
{
    ax_term_t e[3] = {num(1), num(2), num(3)};
    ax_term_t keys[2] = {atom("b"), atom("a")};
    ax_term_t vals[2] = {num(2), num(1)};
    ax_term_t inner;

    check_print(ax_tuple(h, 2, atom("a"), num(1)), "{a, 1}");
    check_print(list_of(3, e), "[1, 2, 3]");
    check_print(ax_cons(h, num(1), ax_cons(h, num(2), num(3))), "[1, 2 | 3]");
    check_print(ax_cons(h, num(1), atom("x")), "[1 | x]");
    check_print(ax_map_from(h, 2, keys, vals), "#{a => 1, b => 2}");
    check_print(ax_tuple(h, 0), "{}");
    check_print(AX_NIL, "[]");
    check_print(ax_map_new(h), "#{}");
    inner = ax_tuple(h, 1, ax_map_new(h));
    check_print(ax_tuple(h, 3, AX_NIL, inner, list_of(1, &inner)),
                "{[], {#{}}, [{#{}}]}");
    /* Lists of integers are lists, not strings (strings are binaries). */
    e[0] = num('a');
    e[1] = num('b');
    check_print(list_of(2, e), "[97, 98]");
    keys[0] = ax_tuple(h, 1, num(1));
    keys[1] = flt(1.0);
    vals[0] = str("x");
    check_print(ax_map_from(h, 2, keys, vals), "#{1.0 => 1, {1} => \"x\"}");
}

Test(print_parse, print_binaries)
{
    static const uint8_t bytes[] = {1, 2, 3};
    static const uint8_t bad_utf8[] = {'a', 0xFF};
    static const uint8_t nul[] = {'a', 0, 'b'};
    char big[101];
    char want[103];

    check_print(ax_binary(h, NULL, 0), "<<>>");
    check_print(str("abc"), "\"abc\"");
    check_print(ax_binary(h, bytes, 3), "<<1,2,3>>");
    check_print(ax_binary(h, bad_utf8, 2), "<<97,255>>");
    check_print(ax_binary(h, nul, 3), "<<97,0,98>>");
    check_print(str("a\x7f"), "<<97,127>>");
    check_print(str("\xc2\x85"), "<<194,133>>");
    check_print(str("q\"b\\s\n\t\r'"), "\"q\\\"b\\\\s\\n\\t\\r'\"");
    check_print(str("жé 🙂"), "\"жé 🙂\"");
    /* Off-heap (100 bytes), still a string. */
    memset(big, 'x', 100);
    big[100] = '\0';
    snprintf(want, sizeof(want), "\"%s\"", big);
    check_print(str(big), want);
}

Test(print_parse, print_pids_and_refs)
{
    static const uint32_t w3[] = {1, 2, 3};
    static const uint32_t w5[] = {0, UINT32_MAX, 7, 8, 9};

    check_print(make_pid(0, 42, 0), "<0.42.0>");
    check_print(make_pid(3, PID_NUMBER_MAX, PID_SERIAL_MAX),
                "<3.268435455.16777215>");
    check_print(make_pid(255, 0, 1), "<255.0.1>");
    check_print(ax__make_ref(h, 0, 3, w3), "#Ref<0.3.2.1>");
    check_print(ax__make_ref(h, 7, 1, w3), "#Ref<7.1>");
    check_print(ax__make_ref(h, 255, 5, w5), "#Ref<255.9.8.7.4294967295.0>");
}

Test(print_parse, print_depth_bound)
{
    ax_term_t c = atom("c");
    ax_term_t t =
        ax_tuple(h, 2, atom("a"), ax_tuple(h, 2, atom("b"), list_of(1, &c)));
    ax_format_opts_t o = {.max_depth = 1};

    check_print_opts(t, &o, "{a, ...}");
    o.max_depth = 2;
    check_print_opts(t, &o, "{a, {b, ...}}");
    o.max_depth = 3;
    check_print_opts(t, &o, "{a, {b, [c]}}");
    o.max_depth = 1;
    check_print_opts(ax_cons(h, num(1), ax_tuple(h, 1, c)), &o, "[1 | ...]");
    check_print_opts(num(5), &o, "5");
}

Test(print_parse, print_width_bound)
{
    ax_term_t e[5] = {num(1), num(2), num(3), num(4), num(5)};
    static const uint8_t bytes[] = {1, 2, 3, 4};
    ax_format_opts_t o = {.max_width = 3};

    check_print_opts(list_of(5, e), &o, "[1, 2, 3, ...]");
    check_print_opts(list_of(3, e), &o, "[1, 2, 3]");
    check_print_opts(ax_tuple_v(h, 4, e), &o, "{1, 2, 3, ...}");
    check_print_opts(ax_map_from(h, 4, e, e), &o,
                     "#{1 => 1, 2 => 2, 3 => 3, ...}");
    check_print_opts(ax_cons(h, e[0], ax_cons(h, e[1], e[2])), &o,
                     "[1, 2 | 3]");
    check_print_opts(ax_binary(h, bytes, 4), &o, "<<1,2,3,...>>");
    check_print_opts(ax_binary(h, bytes, 3), &o, "<<1,2,3>>");
    check_print_opts(str("abcdef"), &o, "\"abc...\"");
    check_print_opts(str("abc"), &o, "\"abc\"");
    check_print_opts(str("жжж"), &o, "\"ж...\"");
    o.max_width = 2;
    check_print_opts(ax_tuple(h, 3, atom("a"), atom("b"), atom("c")), &o,
                     "{a, b, ...}");
}

Test(print_parse, print_chars_bound)
{
    ax_term_t e[1000];
    ax_format_opts_t o = {.max_chars = 20};
    size_t len;
    char *s;

    for (size_t i = 0; i < COUNT(e); i++)
        e[i] = num((int64_t)i + 1);
    s = ax_format(list_of(COUNT(e), e), &o, &len);
    cr_assert_not_null(s);
    cr_assert_eq(len, strlen(s));
    cr_assert_leq(len, 23);
    cr_assert_eq(strncmp(s, "[1, 2, 3, 4, 5, 6, 7", 20), 0, "%s", s);
    cr_assert_str_eq(s + len - 3, "...");
    free(s);
    check_print_opts(list_of(3, e), &o, "[1, 2, 3]");
    o.max_chars = 4;
    check_print_opts(str("жжжжж"), &o, "\"ж...");
}

Test(print_parse, print_deep_nesting)
{
    enum { DEPTH = 100000 };
    ax_term_t t = AX_NIL;
    ax_format_opts_t o = {.max_depth = 5};
    size_t len;
    char *s;

    for (int i = 0; i < DEPTH; i++) {
        t = i % 2 ? ax_cons(h, t, AX_NIL) : ax_tuple(h, 1, t);
        cr_assert_neq(t, AX_NONE);
    }
    s = ax_format(t, NULL, &len);
    cr_assert_not_null(s);
    cr_assert_eq(len, 2 * DEPTH + 2);
    cr_assert_eq(strncmp(s, "[{[{", 4), 0);
    cr_assert_eq(memcmp(s + DEPTH - 1, "{[]}", 4), 0);
    cr_assert_str_eq(s + len - 4, "}]}]");
    free(s);
    check_print_opts(t, &o, "[{[{[...]}]}]");
}

Test(print_parse, print_to_file)
{
    char buf[64] = {0};
    FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

    cr_assert_not_null(f);
    cr_assert_eq(ax_print(f, ax_tuple(h, 2, atom("ok"), str("x")), NULL), 0);
    fclose(f);
    cr_assert_str_eq(buf, "{ok, \"x\"}");
}

#ifdef AX_TESTING
Test(print_parse, print_out_of_memory)
{
    ax_term_t e[200];
    char *s;
    bool ok = false;

    for (size_t i = 0; i < COUNT(e); i++)
        e[i] = ax_tuple(h, 1, num((int64_t)i));
    for (long n = 0; !ok; n++) {
        ax__alloc_fail_after(n);
        s = ax_format(list_of(COUNT(e), e), NULL, NULL);
        ax__alloc_fail_after(-1);
        ok = s != NULL;
        free(s);
        cr_assert_lt(n, 100);
    }
    e[0] = atom("x");
    ax__alloc_fail_after(0);
    cr_assert_eq(ax_print(stderr, e[0], NULL), AX_ENOMEM);
    ax__alloc_fail_after(-1);
}
#endif

/* --- Parsing -------------------------------------------------------------- */

Test(print_parse, parse_integers)
{
    check_parse("42", num(42));
    check_parse("-7", num(-7));
    check_parse("- 7", num(-7));
    check_parse("007", num(7));
    check_parse("1_000_000", num(1000000));
    check_parse("16#FF", num(255));
    check_parse("16#ff_ff", num(65535));
    check_parse("-16#10", num(-16));
    check_parse("2#1010", num(10));
    check_parse("36#zz", num(36 * 36 - 1));
    check_parse("$a", num('a'));
    check_parse("$ ", num(' '));
    check_parse("$\\n", num('\n'));
    check_parse("$\\x{1F642}", num(0x1F642));
    check_parse("$ж", num(0x436));
    check_parse("-$a", num(-'a'));
    check_parse("9223372036854775807", num(INT64_MAX));
    check_parse("-9223372036854775808", num(INT64_MIN));
    check_parse("16#7FFFFFFFFFFFFFFF", num(INT64_MAX));
    check_parse("-16#8000000000000000", num(INT64_MIN));
    check_parse("576460752303423488", num(AX_SMALL_MAX + 1));
}

Test(print_parse, parse_integer_errors)
{
    check_error("9223372036854775808", AX_ESYNTAX, "1:1: integer out of range");
    check_error("-9223372036854775809", AX_ESYNTAX,
                "1:2: integer out of range");
    check_error("{1, 99999999999999999999999}", AX_ESYNTAX,
                "1:5: integer out of range");
    check_error("-16#8000000000000001", AX_ESYNTAX,
                "1:2: integer out of range");
    check_error("16#8000000000000000", AX_ESYNTAX, "1:1: integer out of range");
    check_error("37#1", AX_ESYNTAX, "1:1: radix out of range (2..36)");
    check_error("1#1", AX_ESYNTAX, "1:1: radix out of range (2..36)");
    check_error("16#", AX_ESYNTAX, "1:4: expected a digit of base 16");
    check_error("2#2", AX_ESYNTAX, "1:3: expected a digit of base 2");
    check_error("1__0", AX_ESYNTAX, "1:2: trailing input after the term");
    check_error("1_", AX_ESYNTAX, "1:2: trailing input after the term");
    check_error("[1_]", AX_ESYNTAX, "1:3: expected ',', '|' or ']'");
    check_error("$", AX_ESYNTAX, "1:1: expected a character after $");
    check_error("- a", AX_ESYNTAX, "1:3: expected a number");
    check_error("-", AX_ESYNTAX, "1:2: unexpected end of input");
    check_error("--1", AX_ESYNTAX, "1:2: expected a number");
}

Test(print_parse, parse_floats)
{
    ax_term_t t;
    double d;

    check_parse("1.5", flt(1.5));
    check_parse("-1.5e3", flt(-1500.0));
    check_parse("2.0e-5", flt(2.0e-5));
    check_parse("2.0E+5", flt(2.0e5));
    check_parse("1_0.2_5", flt(10.25));
    check_parse("0.1", flt(0.1));
    check_parse("1.0e-400", flt(0.0));
    check_parse("4.9e-324", flt(5e-324));
    check_parse("1.7976931348623157e308", flt(DBL_MAX));
    t = parse_ok("-0.0");
    cr_assert_eq(ax_get_float(t, &d), 0);
    cr_assert(d == 0 && signbit(d));
    cr_assert(!ax_equal_exact(t, flt(0.0)));
    /* Digits on both sides of the dot, as Erlang. */
    check_error("1.e5", AX_ESYNTAX, "1:2: trailing input after the term");
    check_error(".5", AX_ESYNTAX, "1:1: expected a term");
    check_error("1.0e", AX_ESYNTAX, "1:4: trailing input after the term");
    check_error("1.0e999", AX_ESYNTAX, "1:1: float out of range");
    check_error("-1.0e309", AX_ESYNTAX, "1:2: float out of range");
}

Test(print_parse, parse_atoms)
{
    char buf[600];

    check_parse("ok", atom("ok"));
    check_parse("true", ax_bool(true));
    check_parse("a@b_C9", atom("a@b_C9"));
    check_parse("ñandú", atom("ñandú"));
    check_parse("ßÿ", atom("ßÿ"));
    check_parse("'Hello World'", atom("Hello World"));
    check_parse("'case'", atom("case"));
    check_parse("''", atom(""));
    check_parse("'жук🙂'", atom("жук🙂"));
    check_parse("'a\\'b\\\"c\\\\d'", atom("a'b\"c\\d"));
    check_parse("'\\b\\d\\e\\f\\n\\r\\s\\t\\v'", atom("\b\x7f\x1b\f\n\r \t\v"));
    check_parse("'\\101\\1\\0101'", atom("A\x01\b1"));
    check_parse("'\\x41\\x7F\\x{44F}\\x{1F642}\\xe9'", atom("A\x7fя🙂é"));
    check_parse("'\\^a\\^Z\\^@'", atom_n("\x01\x1a\0", 3));
    check_parse("'\\x00'", atom_n("\0", 1));
    check_parse("'multi\nline'", atom("multi\nline"));
    memset(buf, 'a', 255);
    buf[255] = '\0';
    check_parse(buf, atom(buf));
    buf[0] = '\'';
    memset(buf + 1, 'a', 255);
    buf[256] = '\'';
    buf[257] = '\0';
    check_parse(buf, atom_n(buf + 1, 255));
}

Test(print_parse, parse_atom_errors)
{
    char buf[600];

    memset(buf, 'a', 256);
    buf[256] = '\0';
    check_error(buf, AX_ESYNTAX, "1:1: atom too long");
    buf[0] = '\'';
    memset(buf + 1, 'a', 256);
    buf[257] = '\'';
    buf[258] = '\0';
    check_error(buf, AX_ESYNTAX, "1:1: atom too long");
    check_error("{a, 'abc", AX_ESYNTAX, "1:5: unterminated quoted atom");
    check_error("'abc\\", AX_ESYNTAX, "1:1: unterminated quoted atom");
    check_error("'a\\qb'", AX_ESYNTAX, "1:3: bad escape");
    check_error("'\\x{110000}'", AX_ESYNTAX, "1:2: bad escape");
    check_error("'\\x{D800}'", AX_ESYNTAX, "1:2: bad escape");
    check_error("'\\x{12'", AX_ESYNTAX, "1:2: bad escape");
    check_error("'\\x'", AX_ESYNTAX, "1:2: bad escape");
    check_error("'\\^1'", AX_ESYNTAX, "1:2: bad escape");
    check_error("'a\xff'", AX_ESYNTAX, "1:3: invalid UTF-8");
    check_error("'a\xc3'", AX_ESYNTAX, "1:3: invalid UTF-8");
    check_error("case", AX_ESYNTAX, "1:1: 'case' is a reserved word");
    check_error("[a, end]", AX_ESYNTAX, "1:5: 'end' is a reserved word");
    check_error("Foo", AX_ESYNTAX, "1:1: variables are not allowed in a term");
    check_error("{_}", AX_ESYNTAX, "1:2: variables are not allowed in a term");
    check_error("Ärger", AX_ESYNTAX,
                "1:1: variables are not allowed in a term");
    check_error("жук", AX_ESYNTAX, "1:1: expected a term");
    check_error("{a÷b}", AX_ESYNTAX, "1:3: expected ',' or '}'");
}

Test(print_parse, parse_strings)
{
    static const uint8_t nul[] = {'a', 0, 'b'};
    ax_term_t t;

    check_parse("\"abc\"", str("abc"));
    check_parse("\"\"", ax_binary(h, NULL, 0));
    check_parse("\"ab\" \"cd\"", str("abcd"));
    check_parse("\"ab\" % comment\n \"\" \"cd\"", str("abcd"));
    check_parse("[\"a\" \"b\", \"c\"]",
                ax_cons(h, str("ab"), ax_cons(h, str("c"), AX_NIL)));
    check_parse("\"q\\\"b\\\\s\\n\\t\\r'\"", str("q\"b\\s\n\t\r'"));
    check_parse("\"жé 🙂\"", str("жé 🙂"));
    check_parse("\"\\x{44F}\\xe9\\377\"", str("яéÿ"));
    check_parse("\"line\nbreak\"", str("line\nbreak"));
    check_parse("\"a\\x00b\"", ax_binary(h, nul, 3));
    check_parse("\"\\'\"", str("'"));
    cr_assert_eq(ax_parse(h, "\"a\0b\"", 5, &t, NULL), 0);
    cr_assert(ax_equal_exact(t, ax_binary(h, nul, 3)));
}

Test(print_parse, parse_string_errors)
{
    check_error("\"abc", AX_ESYNTAX, "1:1: unterminated string");
    check_error("[1, \"a\\\"]", AX_ESYNTAX, "1:5: unterminated string");
    check_error("\"a\\z\"", AX_ESYNTAX, "1:3: bad escape");
    check_error("\"ab\xc0\x80\"", AX_ESYNTAX, "1:4: invalid UTF-8");
    check_error("\"\xed\xa0\x80\"", AX_ESYNTAX, "1:2: invalid UTF-8");
    check_error("\"ok\" \"\xfe\"", AX_ESYNTAX, "1:7: invalid UTF-8");
}

Test(print_parse, parse_binaries)
{
    static const uint8_t bytes[] = {1, 2, 3};
    static const uint8_t mixed[] = {'a', 'b', 1, 'c', 0, 255};

    check_parse("<<>>", ax_binary(h, NULL, 0));
    check_parse("<<1,2,3>>", ax_binary(h, bytes, 3));
    check_parse("<< 1 , 2 , 3 >>", ax_binary(h, bytes, 3));
    check_parse("<<\"abc\">>", str("abc"));
    check_parse("<<\"ab\", 1, \"c\", 0, 255>>", ax_binary(h, mixed, 6));
    check_parse("<<\"a\" \"b\", 1, $c, -0, 16#FF>>", ax_binary(h, mixed, 6));
    check_parse("<<\"\">>", ax_binary(h, NULL, 0));
    check_parse("<<\"\", \"\">>", ax_binary(h, NULL, 0));
    check_parse("<<\"ж\">>", str("ж"));
    check_parse("{<<\"x\">>, \"y\"}", ax_tuple(h, 2, str("x"), str("y")));
    check_error("<<256>>", AX_ESYNTAX, "1:3: byte out of range (0..255)");
    check_error("<<1, -1>>", AX_ESYNTAX, "1:6: byte out of range (0..255)");
    check_error("<<a>>", AX_ESYNTAX, "1:3: expected an integer or a string");
    check_error("<<1 2>>", AX_ESYNTAX, "1:5: expected ',' or '>>'");
    check_error("<<1,>>", AX_ESYNTAX, "1:5: expected an integer or a string");
    check_error("<<-a>>", AX_ESYNTAX, "1:4: expected an integer");
    check_error("<<1.5>>", AX_ESYNTAX, "1:3: expected an integer or a string");
    check_error("<<1", AX_ESYNTAX, "1:4: unexpected end of input");
    check_error("<<<<>>>>", AX_ESYNTAX, "1:3: expected an integer or a string");
}

Test(print_parse, parse_containers)
{
    ax_term_t e[3] = {num(1), num(2), num(3)};
    ax_term_t keys[2] = {atom("a"), atom("b")};
    ax_term_t vals[2] = {num(3), str("x")};
    ax_term_t inner;

    check_parse("{a, 1}", ax_tuple(h, 2, atom("a"), num(1)));
    check_parse("{a,1}", ax_tuple(h, 2, atom("a"), num(1)));
    check_parse("{}", ax_tuple(h, 0));
    check_parse("{ }", ax_tuple(h, 0));
    check_parse("[]", AX_NIL);
    check_parse("[ ]", AX_NIL);
    check_parse("[1, 2, 3]", list_of(3, e));
    check_parse("[1, 2 | [3]]", list_of(3, e));
    check_parse("[1 | [2 | [3 | []]]]", list_of(3, e));
    check_parse("[1, 2 | 3]", ax_cons(h, e[0], ax_cons(h, e[1], e[2])));
    check_parse("[1|x]", ax_cons(h, e[0], atom("x")));
    check_parse("#{}", ax_map_new(h));
    check_parse("#{a => 1, b => \"x\", a => 3}", ax_map_from(h, 2, keys, vals));
    check_parse("#{b=>\"x\",a=>3}", ax_map_from(h, 2, keys, vals));
    inner = ax_map_put(h, ax_map_new(h), ax_tuple(h, 1, e[0]), AX_NIL);
    inner = ax_map_put(h, ax_map_put(h, inner, flt(1.0), e[0]), e[0], e[1]);
    check_parse("#{{1} => [], 1.0 => 1, 1 => 2}", inner);
    check_parse(" % leading comment\n { a % in between\n , [ ] } % end",
                ax_tuple(h, 2, atom("a"), AX_NIL));
    check_parse("\t{\r\n1\f,\v2}\n", ax_tuple(h, 2, e[0], e[1]));
    inner = ax_cons(h, ax_binary(h, NULL, 0), AX_NIL);
    inner = ax_map_from(h, 1, keys, &inner);
    inner = ax_cons(h, ax_tuple(h, 1, inner), AX_NIL);
    check_parse("{[{#{a => [<<>>]}}]}", ax_tuple(h, 1, inner));
}

Test(print_parse, parse_container_errors)
{
    check_error("{a, 1 b}", AX_ESYNTAX, "1:7: expected ',' or '}'");
    check_error("{a,\n  1 b}", AX_ESYNTAX, "2:5: expected ',' or '}'");
    check_error("{a", AX_ESYNTAX, "1:3: unexpected end of input");
    check_error("{a,", AX_ESYNTAX, "1:4: unexpected end of input");
    check_error("{,}", AX_ESYNTAX, "1:2: expected a term");
    check_error("{a,}", AX_ESYNTAX, "1:4: expected a term");
    check_error("[1 2]", AX_ESYNTAX, "1:4: expected ',', '|' or ']'");
    check_error("[1,]", AX_ESYNTAX, "1:4: expected a term");
    check_error("[1 | 2, 3]", AX_ESYNTAX, "1:7: expected ']'");
    check_error("[1 | ]", AX_ESYNTAX, "1:6: expected a term");
    check_error("[|1]", AX_ESYNTAX, "1:2: expected a term");
    check_error("#{a}", AX_ESYNTAX, "1:4: expected '=>'");
    check_error("#{a => 1 b}", AX_ESYNTAX, "1:10: expected ',' or '}'");
    check_error("#{a => }", AX_ESYNTAX, "1:8: expected a term");
    check_error("#{a => 1,}", AX_ESYNTAX, "1:10: expected a term");
    check_error("#{a := 1}", AX_ESYNTAX, "1:5: expected '=>'");
    check_error("{a]", AX_ESYNTAX, "1:3: expected ',' or '}'");
    check_error("(1)", AX_ESYNTAX, "1:1: expected a term");
    check_error("{1.}", AX_ESYNTAX, "1:3: expected ',' or '}'");
    check_error("{a}}", AX_ESYNTAX, "1:4: trailing input after the term");
    check_error("1 2", AX_ESYNTAX, "1:3: trailing input after the term");
    check_error("", AX_ESYNTAX, "1:1: unexpected end of input");
    check_error("  % only a comment\n", AX_ESYNTAX,
                "2:1: unexpected end of input");
    check_error("#", AX_ESYNTAX, "1:1: expected a term");
    check_error("=", AX_ESYNTAX, "1:1: expected a term");
    check_error("\xff", AX_ESYNTAX, "1:1: invalid UTF-8");
    check_error("{a,\n\n   \x80}", AX_ESYNTAX, "3:4: invalid UTF-8");
}

Test(print_parse, parse_pids_and_refs)
{
    static const uint32_t w3[] = {3, 2, 1};
    static const uint32_t w5[] = {0, UINT32_MAX, 7, 8, 9};

    check_parse("<0.42.0>", make_pid(0, 42, 0));
    check_parse("<255.268435455.16777215>",
                make_pid(255, PID_NUMBER_MAX, PID_SERIAL_MAX));
    check_parse("[<1.2.3>]", ax_cons(h, make_pid(1, 2, 3), AX_NIL));
    check_parse("#Ref<0.1.2.3>", ax__make_ref(h, 0, 3, w3));
    check_parse("#Ref<255.9.8.7.4294967295.0>", ax__make_ref(h, 255, 5, w5));
    check_parse("#Ref<0.5>", ax__make_ref(h, 0, 1, (uint32_t[]){5}));
    check_error("<256.0.0>", AX_ESYNTAX, "1:1: pid out of range");
    check_error("<0.268435456.0>", AX_ESYNTAX, "1:1: pid out of range");
    check_error("<0.0.16777216>", AX_ESYNTAX, "1:1: pid out of range");
    check_error("<0.0.99999999999999999999999>", AX_ESYNTAX,
                "1:1: pid out of range");
    check_error("<0.1>", AX_ESYNTAX, "1:1: malformed pid");
    check_error("<0.1.2.3>", AX_ESYNTAX, "1:1: malformed pid");
    check_error("<0. 1.2>", AX_ESYNTAX, "1:1: malformed pid");
    check_error("<0.1.2", AX_ESYNTAX, "1:1: malformed pid");
    check_error("<a>", AX_ESYNTAX, "1:1: expected a term");
    check_error("#Ref<0>", AX_ESYNTAX, "1:1: malformed reference");
    check_error("#Ref<0.1.2.3.4.5.6>", AX_ESYNTAX, "1:1: malformed reference");
    check_error("#Ref<0.4294967296>", AX_ESYNTAX,
                "1:1: reference out of range");
    check_error("#Ref<256.1>", AX_ESYNTAX, "1:1: reference out of range");
    check_error("#Ref<0.1", AX_ESYNTAX, "1:1: malformed reference");
    check_error("#Ref", AX_ESYNTAX, "1:1: expected a term");
}

/* n opening brackets, a, n closing ones. */
static size_t nest(char *text, size_t n)
{
    memset(text, '{', n);
    text[n] = 'a';
    memset(text + n + 1, '}', n);
    return 2 * n + 1;
}

Test(print_parse, parse_depth_limit)
{
    enum { BIG = 100000 };
    char *text = malloc(2 * BIG + 1);
    ax_parse_error_t e;
    ax_term_t t;
    size_t len;

    cr_assert_not_null(text);
    len = nest(text, AX_PARSE_MAX_DEPTH);
    cr_assert_eq(ax_parse(h, text, len, &t, &e), 0);
    len = nest(text, AX_PARSE_MAX_DEPTH + 1);
    cr_assert_eq(ax_parse(h, text, len, &t, &e), AX_ESYSLIMIT);
    cr_assert_eq(e.line, 1);
    cr_assert_eq(e.column, AX_PARSE_MAX_DEPTH + 1);
    cr_assert_str_eq(e.message, "nesting too deep");
    memset(text, '[', 2 * BIG);
    cr_assert_eq(ax_parse(h, text, 2 * BIG, &t, &e), AX_ESYSLIMIT);
    free(text);
}

Test(print_parse, parse_full_stop)
{
    check_parse("1.", num(1));
    check_parse("{a}.\n", ax_tuple(h, 1, atom("a")));
    check_parse("x. % done\n\n", atom("x"));
    check_parse("x.%done", atom("x"));
    check_parse("1.5.", flt(1.5));
    check_error("x. y", AX_ESYNTAX, "1:4: trailing input after the term");
    check_error("x..", AX_ESYNTAX, "1:2: trailing input after the term");
    check_error("x.y", AX_ESYNTAX, "1:2: trailing input after the term");
    check_error(". ", AX_ESYNTAX, "1:1: expected a term");
}

Test(print_parse, parse_next_reads_a_file_of_terms)
{
    static const char text[] = "% config\n{a, 1}.\n[b]. 3.\n\"s\".% x\n"
                               "  % trailing comment\n";
    size_t pos = 0;
    ax_term_t t[4];
    ax_parse_error_t e;
    size_t len = strlen(text);

    for (int i = 0; i < 4; i++)
        cr_assert_eq(ax_parse_next(h, text, len, &pos, &t[i], &e), 1, "%d", i);
    cr_assert(ax_equal_exact(t[0], ax_tuple(h, 2, atom("a"), num(1))));
    cr_assert(ax_equal_exact(t[1], ax_cons(h, atom("b"), AX_NIL)));
    cr_assert(ax_equal_exact(t[2], num(3)));
    cr_assert(ax_equal_exact(t[3], str("s")));
    cr_assert_eq(ax_parse_next(h, text, len, &pos, &t[0], &e), 0);
    cr_assert_eq(ax_parse_next(h, text, len, &pos, &t[0], &e), 0);
    pos = 0;
    cr_assert_eq(ax_parse_next(h, "", 0, &pos, &t[0], &e), 0);
    cr_assert_eq(ax_parse_next(h, "x", 1, &pos, &t[0], NULL), AX_ESYNTAX);
    cr_assert_eq(pos, 0);
}

Test(print_parse, parse_next_errors)
{
    static const char text[] = "ok.\n{a, b} c.\n";
    size_t pos = 0;
    ax_term_t t;
    ax_parse_error_t e;
    char buf[80];

    cr_assert_eq(ax_parse_next(h, text, strlen(text), &pos, &t, &e), 1);
    cr_assert_eq(pos, 3);
    cr_assert_eq(ax_parse_next(h, text, strlen(text), &pos, &t, &e),
                 AX_ESYNTAX);
    ax_parse_error_format(&e, buf, sizeof(buf));
    cr_assert_str_eq(buf, "2:8: expected '.'");
    cr_assert_eq(pos, 3);
    pos = 0;
    cr_assert_eq(ax_parse_next(h, "x", 1, &pos, &t, &e), AX_ESYNTAX);
    ax_parse_error_format(&e, buf, sizeof(buf));
    cr_assert_str_eq(buf, "1:2: unexpected end of input");
    cr_assert_eq(ax_parse_next(h, "x.y", 3, &pos, &t, &e), AX_ESYNTAX);
    ax_parse_error_format(&e, buf, sizeof(buf));
    cr_assert_str_eq(buf, "1:2: expected '.'");
    pos = 4;
    cr_assert_eq(ax_parse_next(h, "x.", 2, &pos, &t, &e), AX_EINVAL);
}

Test(print_parse, parse_error_format)
{
    ax_parse_error_t e = {.line = 12, .column = 345};
    char buf[8];

    snprintf(e.message, sizeof(e.message), "expected a term");
    ax_parse_error_format(&e, buf, sizeof(buf));
    cr_assert_str_eq(buf, "12:345:");
    buf[0] = 'z';
    ax_parse_error_format(&e, buf, 0);
    cr_assert_eq(buf[0], 'z');
    ax_parse_error_format(&e, buf, 1);
    cr_assert_str_eq(buf, "");
}

Test(print_parse, parse_odd_bytes)
{
    ax_term_t t;

    /* NUL and other control bytes are white space, as in erl_scan. */
    cr_assert_eq(ax_parse(h, "{a,\0b}", 6, &t, NULL), 0);
    cr_assert(ax_equal_exact(t, ax_tuple(h, 2, atom("a"), atom("b"))));
    cr_assert_eq(ax_parse(h, "\x01x\x1f", 3, &t, NULL), 0);
    cr_assert_eq(ax_parse(h, "\xc2\xa0x\xc2\x85", 5, &t, NULL), 0);
    cr_assert_eq(t, atom("x"));
    cr_assert_eq(ax_parse(h, NULL, 0, &t, NULL), AX_ESYNTAX);
    /* Only len bytes are read: what follows is not there. */
    cr_assert_eq(ax_parse(h, "[1, 2]", 5, &t, NULL), AX_ESYNTAX);
    cr_assert_eq(ax_parse(h, "'abc'", 4, &t, NULL), AX_ESYNTAX);
    cr_assert_eq(ax_parse(h, "16#FF", 3, &t, NULL), AX_ESYNTAX);
    cr_assert_eq(ax_parse(h, "<0.1.2>", 6, &t, NULL), AX_ESYNTAX);
    cr_assert_eq(ax_parse(h, "\"\\x{41}\"", 6, &t, NULL), AX_ESYNTAX);
}

#ifdef AX_TESTING
Test(print_parse, parse_out_of_memory)
{
    static const char text[] =
        "{ok, [1, 2.5, \"a string long enough to live off the heap, "
        "that is, more than sixty-four bytes\", <<1,2>>], "
        "#{k => v, 'new atom for oom test' => #Ref<0.1.2.3>}, "
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
        "x]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
        ", 1.0e10, 123456789012345678}";
    ax_term_t t;
    ax_parse_error_t e;
    int rc = AX_ENOMEM;

    /* The atom table's first use must not fail: it would stay broken. */
    cr_assert_neq(ax_atom("ok"), AX_NONE);
    for (long n = 0; rc; n++) {
        ax_heap_t *fresh = ax_heap_new();

        cr_assert_not_null(fresh);
        ax__alloc_fail_after(n);
        rc = ax_parse(fresh, text, strlen(text), &t, &e);
        ax__alloc_fail_after(-1);
        cr_assert(rc == 0 || rc == AX_ENOMEM, "%ld: %d %s", n, rc, e.message);
        if (!rc)
            cr_assert(ax_equal_exact(t, parse_ok(text)));
        ax_heap_free(fresh);
        cr_assert_lt(n, 1000);
    }
}
#endif

/* --- Round trip ----------------------------------------------------------- */

/* The first seed of the random tests: AX_SEED in the environment, or a
 * fixed one. A failure names its seed: AX_SEED=that replays it first. */
static uint64_t first_seed(void)
{
    const char *s = getenv("AX_SEED");

    return s ? strtoull(s, NULL, 0) : UINT64_C(0x61785f7072696e74);
}

/* Prints t and parses it back onto heap: it must be =:= to t. */
static void check_round_trip(ax_heap_t *heap, ax_term_t t, uint64_t seed)
{
    ax_parse_error_t e = {0};
    ax_term_t back = AX_NONE;
    size_t len;
    char *text = ax_format(t, NULL, &len);
    int rc;

    cr_assert_not_null(text, "seed %" PRIu64, seed);
    rc = ax_parse(heap, text, len, &back, &e);
    if (rc != 0 || !ax_equal_exact(t, back)) {
        fprintf(stderr, "seed %" PRIu64 ": rc %d, %d:%d: %s; text:\n%s\n", seed,
                rc, e.line, e.column, e.message, text);
        free(text);
        cr_assert_fail("round trip failed, seed %" PRIu64, seed);
    }
    free(text);
}

Test(print_parse, roundtrip_random_terms, .timeout = 600)
{
    enum { TERMS = 100000 };
    uint64_t seed = first_seed();

    for (int i = 0; i < TERMS; i++, seed++) {
        uint64_t rng = seed;
        ax_heap_t *heap = ax_heap_new();
        ax_term_t t = gen_term(heap, &rng, (int)gen_below(&rng, 6));

        cr_assert_neq(t, AX_NONE, "seed %" PRIu64, seed);
        check_round_trip(heap, t, seed);
        ax_heap_free(heap);
    }
}

Test(print_parse, roundtrip_deep_terms, .timeout = 600)
{
    uint64_t seed = first_seed();

    for (int i = 0; i < 20; i++, seed++) {
        uint64_t rng = seed;
        ax_heap_t *heap = ax_heap_new();
        int levels =
            i == 0 ? AX_PARSE_MAX_DEPTH - 1 : 2000 + (int)gen_below(&rng, 3000);
        ax_term_t t = gen_deep(heap, &rng, levels);

        cr_assert_neq(t, AX_NONE, "seed %" PRIu64, seed);
        check_round_trip(heap, t, seed);
        ax_heap_free(heap);
    }
}

/* Bounded prints of random terms stay within their bounds, and a bound
 * that cuts nothing changes nothing. */
Test(print_parse, bounded_random_terms, .timeout = 600)
{
    uint64_t seed = first_seed();

    for (int i = 0; i < 20000; i++, seed++) {
        uint64_t rng = seed;
        ax_heap_t *heap = ax_heap_new();
        ax_term_t t = gen_term(heap, &rng, (int)gen_below(&rng, 6));
        ax_format_opts_t o = {gen_below(&rng, 6), gen_below(&rng, 6),
                              gen_below(&rng, 200)};
        size_t len;
        size_t full_len;
        char *s = ax_format(t, &o, &len);
        char *full = ax_format(t, NULL, &full_len);

        cr_assert(s && full, "seed %" PRIu64, seed);
        cr_assert_eq(len, strlen(s), "seed %" PRIu64, seed);
        if (o.max_chars)
            cr_assert_leq(len, o.max_chars + 3, "seed %" PRIu64, seed);
        if (o.max_chars && !o.max_depth && !o.max_width &&
            full_len <= o.max_chars)
            cr_assert_str_eq(s, full, "seed %" PRIu64, seed);
        if (!o.max_depth && !o.max_width && full_len > o.max_chars &&
            o.max_chars)
            cr_assert_str_eq(s + len - 3, "...", "seed %" PRIu64, seed);
        free(s);
        free(full);
        ax_heap_free(heap);
    }
}
