/*
 * test_term.c - terms: construction, access, atoms, order, equality,
 * hashing and arithmetic.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ax.h"
#include "term/atom.h"
#include "term/term.h"
#include "heap_util.h"

TestSuite(term, .init = heap_setup, .fini = heap_teardown);

Test(term, small_and_boxed_integers)
{
    static const int64_t values[] = {
        0, 1, -1, AX_SMALL_MAX, AX_SMALL_MIN, AX_SMALL_MAX + 1,
        AX_SMALL_MIN - 1, INT64_MAX, INT64_MIN};

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        ax_term_t t = ax_int(h, values[i]);
        int64_t v;

        cr_assert(ax_is_int(t));
        cr_assert_eq(ax_typeof(t), AX_T_INT);
        cr_assert_eq(ax_get_int(t, &v), 0);
        cr_assert_eq(v, values[i]);
        cr_assert_eq(term_is_small(t),
                     values[i] >= AX_SMALL_MIN && values[i] <= AX_SMALL_MAX);
    }
}

Test(term, floats_refuse_non_finite)
{
    double d;

    cr_assert_eq(ax_float(h, NAN), AX_NONE);
    cr_assert_eq(ax_float(h, INFINITY), AX_NONE);
    cr_assert_eq(ax_get_float(ax_float(h, -2.5), &d), 0);
    cr_assert_eq(d, -2.5);
    cr_assert_eq(ax_typeof(ax_float(h, 0.0)), AX_T_FLOAT);
}

Test(term, atoms_are_interned)
{
    ax_term_t a = ax_atom("hello");
    ax_term_t b;
    size_t len;

    cr_assert_eq(ax_atom_intern("hello", 5, &b), 0);
    cr_assert_eq(a, b);
    cr_assert_str_eq(ax_atom_text(a, &len), "hello");
    cr_assert_eq(len, 5);
    cr_assert_eq(ax_atom("ok"), ATOM_OK);
    cr_assert_eq(ax_atom("EXIT"), make_atom(ATOM_IDX_EXIT));
    cr_assert_eq(ax_atom_existing("never-made-here-xyz", 19), AX_NONE);
    cr_assert_eq(ax_atom_existing("hello", 5), a);
}

Test(term, atom_limits)
{
    char buf[300];
    ax_term_t a;

    memset(buf, 'x', sizeof(buf));
    cr_assert_eq(ax_atom_intern(buf, 255, &a), 0);
    cr_assert_eq(ax_atom_intern(buf, 256, &a), AX_ESYSLIMIT);
    cr_assert_eq(ax_atom_intern("\xff\xfe", 2, &a), AX_EBADARG);
    /* 255 characters of two bytes each are fine. */
    for (int i = 0; i < 150; i++)
        memcpy(buf + 2 * i, "\xc3\xa9", 2);
    cr_assert_eq(ax_atom_intern(buf, 300, &a), 0);
    cr_assert(ax__atom_is_latin1(a));
    cr_assert_eq(ax_atom_set_limit(10), AX_EINVAL); /* table exists */
}

Test(term, atom_latin1_conversion)
{
    ax_term_t a;
    ax_term_t b;

    cr_assert_eq(ax__atom_intern_latin1((const uint8_t *)"\xfcnic", 4, &a),
                 0);
    cr_assert_eq(ax_atom_intern("\xc3\xbcnic", 5, &b), 0);
    cr_assert_eq(a, b);
    cr_assert_not(ax__atom_is_latin1(ax_atom("\xe2\x82\xac")));
}

Test(term, tuples_and_records)
{
    ax_term_t t = ax_tuple(h, 3, ATOM_OK, make_small(1), AX_NIL);
    ax_term_t e = ax_tuple(h, 0);

    cr_assert(ax_is_tuple(t));
    cr_assert_eq(ax_tuple_size(t), 3);
    cr_assert_eq(ax_tuple_get(t, 0), ATOM_OK);
    cr_assert_eq(ax_tuple_get(t, 3), AX_NONE);
    cr_assert(ax_is_record(t, ATOM_OK, 3));
    cr_assert_not(ax_is_record(t, ATOM_OK, 2));
    cr_assert_eq(ax_tuple_size(e), 0);
    cr_assert(ax_is_tuple(e));
}

Test(term, lists)
{
    ax_term_t elems[] = {make_small(1), make_small(2), make_small(3)};
    ax_term_t l = ax_list_v(h, 3, elems);
    ax_term_t improper = ax_cons(h, make_small(1), make_small(2));

    cr_assert_eq(ax_list_length(l), 3);
    cr_assert_eq(ax_head(l), make_small(1));
    cr_assert_eq(ax_head(ax_tail(ax_tail(l))), make_small(3));
    cr_assert_eq(ax_tail(ax_tail(ax_tail(l))), AX_NIL);
    cr_assert_eq(ax_list_length(improper), -1);
    cr_assert(ax_is_list(AX_NIL));
    cr_assert_not(ax_is_cons(AX_NIL));
    cr_assert_eq(ax_list_v(h, 0, NULL), AX_NIL);
}

Test(term, binaries_small_and_shared)
{
    char big[200];
    size_t len;
    ax_term_t s = ax_string(h, "abc");
    ax_term_t b;
    ax_heap_stats_t st;

    memset(big, 'z', sizeof(big));
    b = ax_binary(h, big, sizeof(big));
    cr_assert_eq(boxed_type(s), HDR_HEAPBIN);
    cr_assert_eq(boxed_type(b), HDR_REFBIN);
    cr_assert_eq(memcmp(ax_binary_data(s, &len), "abc", 3), 0);
    cr_assert_eq(len, 3);
    cr_assert_eq(memcmp(ax_binary_data(b, &len), big, sizeof(big)), 0);
    cr_assert_eq(len, sizeof(big));
    ax_heap_stats(h, &st);
    cr_assert_eq(st.offheap_bytes, sizeof(big));
    cr_assert_eq(ax_binary_data(ax_atom("x"), &len), NULL);
}

Test(term, maps)
{
    ax_term_t keys[] = {ax_atom("b"), ax_atom("a"), make_small(1),
                        ax_atom("a")};
    ax_term_t vals[] = {make_small(2), make_small(1), ATOM_OK,
                        make_small(9)};
    ax_term_t m = ax_map_from(h, 4, keys, vals);
    ax_term_t k;
    ax_term_t v;
    ax_term_t m2;

    cr_assert_eq(ax_map_size(m), 3);
    cr_assert_eq(ax_map_get(m, ax_atom("a")), make_small(9)); /* last wins */
    cr_assert(ax_map_pair(m, 0, &k, &v));
    cr_assert_eq(k, make_small(1)); /* numbers sort before atoms */
    m2 = ax_map_put(h, m, ax_atom("c"), make_small(3));
    cr_assert_eq(ax_map_size(m2), 4);
    cr_assert_eq(ax_map_size(m), 3);
    cr_assert_eq(ax_map_get(m2, ax_atom("c")), make_small(3));
    m2 = ax_map_put(h, m2, ax_atom("a"), make_small(0));
    cr_assert_eq(ax_map_get(m2, ax_atom("a")), make_small(0));
    m2 = ax_map_remove(h, m2, ax_atom("b"));
    cr_assert_eq(ax_map_size(m2), 3);
    cr_assert_eq(ax_map_get(m2, ax_atom("b")), AX_NONE);
    cr_assert_eq(ax_map_remove(h, m2, ax_atom("zz")), m2);
    /* Keys match exactly: 1.0 is not the key 1. */
    cr_assert_eq(ax_map_get(m, ax_float(h, 1.0)), AX_NONE);
}

Test(term, type_order)
{
    /* number < atom < reference < pid < tuple < map < [] < list < binary */
    uint32_t w[3] = {1, 2, 3};
    ax_term_t order[] = {
        ax_int(h, 5),
        ax_atom("a"),
        ax__make_ref(h, 0, 3, w),
        make_pid(0, 1, 0),
        ax_tuple(h, 0),
        ax_map_new(h),
        AX_NIL,
        ax_cons(h, make_small(1), AX_NIL),
        ax_string(h, ""),
    };
    size_t n = sizeof(order) / sizeof(order[0]);

    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            cr_assert_eq(ax_compare(order[i], order[j]),
                         i < j ? -1 : i > j, "%zu vs %zu", i, j);
}

Test(term, numbers_compare_by_value)
{
    ax_term_t one = make_small(1);
    ax_term_t onef = ax_float(h, 1.0);
    ax_term_t big = ax_int(h, INT64_MAX);
    ax_term_t bigf = ax_float(h, 9223372036854775807.0); /* 2^63 */

    cr_assert(ax_equal(one, onef));
    cr_assert_not(ax_equal_exact(one, onef));
    cr_assert_eq(ax_compare(one, onef), 0);
    cr_assert_eq(ax_compare_exact(one, onef), -1);
    cr_assert_eq(ax_compare_exact(onef, one), 1);
    cr_assert_eq(ax_compare(big, bigf), -1); /* exact, no rounding */
    cr_assert_eq(ax_compare(ax_float(h, 1.5), make_small(1)), 1);
    cr_assert_eq(ax_compare(ax_float(h, -1.5), make_small(-1)), -1);
    cr_assert(ax_equal(ax_float(h, 0.0), ax_float(h, -0.0)));
    cr_assert_not(ax_equal_exact(ax_float(h, 0.0), ax_float(h, -0.0)));
}

Test(term, containers_compare)
{
    ax_term_t a = ax_tuple(h, 2, make_small(1), ax_atom("b"));
    ax_term_t b = ax_tuple(h, 2, make_small(1), ax_atom("c"));
    ax_term_t c = ax_tuple(h, 1, make_small(9));
    ax_term_t l1 = ax_cons(h, make_small(1), AX_NIL);
    ax_term_t l2 = ax_cons(h, make_small(1), ax_cons(h, make_small(0),
                                                     AX_NIL));
    ax_term_t mk1[] = {make_small(1)};
    ax_term_t mk2[] = {ax_float(h, 1.0)};
    ax_term_t mv[] = {ATOM_OK};

    cr_assert_eq(ax_compare(a, b), -1);
    cr_assert_eq(ax_compare(c, a), -1); /* smaller tuples first */
    cr_assert_eq(ax_compare(l1, l2), -1);
    cr_assert_eq(ax_compare(ax_string(h, "ab"), ax_string(h, "abc")), -1);
    cr_assert_eq(ax_compare(ax_string(h, "b"), ax_string(h, "abc")), 1);
    /* Map keys compare exactly even under ==. */
    cr_assert_not(ax_equal(ax_map_from(h, 1, mk1, mv),
                           ax_map_from(h, 1, mk2, mv)));
    cr_assert(ax_equal(ax_tuple(h, 1, make_small(1)),
                       ax_tuple(h, 1, ax_float(h, 1.0))));
}

Test(term, deep_terms_compare_and_hash_without_recursion)
{
    ax_term_t a = AX_NIL;
    ax_term_t b = AX_NIL;

    for (int i = 0; i < 200000; i++) {
        a = ax_tuple(h, 1, a);
        b = ax_tuple(h, 1, b);
    }
    cr_assert(ax_equal_exact(a, b));
    cr_assert_eq(ax_hash(a), ax_hash(b));
}

Test(term, hash_agrees_with_exact_equality)
{
    ax_heap_t *other = ax_heap_new();
    ax_term_t k[] = {ax_atom("x"), make_small(7)};
    ax_term_t v[] = {ax_string(h, "v"), ax_float(h, 2.5)};
    ax_term_t t = ax_tuple(h, 3, ax_map_from(h, 2, k, v),
                           ax_cons(h, ax_int(h, INT64_MIN), AX_NIL),
                           ax_string(h, "0123456789012345678901234567890123"
                                        "456789012345678901234567890123"));
    ax_term_t u = ax_copy(other, t);

    cr_assert_neq(t, u);
    cr_assert(ax_equal_exact(t, u));
    cr_assert_eq(ax_hash(t), ax_hash(u));
    cr_assert_neq(ax_hash(make_small(1)), ax_hash(ax_float(h, 1.0)));
    cr_assert_neq(ax_hash(ax_tuple(h, 1, AX_NIL)),
                  ax_hash(ax_cons(h, AX_NIL, AX_NIL)));
    ax_heap_free(other);
}

Test(term, arithmetic_overflow_is_badarith)
{
    ax_term_t r;
    int64_t v;
    double d;

    cr_assert_eq(ax_arith(h, AX_OP_ADD, ax_int(h, INT64_MAX), make_small(1),
                          &r),
                 AX_EBADARITH);
    cr_assert_eq(ax_arith(h, AX_OP_MUL, ax_int(h, INT64_MIN),
                          make_small(-1), &r),
                 AX_EBADARITH);
    cr_assert_eq(ax_arith(h, AX_OP_DIV, ax_int(h, INT64_MIN),
                          make_small(-1), &r),
                 AX_EBADARITH);
    cr_assert_eq(ax_arith(h, AX_OP_DIV, make_small(1), make_small(0), &r),
                 AX_EBADARITH);
    cr_assert_eq(ax_arith(h, AX_OP_ADD, ATOM_OK, make_small(0), &r),
                 AX_EBADARITH);
    cr_assert_eq(ax_negate(h, ax_int(h, INT64_MIN), &r), AX_EBADARITH);
    cr_assert_eq(ax_arith(h, AX_OP_ADD, ax_int(h, AX_SMALL_MAX),
                          make_small(1), &r),
                 0);
    cr_assert_eq(ax_get_int(r, &v), 0);
    cr_assert_eq(v, AX_SMALL_MAX + 1);
    cr_assert_eq(ax_arith(h, AX_OP_REM, make_small(-7), make_small(2), &r),
                 0);
    cr_assert_eq(r, make_small(-1));
    cr_assert_eq(ax_arith(h, AX_OP_DIV, make_small(-7), make_small(2), &r),
                 0);
    cr_assert_eq(r, make_small(-3));
    cr_assert_eq(ax_arith(h, AX_OP_FDIV, make_small(1), make_small(4), &r),
                 0);
    cr_assert_eq(ax_get_float(r, &d), 0);
    cr_assert_eq(d, 0.25);
    cr_assert(ax_is_float(r));
    cr_assert_eq(ax_arith(h, AX_OP_MUL, ax_float(h, 1e300),
                          ax_float(h, 1e300), &r),
                 AX_EBADARITH);
    cr_assert_eq(ax_arith(h, AX_OP_REM, ax_float(h, 1.0), make_small(2), &r),
                 AX_EBADARITH);
}

Test(term, errors_have_names)
{
    cr_assert_str_eq(ax_strerror(AX_EBADARITH),
                     "bad argument in arithmetic expression");
    cr_assert_str_eq(ax_err_name(AX_ESYSLIMIT), "ESYSLIMIT");
    cr_assert_str_eq(ax_err_reason(AX_ESYSLIMIT), "system_limit");
    cr_assert_str_eq(ax_strerror(12345), "unknown error");
}
