/*
 * test_module.c - the module loader (runtime/code/module.h): loading
 * shared objects as versions, what a bad file does, the search path,
 * purging, compiling and watching files.
 *
 * The test modules are built at test time from tests/modules/ into a
 * fresh directory per test; a rebuild is simulated by copying another
 * build over the same path. A "runner" is a plain process that enters a
 * version, as a server running it would.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mod_util.h"
#include "proc_util.h"

#include "code/module.h"

#define PATH_LEN (2 * MOD_PATH_LEN)

static char dir[MOD_PATH_LEN]; /* this test's directory */

static ax_term_t A(const char *name)
{
    return ax_atom(name);
}

static ax_term_t I(int64_t v)
{
    return ax_int(ax_heap(), v);
}

/* --- Files --------------------------------------------------------------- */

/* dir/name, in one of a few static buffers. */
static const char *at(const char *name)
{
    static char bufs[8][PATH_LEN];
    static unsigned next;
    char *b = bufs[next++ % 8];

    if (snprintf(b, PATH_LEN, "%s/%s", dir, name) >= PATH_LEN)
        abort();
    return b;
}

static bool write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    bool ok = fd >= 0 && write(fd, data, len) == (ssize_t)len;

    return fd >= 0 && !close(fd) && ok;
}

static bool write_text(const char *path, const char *text)
{
    return write_file(path, text, strlen(text));
}

/* Copies from over to, rewriting to in place. */
static bool copy(const char *from, const char *to)
{
    static char buf[1 << 20];
    int fd = open(from, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;

    if (fd >= 0)
        close(fd);
    return n > 0 && n < (ssize_t)sizeof(buf) &&
           write_file(to, buf, (size_t)n);
}

/* Copies from over to by writing a new file and renaming it to to. */
static bool replace(const char *from, const char *to)
{
    char tmp[PATH_LEN];

    snprintf(tmp, sizeof(tmp), "%s.new", to);
    return copy(from, tmp) && !rename(tmp, to);
}

/* Copies tests/modules/src into the test's directory as name. */
static void copy_source(const char *src, const char *name)
{
    char rel[PATH_LEN];
    char path[PATH_LEN];

    snprintf(rel, sizeof(rel), "tests/modules/%s", src);
    mod_repo_path(path, rel);
    cr_assert(copy(path, at(name)), "copying %s", path);
}

/* Builds tests/modules/src into the test's directory as out. */
static void build(const char *src, const char *out)
{
    mod_build(src, at(out));
}

/* The line of tests/modules/src that holds marker (1-based), or 0. */
static int line_of(const char *src, const char *marker)
{
    char path[PATH_LEN];
    char line[256];
    FILE *f;
    int n = 0;

    snprintf(line, sizeof(line), "tests/modules/%s", src);
    mod_repo_path(path, line);
    f = fopen(path, "r");
    cr_assert(f);
    while (fgets(line, sizeof(line), f)) {
        n++;
        if (strstr(line, marker)) {
            fclose(f);
            return n;
        }
    }
    fclose(f);
    return 0;
}

/* --- Fixture ------------------------------------------------------------- */

static void setup(void)
{
    mod_dir_make(dir, "module");
}

/* Stopping the node unloads; tests without a node unload here. */
static void teardown(void)
{
    ax__code_stop();
    mod_dir_remove(dir);
}

TestSuite(module, .init = setup, .fini = teardown);

/* --- What ax_modules says ------------------------------------------------ */

/* Module name's map in ax_modules(), or AX_NONE. */
static ax_term_t info(const char *name)
{
    for (ax_term_t l = ax_modules(ax_heap()); ax_is_cons(l); l = ax_tail(l))
        if (ax_map_get(ax_head(l), A("name")) == A(name))
            return ax_head(l);
    return AX_NONE;
}

static bool is_text(ax_term_t t, const char *s)
{
    size_t n;
    const uint8_t *d = ax_binary_data(t, &n);

    return d && n == strlen(s) && !memcmp(d, s, n);
}

/* Whether module name has current version cur and old version old
 * (NULL: none). */
static bool versions_are(const char *name, const char *cur, const char *old)
{
    ax_term_t m = info(name);

    if (m == AX_NONE || !is_text(ax_map_get(m, A("current")), cur))
        return false;
    return old ? is_text(ax_map_get(m, A("old")), old)
               : ax_map_get(m, A("old")) == A("undefined");
}

/* A count of module name's map (current_procs, old_procs), or -1. */
static int64_t count(const char *name, const char *key)
{
    int64_t n = -1;

    ax_get_int(ax_map_get(info(name), A(key)), &n);
    return n;
}

/* Waits up to 5 s, 5 ms at a time, until versions_are(name, cur, old). */
static bool eventually(const char *name, const char *cur, const char *old)
{
    for (int i = 0; i < 1000; i++) {
        if (versions_are(name, cur, old))
            return true;
        ax_sleep(5);
    }
    return false;
}

/* Lets 100 ms pass, 5 ms at a time (for what must not happen). */
static void settle(void)
{
    for (int i = 0; i < 20; i++)
        ax_sleep(5);
}

/* Waits up to 5 s, 5 ms at a time, until path does not exist. */
static bool gone(const char *path)
{
    for (int i = 0; i < 1000; i++) {
        if (access(path, F_OK))
            return true;
        ax_sleep(5);
    }
    return false;
}

/* The private copy that v was loaded from, in buf. */
static bool copy_path(const struct module_version *v, char *buf)
{
    Dl_info dl;

    if (!dladdr(ax__version_desc(v), &dl) || !dl.dli_fname)
        return false;
    snprintf(buf, PATH_LEN, "%s", dl.dli_fname);
    return true;
}

/* Loads path and checks it fails with err and the message text. */
static void load_fails(const char *path, int err, const char *text)
{
    char *msg = NULL;
    ax_term_t name = AX_NONE;

    CHECK(ax_module_load(path, &name, &msg) == err);
    CHECK(msg && strstr(msg, text));
    CHECK(!strncmp(msg, path, strlen(path)));
    CHECK(!strstr(msg, "ax-code-")); /* never the private copy's name */
    CHECK(name == AX_NONE);
    free(msg);
}

/* --- Runners ------------------------------------------------------------- */

static struct module_version *runner_version;

/* Runs runner_version as a server would, tells parent, and waits. */
static void runner(ax_term_t parent)
{
    ax_term_t m;

    ax__version_enter(runner_version);
    ax_send(parent, A("running"));
    ax_receive(A("never_sent"), AX_INFINITY, &m, NULL);
}

/* Starts a monitored runner of module name's current version. */
static ax_term_t start_runner(const char *name, ax_term_t *mref)
{
    int err;
    ax_term_t pid;

    runner_version = ax__module_acquire(A(name), &err);
    CHECK(runner_version && !err);
    CHECK(ax_spawn_monitor(runner, ax_self(), &pid, mref) == 0);
    CHECK(recv_any(5000) == A("running"));
    ax__version_release(runner_version); /* the runner holds it now */
    return pid;
}

/* The reason in the 'DOWN' message of mref. */
static ax_term_t down_reason(ax_term_t pid, ax_term_t mref)
{
    ax_term_t b[AX_VARS_MAX];
    ax_term_t m;

    CHECK(ax_receive(ax_tuple(ax_heap(), 5, A("DOWN"), mref, A("process"),
                              pid, AX_VAR(0)),
                     5000, &m, b) == 0);
    return b[0];
}

/* --- Loading ------------------------------------------------------------- */

static void load_by_path(ax_term_t arg)
{
    ax_term_t name = AX_NONE;
    char *msg = NULL;
    ax_term_t m;

    (void)arg;
    CHECK(ax_module_load(at("m_ok.so"), &name, &msg) == 0);
    CHECK(name == A("m_ok") && !msg);
    CHECK(ax_list_length(ax_modules(ax_heap())) == 1);
    m = info("m_ok");
    CHECK(versions_are("m_ok", "1", NULL));
    CHECK(is_text(ax_map_get(m, A("path")), at("m_ok.so")));
    CHECK(count("m_ok", "current_procs") == 0);
    CHECK(count("m_ok", "old_procs") == 0);
}

Test(module, load_by_path)
{
    build("m_ok_v1.c", "m_ok.so");
    run_root(2, load_by_path, AX_NIL);
}

static void bad_files(ax_term_t arg)
{
    (void)arg;
    load_fails(at("m_text.so"), AX_EBADMODULE, "invalid ELF header");
    load_fails(at("m_noinfo.so"), AX_EBADMODULE,
               "m_noinfo.so: not an ax module (no ax_module_info)");
    load_fails(at("m_badabi.so"), AX_EBADMODULE,
               "m_badabi.so: built for module ABI 7, this runtime has 1");
    load_fails(at("m_nocast.so"), AX_EBADMODULE,
               "m_nocast.so: missing handle_cast");
    load_fails(at("none.so"), AX_ENOMODULE, "No such file");
    load_fails(dir, AX_EBADMODULE, "not a regular file");
    CHECK(ax_modules(ax_heap()) == AX_NIL);
}

Test(module, bad_files_load_nothing)
{
    static const char text[] =
        "This is a text file, long enough for the loader to read an ELF "
        "header from it, which it is not.\n";

    cr_assert(write_text(at("m_text.so"), text));
    build("m_noinfo.c", "m_noinfo.so");
    build("m_badabi.c", "m_badabi.so");
    build("m_nocast.c", "m_nocast.so");
    run_root(2, bad_files, AX_NIL);
}

static void broken_file_keeps_current(ax_term_t arg)
{
    struct module_version *v;
    ax_term_t r;
    int err;

    (void)arg;
    CHECK(ax_module_load(at("m_ok.so"), NULL, NULL) == 0);
    CHECK(write_text(at("m_ok.so"), "broken by a half-done build\n"));
    load_fails(at("m_ok.so"), AX_EBADMODULE, "m_ok.so: ");
    CHECK(versions_are("m_ok", "1", NULL));
    v = ax__module_acquire(A("m_ok"), &err);
    CHECK(v && !err);
    r = ax__version_desc(v)->handle_call(A("vsn"), AX_NIL, A("st"));
    CHECK(ax_equal_exact(r, ax_tuple(ax_heap(), 3, A("reply"), I(1),
                                     A("st"))));
    ax__version_release(v);
}

Test(module, broken_file_keeps_current_version)
{
    build("m_ok_v1.c", "m_ok.so");
    run_root(2, broken_file_keeps_current, AX_NIL);
}

/* --- The search path ----------------------------------------------------- */

static void by_name_via_add_path(ax_term_t arg)
{
    ax_term_t name = AX_NONE;
    char *msg = NULL;

    (void)arg;
    CHECK(ax_module_load("m_ok", NULL, NULL) == AX_ENOMODULE);
    CHECK(ax_module_add_path(at("missing")) == AX_EINVAL);
    CHECK(ax_module_add_path(dir) == 0);
    CHECK(ax_module_load("m_ok", &name, NULL) == 0);
    CHECK(name == A("m_ok"));
    CHECK(is_text(ax_map_get(info("m_ok"), A("path")), at("m_ok.so")));
    /* Found by name, a file must define the module of its name. */
    CHECK(ax_module_load("other", NULL, &msg) == AX_EBADMODULE);
    CHECK(msg && strstr(msg, "other.so: defines module m_ok, not other"));
    CHECK(info("other") == AX_NONE);
    free(msg);
}

Test(module, load_by_name_through_added_path)
{
    build("m_ok_v1.c", "m_ok.so");
    build("m_ok_v1.c", "other.so");
    run_root(2, by_name_via_add_path, AX_NIL);
}

static void acquire_by_name(ax_term_t arg)
{
    struct module_version *v;
    struct module_version *again;
    int err = -1;

    (void)arg;
    v = ax__module_acquire(A("m_ok"), &err);
    CHECK(v && err == 0);
    CHECK(ax__version_module(v) == A("m_ok"));
    CHECK(is_text(ax__version_vsn_term(v, ax_heap()), "1"));
    CHECK(!strcmp(ax__version_desc(v)->version, "1"));
    CHECK(ax__version_is_current(v));
    again = ax__module_acquire(A("m_ok"), &err);
    CHECK(again == v);
    ax__version_release(again);
    ax__version_release(v);
    CHECK(!ax__module_acquire(A("m_absent"), &err));
    CHECK(err == AX_ENOMODULE);
}

Test(module, acquire_loads_through_ax_path)
{
    char path[2 * PATH_LEN];

    build("m_ok_v1.c", "m_ok.so");
    snprintf(path, sizeof(path), "%s:/nonexistent::%s", at("missing"), dir);
    cr_assert_eq(setenv("AX_PATH", path, 1), 0);
    run_root(2, acquire_by_name, AX_NIL);
}

/* --- Versions and purging ------------------------------------------------ */

static void versions_and_purge(ax_term_t arg)
{
    char first[PATH_LEN];
    ax_term_t mref;
    ax_term_t pid;

    (void)arg;
    CHECK(copy(at("v1.so"), at("m_ok.so")));
    CHECK(ax_module_load(at("m_ok.so"), NULL, NULL) == 0);
    pid = start_runner("m_ok", &mref);
    CHECK(copy_path(runner_version, first));
    CHECK(count("m_ok", "current_procs") == 1);

    /* A rebuild at the same path is a new version; the runner is old. */
    CHECK(copy(at("v2.so"), at("m_ok.so")));
    CHECK(ax_module_load(at("m_ok.so"), NULL, NULL) == 0);
    CHECK(versions_are("m_ok", "2", "1"));
    CHECK(count("m_ok", "current_procs") == 0);
    CHECK(count("m_ok", "old_procs") == 1);
    CHECK(ax_module_soft_purge(A("m_ok")) == AX_EBUSY);
    CHECK(ax_is_alive(pid) && versions_are("m_ok", "2", "1"));

    /* A third version (the first file again: still new) purges "1". */
    CHECK(copy(at("v1.so"), at("m_ok.so")));
    CHECK(ax_module_load(at("m_ok.so"), NULL, NULL) == 0);
    CHECK(versions_are("m_ok", "1", "2"));
    CHECK(down_reason(pid, mref) == A("killed"));
    CHECK(gone(first)); /* dlclosed once its last runner left */
    CHECK(count("m_ok", "old_procs") == 0);

    CHECK(ax_module_soft_purge(A("m_ok")) == 0);
    CHECK(versions_are("m_ok", "1", NULL));
    CHECK(ax_module_purge(A("m_ok")) == 0);
    CHECK(ax_module_purge(A("m_absent")) == AX_ENOMODULE);
}

Test(module, third_version_purges_old_and_kills_its_runners)
{
    build("m_ok_v1.c", "v1.so");
    build("m_ok_v2.c", "v2.so");
    run_root(2, versions_and_purge, AX_NIL);
}

static void purge_kills(ax_term_t arg)
{
    char first[PATH_LEN];
    ax_term_t mref;
    ax_term_t pid;

    (void)arg;
    CHECK(copy(at("v1.so"), at("m_ok.so")));
    CHECK(ax_module_load(at("m_ok.so"), NULL, NULL) == 0);
    pid = start_runner("m_ok", &mref);
    CHECK(copy_path(runner_version, first));
    CHECK(replace(at("v2.so"), at("m_ok.so")));
    CHECK(ax_module_load(at("m_ok.so"), NULL, NULL) == 0);
    CHECK(ax_module_soft_purge(A("m_ok")) == AX_EBUSY);
    CHECK(ax_module_purge(A("m_ok")) == 0);
    CHECK(versions_are("m_ok", "2", NULL));
    CHECK(down_reason(pid, mref) == A("killed"));
    CHECK(gone(first));
}

Test(module, purge_kills_runners_of_old_version)
{
    build("m_ok_v1.c", "v1.so");
    build("m_ok_v2.c", "v2.so");
    run_root(2, purge_kills, AX_NIL);
}

static void move_to_current(ax_term_t arg)
{
    struct module_version *v;
    struct module_version *cur;
    int err;

    (void)arg;
    CHECK(ax_module_load(at("v1.so"), NULL, NULL) == 0);
    v = ax__module_acquire(A("m_ok"), &err);
    CHECK(v && ax__version_is_current(v));
    CHECK(ax_module_load(at("v2.so"), NULL, NULL) == 0);
    CHECK(!ax__version_is_current(v));
    cur = ax__version_current(v);
    CHECK(cur && ax__version_is_current(cur));
    CHECK(is_text(ax__version_vsn_term(cur, ax_heap()), "2"));
    ax__version_enter(cur);
    CHECK(count("m_ok", "current_procs") == 1);
    ax__version_leave(cur);
    CHECK(count("m_ok", "current_procs") == 0);
    ax__version_release(cur);
    ax__version_release(v);
}

Test(module, a_process_moves_to_the_current_version)
{
    build("m_ok_v1.c", "v1.so");
    build("m_ok_v2.c", "v2.so");
    run_root(2, move_to_current, AX_NIL);
}

Test(module, stop_unloads_and_removes_private_directory)
{
    char file[PATH_LEN];
    struct module_version *v;
    int err;

    build("m_ok_v1.c", "m_ok.so");
    cr_assert_eq(ax_module_load(at("m_ok.so"), NULL, NULL), 0);
    v = ax__module_acquire(A("m_ok"), &err);
    cr_assert(v && copy_path(v, file));
    ax__version_release(v);
    cr_assert_eq(access(file, F_OK), 0);
    ax__code_stop();
    cr_assert_neq(access(file, F_OK), 0);
    *strrchr(file, '/') = '\0';
    cr_assert_neq(access(file, F_OK), 0, "%s is left", file);
}

/* --- Compiling ----------------------------------------------------------- */

static void compile_by_name(ax_term_t arg)
{
    ax_term_t name = AX_NONE;
    char *msg = NULL;

    (void)arg;
    CHECK(ax_module_add_path(dir) == 0);
    CHECK(ax_module_compile("m_ok", &name, &msg) == 0);
    CHECK(name == A("m_ok") && !msg);
    CHECK(versions_are("m_ok", "1", NULL));
    CHECK(is_text(ax_map_get(info("m_ok"), A("path")), at("m_ok.so")));
    CHECK(copy(at("v2.c"), at("m_ok.c")));
    CHECK(ax_module_compile(at("m_ok.c"), NULL, NULL) == 0);
    CHECK(versions_are("m_ok", "2", "1"));
    CHECK(ax_module_compile("m_absent", NULL, &msg) == AX_ENOMODULE);
    CHECK(msg && strstr(msg, "m_absent"));
    free(msg);
}

Test(module, compile_by_name_and_by_path)
{
    copy_source("m_ok_v1.c", "m_ok.c");
    copy_source("m_ok_v2.c", "v2.c");
    run_root(2, compile_by_name, AX_NIL);
}

Test(module, compile_error_returns_the_compiler_output)
{
    char where[64];
    char *msg = NULL;
    ax_term_t name = AX_NONE;
    ax_heap_t *h;

    copy_source("m_syntax.c", "m_syntax.c");
    snprintf(where, sizeof(where), "m_syntax.c:%d:",
             line_of("m_syntax.c", "SYNTAX_ERROR"));
    cr_assert_eq(ax_module_compile(at("m_syntax.c"), &name, &msg),
                 AX_ECOMPILE);
    cr_assert(msg && strstr(msg, where), "%s not in: %s", where, msg);
    cr_assert(strstr(msg, "error"));
    cr_assert_eq(name, AX_NONE);
    cr_assert_neq(access(at("m_syntax.so"), F_OK), 0);
    h = ax_heap_new();
    cr_assert_eq(ax_modules(h), AX_NIL);
    ax_heap_free(h);
    free(msg);
}

/* Answers every pid it gets with pong, until stop. */
static void ponger(ax_term_t arg)
{
    (void)arg;
    for (;;) {
        ax_term_t m = recv_any(AX_INFINITY);

        if (m == A("stop"))
            return;
        ax_send(m, A("pong"));
    }
}

/* Tells parent it starts, compiles m_ok.c, and sends {compiled, Err}. */
static void compiler(ax_term_t parent)
{
    char *msg = NULL;
    int err;

    ax_send(parent, A("compiling"));
    err = ax_module_compile(at("m_ok.c"), NULL, &msg);
    free(msg);
    ax_send(parent, ax_tuple(ax_heap(), 2, A("compiled"), I(err)));
}

static void compile_does_not_block(ax_term_t arg)
{
    ax_term_t pattern = ax_tuple(ax_heap(), 2, A("compiled"), AX_VAR(0));
    ax_term_t b[AX_VARS_MAX];
    ax_term_t m;
    ax_term_t p;

    (void)arg;
    CHECK(ax_spawn(ponger, AX_NIL, &p) == 0);
    CHECK(ax_spawn(compiler, ax_self(), NULL) == 0);
    CHECK(recv_any(5000) == A("compiling"));
    /* One scheduler: these round trips need it while cc runs (>= 300 ms). */
    for (int i = 0; i < 20; i++) {
        ax_send(p, ax_self());
        CHECK(ax_receive(A("pong"), 5000, &m, NULL) == 0);
    }
    CHECK(ax_receive(pattern, 0, &m, b) == AX_ETIMEOUT);
    CHECK(ax_receive(pattern, 30000, &m, b) == 0);
    CHECK(b[0] == I(0));
    CHECK(versions_are("m_ok", "1", NULL));
    ax_send(p, A("stop"));
}

Test(module, compile_from_a_process_does_not_block_its_scheduler)
{
    static const char slow_cc[] = "#!/bin/sh\nsleep 0.3\nexec cc \"$@\"\n";

    copy_source("m_ok_v1.c", "m_ok.c");
    cr_assert(write_text(at("slow-cc"), slow_cc));
    cr_assert_eq(chmod(at("slow-cc"), 0755), 0);
    cr_assert_eq(setenv("CC", at("slow-cc"), 1), 0);
    run_root(1, compile_does_not_block, AX_NIL);
}

/* --- Watching ------------------------------------------------------------ */

static void watch_reloads(ax_term_t arg)
{
    (void)arg;
    CHECK(copy(at("v1.so"), at("m_ok.so")));
    CHECK(ax_module_load(at("m_ok.so"), NULL, NULL) == 0);
    CHECK(ax_module_watch(A("m_absent"), true) == AX_ENOMODULE);
    CHECK(ax_module_watch(A("m_ok"), true) == 0);
    settle();
    CHECK(versions_are("m_ok", "1", NULL)); /* nothing changed yet */

    CHECK(copy(at("v2.so"), at("m_ok.so"))); /* rewritten in place */
    CHECK(eventually("m_ok", "2", "1"));
    CHECK(write_text(at("m_ok.so"), "a half-written build\n"));
    settle();
    CHECK(versions_are("m_ok", "2", "1")); /* a failed reload keeps "2" */
    CHECK(replace(at("v1.so"), at("m_ok.so"))); /* renamed over it */
    CHECK(eventually("m_ok", "1", "2"));

    CHECK(ax_module_watch(A("m_ok"), false) == 0);
    CHECK(copy(at("v2.so"), at("m_ok.so")));
    settle();
    CHECK(versions_are("m_ok", "1", "2"));
}

Test(module, watcher_reloads_a_rewritten_file)
{
    build("m_ok_v1.c", "v1.so");
    build("m_ok_v2.c", "v2.so");
    run_root(2, watch_reloads, AX_NIL);
}
