/*
 * lang_shell.c - the shell as the REPL driver sees it (lang.h): pending
 * input, the read-evaluate-print step of each complete expression,
 * bindings, the results v(N) reaches, exceptions printed as erl prints
 * them, completion, and the collection of the shell's heap.
 *
 * The heap is collected after each expression, with the bindings, the
 * remembered results and the queued messages as its roots: nothing
 * else on it outlives an expression.
 */
#include "lang_int.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_WIDTH 80
#define MIN_WIDTH 20

struct shell *shell_new(const struct shell_backend *be, void *ctx,
                        FILE *out)
{
    struct shell *sh = calloc(1, sizeof(*sh));

    if (!sh)
        return NULL;
    sh->h = ax_heap_new();
    if (!sh->h) {
        free(sh);
        return NULL;
    }
    sh->be = be;
    sh->ctx = ctx;
    sh->out = out;
    sh->count = 1;
    sh->width = DEFAULT_WIDTH;
    return sh;
}

void shell_free(struct shell *sh)
{
    if (!sh)
        return;
    free(sh->exc.where);
    free(sh->text);
    free(sh->vars);
    free(sh->mbox);
    ax_heap_free(sh->h);
    free(sh);
}

void shell_set_width(struct shell *sh, unsigned width)
{
    sh->width = width < MIN_WIDTH ? MIN_WIDTH : width;
}

unsigned shell_error_count(const struct shell *sh)
{
    return sh->errors;
}

bool shell_pending(const struct shell *sh)
{
    return sh->text_len > 0;
}

void shell_discard(struct shell *sh)
{
    sh->text_len = 0;
}

void shell_prompt(const struct shell *sh, char *buf, size_t size)
{
    if (shell_pending(sh))
        snprintf(buf, size, ".. ");
    else
        snprintf(buf, size, "%u> ", sh->count);
}

int lang_grow(void *v, size_t *cap, size_t n, size_t size)
{
    size_t want = *cap ? 2 * *cap : 16;
    void *old;
    void *nv;

    if (n < *cap)
        return 0;
    if (want > SIZE_MAX / size)
        return AX_ENOMEM;
    /* v points to a pointer of some object type: copied, not aliased. */
    memcpy(&old, v, sizeof(old));
    nv = realloc(old, want * size);
    if (!nv)
        return AX_ENOMEM;
    memcpy(v, &nv, sizeof(nv));
    *cap = want;
    return 0;
}

/* --- Bindings -------------------------------------------------------------- */

ax_term_t lang_lookup(const struct shell *sh, ax_term_t name)
{
    for (size_t i = 0; i < sh->nvars; i++)
        if (sh->vars[i].name == name)
            return sh->vars[i].value;
    return AX_NONE;
}

int lang_bind(struct shell *sh, ax_term_t name, ax_term_t value)
{
    if (lang_grow(&sh->vars, &sh->vars_cap, sh->nvars, sizeof(*sh->vars)))
        return AX_ENOMEM;
    sh->vars[sh->nvars++] = (struct binding){name, value};
    return 0;
}

void lang_forget(struct shell *sh, ax_term_t name)
{
    size_t j = 0;

    for (size_t i = 0; i < sh->nvars; i++)
        if (name != AX_NONE && sh->vars[i].name != name)
            sh->vars[j++] = sh->vars[i];
    sh->nvars = j;
}

/* --- Exceptions ------------------------------------------------------------ */

int lang_raise(struct shell *sh, enum exc_class cls, ax_term_t reason,
               const char *where)
{
    free(sh->exc.where);
    sh->exc.cls = cls;
    sh->exc.reason = reason;
    sh->exc.where = where ? strdup(where) : NULL;
    return EV_RAISE;
}

int lang_raise_badarg(struct shell *sh, const char *fn,
                      const ax_term_t *args, size_t n)
{
    ax_format_opts_t fo = {.max_depth = 8, .max_width = 16, .max_chars = 200};
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    int rc;

    if (!f)
        return lang_raise(sh, EXC_ERROR, lang_atom("badarg"), NULL);
    fprintf(f, "     in function  %s/%zu\n        called as %s(", fn, n, fn);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? "," : "", f);
        ax_print(f, args[i], &fo);
    }
    fputs(")\n", f);
    fclose(f);
    rc = lang_raise(sh, EXC_ERROR, lang_atom("badarg"), text);
    free(text);
    return rc;
}

void lang_print_term(struct shell *sh, ax_term_t t, unsigned col)
{
    struct pretty_opts o = {sh->width, col, 16, 64};
    char *s = pretty_format(t, &o);

    fprintf(sh->out, "%s\n", s ? s : "(out of memory)");
    free(s);
}

/* What erl says of an error reason that is an atom, or NULL. */
static const char *atom_message(ax_term_t r)
{
    static const char *const msgs[][2] = {
        {"badarg", "bad argument"},
        {"badarith",
         "an error occurred when evaluating an arithmetic expression"},
        {"noproc", "no such process or port"},
        {"timeout_value", "bad receive timeout value"},
        {"system_limit", "a system limit has been reached"},
    };

    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
        if (r == lang_atom(msgs[i][0]))
            return msgs[i][1];
    return NULL;
}

/* The text before a tagged reason's value: {badmatch, V} and others. */
static const char *tag_message(ax_term_t tag)
{
    static const char *const msgs[][2] = {
        {"badmatch", "no match of right hand side value "},
        {"case_clause", "no case clause matching "},
        {"badmap", "bad map: "},
        {"badkey", "bad key: "},
        {"badarg", "bad argument: "},
    };

    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
        if (tag == lang_atom(msgs[i][0]))
            return msgs[i][1];
    return NULL;
}

/* Writes an error reason as erl_error describes it. */
static void print_error_reason(struct shell *sh, ax_term_t r, unsigned col)
{
    ax_term_t tag = ax_tuple_get(r, 0);
    ax_term_t v = ax_tuple_get(r, 1);
    const char *msg = atom_message(r);
    size_t len;
    const char *name;

    if (msg) {
        fprintf(sh->out, "%s\n", msg);
    } else if (ax_tuple_size(r) == 2 && tag == lang_atom("unbound_var")) {
        name = ax_atom_text(v, &len);
        fprintf(sh->out, "variable '%.*s' is unbound\n", (int)len, name);
    } else if (ax_tuple_size(r) == 3 && tag == lang_atom("shell_undef")) {
        name = ax_atom_text(v, &len);
        fprintf(sh->out, "undefined shell command %.*s/", (int)len, name);
        ax_print(sh->out, ax_tuple_get(r, 2), NULL);
        fputc('\n', sh->out);
    } else if (ax_tuple_size(r) == 2 && tag == lang_atom("undef") &&
               ax_tuple_size(v) == 3) {
        fputs("undefined function ", sh->out);
        ax_print(sh->out, ax_tuple_get(v, 0), NULL);
        fputc(':', sh->out);
        ax_print(sh->out, ax_tuple_get(v, 1), NULL);
        fputc('/', sh->out);
        ax_print(sh->out, ax_tuple_get(v, 2), NULL);
        fputc('\n', sh->out);
    } else if (ax_tuple_size(r) == 2 && (msg = tag_message(tag))) {
        fputs(msg, sh->out);
        lang_print_term(sh, v, col + (unsigned)strlen(msg));
    } else {
        lang_print_term(sh, r, col);
    }
}

void lang_print_exception(struct shell *sh)
{
    static const char *const prefix[] = {
        [EXC_ERROR] = "** exception error: ",
        [EXC_EXIT] = "** exception exit: ",
        [EXC_THROW] = "** exception throw: ",
    };
    unsigned col = (unsigned)strlen(prefix[sh->exc.cls]);

    fputs(prefix[sh->exc.cls], sh->out);
    if (sh->exc.cls == EXC_ERROR)
        print_error_reason(sh, sh->exc.reason, col);
    else
        lang_print_term(sh, sh->exc.reason, col);
    if (sh->exc.where)
        fputs(sh->exc.where, sh->out);
    free(sh->exc.where);
    sh->exc.where = NULL;
}

void shell_exit_signal(struct shell *sh, ax_term_t reason)
{
    lang_raise(sh, EXC_EXIT, reason, NULL);
    lang_print_exception(sh);
}

/* --- Collection ------------------------------------------------------------ */

/* Collects the heap with everything the shell keeps as roots (the
 * slots holding a term; AX_NONE marks an empty one). */
static void collect(struct shell *sh)
{
    size_t cap = sh->nvars + SHELL_HISTORY + sh->nmbox;
    ax_term_t **slots = calloc(cap, sizeof(*slots));
    ax_term_t *roots = calloc(cap, sizeof(*roots));
    size_t n = 0;

    for (size_t i = 0; slots && i < sh->nvars; i++)
        slots[n++] = &sh->vars[i].value;
    for (size_t i = 0; slots && i < SHELL_HISTORY; i++)
        if (sh->results[i] != AX_NONE)
            slots[n++] = &sh->results[i];
    for (size_t i = 0; slots && i < sh->nmbox; i++)
        slots[n++] = &sh->mbox[i];
    for (size_t i = 0; roots && i < n; i++)
        roots[i] = *slots[i];
    /* On failure the heap is left as it was, and so are the slots. */
    if (slots && roots && ax_heap_gc(sh->h, roots, n, AX_GC_AUTO) == 0)
        for (size_t i = 0; i < n; i++)
            *slots[i] = roots[i];
    free(slots);
    free(roots);
}

/* --- Reading and evaluating ------------------------------------------------ */

static int append_text(struct shell *sh, const char *line)
{
    size_t n = strlen(line);

    if (sh->text_len + n + 2 > sh->text_cap) {
        size_t cap = 2 * (sh->text_len + n + 2);
        char *t = realloc(sh->text, cap);

        if (!t)
            return AX_ENOMEM;
        sh->text = t;
        sh->text_cap = cap;
    }
    memcpy(sh->text + sh->text_len, line, n);
    sh->text_len += n;
    sh->text[sh->text_len++] = '\n';
    sh->text[sh->text_len] = '\0';
    return 0;
}

/* "* LINE:COL: message", the position counted from the expression's
 * first byte. */
static void print_syntax_error(struct shell *sh, size_t at, const char *msg)
{
    unsigned line = 1;
    size_t bol = 0;

    for (size_t i = 0; i < at && i < sh->text_len; i++) {
        if (sh->text[i] == '\n') {
            line++;
            bol = i + 1;
        }
    }
    fprintf(sh->out, "* %u:%zu: %s\n", line, at - bol + 1, msg);
}

/* Parses and evaluates the tokens of one expression; false on error. */
static bool run_form(struct shell *sh, const struct tokens *toks)
{
    struct form f;
    char msg[200];
    size_t at = 0;
    ax_term_t v = AX_NONE;
    size_t mark = sh->nvars;
    int err = lang_parse(sh->h, toks, sh->text, &f, &at, msg, sizeof(msg));

    if (err) {
        print_syntax_error(sh, at, msg);
        return false;
    }
    err = lang_eval(sh, &f, &v);
    lang_form_destroy(&f);
    if (err) {
        lang_print_exception(sh);
        sh->nvars = sh->nvars < mark ? sh->nvars : mark;
        v = AX_NONE;
    } else {
        lang_print_term(sh, v, 0);
    }
    sh->results[sh->count % SHELL_HISTORY] = v;
    sh->count++;
    return err == 0;
}

/* Drops the first n bytes of the pending text. */
static void consume(struct shell *sh, size_t n)
{
    memmove(sh->text, sh->text + n, sh->text_len - n + 1);
    sh->text_len -= n;
}

enum shell_status shell_feed(struct shell *sh, const char *line)
{
    enum shell_status st = SHELL_DONE;

    if (append_text(sh, line))
        return SHELL_ERROR;
    for (;;) {
        struct tokens toks;
        int err = lang_lex(sh->h, sh->text, sh->text_len, &toks);

        if (err || !toks.complete) {
            if (err || (toks.n == 0 && !toks.inside))
                sh->text_len = 0;
            lang_tokens_destroy(&toks);
            if (sh->text_len > 0)
                return SHELL_NEED_MORE;
            return st;
        }
        if (!run_form(sh, &toks)) {
            sh->errors++;
            st = SHELL_ERROR;
        }
        consume(sh, toks.used);
        lang_tokens_destroy(&toks);
        collect(sh);
        if (sh->stop != SHELL_DONE) {
            sh->text_len = 0;
            return sh->stop;
        }
    }
}

/* --- Completion ------------------------------------------------------------ */

struct words {
    char **v;
    size_t n;
    size_t cap;
    bool failed;
};

static void add_word(struct words *w, const char *prefix, const char *s,
                     size_t len, const char *suffix)
{
    size_t plen = strlen(prefix);
    char *copy;

    if (w->failed || len < plen || memcmp(s, prefix, plen) != 0)
        return;
    if (lang_grow(&w->v, &w->cap, w->n + 1, sizeof(*w->v))) {
        w->failed = true;
        return;
    }
    copy = malloc(len + strlen(suffix) + 1);
    if (!copy) {
        w->failed = true;
        return;
    }
    memcpy(copy, s, len);
    strcpy(copy + len, suffix);
    w->v[w->n++] = copy;
}

static void add_atom(struct words *w, const char *prefix, ax_term_t a)
{
    size_t len;
    const char *text = ax_atom_text(a, &len);

    if (text)
        add_word(w, prefix, text, len, "");
}

/* Names the backend knows: modules and registered processes. */
static void add_node_names(struct shell *sh, struct words *w,
                           const char *prefix)
{
    ax_term_t list = AX_NONE;

    if (sh->be->modules && sh->be->modules(sh->ctx, sh->h, &list) == 0)
        for (; ax_is_cons(list); list = ax_tail(list))
            add_atom(w, prefix, ax_map_get(ax_head(list), lang_atom("name")));
    list = AX_NONE;
    if (sh->be->registered && sh->be->registered(sh->ctx, sh->h, &list) == 0)
        for (; ax_is_cons(list); list = ax_tail(list))
            add_atom(w, prefix, ax_head(list));
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **shell_complete(struct shell *sh, const char *prefix, size_t *n)
{
    struct words w = {NULL, 0, 0, false};
    size_t j = 0;

    for (size_t i = 0; lang_command_name(i); i++)
        add_word(&w, prefix, lang_command_name(i),
                 strlen(lang_command_name(i)), "(");
    for (size_t i = 0; i < sh->nvars; i++)
        add_atom(&w, prefix, sh->vars[i].name);
    add_node_names(sh, &w, prefix);
    if (w.failed || !w.v) {
        if (w.v)
            w.v[w.n] = NULL;
        shell_free_strings(w.v);
        w.v = calloc(1, sizeof(*w.v));
        *n = 0;
        return w.failed ? NULL : w.v;
    }
    qsort(w.v, w.n, sizeof(*w.v), by_text);
    for (size_t i = 0; i < w.n; i++) {
        if (j > 0 && strcmp(w.v[j - 1], w.v[i]) == 0)
            free(w.v[i]);
        else
            w.v[j++] = w.v[i];
    }
    w.v[j] = NULL;
    *n = j;
    return w.v;
}

void shell_free_strings(char **v)
{
    if (!v)
        return;
    for (size_t i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}
