/*
 * assert.h - ax_assert(): the runtime's own invariants. A broken one is a
 * bug in ax, so it reports the place and aborts; it is never used for
 * anything a user, a module or a peer can cause.
 */
#ifndef AX_CORE_ASSERT_H
#define AX_CORE_ASSERT_H

/* Prints "ax: assertion failed: EXPR (FILE:LINE FUNC)" and aborts. */
_Noreturn void ax__assert_fail(const char *expr, const char *file, int line,
                               const char *func);

#define ax_assert(expr)                                                \
    ((expr) ? (void)0                                                  \
            : ax__assert_fail(#expr, __FILE__, __LINE__, __func__))

#define ax_unreachable() ax__assert_fail("unreachable", __FILE__, \
                                         __LINE__, __func__)

#endif /* AX_CORE_ASSERT_H */
