/*
 * atom.h - the global atom table and the atoms the runtime names itself.
 *
 * Atoms are interned UTF-8 strings of at most 255 characters, numbered
 * from 0 in order of creation; the number never changes and an atom is
 * never freed. The built-in atoms below are made first, in list order, so
 * ATOM_OK and friends are compile-time constants.
 */
#ifndef AX_TERM_ATOM_H
#define AX_TERM_ATOM_H

#include "term.h"

/* XX(C identifier, text). Order is the numbering: append only. */
#define AX_ATOM_LIST(XX)              \
    XX(FALSE, "false")                \
    XX(TRUE, "true")                  \
    XX(OK, "ok")                      \
    XX(ERROR, "error")                \
    XX(UNDEFINED, "undefined")        \
    XX(NORMAL, "normal")              \
    XX(KILL, "kill")                  \
    XX(KILLED, "killed")              \
    XX(SHUTDOWN, "shutdown")          \
    XX(EXIT, "EXIT")                  \
    XX(DOWN, "DOWN")                  \
    XX(PROCESS, "process")            \
    XX(NOPROC, "noproc")              \
    XX(BADARG, "badarg")              \
    XX(BADARITH, "badarith")          \
    XX(BADMATCH, "badmatch")          \
    XX(SYSTEM_LIMIT, "system_limit")  \
    XX(OOM, "oom")                    \
    XX(TIMEOUT, "timeout")            \
    XX(INFINITY, "infinity")          \
    XX(NONODE, "nonode@nohost")       \
    XX(REPLY, "reply")                \
    XX(NOREPLY, "noreply")            \
    XX(STOP, "stop")                  \
    XX(CALL, "$gen_call")             \
    XX(CAST, "$gen_cast")             \
    XX(SIGNAL, "signal")              \
    XX(STACK_OVERFLOW, "stack_overflow")

enum atom_builtin {
#define ATOM_ENUM_(id, text) ATOM_IDX_##id,
    AX_ATOM_LIST(ATOM_ENUM_)
#undef ATOM_ENUM_
    ATOM_BUILTIN_COUNT
};

#define ATOM_FALSE make_atom(ATOM_IDX_FALSE)
#define ATOM_TRUE make_atom(ATOM_IDX_TRUE)
#define ATOM_OK make_atom(ATOM_IDX_OK)
#define ATOM_ERROR make_atom(ATOM_IDX_ERROR)
#define ATOM_UNDEFINED make_atom(ATOM_IDX_UNDEFINED)
#define ATOM_NORMAL make_atom(ATOM_IDX_NORMAL)
#define ATOM_KILL make_atom(ATOM_IDX_KILL)
#define ATOM_KILLED make_atom(ATOM_IDX_KILLED)
#define ATOM_NONODE make_atom(ATOM_IDX_NONODE)

/* The hash of an atom's text, kept in the table (for ax_hash()). */
uint64_t ax__atom_hash(ax_term_t atom);

/* Bytes the atoms take (their entries and the chunks indexing them; not
 * the hash slots, sized once for the limit). Any thread. */
size_t ax__atom_bytes(void);

/*
 * Interns Latin-1 text (as ATOM_EXT carries it), converting to UTF-8.
 * Errors as ax_atom_intern().
 */
int ax__atom_intern_latin1(const uint8_t *text, size_t len, ax_term_t *out);

/* True if the atom's text fits Latin-1 (every code point < 256). */
bool ax__atom_is_latin1(ax_term_t atom);

/* Compares two atoms by text, as Erlang orders them (by code point, which
 * for UTF-8 is byte order). */
int ax__atom_compare(ax_term_t a, ax_term_t b);

#endif /* AX_TERM_ATOM_H */
