/*
 * cmd_crashes.c - `ax crashes`: reads a node's crash log (its SQLite
 * database, schema in ax(1)) and prints crash reports: a table, newest
 * first, by default; one report in full with --id; JSON lines with
 * --json. It starts no node and needs none running: the database is
 * opened read-only, so it reads a live node's log (WAL lets it) or a
 * dead one's, post mortem.
 *
 * The options are data (the table `options`); each sets one field of
 * struct query, from which the SELECT is built out of fixed fragments
 * with every value bound, never spliced into the text.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ax.h"
#include "cmd.h"

/* The schema versions this command reads (PRAGMA user_version): a
 * column newer than the database reads as NULL. */
#define SCHEMA_VERSION 3
#define SCHEMA_OLDEST 1
#define KEYED_SINCE 3 /* crash.pid_key, which crash_pid indexes */
#define BUSY_MS 5000
#define DEFAULT_LIMIT 50

struct query {
    const char *node;
    const char *db;
    bool has_since;
    int64_t since_us;
    const char *module;
    char pid[64];
    int64_t pid_key; /* the schema's S * 2^28 + N; -1: another node's */
    const char *name;
    const char *reason;
    long long limit; /* 0: every report */
    long long id;    /* 0: not one report */
    bool json;
    int version; /* the database's schema */
};

/* --- Options -------------------------------------------------------------- */

static int usage(FILE *f, int status)
{
    fprintf(f,
            "usage: ax crashes [NODE | --db PATH] [--since T] [--module M]\n"
            "                  [--pid P] [--name N] [--reason TEXT] "
            "[--limit N]\n"
            "                  [--json] [--id N]\n"
            "Prints the crash reports of NODE's crash log (default: "
            "nonode), newest\nfirst. T is a date (2026-11-22, "
            "2026-11-22T14:05[:30], Z for UTC) or a\nduration back from "
            "now (30s, 10m, 2h, 1d). --limit 0 prints every report\n"
            "(default %d). See ax(1).\n",
            DEFAULT_LIMIT);
    return status;
}

/* Says what was wrong with an option's value; returns 2 (bad usage). */
static int bad_value(const char *opt, const char *arg, const char *want)
{
    fprintf(stderr, "ax crashes: %s: expected %s, got '%s'\n", opt, want, arg);
    return 2;
}

static bool parse_count(const char *s, long long *out)
{
    char *end;

    errno = 0;
    *out = strtoll(s, &end, 10);
    return s[0] >= '0' && s[0] <= '9' && !*end && errno == 0;
}

/* "10m": seconds back from now, as *us; false if s is not a duration. */
static bool parse_duration(const char *s, int64_t *us)
{
    static const struct {
        char unit;
        int64_t seconds;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};
    char *end;
    long long n;

    errno = 0;
    n = strtoll(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || errno || !end[0] || end[1])
        return false;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (units[i].unit == *end &&
            n <= INT64_MAX / 1000000 / units[i].seconds) {
            *us =
                (int64_t)time(NULL) * 1000000 - n * units[i].seconds * 1000000;
            return true;
        }
    return false;
}

/* "2026-11-22[(T| )HH:MM[:SS]][Z]": local time, or UTC with Z. */
static bool parse_date(const char *s, int64_t *us)
{
    static const char *const formats[] = {"%Y-%m-%dT%H:%M:%S",
                                          "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M",
                                          "%Y-%m-%d %H:%M", "%Y-%m-%d"};
    struct tm tm;
    const char *end;
    time_t t;

    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        memset(&tm, 0, sizeof(tm));
        end = strptime(s, formats[i], &tm);
        if (!end || (end[0] && strcmp(end, "Z") != 0))
            continue;
        tm.tm_isdst = -1;
        t = end[0] ? timegm(&tm) : mktime(&tm);
        if (t == (time_t)-1)
            return false;
        *us = (int64_t)t * 1000000;
        return true;
    }
    return false;
}

static int set_db(struct query *q, const char *arg)
{
    q->db = arg;
    return 0;
}

static int set_since(struct query *q, const char *arg)
{
    q->has_since = true;
    if (parse_duration(arg, &q->since_us) || parse_date(arg, &q->since_us))
        return 0;
    return bad_value("--since", arg,
                     "a date (2026-11-22[T14:05[:30]][Z]) or a duration "
                     "(30s, 10m, 2h, 1d)");
}

static int set_module(struct query *q, const char *arg)
{
    q->module = arg;
    return 0;
}

/* "<0.42.0>" or "0.42.0", kept as the log writes it. */
static int set_pid(struct query *q, const char *arg)
{
    unsigned long a;
    unsigned long b;
    unsigned long c;
    int used = 0;
    const char *s = arg[0] == '<' ? arg + 1 : arg;
    const char *close = arg[0] == '<' ? ">" : "";

    if (sscanf(s, "%lu.%lu.%lu%n", &a, &b, &c, &used) != 3 ||
        strcmp(s + used, close) != 0 || s[0] < '0' || s[0] > '9')
        return bad_value("--pid", arg, "a pid such as <0.42.0>");
    snprintf(q->pid, sizeof(q->pid), "<%lu.%lu.%lu>", a, b, c);
    q->pid_key = a == 0 && b < (1ul << 28) && c < (1ul << 24)
                     ? (int64_t)(c << 28 | b)
                     : -1;
    return 0;
}

static int set_name(struct query *q, const char *arg)
{
    q->name = arg;
    return 0;
}

static int set_reason(struct query *q, const char *arg)
{
    q->reason = arg;
    return 0;
}

static int set_limit(struct query *q, const char *arg)
{
    return parse_count(arg, &q->limit)
               ? 0
               : bad_value("--limit", arg, "a number (0: no limit)");
}

static int set_id(struct query *q, const char *arg)
{
    return parse_count(arg, &q->id) && q->id > 0
               ? 0
               : bad_value("--id", arg, "a report's id, a number");
}

static int set_json(struct query *q, const char *arg)
{
    (void)arg;
    q->json = true;
    return 0;
}

static const struct option {
    const char *flag;
    bool takes_arg;
    int (*set)(struct query *q, const char *arg);
} options[] = {
    {"--db", true, set_db},         {"--since", true, set_since},
    {"--module", true, set_module}, {"--pid", true, set_pid},
    {"--name", true, set_name},     {"--reason", true, set_reason},
    {"--limit", true, set_limit},   {"--id", true, set_id},
    {"--json", false, set_json},
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

/* Applies argv[*i] (and its value); returns 0, or the exit status. */
static int apply_option(struct query *q, int argc, char **argv, int *i)
{
    for (size_t k = 0; k < NOPTIONS; k++) {
        if (strcmp(argv[*i], options[k].flag) != 0)
            continue;
        if (!options[k].takes_arg)
            return options[k].set(q, NULL);
        if (*i + 1 >= argc) {
            fprintf(stderr, "ax crashes: %s needs a value\n", argv[*i]);
            return 2;
        }
        *i += 1;
        return options[k].set(q, argv[*i]);
    }
    fprintf(stderr, "ax crashes: unknown option '%s'\n\n", argv[*i]);
    return usage(stderr, 2);
}

/* Fills q from argv; returns 0, -1 after --help, or the exit status. */
static int parse_args(int argc, char **argv, struct query *q)
{
    int err;

    q->limit = DEFAULT_LIMIT;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return usage(stdout, 0) - 1;
        if (argv[i][0] != '-' && !q->node) {
            q->node = argv[i];
            continue;
        }
        if (argv[i][0] != '-') {
            fprintf(stderr, "ax crashes: one NODE only, got '%s'\n\n", argv[i]);
            return usage(stderr, 2);
        }
        err = apply_option(q, argc, argv, &i);
        if (err)
            return err;
    }
    if (q->node && q->db) {
        fprintf(stderr, "ax crashes: give a NODE or --db PATH, not both\n");
        return 2;
    }
    return 0;
}

/* --- The database --------------------------------------------------------- */

/* NODE's database path, as the runtime chooses it, in a new string. */
static char *node_db_path(const char *node)
{
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    char *s = NULL;
    int n;

    if (xdg && xdg[0] == '/')
        n = asprintf(&s, "%s/ax/%s.db", xdg, node);
    else if (home && home[0])
        n = asprintf(&s, "%s/.local/state/ax/%s.db", home, node);
    else
        n = -1;
    return n < 0 ? NULL : s;
}

/* The schema version of db, or -1 with a message. */
static int schema_version(sqlite3 *db, const char *path)
{
    sqlite3_stmt *s;
    int v = -1;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);

    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
            v = sqlite3_column_int(s, 0);
        rc = sqlite3_finalize(s);
    }
    if (rc != SQLITE_OK) {
        fprintf(stderr, "ax crashes: %s: %s\n", path, sqlite3_errmsg(db));
        return -1;
    }
    return v;
}

/* Opens the log read-only and checks its schema (its version in
 * *version); NULL with a message. */
static sqlite3 *open_log(const char *path, int *version)
{
    struct stat st;
    sqlite3 *db = NULL;
    int v;
    int rc;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "ax crashes: %s: no crash log there: %s\n", path,
                strerror(errno));
        return NULL;
    }
    rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(db, BUSY_MS);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "ax crashes: %s: %s\n", path,
                db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        goto out_close;
    }
    v = schema_version(db, path);
    *version = v;
    if (v >= SCHEMA_OLDEST && v <= SCHEMA_VERSION)
        return db;
    if (v == 0)
        fprintf(stderr, "ax crashes: %s: not an ax crash log\n", path);
    else if (v > SCHEMA_VERSION)
        fprintf(stderr,
                "ax crashes: %s: written by a newer ax (schema %d; "
                "this one reads %d)\n",
                path, v, SCHEMA_VERSION);
out_close:
    if (sqlite3_close(db) != SQLITE_OK)
        fprintf(stderr, "ax crashes: %s: close failed\n", path);
    return NULL;
}

/* The columns printed, in SELECT order; the table shows the first six.
 * Those of a later schema than 1 say since which. */
static const struct column {
    const char *name;
    int since;
} columns[] = {
    {"id", 1},          {"time", 1},       {"pid", 1},
    {"name", 1},        {"module", 1},     {"reason", 1},
    {"node", 1},        {"version", 1},    {"last_message", 1},
    {"state", 1},       {"mailbox_len", 1}, {"mailbox", 1},
    {"links", 1},       {"monitors", 1},   {"ancestors", 1},
    {"supervisor", 1},  {"child_id", 1},   {"restarts", 1},
    {"reductions", 1},  {"heap_words", 1}, {"backtrace", 1},
    {"dump", 2},
};

#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))
enum { C_ID, C_TIME, C_PID, C_NAME, C_MODULE, C_REASON };

/* A filter: its SQL (one ? for the value) and where the value is. */
struct filter {
    const char *sql;
    const char *text;
    int64_t number;
    bool present;
};

/* The SELECT for q, in sql; the values of its parameters in f[0..*n). */
static void build_select(const struct query *q, char *sql, size_t size,
                         struct filter *f, size_t *n)
{
    const struct filter where[] = {
        {" AND id = ?", NULL, q->id, q->id > 0},
        {" AND time >= ?", NULL, q->since_us, q->has_since},
        {" AND module = ?", q->module, 0, q->module != NULL},
        {" AND pid_key = ?", NULL, q->pid_key,
         q->pid[0] != '\0' && q->version >= KEYED_SINCE},
        {" AND pid = ?", q->pid, 0, q->pid[0] != '\0'},
        {" AND name = ?", q->name, 0, q->name != NULL},
        {" AND instr(reason, ?) > 0", q->reason, 0, q->reason != NULL},
    };
    const struct filter limit = {" LIMIT ?", NULL, q->limit, q->limit > 0};
    size_t len = (size_t)snprintf(sql, size, "SELECT");

    for (size_t i = 0; i < NCOLUMNS; i++)
        len += (size_t)snprintf(sql + len, size - len, "%s %s",
                                i ? "," : "",
                                columns[i].since <= q->version
                                    ? columns[i].name
                                    : "NULL");
    len += (size_t)snprintf(sql + len, size - len, " FROM crash WHERE 1");
    *n = 0;
    for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
        if (!where[i].present)
            continue;
        len += (size_t)snprintf(sql + len, size - len, "%s", where[i].sql);
        f[(*n)++] = where[i];
    }
    len += (size_t)snprintf(sql + len, size - len, " ORDER BY id DESC");
    if (limit.present) {
        snprintf(sql + len, size - len, "%s", limit.sql);
        f[(*n)++] = limit;
    }
}

static int bind_filters(sqlite3_stmt *s, const struct filter *f, size_t n)
{
    int rc = SQLITE_OK;

    for (size_t i = 0; rc == SQLITE_OK && i < n; i++)
        rc = f[i].text ? sqlite3_bind_text(s, (int)i + 1, f[i].text, -1,
                                           SQLITE_STATIC)
                       : sqlite3_bind_int64(s, (int)i + 1, f[i].number);
    return rc;
}

/* --- Printing ------------------------------------------------------------- */

static const char *text_of(sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);

    return t ? (const char *)t : NULL;
}

/* Local time of us, to the second (with the microseconds if exact). */
static void format_time(int64_t us, bool exact, char *buf, size_t size)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    size_t n;

    localtime_r(&t, &tm);
    n = strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
    if (exact)
        snprintf(buf + n, size - n, ".%06lld", (long long)(us % 1000000));
}

/* Bytes of s that hold at most cols characters (UTF-8, one column
 * each, as a terminal shows most). */
static size_t fit(const char *s, size_t cols)
{
    size_t i = 0;

    for (; s[i]; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80 && cols-- == 0)
            break;
    return i;
}

/* Prints s in a cell of width cols (the last one: unpadded), cut with
 * "..." if longer, control characters as spaces. */
static void print_cell(const char *s, size_t cols, bool last)
{
    size_t n = fit(s, cols);
    bool cut = s[n] != '\0' && cols > 3;
    size_t shown = 0;

    if (cut)
        n = fit(s, cols - 3);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        putchar(c < 0x20 || c == 0x7F ? ' ' : c);
        shown += (c & 0xC0) != 0x80;
    }
    if (cut) {
        fputs("...", stdout);
        shown += 3;
    }
    while (!last && shown++ < cols + 1)
        putchar(' ');
}

static size_t terminal_width(void)
{
    struct winsize ws;
    const char *env = getenv("COLUMNS");

    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
        ws.ws_col > 0)
        return ws.ws_col;
    if (env && atoi(env) > 0)
        return (size_t)atoi(env);
    return 80;
}

static const size_t cell_width[] = {7, 19, 14, 14, 14};

static void print_header(size_t width)
{
    static const char *const heads[] = {"ID", "TIME", "PID", "NAME", "MODULE"};
    size_t used = 0;

    for (size_t i = 0; i < 5; i++) {
        print_cell(heads[i], cell_width[i], false);
        used += cell_width[i] + 1;
    }
    print_cell("REASON", width > used + 10 ? width - used : 10, true);
    putchar('\n');
}

static void print_row(sqlite3_stmt *s, size_t width)
{
    char time_text[40];
    const char *cells[5];
    size_t used = 0;

    format_time(sqlite3_column_int64(s, C_TIME), false, time_text,
                sizeof(time_text));
    cells[C_ID] = text_of(s, C_ID);
    cells[C_TIME] = time_text;
    for (int c = C_PID; c <= C_MODULE; c++)
        cells[c] = text_of(s, c) ? text_of(s, c) : "-";
    for (size_t i = 0; i < 5; i++) {
        print_cell(cells[i], cell_width[i], false);
        used += cell_width[i] + 1;
    }
    print_cell(text_of(s, C_REASON) ? text_of(s, C_REASON) : "",
               width > used + 10 ? width - used : 10, true);
    putchar('\n');
}

/* Prints s as a JSON string; invalid UTF-8 bytes become U+FFFD. */
static void print_json_string(const unsigned char *s)
{
    putchar('"');
    while (*s) {
        size_t n = *s < 0x80         ? 1
                   : (*s >> 5) == 6  ? 2
                   : (*s >> 4) == 14 ? 3
                   : (*s >> 3) == 30 ? 4
                                     : 0;
        size_t ok = n;

        for (size_t i = 1; i < n; i++)
            if ((s[i] & 0xC0) != 0x80)
                ok = 0;
        if (ok > 1) {
            fwrite(s, 1, ok, stdout);
        } else if (ok == 0) {
            fputs("\\ufffd", stdout);
            n = 1;
        } else if (*s == '"' || *s == '\\') {
            printf("\\%c", *s);
        } else if (*s < 0x20 || *s == 0x7F) {
            printf("\\u%04x", *s);
        } else {
            putchar(*s);
        }
        s += n;
    }
    putchar('"');
}

static void print_json(sqlite3_stmt *s)
{
    putchar('{');
    for (size_t i = 0; i < NCOLUMNS; i++) {
        int type = sqlite3_column_type(s, (int)i);

        printf("%s\"%s\":", i ? "," : "", columns[i].name);
        if (type == SQLITE_NULL)
            fputs("null", stdout);
        else if (type == SQLITE_INTEGER)
            printf("%lld", (long long)sqlite3_column_int64(s, (int)i));
        else
            print_json_string(sqlite3_column_text(s, (int)i));
    }
    puts("}");
}

/* Prints value under a label; lines after the first indented. */
static void print_field(const char *label, const char *value)
{
    printf("%-13s", label);
    for (const char *v = value; *v; v++) {
        if (*v == '\n' && v[1])
            fputs("\n             ", stdout);
        else if (*v != '\n')
            putchar((unsigned char)*v < 0x20 ? ' ' : *v);
    }
    putchar('\n');
}

static void print_full(sqlite3_stmt *s)
{
    char time_text[64];

    format_time(sqlite3_column_int64(s, C_TIME), true, time_text,
                sizeof(time_text));
    printf("crash report %s\n", text_of(s, C_ID));
    print_field("time", time_text);
    for (size_t i = C_PID; i < NCOLUMNS; i++)
        if (columns[i].since == 1 || text_of(s, (int)i))
            print_field(columns[i].name,
                        text_of(s, (int)i) ? text_of(s, (int)i) : "-");
}

/* --- The command ---------------------------------------------------------- */

/* Runs the query and prints each row; returns how many, or -1. */
static long long print_rows(sqlite3 *db, const struct query *q,
                            const char *path)
{
    char sql[1024];
    struct filter f[8];
    size_t nf;
    sqlite3_stmt *s;
    long long rows = 0;
    size_t width = terminal_width();
    int rc;

    build_select(q, sql, sizeof(sql), f, &nf);
    rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK)
        rc = bind_filters(s, f, nf);
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (q->json) {
            print_json(s);
        } else if (q->id) {
            print_full(s);
        } else {
            if (!rows)
                print_header(width);
            print_row(s, width);
        }
        rows++;
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE)
        fprintf(stderr, "ax crashes: %s: %s\n", path, sqlite3_errmsg(db));
    if (sqlite3_finalize(s) != SQLITE_OK && rc == SQLITE_DONE)
        rc = SQLITE_ERROR;
    return rc == SQLITE_DONE ? rows : -1;
}

int ax_cmd_crashes(int argc, char **argv)
{
    struct query q = {0};
    char *path;
    sqlite3 *db;
    long long rows;
    int status = parse_args(argc, argv, &q);

    if (status)
        return status < 0 ? 0 : status;
    path = q.db ? strdup(q.db) : node_db_path(q.node ? q.node : "nonode");
    if (!path) {
        fprintf(stderr, "ax crashes: no crash log path: set HOME or "
                        "XDG_STATE_HOME, or give --db PATH\n");
        return 1;
    }
    db = open_log(path, &q.version);
    rows = db ? print_rows(db, &q, path) : -1;
    if (rows == 0 && q.id)
        fprintf(stderr, "ax crashes: %s: no crash report %lld\n", path, q.id);
    else if (rows == 0 && !q.json)
        printf("no crash reports\n");
    if (db && sqlite3_close(db) != SQLITE_OK)
        fprintf(stderr, "ax crashes: %s: close failed\n", path);
    free(path);
    return rows < 0 || (rows == 0 && q.id) ? 1 : 0;
}
