/*
 * scan.h - the scanner of Erlang term syntax: bytes to tokens, for the
 * term parser (parse.c) and anything else that reads Erlang-like text.
 *
 * Tokens are read one at a time into sc->tok. Numbers come unsigned (a
 * minus is a token of its own); atoms come interned. The decoded bytes
 * of a string token are appended to sc->text, so adjacent strings end up
 * concatenated there: whoever consumes them truncates sc->text_len back.
 * Nothing else leaves anything in sc->text.
 *
 * Errors (a bad escape, invalid UTF-8, an unterminated string, a number
 * out of range...) return a negative AX_E* code and record the byte
 * offset and a message in the scanner; so does ax__scan_fail().
 */
#ifndef AX_TERM_SCAN_H
#define AX_TERM_SCAN_H

#include "term.h"

enum tok_kind {
    TOK_EOF,       /* the end of the input */
    TOK_END,       /* a full stop followed by white space, % or the end */
    TOK_DOT,       /* any other '.' */
    TOK_INT,       /* an integer or a $c character: its magnitude in u */
    TOK_FLOAT,     /* its value in f */
    TOK_ATOM,      /* bare or quoted: the atom in term */
    TOK_RESERVED,  /* a reserved word such as case (not an atom) */
    TOK_VAR,       /* a variable name */
    TOK_STRING,    /* "...": its bytes from text_start in sc->text */
    TOK_PID,       /* <0.42.0>: the pid in term */
    TOK_REF,       /* #Ref<0.1.2.3>: node, nwords and words */
    TOK_LBRACE,    /* { */
    TOK_RBRACE,    /* } */
    TOK_LBRACKET,  /* [ */
    TOK_RBRACKET,  /* ] */
    TOK_MAP_OPEN,  /* #{ */
    TOK_BIN_OPEN,  /* << */
    TOK_BIN_CLOSE, /* >> */
    TOK_COMMA,     /* , */
    TOK_BAR,       /* | */
    TOK_ARROW,     /* => */
    TOK_MINUS,     /* - */
    TOK_OTHER      /* any other character */
};

struct token {
    enum tok_kind kind;
    size_t start;                  /* offset of its first byte */
    size_t end;                    /* offset just past its last byte */
    uint64_t u;                    /* TOK_INT: at most 2^63 */
    double f;                      /* TOK_FLOAT: finite */
    ax_term_t term;                /* TOK_ATOM, TOK_PID */
    size_t text_start;             /* TOK_STRING */
    unsigned node;                 /* TOK_REF */
    unsigned nwords;               /* TOK_REF: 1..REF_WORDS_MAX */
    uint32_t words[REF_WORDS_MAX]; /* TOK_REF: least significant first */
};

struct scanner {
    const uint8_t *s;
    size_t len;
    size_t pos;       /* where the next token is looked for */
    struct token tok; /* the current token */
    uint8_t *text;    /* decoded string bytes (see above) */
    size_t text_len;
    size_t text_cap;
    size_t err_at; /* the offset an error points at */
    char msg[128]; /* what the error is */
};

/* Prepares sc to scan s[pos..len); nothing is allocated yet. */
void ax__scan_init(struct scanner *sc, const char *s, size_t len, size_t pos);
/* Frees sc's buffer. */
void ax__scan_destroy(struct scanner *sc);

/* Reads the next token into sc->tok; 0 or an error as described above
 * (AX_ESYNTAX, AX_ESYSLIMIT for a full atom table, AX_ENOMEM). */
int ax__scan_next(struct scanner *sc);

/* Appends n bytes to sc->text; AX_ENOMEM (recorded) on failure. */
int ax__scan_put(struct scanner *sc, const void *p, size_t n);

/* True if an atom of this text reads back without quotes: a lowercase
 * Latin-1 letter, then letters, digits, _ and @, and no reserved word. */
bool ax__scan_is_bare_atom(const char *s, size_t len);

/* Records an error at offset at; returns code. */
int ax__scan_fail(struct scanner *sc, int code, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif /* AX_TERM_SCAN_H */
