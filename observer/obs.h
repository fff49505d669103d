/*
 * obs.h - between the observer's files: its state (struct obs), the view
 * table each view file fills one entry of, frames (the lines a view
 * draws, rendered to curses or to plain text), and the helpers that ask
 * the node.
 *
 * Invariants: views keep only C data (text and numbers) between
 * refreshes, never terms: o->h is emptied after every refresh. A frame
 * line is UTF-8 text with role changes inlined (FR_ROLE then 'A' + role);
 * rendering skips them in batch mode. Only core.c touches curses.
 */
#ifndef AX_OBSERVER_OBS_H
#define AX_OBSERVER_OBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ax.h"
#include "observer.h"

enum role {
    R_NORMAL, R_TITLE, R_HEADER, R_SORTED, R_SELECTED, R_DIM, R_GOOD,
    R_WARN, R_BAD, R_FLASH, R_BAR, R_KEY, NROLES
};

/* Inline markup of frame lines. */
#define FR_ROLE '\x01' /* followed by 'A' + role */
#define FR_FILL '\x02' /* pad the rest of the line in the current role */

struct frame {
    char **lines;
    size_t n;
    size_t cap;
    bool failed;
};

enum glyph { G_HLINE, G_VLINE, G_TEE, G_ELBOW, G_OPEN, G_CLOSED,
             G_FULL, G_LIGHT, G_ARROW_UP, G_ARROW_DOWN, NGLYPHS };

/* A scrolling list: sel and top are absolute rows of n. */
struct cursor {
    long sel;
    long top;
    long n;
};

struct obs;

/* A line of the help screen: key and what it does. */
struct keyhelp {
    const char *key;
    const char *what;
};

/* One view (htop's Panel): described as data, one file each. */
struct view {
    const char *name;    /* "Processes": the tab and --view (lowercased) */
    bool tab;            /* reachable with a number key / Tab */
    bool needs_node;     /* hidden in post-mortem (--db) mode */
    void (*open)(struct obs *o);    /* at start: reset its state */
    void (*close)(struct obs *o);   /* at the end: free it */
    /* Asks the node (or the database); 0, or AX_E* (o->lost is set when
     * the node went away). */
    int (*refresh)(struct obs *o);
    /* Draws the body: rows x cols cells. */
    void (*draw)(struct obs *o, struct frame *f, int rows, int cols);
    /* A key for the view; true if it took it. */
    bool (*key)(struct obs *o, int key);
    /* A click at body row, column (row -1: the header line). */
    void (*click)(struct obs *o, int row, int col);
    /* The selected process as text ("<0.42.0>"); false if none. */
    bool (*selected)(struct obs *o, char *pid, size_t size);
    const struct keyhelp *help; /* its own keys, ended by {NULL} */
};

enum view_id { V_SYSTEM, V_PROCESSES, V_TREE, V_CRASHES, V_MODULES,
               V_DETAIL, V_REPORT, V_HELP, NVIEWS };

extern const struct view view_system, view_processes, view_tree,
    view_crashes, view_modules, view_detail, view_report, view_help;

/* An edited line at the bottom: a filter (applied as it is typed), an
 * action's argument or a confirmation. */
struct prompt {
    bool active;
    char label[64];
    char text[256];
    size_t len;
    bool yes_no;                                      /* one key: y/n */
    void (*change)(struct obs *o, const char *text);  /* each edit */
    void (*done)(struct obs *o, const char *text);    /* Enter (or y) */
    char arg[128];                                    /* for done */
};

struct obs {
    const struct ax_observer_opts *opts;
    const char *node;
    const char *cookie;
    ax_client_t *c;
    bool own_client;
    bool lost;            /* the node went away */
    void *db;             /* sqlite3 *: post-mortem mode */
    ax_heap_t *h;         /* replies of the current refresh */
    enum view_id view;
    enum view_id back[8]; /* where Esc goes */
    int nback;
    int interval_ms;
    bool paused;
    bool read_only;
    bool batch;
    bool utf8;
    bool quit;
    bool refresh_now;     /* refresh before the next draw */
    bool dirty;           /* draw before the next key */
    uint64_t next_refresh_ns;
    char node_name[80];
    char status[200];     /* a message at the bottom, until status_until */
    uint64_t status_until;
    bool status_bad;
    struct prompt prompt;
    char error[64];       /* the reason of the last {error, R} */
    bool quiet;           /* the next {error, R} is not said */
    char detail_pid[48];  /* the process shown by V_DETAIL */
    int64_t report_id;    /* the crash shown by V_REPORT */
    int width;            /* of the body, last drawn */
};

/* --- core.c ------------------------------------------------------------ */

/* The view of an id. */
const struct view *obs_view(enum view_id v);
uint64_t obs_now_ns(void);
/* Tells the user something at the bottom for a few seconds. */
void obs_say(struct obs *o, bool bad, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Switches to view v, remembering where Esc goes back to. */
void obs_open_view(struct obs *o, enum view_id v);
/* Opens the process detail of pid (text). */
void obs_open_process(struct obs *o, const char *pid);
/* Starts a prompt; done gets the text on Enter. */
void obs_prompt(struct obs *o, const char *label, const char *initial,
                void (*change)(struct obs *, const char *),
                void (*done)(struct obs *, const char *));
/* Asks y/n; done (with arg) runs on y. */
void obs_confirm(struct obs *o, const char *question, const char *arg,
                 void (*done)(struct obs *, const char *));
/* Movement keys on a list of page rows; true if key was one. */
bool cursor_key(struct cursor *c, int key, int page);
/* A click on body row `row` of a list whose first row is at `first`:
 * selects that row. */
void cursor_click(struct cursor *c, int row, int first, int page);
/* Keeps sel in [0, n) and visible in a page of rows. */
void cursor_fix(struct cursor *c, int page);

/* --- frame.c ------------------------------------------------------------ */

/* Starts a new line. */
void fr_line(struct frame *f);
/* Appends printf text in a role (then back to normal). */
void fr_add(struct frame *f, enum role r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends text cut or padded to exactly width columns. */
void fr_cell(struct frame *f, enum role r, const char *text, int width,
             bool right);
/* Appends text, or when it is wider than width columns its last
 * columns after an ellipsis: the end of a path is the part that tells. */
void fr_tail(struct frame *f, enum role r, const char *text, int width,
             bool utf8);
/* Pads the rest of the line in role r (a selected row). */
void fr_fill(struct frame *f, enum role r);
void fr_glyph(struct frame *f, enum role r, enum glyph g, bool utf8);
/* A bar of width cells filled to fraction (0..1). */
void fr_bar(struct frame *f, double fraction, int width, bool utf8);
/* A sparkline of v[0..n) (0..1 each), the last width values. */
void fr_spark(struct frame *f, const double *v, size_t n, int width,
              bool utf8);
void fr_reset(struct frame *f);
/* Columns a UTF-8 text takes (code points). */
size_t text_columns(const char *s);
/* Prints a line without markup, cut to cols columns. */
void fr_print_plain(const char *line, int cols, void *file);

/* --- client.c ------------------------------------------------------------- */

/* Sends request text (Erlang syntax, printf-formatted) and stores the
 * value of {ok, V} on o->h. An {error, R} gives AX_EBADARG with R said;
 * a lost node AX_ENOCONN and o->lost. */
int obs_req(struct obs *o, ax_term_t *val, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with a request term made on o->h. */
int obs_req_term(struct obs *o, ax_term_t req, ax_term_t *val);
/* Reconnects after the node went away. */
int obs_reconnect(struct obs *o);
/* Map accessors: an integer (0 if absent), a double, the text of an
 * atom, binary or other term (bounded), "" for [] or absent. */
int64_t m_int(ax_term_t map, const char *key);
double m_float(ax_term_t map, const char *key);
void m_text(ax_term_t map, const char *key, char *buf, size_t size);
void term_text(ax_term_t t, char *buf, size_t size);
/* 1234567 -> "1.2M" into buf. */
void human(double v, char *buf, size_t size);
void human_bytes(double v, char *buf, size_t size);

/* --- actions.c ------------------------------------------------------------ */

/* The action keys (k x s g r): true if key was one of them. */
bool action_key(struct obs *o, int key);
extern const struct keyhelp action_help[];

/* --- v_crashes.c: the crash log, from the node or a database --------------- */

/* Opens path read-only (post-mortem). 0, or AX_EINVAL (said on stderr). */
int crashdb_open(struct obs *o, const char *path);
void crashdb_close(struct obs *o);
/* Calls field for each column of report id, in the table's order: 0, or
 * AX_ENOPROC (no such report). */
int crashdb_report(struct obs *o, int64_t id,
                   void (*field)(const char *name, const char *value));

#endif /* AX_OBSERVER_OBS_H */
