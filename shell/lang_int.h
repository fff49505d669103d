/*
 * lang_int.h - what the files of the shell language share: tokens
 * (lang_lex.c), the syntax tree (lang_parse.c), the shell's state and
 * the evaluator (lang_eval.c), the command table (lang_cmds.c) and the
 * pretty printer (pretty.c).
 *
 * Invariants: every term the shell keeps (bindings, results, queued
 * messages) is on sh->h, and the heap is collected only between
 * expressions, with those as its roots; literal terms in tokens and
 * trees are valid until then. A syntax tree lives in an arena freed
 * with it.
 */
#ifndef AX_SHELL_LANG_INT_H
#define AX_SHELL_LANG_INT_H

#include "lang.h"

/*
 * Makes room for one more element in the array *v of *cap elements of
 * size bytes, n of them used (doubling, from 16). 0 or AX_ENOMEM, with
 * the array left as it was.
 */
int lang_grow(void *v, size_t *cap, size_t n, size_t size);

/* --- Tokens (lang_lex.c) --------------------------------------------------- */

enum tok {
    T_EOF, T_END, /* the end of the text; a full stop */
    T_LIT,        /* a number, string(s), pid, reference or binary */
    T_VAR,        /* a variable: term is its name as an atom */
    T_ATOM,       /* a bare or quoted atom: term */
    /* reserved words */
    T_AFTER, T_BEGIN, T_CASE, T_END_KW, T_OF, T_RECEIVE, T_WHEN, T_NOT,
    T_ANDALSO, T_ORELSE, T_DIV, T_REM, T_RESERVED,
    /* punctuation and operators */
    T_LPAREN, T_RPAREN, T_LBRACE, T_RBRACE, T_LBRACKET, T_RBRACKET,
    T_MAP_OPEN, T_BIN_OPEN, T_BIN_CLOSE, T_COMMA, T_SEMI, T_BAR, T_ARROW,
    T_MAP_ARROW, T_ASSIGN, T_COLON, T_MATCH, T_SEND, T_PLUS, T_MINUS,
    T_STAR, T_SLASH, T_PLUSPLUS, T_EQ, T_NE, T_EXACT_EQ, T_EXACT_NE, T_LT,
    T_GT, T_LE, T_GE,
    T_ERROR /* a character or literal that could not be read */
};

struct token {
    enum tok kind;
    size_t start; /* byte offsets in the text */
    size_t end;
    ax_term_t term;
};

/* The tokens of a text up to and including the first full stop. */
struct tokens {
    struct token *v;
    size_t n;
    size_t cap;
    bool complete;  /* a full stop was found */
    bool inside;    /* the text ended inside a string or quoted atom */
    size_t used;    /* bytes up to and past the full stop */
    size_t err_at;  /* the first T_ERROR's offset, if any */
    char err[168];  /* and what was wrong, empty if none */
};

/*
 * Reads tokens from text[0..len) up to the first full stop outside a
 * string; literals are made on h. complete is false when the text ends
 * first (inside a string, a quoted atom, or simply before a full stop).
 * Returns 0 or AX_ENOMEM; a malformed token is a T_ERROR with err set.
 */
int lang_lex(ax_heap_t *h, const char *text, size_t len,
             struct tokens *out);
void lang_tokens_destroy(struct tokens *t);
/* The text of a token kind for messages ("'->'"), NULL for literals. */
const char *lang_tok_name(enum tok kind);

/* --- Syntax trees (lang_parse.c) ------------------------------------------- */

enum node_kind {
    N_LIT,     /* term */
    N_VAR,     /* term: the name */
    N_WILD,    /* _ */
    N_TUPLE,   /* v[0..n) */
    N_LIST,    /* v[0..n), tail a (NULL for []) */
    N_MAP,     /* v: N_ASSOC pairs; a: the map updated, or NULL */
    N_ASSOC,   /* a => b (op T_MAP_ARROW) or a := b (op T_ASSIGN) */
    N_MATCH,   /* a = b */
    N_SEND,    /* a ! b */
    N_BINOP,   /* a op b */
    N_UNOP,    /* op a */
    N_CALL,    /* term(v[0..n)), or module a's term(...) */
    N_BLOCK,   /* v[0..n) in order; begin ... end */
    N_CASE,    /* case a of v (clauses) end */
    N_RECEIVE, /* receive v (clauses) after a -> b end */
    N_CLAUSE,  /* a (pattern) when b (guard) -> c (block) */
    N_GUARD    /* v: blocks, any of which true; each all true */
};

struct node {
    enum node_kind kind;
    enum tok op;
    size_t pos; /* byte offset in the expression's text */
    ax_term_t term;
    struct node *a;
    struct node *b;
    struct node *c;
    struct node **v;
    size_t n;
};

struct arena_chunk;

/* A parsed expression (a sequence ended by a full stop). */
struct form {
    struct node *body; /* an N_BLOCK */
    struct arena_chunk *arena;
};

/*
 * Parses the tokens of one expression (literals it makes go on h).
 * Returns 0, or AX_ESYNTAX with *err_at and msg ("syntax error before:
 * ')'") set, or AX_ENOMEM.
 */
int lang_parse(ax_heap_t *h, const struct tokens *toks, const char *text,
               struct form *out, size_t *err_at, char *msg, size_t size);
void lang_form_destroy(struct form *f);

/* --- The shell (lang_eval.c) ----------------------------------------------- */

struct binding {
    ax_term_t name;
    ax_term_t value;
};

/* How many results v(N) remembers, as erl's default. */
#define SHELL_HISTORY 20

enum exc_class { EXC_ERROR, EXC_EXIT, EXC_THROW };

/* The exception being raised. */
struct exception {
    enum exc_class cls;
    ax_term_t reason;
    char *where; /* "in function ..." lines, malloc'd, or NULL */
};

struct shell {
    const struct shell_backend *be;
    void *ctx;
    FILE *out;
    ax_heap_t *h;
    char *text; /* pending input */
    size_t text_len;
    size_t text_cap;
    struct binding *vars;
    size_t nvars;
    size_t vars_cap;
    ax_term_t *mbox; /* received, not yet matched, oldest first */
    size_t nmbox;
    size_t mbox_cap;
    ax_term_t results[SHELL_HISTORY]; /* v(N) at results[N % HISTORY] */
    unsigned count;                   /* the number of the next command */
    unsigned errors;
    unsigned width;
    enum shell_status stop; /* SHELL_QUIT or SHELL_HALT once asked */
    struct exception exc;
    const char *text_now; /* the expression being evaluated */
};

/* What evaluation functions return. */
enum { EV_OK = 0, EV_RAISE = -1 };

/* Raises cls:reason; where (may be NULL) is formatted text. EV_RAISE. */
int lang_raise(struct shell *sh, enum exc_class cls, ax_term_t reason,
               const char *where);
/* Raises error:badarg from a command, naming it and its arguments. */
int lang_raise_badarg(struct shell *sh, const char *fn,
                      const ax_term_t *args, size_t n);
/* An atom of a static name (the atom table cannot fail for these). */
ax_term_t lang_atom(const char *name);
/* Writes the exception's erl-style text to sh->out. */
void lang_print_exception(struct shell *sh);
/* Binds or looks up a variable. lang_lookup gives AX_NONE if unbound. */
ax_term_t lang_lookup(const struct shell *sh, ax_term_t name);
int lang_bind(struct shell *sh, ax_term_t name, ax_term_t value);
/* Removes every binding, or one. */
void lang_forget(struct shell *sh, ax_term_t name);
/* Takes the next message matching through receive: see lang_eval.c. */
int lang_next_message(struct shell *sh, ax_term_t timeout, ax_term_t *msg);
/* Prints t pretty at column col, then a newline. */
void lang_print_term(struct shell *sh, ax_term_t t, unsigned col);

/* Evaluates a parsed expression: EV_OK with *out, or EV_RAISE. */
int lang_eval(struct shell *sh, const struct form *f, ax_term_t *out);

/* --- Commands (lang_cmds.c) ------------------------------------------------ */

/*
 * Calls the command name/n: EV_OK with *out, or EV_RAISE (an undefined
 * command raises undef as erl: "undefined shell command name/n").
 */
int lang_call(struct shell *sh, ax_term_t name, const ax_term_t *args,
              size_t n, ax_term_t *out);
/* The name of command i (for completion), NULL past the last. */
const char *lang_command_name(size_t i);

/* --- Pretty printing (pretty.c) -------------------------------------------- */

struct pretty_opts {
    unsigned width;   /* the line's width */
    unsigned column;  /* where the first line starts */
    size_t max_depth; /* as ax_format_opts_t; 0 for no bound */
    size_t max_width;
};

/*
 * t as text that wraps to fit width columns: as ax_format() when it fits
 * on one line, else broken between the elements of its containers,
 * indented under their brackets (as erl's io_lib_pretty). Continuation
 * lines start at column 0 and carry their own indentation. malloc'd;
 * NULL on allocation failure.
 */
char *pretty_format(ax_term_t t, const struct pretty_opts *o);

#endif /* AX_SHELL_LANG_INT_H */
