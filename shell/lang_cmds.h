/*
 * lang_cmds.h - the shell's command table (lang_cmds.c) and the commands
 * that print tables and trees (lang_show.c).
 */
#ifndef AX_SHELL_LANG_CMDS_H
#define AX_SHELL_LANG_CMDS_H

#include "lang_int.h"

/* What a backend operation's success gives the command. */
enum cmd_result {
    R_VALUE,    /* the operation's result */
    R_TRUE,     /* true */
    R_OK,       /* ok */
    R_OK_TUPLE, /* {ok, Result} */
    R_MODULE    /* {module, Result} */
};

enum {
    F_ERR_TUPLE = 1 << 0, /* an error is the value {error, Reason} */
    F_ERR_EXIT = 1 << 1   /* an error is an exit exception */
};

struct cmd;

/* A command: EV_OK with *out, or EV_RAISE. */
typedef int (*cmd_fn)(struct shell *sh, const struct cmd *c,
                      const ax_term_t *args, size_t n, ax_term_t *out);

struct cmd {
    const char *name;
    unsigned char min; /* the arities it takes */
    unsigned char max;
    const char *args;    /* for h(): "Mod, Args" */
    const char *summary; /* one line */
    const char *help;    /* for h(Name) */
    cmd_fn fn;           /* NULL: lang_cmd_op */
    size_t op;           /* the backend member, by offset */
    enum cmd_result result;
    unsigned flags;
};

/*
 * Runs c's backend operation with args[0..n) (at most 3) and makes its
 * result and errors what c says (an unset member: notsup).
 */
int lang_cmd_op(struct shell *sh, const struct cmd *c, const ax_term_t *args,
                size_t n, ax_term_t *out);

/* lang_show.c: print through c's operation, then give ok. */
int lang_cmd_i(struct shell *sh, const struct cmd *c, const ax_term_t *args,
               size_t n, ax_term_t *out);
int lang_cmd_regs(struct shell *sh, const struct cmd *c,
                  const ax_term_t *args, size_t n, ax_term_t *out);
int lang_cmd_m(struct shell *sh, const struct cmd *c, const ax_term_t *args,
               size_t n, ax_term_t *out);
int lang_cmd_tree(struct shell *sh, const struct cmd *c,
                  const ax_term_t *args, size_t n, ax_term_t *out);
int lang_cmd_crashes(struct shell *sh, const struct cmd *c,
                     const ax_term_t *args, size_t n, ax_term_t *out);

#endif /* AX_SHELL_LANG_CMDS_H */
