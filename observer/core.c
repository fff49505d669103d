/*
 * core.c - the observer's core: the terminal, the layout (a title line
 * with the views' tabs, the view's body, a status line), the global keys
 * and the loop, which is poll -> recompute -> draw if dirty -> read key ->
 * dispatch (see STYLE.md). Batch mode runs the same views without curses.
 *
 * Drawing: each draw builds the whole screen as frame lines and writes
 * only the lines that differ from the previous draw, then one doupdate():
 * no clear() per frame, so nothing flickers, and curses sends the
 * terminal only the cells that changed.
 *
 * The terminal is given back as found on every way out: endwin() on a
 * normal exit or an error; on a fatal signal a handler restores the saved
 * termios and writes the precomputed reset sequence (both
 * async-signal-safe), then lets the signal take its course. SIGINT,
 * SIGTERM and SIGHUP end the loop; SIGWINCH resizes. The handlers found
 * are put back on return (the shell's, for observer()).
 */
#include "obs.h"

#include <langinfo.h>
#include <locale.h>
#include <ncursesw/curses.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* curses's refresh() macro would take views' refresh for itself. */
#undef refresh

#define INTERVAL_MIN 100
#define INTERVAL_MAX 60000
#define STATUS_MS 4000
#define TICK_MS 250

static const struct view *const views[NVIEWS] = {
    [V_SYSTEM] = &view_system,     [V_PROCESSES] = &view_processes,
    [V_TREE] = &view_tree,         [V_CRASHES] = &view_crashes,
    [V_MODULES] = &view_modules,   [V_DETAIL] = &view_detail,
    [V_REPORT] = &view_report,     [V_HELP] = &view_help,
};

const struct view *obs_view(enum view_id v)
{
    return views[v];
}

/* --- Signals ------------------------------------------------------------- */

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL,
                                    SIGABRT};
static const int quit_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define NFATAL (sizeof(fatal_signals) / sizeof(fatal_signals[0]))
#define NQUIT (sizeof(quit_signals) / sizeof(quit_signals[0]))

static volatile sig_atomic_t got_quit;
static volatile sig_atomic_t got_winch;
static volatile sig_atomic_t term_saved;
static struct termios saved_termios;
static char reset_seq[256];
static size_t reset_len;
static struct sigaction old_fatal[NFATAL];
static struct sigaction old_quit[NQUIT];
static struct sigaction old_winch;
static bool catching_fatal; /* the fatal signals are ours (see node_here) */

static void on_fatal(int sig)
{
    if (term_saved) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
        if (write(STDOUT_FILENO, reset_seq, reset_len) < 0) {
            /* nothing more can be done from here */
        }
    }
    for (size_t i = 0; i < NFATAL; i++)
        if (fatal_signals[i] == sig)
            sigaction(sig, &old_fatal[i], NULL);
    raise(sig);
}

static void on_quit(int sig)
{
    (void)sig;
    got_quit = 1;
}

static void on_winch(int sig)
{
    (void)sig;
    got_winch = 1;
}

/* Whether this program runs a node (observer() in `ax shell` on its own
 * node): the node's fault handlers must stay, since a fault in one of its
 * processes ends that process only. */
static bool node_here(void)
{
    ax_node_stats_t st;

    return ax_node_stats(&st) == 0;
}

static void catch_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_fatal;
    catching_fatal = !node_here();
    for (size_t i = 0; catching_fatal && i < NFATAL; i++)
        sigaction(fatal_signals[i], &sa, &old_fatal[i]);
    sa.sa_handler = on_quit;
    for (size_t i = 0; i < NQUIT; i++)
        sigaction(quit_signals[i], &sa, &old_quit[i]);
    sa.sa_handler = on_winch;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGWINCH, &sa, &old_winch);
}

static void release_signals(void)
{
    for (size_t i = 0; catching_fatal && i < NFATAL; i++)
        sigaction(fatal_signals[i], &old_fatal[i], NULL);
    for (size_t i = 0; i < NQUIT; i++)
        sigaction(quit_signals[i], &old_quit[i], NULL);
    sigaction(SIGWINCH, &old_winch, NULL);
    term_saved = 0;
}

/* The sequence that undoes what curses did to the terminal, kept for the
 * fatal handler (which may not ask terminfo). */
static void prepare_reset(void)
{
    static const char *const caps[] = {"sgr0", "cnorm", "rmkx", "rmcup"};
    size_t n = 0;

    n += (size_t)snprintf(reset_seq, sizeof(reset_seq),
                          "\033[?1000l\033[?1002l\033[?1006l");
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        const char *s = tigetstr((char *)caps[i]);

        if (s && s != (char *)-1 && n + strlen(s) < sizeof(reset_seq) - 2)
            n += (size_t)snprintf(reset_seq + n, sizeof(reset_seq) - n, "%s",
                                  s);
    }
    reset_len = n;
}

/* --- Time, status, prompts ------------------------------------------------ */

uint64_t obs_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void obs_say(struct obs *o, bool bad, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(o->status, sizeof(o->status), fmt, ap);
    va_end(ap);
    o->status_bad = bad;
    o->status_until = obs_now_ns() + (uint64_t)STATUS_MS * 1000000u;
    o->dirty = true;
    if (o->batch && bad)
        fprintf(stderr, "ax observer: %s\n", o->status);
}

void obs_open_view(struct obs *o, enum view_id v)
{
    if (v == o->view)
        return;
    if (v >= V_DETAIL && o->nback < (int)(sizeof(o->back) /
                                          sizeof(o->back[0])))
        o->back[o->nback++] = o->view;
    else if (v < V_DETAIL)
        o->nback = 0;
    o->view = v;
    o->refresh_now = true;
    o->dirty = true;
}

void obs_open_process(struct obs *o, const char *pid)
{
    snprintf(o->detail_pid, sizeof(o->detail_pid), "%s", pid);
    if (o->view == V_DETAIL)
        o->refresh_now = true;
    obs_open_view(o, V_DETAIL);
}

static void go_back(struct obs *o)
{
    if (o->nback > 0) {
        o->view = o->back[--o->nback];
        o->refresh_now = true;
        o->dirty = true;
    }
}

void obs_prompt(struct obs *o, const char *label, const char *initial,
                void (*change)(struct obs *, const char *),
                void (*done)(struct obs *, const char *))
{
    struct prompt *p = &o->prompt;

    memset(p, 0, sizeof(*p));
    p->active = true;
    snprintf(p->label, sizeof(p->label), "%s", label);
    snprintf(p->text, sizeof(p->text), "%s", initial ? initial : "");
    p->len = strlen(p->text);
    p->change = change;
    p->done = done;
    o->dirty = true;
}

void obs_confirm(struct obs *o, const char *question, const char *arg,
                 void (*done)(struct obs *, const char *))
{
    obs_prompt(o, question, NULL, NULL, done);
    o->prompt.yes_no = true;
    snprintf(o->prompt.arg, sizeof(o->prompt.arg), "%s", arg);
}

/* A key while a prompt is open. */
static void prompt_key(struct obs *o, int key)
{
    struct prompt *p = &o->prompt;
    char arg[sizeof(p->arg)];
    char text[sizeof(p->text)];

    o->dirty = true;
    if (p->yes_no) {
        p->active = false;
        memcpy(arg, p->arg, sizeof(arg));
        if (key == 'y' || key == 'Y')
            p->done(o, arg);
        return;
    }
    if (key == 27) {
        p->active = false;
        if (p->change)
            p->change(o, "");
        return;
    }
    if (key == '\n' || key == '\r' || key == KEY_ENTER) {
        p->active = false;
        memcpy(text, p->text, sizeof(text));
        if (p->done)
            p->done(o, text);
        return;
    }
    if (key == 21) { /* Ctrl-U: the whole line */
        p->len = 0;
        p->text[0] = '\0';
    } else if ((key == KEY_BACKSPACE || key == 127 || key == 8) &&
               p->len > 0) {
        while (p->len > 0 && ((unsigned char)p->text[--p->len] & 0xc0) ==
                                 0x80) {
        }
        p->text[p->len] = '\0';
    } else if (key >= 32 && key < 256 && key != 127 &&
               p->len + 1 < sizeof(p->text)) {
        p->text[p->len++] = (char)key;
        p->text[p->len] = '\0';
    } else {
        return;
    }
    if (p->change)
        p->change(o, p->text);
}

/* --- Lists ------------------------------------------------------------------ */

void cursor_fix(struct cursor *c, int page)
{
    if (page < 1)
        page = 1;
    if (c->sel >= c->n)
        c->sel = c->n - 1;
    if (c->sel < 0)
        c->sel = 0;
    if (c->sel < c->top)
        c->top = c->sel;
    if (c->sel >= c->top + page)
        c->top = c->sel - page + 1;
    if (c->top > c->n - page)
        c->top = c->n - page;
    if (c->top < 0)
        c->top = 0;
}

void cursor_click(struct cursor *c, int row, int first, int page)
{
    if (row >= first && c->top + row - first < c->n) {
        c->sel = c->top + row - first;
        cursor_fix(c, page);
    }
}

bool cursor_key(struct cursor *c, int key, int page)
{
    switch (key) {
    case KEY_UP:
        c->sel--;
        break;
    case KEY_DOWN:
        c->sel++;
        break;
    case KEY_PPAGE:
        c->sel -= page;
        c->top -= page;
        break;
    case KEY_NPAGE:
        c->sel += page;
        c->top += page;
        break;
    case KEY_HOME:
        c->sel = 0;
        break;
    case KEY_END:
        c->sel = c->n - 1;
        break;
    default:
        return false;
    }
    cursor_fix(c, page);
    return true;
}

/* --- Drawing ---------------------------------------------------------------- */

struct screen {
    struct frame prev;    /* what the terminal shows */
    int rows;
    int cols;
    attr_t attrs[NROLES];
    short tab_x[NVIEWS + 1]; /* where each tab starts on the title line */
};

static void title_line(struct obs *o, struct screen *s, struct frame *f)
{
    int x = 0;
    char buf[160];

    fr_line(f);
    snprintf(buf, sizeof(buf), " ax observer %s ", o->node_name);
    fr_add(f, R_TITLE, "%s", buf);
    x += (int)text_columns(buf);
    for (int v = 0; v < V_DETAIL; v++) {
        if (o->db && views[v]->needs_node)
            continue;
        snprintf(buf, sizeof(buf), " %d %s ", v + 1, views[v]->name);
        s->tab_x[v] = (short)x;
        fr_add(f, (enum role)v == (enum role)o->view ? R_SELECTED : R_KEY,
               "%s", buf);
        x += (int)text_columns(buf);
    }
    s->tab_x[V_DETAIL] = (short)x;
    if (o->lost)
        fr_add(f, R_BAD, " NODE GONE ");
    else if (o->paused)
        fr_add(f, R_WARN, " PAUSED ");
    else if (!o->db)
        fr_add(f, R_TITLE, " %.1fs ", o->interval_ms / 1000.0);
    if (o->read_only)
        fr_add(f, R_TITLE, " read-only ");
    fr_fill(f, R_TITLE);
}

static void status_line(struct obs *o, struct frame *f)
{
    struct prompt *p = &o->prompt;

    fr_line(f);
    if (p->active) {
        fr_add(f, R_KEY, "%s", p->label);
        fr_add(f, R_NORMAL, " %s%s", p->text, p->yes_no ? "" : "_");
    } else if (o->lost) {
        fr_add(f, R_BAD, "The node %s went away: r reconnects, q quits.",
               o->node_name);
    } else if (o->status[0] && obs_now_ns() < o->status_until) {
        fr_add(f, o->status_bad ? R_BAD : R_GOOD, "%s", o->status);
    } else {
        fr_add(f, R_KEY, "?");
        fr_add(f, R_NORMAL, " help  ");
        fr_add(f, R_KEY, "1-5");
        fr_add(f, R_NORMAL, " views  ");
        fr_add(f, R_KEY, "Enter");
        fr_add(f, R_NORMAL, " open  ");
        fr_add(f, R_KEY, "Esc");
        fr_add(f, R_NORMAL, " back  ");
        fr_add(f, R_KEY, "p");
        fr_add(f, R_NORMAL, " pause  ");
        fr_add(f, R_KEY, "q");
        fr_add(f, R_NORMAL, " quit");
    }
}

/* Writes one frame line at row y, in at most cols cells. */
static void put_line(struct screen *s, int y, const char *line)
{
    attr_t attr = s->attrs[R_NORMAL];
    int x = 0;

    move(y, 0);
    attrset(attr);
    for (const char *p = line; *p;) {
        size_t run = 0;

        if (*p == FR_ROLE && p[1]) {
            attr = s->attrs[(p[1] - 'A') % NROLES];
            attrset(attr);
            p += 2;
            continue;
        }
        if (*p == FR_FILL) {
            for (; x < s->cols; x++)
                addch(' ');
            p++;
            continue;
        }
        while (p[run] && p[run] != FR_ROLE && p[run] != FR_FILL)
            run++;
        for (size_t i = 0; i < run && x < s->cols; i++) {
            size_t len = 1;

            while (i + len < run && ((unsigned char)p[i + len] & 0xc0) == 0x80)
                len++;
            addnstr(p + i, (int)len);
            i += len - 1;
            x++;
        }
        p += run;
    }
    attrset(s->attrs[R_NORMAL]);
    if (x < s->cols)
        clrtoeol();
}

/* Frees the lines a draw cut off; they were never shown. */
static void frame_trim(struct frame *f, size_t n)
{
    for (size_t i = n; i < f->n; i++)
        free(f->lines[i]);
    if (f->n > n)
        f->n = n;
}

static void draw(struct obs *o, struct screen *s)
{
    struct frame f = {0};
    int body = s->rows - 2;

    title_line(o, s, &f);
    views[o->view]->draw(o, &f, body, s->cols);
    o->width = s->cols;
    while ((int)f.n < s->rows - 1 && !f.failed)
        fr_line(&f);
    frame_trim(&f, (size_t)s->rows - 1);
    status_line(o, &f);
    for (size_t y = 0; y < f.n && !f.failed; y++)
        if (y >= s->prev.n || strcmp(f.lines[y], s->prev.lines[y]) != 0)
            put_line(s, (int)y, f.lines[y]);
    if (f.failed) {
        fr_reset(&f);
        fr_reset(&s->prev); /* everything is drawn again next time */
    } else {
        fr_reset(&s->prev);
        s->prev = f;
    }
    wnoutrefresh(stdscr);
    doupdate();
    o->dirty = false;
}

/* --- Themes --------------------------------------------------------------------- */

static void theme(struct obs *o, struct screen *s)
{
    static const short colours[NROLES][2] = {
        [R_NORMAL] = {-1, -1},           [R_TITLE] = {COLOR_BLACK, COLOR_CYAN},
        [R_HEADER] = {COLOR_BLACK, COLOR_GREEN},
        [R_SORTED] = {COLOR_BLACK, COLOR_CYAN},
        [R_SELECTED] = {COLOR_BLACK, COLOR_CYAN},
        [R_DIM] = {COLOR_BLUE, -1},     [R_GOOD] = {COLOR_GREEN, -1},
        [R_WARN] = {COLOR_YELLOW, -1},  [R_BAD] = {COLOR_RED, -1},
        [R_FLASH] = {COLOR_BLACK, COLOR_YELLOW},
        [R_BAR] = {COLOR_CYAN, -1},     [R_KEY] = {COLOR_BLACK, COLOR_CYAN},
    };
    static const attr_t mono[NROLES] = {
        [R_TITLE] = A_REVERSE,  [R_HEADER] = A_BOLD | A_UNDERLINE,
        [R_SORTED] = A_REVERSE | A_BOLD, [R_SELECTED] = A_REVERSE,
        [R_DIM] = A_DIM,        [R_WARN] = A_BOLD,
        [R_BAD] = A_BOLD,       [R_FLASH] = A_STANDOUT | A_BOLD,
        [R_KEY] = A_REVERSE,
    };
    bool colour = has_colors() && !getenv("NO_COLOR");

    for (int r = 0; r < NROLES; r++)
        s->attrs[r] = mono[r] | (o->opts->big ? A_BOLD : 0);
    if (!colour)
        return;
    start_color();
    use_default_colors();
    for (short r = 1; r < NROLES; r++) {
        short fg = colours[r][0];
        short bg = colours[r][1];

        if (o->opts->big) { /* high contrast: bright on black */
            bg = bg == -1 ? COLOR_BLACK : COLOR_YELLOW;
            fg = fg == COLOR_BLUE ? COLOR_WHITE : fg;
        }
        init_pair(r, fg, bg);
        s->attrs[r] = (attr_t)COLOR_PAIR(r) |
                      (o->opts->big || r == R_BAD || r == R_HEADER ? A_BOLD
                                                                   : 0);
    }
    if (o->opts->big) {
        init_pair(NROLES, COLOR_WHITE, COLOR_BLACK);
        s->attrs[R_NORMAL] = (attr_t)COLOR_PAIR(NROLES) | A_BOLD;
        bkgdset((chtype)s->attrs[R_NORMAL] | ' ');
    }
}

/* --- Keys ------------------------------------------------------------------------- */

static void view_next(struct obs *o, int step)
{
    int v = o->view < V_DETAIL ? (int)o->view : 0;

    do
        v = (v + step + V_DETAIL) % V_DETAIL;
    while (o->db && views[v]->needs_node);
    obs_open_view(o, (enum view_id)v);
}

static void interval_change(struct obs *o, bool faster)
{
    int ms = faster ? o->interval_ms / 2 : o->interval_ms * 2;

    o->interval_ms = ms < INTERVAL_MIN ? INTERVAL_MIN
                     : ms > INTERVAL_MAX ? INTERVAL_MAX : ms;
    obs_say(o, false, "refresh every %.1f s", o->interval_ms / 1000.0);
}

/* The keys every view has; true if key was one. */
static bool global_key(struct obs *o, int key)
{
    if (key >= '1' && key <= '5') {
        if (!(o->db && views[key - '1']->needs_node))
            obs_open_view(o, (enum view_id)(key - '1'));
    } else if (key == '\t') {
        view_next(o, 1);
    } else if (key == KEY_BTAB) {
        view_next(o, -1);
    } else if (key == 'q' || key == 'Q' || key == 3) {
        o->quit = true;
    } else if (key == '?' || key == KEY_F(1) || key == 'h') {
        obs_open_view(o, V_HELP);
    } else if (key == 27 || key == KEY_BACKSPACE || key == KEY_LEFT) {
        go_back(o);
    } else if (key == 'p') {
        o->paused = !o->paused;
        obs_say(o, false, o->paused ? "paused" : "refreshing again");
    } else if (key == '+' || key == '=') {
        interval_change(o, true);
    } else if (key == '-') {
        interval_change(o, false);
    } else if (key == 12) { /* ^L */
        clearok(curscr, TRUE);
    } else if (key == 'r' && o->lost) {
        obs_reconnect(o);
    } else {
        return false;
    }
    o->dirty = true;
    return true;
}

static void mouse(struct obs *o, struct screen *s)
{
    MEVENT ev;
    const struct view *v = views[o->view];
    int key = 0;

    if (getmouse(&ev) != OK)
        return;
    if (ev.bstate & BUTTON4_PRESSED)
        key = KEY_UP;
    else if (ev.bstate & BUTTON5_PRESSED)
        key = KEY_DOWN;
    for (int i = 0; key && i < 3 && v->key; i++)
        v->key(o, key);
    if (key || !(ev.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED)))
        goto out;
    if (ev.y == 0) {
        for (int t = V_DETAIL - 1; t >= 0; t--)
            if (ev.x >= s->tab_x[t] && ev.x < s->tab_x[t + 1] &&
                !(o->db && views[t]->needs_node)) {
                obs_open_view(o, (enum view_id)t);
                break;
            }
    } else if (ev.y < s->rows - 1 && v->click) {
        v->click(o, ev.y - 1, ev.x);
    }
out:
    o->dirty = true;
}

static void dispatch(struct obs *o, struct screen *s, int key)
{
    const struct view *v = views[o->view];

    if (o->prompt.active) {
        prompt_key(o, key);
        return;
    }
    if (key == KEY_MOUSE) {
        mouse(o, s);
        return;
    }
    if (o->view == V_HELP && key != KEY_MOUSE) {
        go_back(o);
        return;
    }
    if (!(o->lost && key == 'r') && v->key && v->key(o, key)) {
        o->dirty = true;
        return;
    }
    if (!global_key(o, key) && !o->lost && action_key(o, key))
        o->dirty = true;
}

/* --- The loop ------------------------------------------------------------------------ */

static void heap_reset(struct obs *o)
{
    ax_heap_free(o->h);
    o->h = ax_heap_new();
}

static void poll_signals(struct obs *o, struct screen *s)
{
    struct winsize ws;

    if (got_quit)
        o->quit = true;
    if (got_winch) {
        got_winch = 0;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 2 &&
            ws.ws_col > 10)
            resizeterm(ws.ws_row, ws.ws_col);
        fr_reset(&s->prev);
        erase();
        o->dirty = true;
    }
    getmaxyx(stdscr, s->rows, s->cols);
    if (o->status[0] && o->status_until && obs_now_ns() >= o->status_until) {
        o->status_until = 0;
        o->dirty = true;
    }
}

/* Asks the node again when the interval is up or a key wants it. */
static void recompute(struct obs *o)
{
    uint64_t now = obs_now_ns();
    const struct view *v = views[o->view];

    if (!o->refresh_now && (o->paused || now < o->next_refresh_ns))
        return;
    o->refresh_now = false;
    o->next_refresh_ns = now + (uint64_t)o->interval_ms * 1000000u;
    if (v->refresh && (!o->lost || o->db))
        v->refresh(o);
    heap_reset(o);
    o->dirty = true;
}

static int read_key(struct obs *o)
{
    uint64_t now = obs_now_ns();
    int64_t ms = o->next_refresh_ns > now
                     ? (int64_t)((o->next_refresh_ns - now) / 1000000u)
                     : 0;

    if (o->paused || ms > TICK_MS)
        ms = TICK_MS;
    timeout((int)ms);
    return getch();
}

static void loop(struct obs *o, struct screen *s)
{
    while (!o->quit) {
        int key;

        poll_signals(o, s);
        if (o->dirty)
            draw(o, s);
        recompute(o);
        if (o->dirty)
            draw(o, s);
        key = read_key(o);
        if (key != ERR) {
            dispatch(o, s, key);
            heap_reset(o);
        }
    }
}

static int run_curses(struct obs *o)
{
    struct screen s = {0};
    SCREEN *scr;

    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "ax observer: not a terminal (--batch -n N prints "
                        "frames without one)\n");
        return 1;
    }
    if (tcgetattr(STDIN_FILENO, &saved_termios) == 0)
        term_saved = 1;
    catch_signals();
    scr = newterm(NULL, stdout, stdin);
    if (!scr) {
        release_signals();
        fprintf(stderr, "ax observer: cannot use this terminal (TERM=%s)\n",
                getenv("TERM") ? getenv("TERM") : "");
        return 1;
    }
    set_term(scr);
    prepare_reset();
    raw();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON4_PRESSED |
                  BUTTON5_PRESSED,
              NULL);
    mouseinterval(0);
    theme(o, &s);
    o->dirty = true;
    loop(o, &s);
    fr_reset(&s.prev);
    endwin();
    delscreen(scr);
    release_signals();
    return 0;
}

/* --- Batch ------------------------------------------------------------------------- */

static int env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    int n = v ? atoi(v) : 0;

    return n > 0 ? n : dflt;
}

static int run_batch(struct obs *o)
{
    int cols = env_int("COLUMNS", 100);
    int rows = env_int("LINES", 40);
    struct screen s = {.rows = rows, .cols = cols};

    for (int i = 0; i < o->opts->frames && !got_quit; i++) {
        struct frame f = {0};

        if (i > 0)
            usleep((useconds_t)o->interval_ms * 1000);
        o->refresh_now = true;
        recompute(o);
        title_line(o, &s, &f);
        views[o->view]->draw(o, &f, rows - 2, cols);
        frame_trim(&f, (size_t)rows - 1);
        for (size_t y = 0; y < f.n; y++)
            fr_print_plain(f.lines[y], cols, stdout);
        printf("\n");
        fflush(stdout);
        fr_reset(&f);
    }
    return o->lost ? 1 : 0;
}

/* --- Entry ------------------------------------------------------------------------- */

static int first_view(struct obs *o, const char *name)
{
    if (!name)
        return o->db ? V_CRASHES : V_SYSTEM;
    for (int v = 0; v < V_DETAIL; v++)
        if (strcasecmp(name, views[v]->name) == 0 ||
            (name[0] == '1' + v && !name[1]))
            return o->db && views[v]->needs_node ? -1 : v;
    return -1;
}

static int attach(struct obs *o, const char *node)
{
    int err;

    if (o->opts->db)
        return crashdb_open(o, o->opts->db) ? 1 : 0;
    if (o->opts->client) {
        o->c = o->opts->client;
    } else {
        err = ax_client_connect(node, o->cookie, AX_NONE, &o->c);
        if (err) {
            fprintf(stderr, "ax observer: cannot attach to %s: %s\n", node,
                    ax_strerror(err));
            return 1;
        }
        o->own_client = true;
    }
    snprintf(o->node_name, sizeof(o->node_name), "%s", ax_client_node(o->c));
    o->node = node ? node : o->node_name;
    return 0;
}

int ax_observer_run(const char *node, const char *cookie,
                    const struct ax_observer_opts *opts)
{
    struct obs o;
    int view;
    int status = 1;

    memset(&o, 0, sizeof(o));
    o.opts = opts;
    o.cookie = cookie;
    o.node = node;
    o.batch = opts->batch;
    o.read_only = opts->read_only;
    o.interval_ms = opts->interval_ms > 0 ? opts->interval_ms : 1000;
    if (o.interval_ms < INTERVAL_MIN)
        o.interval_ms = INTERVAL_MIN;
    o.h = ax_heap_new();
    setlocale(LC_CTYPE, "");
    o.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    if (!o.h || attach(&o, node ? node : "nonode") != 0)
        goto out;
    if (o.db)
        snprintf(o.node_name, sizeof(o.node_name), "(post-mortem)");
    view = first_view(&o, opts->view);
    if (view < 0) {
        fprintf(stderr, "ax observer: no view '%s'\n", opts->view);
        status = 2;
        goto out;
    }
    o.view = (enum view_id)view;
    for (int v = 0; v < NVIEWS; v++)
        if (views[v]->open)
            views[v]->open(&o);
    status = o.batch ? run_batch(&o) : run_curses(&o);
    for (int v = 0; v < NVIEWS; v++)
        if (views[v]->close)
            views[v]->close(&o);
out:
    if (o.own_client)
        ax_client_close(o.c);
    crashdb_close(&o);
    ax_heap_free(o.h);
    got_quit = 0;
    return status;
}
