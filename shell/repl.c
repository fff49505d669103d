/*
 * repl.c - the shell's driver (repl.h): reads lines, feeds them to the
 * language (lang.h) with the remote backend (remote.h), and owns the
 * terminal.
 *
 * On a terminal: libedit's line editor with the prompt the language
 * gives, history kept in ~/.ax/history, Tab completion, and Ctrl-C,
 * which interrupts the expression being evaluated (the node cancels a
 * blocked request; a wait for a message stops) or drops the line being
 * typed. Without one (a script on standard input, or -e): lines are read
 * plainly, results printed as on a terminal, no prompt, and the status
 * says whether any expression failed.
 *
 * Ctrl-C is caught by a handler that only sets a flag and writes a byte
 * to a pipe; a thread reading the pipe asks the node to interrupt, since
 * that takes a lock a handler may not. SIGTERM (halt() of the shell's
 * own node from another shell) and SIGHUP end the shell as q() does.
 */
#include "repl.h"

#include <errno.h>
#include <histedit.h>
#include <locale.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#include "lang.h"
#include "remote.h"

#define HISTORY_SIZE 1000

struct repl {
    struct remote rem;
    struct shell *sh;
    EditLine *el;
    History *hist;
    char history_path[512];
    char prompt[32];
    int wake[2];           /* the Ctrl-C pipe */
    bool tty;
    volatile sig_atomic_t evaluating; /* in shell_feed */
    volatile sig_atomic_t terminated; /* SIGTERM: the node is stopping */
    pthread_t waker;
    bool waker_running;
};

/* The one driver of this program, for the signal handler. */
static struct repl *active;

/* --- Ctrl-C ------------------------------------------------------------- */

static void on_sigint(int sig)
{
    int saved = errno;
    char b = 1;

    if (active) {
        if (sig != SIGINT)
            active->terminated = 1;
        active->rem.interrupted = 1;
        /* The terminal echoed ^C: the exception goes on a line below. */
        if (active->tty && active->evaluating &&
            write(STDOUT_FILENO, "\n", 1) < 0) {
            /* nothing to do about it */
        }
        if (write(active->wake[1], &b, 1) < 0) {
            /* a full pipe already holds a wake-up */
        }
    }
    errno = saved;
}

static void *waker(void *arg)
{
    struct repl *r = arg;
    char b;

    while (read(r->wake[0], &b, 1) == 1 && b)
        if (atomic_load(&r->rem.busy))
            ax_client_interrupt(r->rem.c);
    return NULL;
}

static int catch_sigint(struct repl *r)
{
    struct sigaction sa;
    sigset_t set;
    sigset_t old;
    int err;

    if (pipe(r->wake) != 0)
        return AX_ENOMEM;
    /* The waker inherits a mask without them: they come to this thread,
     * whose reading of a line they must interrupt. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    err = pthread_create(&r->waker, NULL, waker, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0)
        return AX_ENOMEM;
    r->waker_running = true;
    active = r;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: reading a line stops */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL); /* the terminal went: leave cleanly */
    return 0;
}

static void release_sigint(struct repl *r)
{
    char b = 0;

    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    active = NULL;
    if (r->waker_running) {
        if (write(r->wake[1], &b, 1) == 1)
            pthread_join(r->waker, NULL);
        r->waker_running = false;
    }
    for (int i = 0; i < 2; i++)
        if (r->wake[i] >= 0)
            close(r->wake[i]);
}

/* --- The terminal ----------------------------------------------------- */

static unsigned term_width(void)
{
    struct winsize ws;
    const char *cols = getenv("COLUMNS");

    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    if (cols && atoi(cols) > 0)
        return (unsigned)atoi(cols);
    return 80;
}

static char *prompt(EditLine *el)
{
    struct repl *r;

    el_get(el, EL_CLIENTDATA, &r);
    shell_prompt(r->sh, r->prompt, sizeof(r->prompt));
    return r->prompt;
}

/* The word before the cursor: what completion completes. */
static size_t word_start(const LineInfo *li)
{
    const char *p = li->cursor;

    while (p > li->buffer && (p[-1] == '_' || p[-1] == '@' ||
                              (p[-1] >= '0' && p[-1] <= '9') ||
                              (p[-1] >= 'a' && p[-1] <= 'z') ||
                              (p[-1] >= 'A' && p[-1] <= 'Z')))
        p--;
    return (size_t)(li->cursor - p);
}

/* Tab: the one candidate inserted, or the common part and a list. */
static unsigned char complete(EditLine *el, int ch)
{
    struct repl *r;
    const LineInfo *li = el_line(el);
    size_t len = word_start(li);
    char prefix[256];
    size_t n = 0;
    size_t common;
    char **c;

    (void)ch;
    el_get(el, EL_CLIENTDATA, &r);
    if (len >= sizeof(prefix))
        return CC_ERROR;
    memcpy(prefix, li->cursor - len, len);
    prefix[len] = '\0';
    c = shell_complete(r->sh, prefix, &n);
    if (!c || n == 0) {
        shell_free_strings(c);
        return CC_ERROR;
    }
    common = strlen(c[0]);
    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < common; j++)
            if (c[i][j] != c[0][j]) {
                common = j;
                break;
            }
    if (common > len) {
        char add[256];

        snprintf(add, sizeof(add), "%.*s", (int)(common - len), c[0] + len);
        el_insertstr(el, add);
    } else if (n > 1) {
        fputc('\n', stdout);
        for (size_t i = 0; i < n; i++)
            printf("%s%s", c[i], i + 1 < n ? "  " : "\n");
        shell_free_strings(c);
        return CC_REDISPLAY;
    }
    shell_free_strings(c);
    return CC_REFRESH;
}

static void history_open(struct repl *r)
{
    const char *home = getenv("HOME");
    HistEvent ev;
    char dir[512];

    r->hist = history_init();
    if (!r->hist)
        return;
    history(r->hist, &ev, H_SETSIZE, HISTORY_SIZE);
    history(r->hist, &ev, H_SETUNIQUE, 1);
    if (!home || !*home)
        return;
    if (snprintf(dir, sizeof(dir), "%s/.ax", home) >= (int)sizeof(dir) - 8)
        return; /* no history for so long a home */
    mkdir(dir, 0700);
    snprintf(r->history_path, sizeof(r->history_path), "%.500s/history",
             dir);
    history(r->hist, &ev, H_LOAD, r->history_path);
}

/*
 * libedit's character reader: waits for the terminal and the node alike,
 * so that what happens to the shell meanwhile (its process killed) is
 * told at once, above the line being typed. 1 with a character, 0 at
 * the end of input (or the node gone), -1 with errno on an error or a
 * signal.
 */
static int read_char(EditLine *el, wchar_t *wc)
{
    struct repl *r;
    mbstate_t mbs;
    char c;

    el_get(el, EL_CLIENTDATA, &r);
    memset(&mbs, 0, sizeof(mbs));
    for (;;) {
        struct pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0},
                                {ax_client_fd(r->rem.c), POLLIN, 0}};
        size_t k;

        if (poll(fds, 2, -1) < 0)
            return -1; /* EINTR: Ctrl-C */
        if (fds[1].revents) {
            int told = remote_poll(&r->rem, stdout); /* below the prompt */

            if (told < 0 && r->rem.lost)
                return 0;
            if (told > 0) {
                fflush(stdout);
                el_set(el, EL_REFRESH);
            }
        }
        if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        if (read(STDIN_FILENO, &c, 1) != 1)
            return errno == EINTR ? -1 : 0;
        k = mbrtowc(wc, &c, 1, &mbs);
        if (k == (size_t)-2)
            continue; /* more of a multibyte character to come */
        if (k == (size_t)-1) {
            memset(&mbs, 0, sizeof(mbs));
            continue; /* not a character: dropped */
        }
        return 1;
    }
}

static int editor_open(struct repl *r)
{
    history_open(r);
    r->el = el_init("ax", stdin, stdout, stderr);
    if (!r->el)
        return AX_ENOMEM;
    el_set(r->el, EL_CLIENTDATA, r);
    el_set(r->el, EL_EDITOR, "emacs");
    el_set(r->el, EL_PROMPT, prompt);
    el_set(r->el, EL_GETCFN, read_char);
    if (r->hist)
        el_set(r->el, EL_HIST, history, r->hist);
    el_set(r->el, EL_ADDFN, "ax-complete", "complete a name", complete);
    el_set(r->el, EL_BIND, "^I", "ax-complete", NULL);
    el_source(r->el, NULL); /* ~/.editrc, as other libedit programs */
    return 0;
}

static void editor_close(struct repl *r)
{
    HistEvent ev;

    if (r->el)
        el_end(r->el);
    if (r->hist) {
        if (r->history_path[0])
            history(r->hist, &ev, H_SAVE, r->history_path);
        history_end(r->hist);
    }
}

/* --- Reading and evaluating --------------------------------------------- */

/* One line from the editor into line (without its newline): 1, 0 at the
 * end of input, -1 interrupted. */
static int read_tty(struct repl *r, char *line, size_t size)
{
    int n = 0;
    const char *s;

    errno = 0;
    s = el_gets(r->el, &n);
    if (!s || n <= 0)
        return errno == EINTR || r->rem.interrupted ? -1 : 0;
    snprintf(line, size, "%.*s", s[n - 1] == '\n' ? n - 1 : n, s);
    return 1;
}

/* Feeds one line; true when the shell is to end (*st says how). */
static bool feed(struct repl *r, const char *line, enum shell_status *st)
{
    HistEvent ev;

    r->rem.interrupted = 0;
    if (r->hist && *line)
        history(r->hist, &ev, H_ENTER, line);
    r->evaluating = 1;
    *st = shell_feed(r->sh, line);
    r->evaluating = 0;
    fflush(stdout);
    if (r->rem.lost) {
        fprintf(stderr, "** the node went away\n");
        return true;
    }
    return *st == SHELL_QUIT || *st == SHELL_HALT;
}

static enum shell_status loop_tty(struct repl *r)
{
    enum shell_status st = SHELL_DONE;
    char line[8192];
    int got;

    for (;;) {
        remote_poll(&r->rem, NULL);
        fflush(stdout);
        got = read_tty(r, line, sizeof(line));
        if (r->terminated)
            return SHELL_HALT;
        if (got < 0) {
            fputc('\n', stdout);
            shell_discard(r->sh);
            continue;
        }
        if (got == 0 && r->rem.lost) {
            fprintf(stderr, "\n** the node went away\n");
            return SHELL_QUIT;
        }
        if (got == 0)
            return SHELL_QUIT; /* ^D: as q() */
        if (feed(r, line, &st))
            return st;
    }
}

static enum shell_status loop_script(struct repl *r, FILE *in)
{
    enum shell_status st = SHELL_DONE;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    while (!r->terminated && (n = getline(&line, &cap, in)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            line[n - 1] = '\0';
        if (feed(r, line, &st))
            break;
        remote_poll(&r->rem, NULL);
    }
    free(line);
    return st;
}

/* -e EXPR: its lines, as a script's. */
static enum shell_status run_expr(struct repl *r, const char *expr)
{
    FILE *in = fmemopen((void *)expr, strlen(expr), "r");
    enum shell_status st;

    if (!in)
        return SHELL_ERROR;
    st = loop_script(r, in);
    fclose(in);
    return st;
}

int ax_repl_run(ax_client_t *c, const struct repl_opts *o)
{
    struct repl r;
    enum shell_status st;
    bool tty = !o->expr && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    int status = 0;

    memset(&r, 0, sizeof(r));
    r.wake[0] = r.wake[1] = -1;
    if (remote_init(&r.rem, c) != 0)
        return 1;
    r.rem.observer = o->observer;
    r.sh = shell_new(&ax_remote_backend, &r.rem, stdout);
    if (tty)
        setlocale(LC_CTYPE, ""); /* the terminal's characters, for libedit */
    if (!r.sh || catch_sigint(&r) != 0 || (tty && editor_open(&r) != 0)) {
        fprintf(stderr, "ax shell: out of memory\n");
        status = 1;
        goto out;
    }
    r.rem.sh = r.sh;
    r.tty = tty;
    shell_set_width(r.sh, term_width());
    if (tty && o->banner)
        printf("%s\n", o->banner);
    if (o->expr)
        st = run_expr(&r, o->expr);
    else if (tty)
        st = loop_tty(&r);
    else
        st = loop_script(&r, stdin);
    if (shell_pending(r.sh) && !r.rem.lost) {
        fprintf(stderr, "ax shell: the input ends inside an expression "
                        "(a full stop is missing)\n");
        status = 1;
    }
    if (shell_error_count(r.sh) > 0 || r.rem.lost)
        status = 1;
    if (o->halted)
        *o->halted = st == SHELL_HALT;
out:
    editor_close(&r);
    release_sigint(&r);
    shell_free(r.sh);
    remote_destroy(&r.rem);
    return status;
}
