/*
 * flonum.h - floats as text, the way Erlang writes them: the shortest
 * digits that read back to the same double, laid out as io_lib's ~p does
 * (1.0, 0.001, 1.0e-4, 100.0, 1.0e3, 9.007199254740992e15), and reading
 * them back. Both work in the "C" locale whatever setlocale() the program
 * did, so "1.5" never becomes "1,5".
 */
#ifndef AX_TERM_FLONUM_H
#define AX_TERM_FLONUM_H

#include <stddef.h>

/* The size of a buffer that holds any formatted float and its NUL. */
#define FLONUM_CHARS 32

/*
 * Writes the finite v into buf[0..FLONUM_CHARS) in Erlang syntax (always
 * with a '.', "-0.0" for negative zero), NUL-terminated; returns the
 * length. Thread-safe.
 */
size_t ax__float_format(double v, char *buf);

/* strtod() in the "C" locale. Thread-safe. */
double ax__strtod(const char *s, char **end);

#endif /* AX_TERM_FLONUM_H */
