/*
 * flonum.c - floats as Erlang text (flonum.h).
 *
 * The digits are the fewest that snprintf's correctly rounded "%.*e"
 * gives and that read back to the same double (17 always do). The layout
 * is io_lib_format's insert_decimal (OTP 25 and later): plain decimal
 * when that is not longer than scientific notation, scientific otherwise
 * and for every integral value of 2^53 and above, where floats no longer
 * hold every integer.
 */
#include "flonum.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2^53: from here on, scientific notation shows that precision is gone. */
#define EXACT_LIMIT 9007199254740992.0

/* Significant digits that always read back (DBL_DECIMAL_DIG). */
#define DIGITS_MAX 17

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

double ax__strtod(const char *s, char **end)
{
    pthread_once(&c_locale_once, make_c_locale);
    /* Without a locale object (no memory at first use) the process's own
     * locale is the best there is. */
    return c_locale ? strtod_l(s, end, c_locale) : strtod(s, end);
}

/* A positive double as d[0].d[1]...d[n-1] times 10^exp, no trailing 0. */
struct digits {
    char d[DIGITS_MAX + 1];
    size_t n;
    int exp;
};

/*
 * The digits of v rounded to prec significant digits; true if they read
 * back to v. The radix character of "%e" depends on the locale, so only
 * the digits and the exponent are taken from it.
 */
static bool round_digits(double v, int prec, struct digits *g)
{
    char buf[48];
    char canon[48];
    const char *p = buf;

    snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);
    g->n = 0;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && g->n < DIGITS_MAX)
            g->d[g->n++] = *p;
    g->exp = *p ? atoi(p + 1) : 0;
    while (g->n > 1 && g->d[g->n - 1] == '0')
        g->n--;
    snprintf(canon, sizeof(canon), "%c.%.*se%d", g->d[0], (int)g->n - 1,
             g->d + 1, g->exp);
    return ax__strtod(canon, NULL) == v;
}

/* The fewest digits of v (positive, finite) that read back to it. */
static void shortest_digits(double v, struct digits *g)
{
    int prec = 1;

    /* Most doubles need 16 or 17 digits and the round ones few, so 15
     * says which way to search. */
    if (!round_digits(v, 15, g)) {
        prec = 16;
        while (!round_digits(v, prec, g) && prec < DIGITS_MAX)
            prec++;
        return;
    }
    while (!round_digits(v, prec, g))
        prec++;
}

static void put(char *buf, size_t *len, const char *s, size_t n)
{
    memcpy(buf + *len, s, n);
    *len += n;
}

static void put_zeros(char *buf, size_t *len, size_t n)
{
    memset(buf + *len, '0', n);
    *len += n;
}

/* d.ddde[-]x, with at least one digit after the point. */
static size_t layout_scientific(const struct digits *g, const char *expl,
                                char *buf)
{
    size_t len = 0;

    put(buf, &len, g->d, 1);
    put(buf, &len, ".", 1);
    if (g->n == 1)
        put(buf, &len, "0", 1);
    else
        put(buf, &len, g->d + 1, g->n - 1);
    put(buf, &len, "e", 1);
    put(buf, &len, expl, strlen(expl));
    return len;
}

/*
 * Lays g out as insert_decimal does; place is the power of ten of the
 * last digit, and big says v >= 2^53.
 */
static size_t layout(const struct digits *g, bool big, char *buf)
{
    char expl[8];
    int n = (int)g->n;
    int place = g->exp - n + 1;
    int cost = snprintf(expl, sizeof(expl), "%d", g->exp) + 2;
    size_t len = 0;

    if (place < 0 && g->exp >= 0) {
        put(buf, &len, g->d, (size_t)(n + place));
        put(buf, &len, ".", 1);
        put(buf, &len, g->d + n + place, (size_t)-place);
    } else if (place < 0 && 2 - place - n <= cost) {
        put(buf, &len, "0.", 2);
        put_zeros(buf, &len, (size_t)(-place - n));
        put(buf, &len, g->d, g->n);
    } else if (place >= 0 && cost + (n == 1) >= place + 2 && !big) {
        put(buf, &len, g->d, g->n);
        put_zeros(buf, &len, (size_t)place);
        put(buf, &len, ".0", 2);
    } else {
        len = layout_scientific(g, expl, buf);
    }
    return len;
}

size_t ax__float_format(double v, char *buf)
{
    struct digits g;
    size_t len = 0;

    if (signbit(v))
        buf[len++] = '-';
    v = fabs(v);
    if (v == 0) {
        memcpy(buf + len, "0.0", 4);
        return len + 3;
    }
    shortest_digits(v, &g);
    len += layout(&g, v >= EXACT_LIMIT, buf + len);
    buf[len] = '\0';
    return len;
}
