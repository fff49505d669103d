/*
 * compile.c - ax_module_compile: runs the system C compiler on a module's
 * source, then loads what it built.
 *
 * The compiler is a child process started with posix_spawnp (no shell),
 * its standard output and error captured through one pipe. It writes to a
 * temporary name beside the output, renamed into place only on success,
 * so a failed build leaves the previous .so as it was, and a watcher sees
 * the new one appear whole. Called from a process, the compile runs on a
 * short-lived thread of its own and the process waits for its result in
 * ax_receive, so the scheduler thread goes on running other processes;
 * called from a plain thread, it runs there.
 *
 * Invariants: everything a compile thread uses is its job's, which it
 * frees (the waiting process holds nothing that its death would leak).
 * Every compile thread's job is on `jobs` from before the thread starts
 * until after it has sent its result, so ax__compile_close can kill the
 * compilers and wait for the threads, after which none sends again. A
 * job's child is set, under the lock, only while the child is unreaped,
 * so a kill never hits a recycled pid.
 */
#include "module.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/alloc.h"
#include "../core/thread.h"
#include "../proc/mailbox.h"

#ifndef AX_INCLUDE_DIR
#define AX_INCLUDE_DIR "/usr/local/include"
#endif

#define OUTPUT_MAX (256 * 1024) /* bytes of compiler output kept */
#define ARGS_MAX 64             /* words of $CC, flags and files */

/* The flags ax builds modules with, after $CC's own words. */
static const char *const flags[] = {
    "-shared", "-fPIC", "-O2", "-g", "-std=c11", "-D_GNU_SOURCE", "-Wall",
};

struct job {
    char *src;            /* the source file */
    char *out;            /* the .so to make */
    char *tmp;            /* what the compiler writes, renamed to out */
    char *cc;             /* $CC, its words split by NULs */
    char *include;        /* -I<dir> */
    const char *argv[ARGS_MAX + 1];
    ax_term_t to;         /* the waiting process (thread jobs) */
    int64_t tag;          /* tells its result from others' */
    pid_t child;          /* the compiler while unreaped, else 0 */
    struct job *next;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t idle;  /* broadcast as the last thread job ends */
    struct job *jobs;     /* of compile threads */
    bool closed;
    int64_t tags;
} cc = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, false, 0};

/* Captured output, NUL-terminated. */
struct output {
    char *text;
    size_t len;
    size_t cap;
};

/* --- The job ------------------------------------------------------------- */

static void job_free(struct job *j)
{
    if (!j)
        return;
    ax__free(j->src);
    ax__free(j->out);
    ax__free(j->tmp);
    ax__free(j->cc);
    ax__free(j->include);
    ax__free(j);
}

/* j->out: <dir>/<stem>.so next to the source if dir is writable, else in
 * the private directory. */
static int output_path(struct job *j)
{
    const char *slash = strrchr(j->src, '/');
    const char *base = slash ? slash + 1 : j->src;
    int stem = (int)strlen(base);
    char *dir;
    char *name;
    int err = AX_ENOMEM;

    if (stem > 2 && !strcmp(base + stem - 2, ".c"))
        stem -= 2;
    if (!slash)
        dir = ax__code_printf(".");
    else
        dir = ax__code_printf("%.*s", slash == j->src ? 1
                                      : (int)(slash - j->src), j->src);
    name = ax__code_printf("%.*s.so", stem, base);
    if (dir && name && !access(dir, W_OK))
        j->out = ax__code_printf("%s/%s", dir, name);
    else if (dir && name)
        j->out = ax__code_private_path(name, &err);
    ax__free(dir);
    ax__free(name);
    return j->out ? 0 : err;
}

/* j->tmp: a new file beside j->out, for the compiler to write. */
static int temp_path(struct job *j)
{
    int fd;

    j->tmp = ax__code_printf("%s.XXXXXX", j->out);
    if (!j->tmp)
        return AX_ENOMEM;
    fd = mkstemp(j->tmp);
    if (fd < 0) {
        ax__free(j->tmp);
        j->tmp = NULL;
        return AX_ECOMPILE;
    }
    close(fd);
    return 0;
}

/* j->argv: $CC's words, the flags, -I, -o tmp, src. */
static int build_argv(struct job *j)
{
    const char *env = getenv("CC");
    const char *inc = getenv("AX_INCLUDE");
    char *save = NULL;
    size_t n = 0;

    j->cc = ax__code_printf("%s", env && *env ? env : "cc");
    j->include = ax__code_printf("-I%s", inc && *inc ? inc : AX_INCLUDE_DIR);
    if (!j->cc || !j->include)
        return AX_ENOMEM;
    for (char *w = strtok_r(j->cc, " \t", &save); w && n < ARGS_MAX - 11;
         w = strtok_r(NULL, " \t", &save))
        j->argv[n++] = w;
    if (!n)
        j->argv[n++] = "cc";
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        j->argv[n++] = flags[i];
    j->argv[n++] = j->include;
    j->argv[n++] = "-o";
    j->argv[n++] = j->tmp;
    j->argv[n++] = j->src;
    j->argv[n] = NULL;
    return 0;
}

/* j->src: src itself, or NAME.c found in the search path. */
static int source_path(struct job *j, const char *src, bool by_name,
                       char **errmsg)
{
    int err = by_name ? ax__code_find(src, ".c", &j->src) : 0;

    if (err)
        return ax__code_fail(errmsg, err, "%s: no %s.c in the search path",
                             src, src);
    if (!by_name && !(j->src = ax__code_printf("%s", src)))
        return ax__code_fail(errmsg, AX_ENOMEM, "%s: out of memory", src);
    if (access(j->src, R_OK))
        return ax__code_fail(errmsg, AX_ENOMODULE, "%s: %s", j->src,
                             strerror(errno));
    return 0;
}

/* The job for compiling src (a path, or a name looked up as NAME.c);
 * *expect gets the name the module must have, or AX_NONE. */
static int job_new(const char *src, struct job **out, ax_term_t *expect,
                   char **errmsg)
{
    struct job *j = ax__calloc(1, sizeof(*j));
    size_t n = strlen(src);
    bool by_name = !strchr(src, '/') && !(n > 2 && !strcmp(src + n - 2,
                                                          ".c"));
    int err;

    if (!j)
        return ax__code_fail(errmsg, AX_ENOMEM, "%s: out of memory", src);
    *expect = by_name ? ax_atom(src) : AX_NONE;
    err = source_path(j, src, by_name, errmsg);
    if (!err && ((err = output_path(j)) || (err = temp_path(j)) ||
                 (err = build_argv(j))))
        err = ax__code_fail(errmsg, err, "%s: cannot make the output "
                            "file: %s", j->src, ax_strerror(err));
    if (err) {
        if (j->tmp)
            unlink(j->tmp);
        job_free(j);
        return err;
    }
    *out = j;
    return 0;
}

/* --- Running the compiler ------------------------------------------------ */

/* Notes j's unreaped child (0: reaped soon), killing it if closed. */
static void track(struct job *j, pid_t child)
{
    pthread_mutex_lock(&cc.lock);
    j->child = child;
    if (child && cc.closed)
        kill(child, SIGKILL);
    pthread_mutex_unlock(&cc.lock);
}

/* Reads fd to its end into o, keeping the first OUTPUT_MAX bytes. */
static void read_output(int fd, struct output *o)
{
    char buf[4096];
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        if (o->len + (size_t)n + 1 > o->cap && o->cap < OUTPUT_MAX) {
            size_t cap = o->cap ? 2 * o->cap : sizeof(buf) * 2;
            char *t = ax__realloc(o->text, cap);

            if (t) {
                o->text = t;
                o->cap = cap;
            }
        }
        if (o->len + (size_t)n + 1 <= o->cap) {
            memcpy(o->text + o->len, buf, (size_t)n);
            o->len += (size_t)n;
            o->text[o->len] = '\0';
        }
    }
}

/* The child's file actions and attributes: output to the pipe's write
 * end, no input, no blocked signals, default SIGPIPE and SIGCHLD. */
static int spawn_setup(posix_spawn_file_actions_t *fa,
                       posix_spawnattr_t *attr, int wfd)
{
    sigset_t none;
    sigset_t deflt;

    sigemptyset(&none);
    sigemptyset(&deflt);
    sigaddset(&deflt, SIGPIPE);
    sigaddset(&deflt, SIGCHLD);
    if (posix_spawn_file_actions_adddup2(fa, wfd, 1) ||
        posix_spawn_file_actions_adddup2(fa, wfd, 2) ||
        posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0) ||
        posix_spawnattr_setsigmask(attr, &none) ||
        posix_spawnattr_setsigdefault(attr, &deflt) ||
        posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK |
                                           POSIX_SPAWN_SETSIGDEF))
        return ENOMEM;
    return 0;
}

/* Starts j's compiler with its output into wfd: 0 or an errno value. */
static int spawn(struct job *j, int wfd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int err;

    if (posix_spawn_file_actions_init(&fa))
        return ENOMEM;
    err = posix_spawnattr_init(&attr);
    if (err)
        goto out_destroy_actions;
    err = spawn_setup(&fa, &attr, wfd);
    if (!err)
        err = posix_spawnp(pid, j->argv[0], &fa, &attr,
                           (char *const *)j->argv, environ);
    posix_spawnattr_destroy(&attr);
out_destroy_actions:
    posix_spawn_file_actions_destroy(&fa);
    return err;
}

/* Runs j's compiler, its output into o: 0 and its wait status in
 * *status, or an errno value if it could not be started. */
static int run_compiler(struct job *j, struct output *o, int *status)
{
    int fds[2];
    pid_t pid;
    int err;

    if (pipe2(fds, O_CLOEXEC))
        return errno;
    err = spawn(j, fds[1], &pid);
    close(fds[1]);
    if (!err) {
        track(j, pid);
        read_output(fds[0], o);
        track(j, 0);
        while (waitpid(pid, status, 0) < 0 && errno == EINTR)
            ;
    }
    close(fds[0]);
    return err;
}

/* Why a compile failed, for the caller (a new string, or NULL). */
static char *failure_text(struct job *j, int err, int status,
                          struct output *o)
{
    char *text;

    if (err)
        return ax__code_printf("%s: %s", j->argv[0], strerror(err));
    if (o->len) {
        text = o->text;
        o->text = NULL;
        return text;
    }
    if (WIFSIGNALED(status))
        return ax__code_printf("%s: killed by signal %d", j->argv[0],
                               WTERMSIG(status));
    if (WIFEXITED(status) && WEXITSTATUS(status))
        return ax__code_printf("%s: exited with status %d", j->argv[0],
                               WEXITSTATUS(status));
    return ax__code_printf("%s: renaming to %s: %s", j->tmp, j->out,
                           strerror(errno));
}

/*
 * Runs j: 0 with the path of the .so in *text, or AX_ECOMPILE with the
 * compiler's messages (or why it did not run) in *text. *text is a new
 * string the caller frees (NULL if out of memory).
 */
static int run_job(struct job *j, char **text)
{
    struct output o = {NULL, 0, 0};
    int status = -1;
    int err = run_compiler(j, &o, &status);

    if (!err && WIFEXITED(status) && !WEXITSTATUS(status) &&
        !rename(j->tmp, j->out)) {
        ax__free(o.text);
        *text = ax__code_printf("%s", j->out);
        return *text ? 0 : AX_ENOMEM;
    }
    *text = failure_text(j, err, status, &o);
    unlink(j->tmp);
    ax__free(o.text);
    return AX_ECOMPILE;
}

/* --- In a thread, for a process ------------------------------------------ */

/* {'$ax_compiled', Tag, Code, Text}: what a compile thread sends. */
static ax_term_t result_pattern(ax_heap_t *h, int64_t tag, ax_term_t code,
                                ax_term_t text)
{
    return ax_tuple(h, 4, ax_atom("$ax_compiled"), ax_int(h, tag), code,
                    text);
}

/* Sends j's result to its process. If that cannot be built for want of
 * memory, the process waits on: no message to say so can be built. */
static void reply(struct job *j, int err, const char *text)
{
    ax_heap_t *h = ax_heap_new();
    ax_term_t msg;

    if (!h)
        return;
    msg = result_pattern(h, j->tag, ax_int(h, text ? err : AX_ENOMEM),
                         ax_string(h, text ? text : "out of memory"));
    if (msg != AX_NONE)
        ax_send(j->to, msg);
    ax_heap_free(h);
}

static void *job_main(void *arg)
{
    struct job *j = arg;
    char *text = NULL;
    int err;

    ax__name_thread(pthread_self(), "ax-compile");
    err = run_job(j, &text);

    reply(j, err, text);
    ax__free(text);
    pthread_mutex_lock(&cc.lock);
    for (struct job **p = &cc.jobs; *p; p = &(*p)->next)
        if (*p == j) {
            *p = j->next;
            break;
        }
    if (!cc.jobs)
        pthread_cond_broadcast(&cc.idle);
    pthread_mutex_unlock(&cc.lock);
    job_free(j);
    ax__msg_cache_flush(); /* the envelopes this thread took */
    return NULL;
}

/* Starts j on a detached thread, which then owns it; *tag gets the tag
 * of its result. */
static int start_thread(struct job *j, int64_t *tag)
{
    pthread_attr_t attr;
    pthread_t t;
    int err = 0;

    if (pthread_attr_init(&attr))
        return AX_ENOMEM;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_mutex_lock(&cc.lock);
    if (cc.closed) {
        err = AX_ESTATE;
    } else {
        j->tag = *tag = ++cc.tags;
        j->next = cc.jobs;
        cc.jobs = j;
        if (pthread_create(&t, &attr, job_main, j)) {
            cc.jobs = j->next;
            err = AX_ESYSLIMIT;
        }
    }
    pthread_mutex_unlock(&cc.lock);
    pthread_attr_destroy(&attr);
    return err;
}

/* Runs j on a thread while the calling process waits; as run_job. */
static int run_in_thread(struct job *j, char **text)
{
    ax_term_t b[AX_VARS_MAX];
    ax_term_t msg;
    const uint8_t *data;
    size_t len;
    int64_t code = AX_ENOMEM;
    int64_t tag;
    int err;

    j->to = ax_self();
    err = start_thread(j, &tag);
    if (err) {
        unlink(j->tmp);
        job_free(j);
        *text = ax__code_printf("%s", ax_strerror(err));
        return err;
    }
    ax_receive(result_pattern(ax_heap(), tag, AX_VAR(0), AX_VAR(1)),
               AX_INFINITY, &msg, b);
    ax_get_int(b[0], &code);
    data = ax_binary_data(b[1], &len);
    *text = ax__code_printf("%.*s", (int)len, (const char *)data);
    return (int)code;
}

int ax_module_compile(const char *src, ax_term_t *name, char **errmsg)
{
    ax_term_t expect = AX_NONE;
    struct job *j = NULL;
    char *text = NULL;
    int err;

    if (errmsg)
        *errmsg = NULL;
    if (!src || !*src)
        return AX_EINVAL;
    err = job_new(src, &j, &expect, errmsg);
    if (err)
        return err;
    if (ax_self() != AX_NONE) {
        err = run_in_thread(j, &text);
    } else {
        err = run_job(j, &text);
        job_free(j);
    }
    if (!err) {
        err = ax__module_load_file(text, expect, name, errmsg);
        ax__free(text);
    } else if (errmsg) {
        *errmsg = text;
    } else {
        ax__free(text);
    }
    return err;
}

/* --- Node life ----------------------------------------------------------- */

void ax__compile_open(void)
{
    pthread_mutex_lock(&cc.lock);
    cc.closed = false;
    pthread_mutex_unlock(&cc.lock);
}

void ax__compile_close(void)
{
    pthread_mutex_lock(&cc.lock);
    cc.closed = true;
    for (struct job *j = cc.jobs; j; j = j->next)
        if (j->child)
            kill(j->child, SIGKILL);
    while (cc.jobs)
        pthread_cond_wait(&cc.idle, &cc.lock);
    pthread_mutex_unlock(&cc.lock);
}
