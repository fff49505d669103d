/*
 * module.c - the module table: loading versions, purging old ones, the
 * reference counts that decide when a version is dlclosed, ax_modules
 * (module.h).
 *
 * Invariants:
 * - `lock` guards the table: the list of modules, each module's current
 *   and old pointers. A module, once in the list, stays there (and has a
 *   current version) until ax__code_stop.
 * - `current` is written under the lock and read without it by
 *   ax__version_is_current, for every message of every server.
 * - Nothing slow or re-entrant runs under the lock: copying the file,
 *   dlopen and dlclose (which run the module's constructors and
 *   destructors) happen outside it. Killing the processes of a purged
 *   version does happen under it, but that only queues signals; the
 *   caller itself, if it runs that version, is killed after unlocking.
 * - A failed load changes nothing: a version enters the table only once
 *   it has been copied, opened and checked.
 */
#include "module.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "../core/alloc.h"
#include "../sched/preempt.h"
#include "../sched/sched.h"
#include "../term/atom.h"

struct module_version {
    struct module *mod;             /* set as it is installed */
    ax_term_t name;
    const ax_module_desc_t *desc;   /* in the loaded copy */
    void *handle;                   /* dlopen's */
    char *copy;                     /* the private copy dlopened */
    char *source;                   /* absolute path of the file copied */
    char *vsn;
    ax_term_t vsn_atom;             /* vsn as an atom, for observers (an
                                     * atom outlives the version), or
                                     * AX_NONE */
    struct stat file;               /* the source file, as copied */
    uintptr_t text;                 /* its code's start, if noted as
                                     * preemptible (preempt.h), or 0 */
    size_t text_bytes;              /* its executable segments' size */
    _Atomic(size_t) refs;
    _Atomic(size_t) procs;
};

struct module {
    ax_term_t name;
    _Atomic(struct module_version *) current;
    struct module_version *old;
    struct module *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct module *modules; /* newest first */
static atomic_ullong copies;   /* numbers the private copies */
static bool inited;

/* --- References ---------------------------------------------------------- */

/*
 * Relaxed: a reference is only taken by a holder of one (or under the
 * lock, from the table's), so the count cannot reach zero meanwhile, and
 * taking it publishes nothing.
 */
static void version_ref(struct module_version *v)
{
    atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

/* Frees a version that nothing refers to (or that was never installed);
 * accepts one half made. */
static void version_free(struct module_version *v)
{
    if (!v)
        return;
    if (v->text)
        ax__preempt_code_remove(v->text);
    if (v->handle) {
        /* Its destructors run holding the dynamic linker's lock. */
        ax__preempt_disable();
        dlclose(v->handle);
        ax__preempt_enable();
    }
    if (v->copy)
        unlink(v->copy);
    ax__free(v->copy);
    ax__free(v->source);
    ax__free(v->vsn);
    ax__free(v);
}

void ax__version_release(struct module_version *v)
{
    /* acq_rel: what every holder did with v happens before the free. */
    if (v && atomic_fetch_sub_explicit(&v->refs, 1,
                                       memory_order_acq_rel) == 1)
        version_free(v);
}

/* --- Loading a version --------------------------------------------------- */

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

/* path made absolute (against the current directory), to watch later. */
static char *absolute(const char *path)
{
    char *cwd;
    char *abs;

    if (path[0] == '/')
        return ax__code_printf("%s", path);
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    cwd = getcwd(NULL, 0);
    abs = cwd ? ax__code_printf("%s/%s", cwd, path) : NULL;
    free(cwd);
    return abs;
}

/* Copies size bytes from in to out; 0 or an errno value. */
static int sendfile_all(int out, int in, off_t size)
{
    while (size > 0) {
        ssize_t n = sendfile(out, in, NULL, (size_t)size);

        if (n < 0 && errno != EINTR)
            return errno;
        if (n == 0)
            return EIO; /* the file shrank while being copied */
        if (n > 0)
            size -= n;
    }
    return 0;
}

/* A new private name for a copy of path, in v->copy. */
static int name_copy(struct module_version *v, const char *path)
{
    /* Relaxed: the number need only be unique. */
    unsigned long long n = atomic_fetch_add_explicit(&copies, 1,
                                                     memory_order_relaxed);
    char *base = ax__code_printf("%llu.%s", n, base_name(path));
    int err = AX_ENOMEM;

    if (base)
        v->copy = ax__code_private_path(base, &err);
    ax__free(base);
    return err;
}

/* Copies the file at path to a new private name, as v->copy. */
static int copy_file(struct module_version *v, const char *path,
                     char **errmsg)
{
    int in = open(path, O_RDONLY | O_CLOEXEC);
    int out;
    int err;

    if (in < 0)
        return ax__code_fail(errmsg, errno == ENOENT || errno == ENOTDIR
                                         ? AX_ENOMODULE : AX_EBADMODULE,
                             "%s: %s", path, strerror(errno));
    if (fstat(in, &v->file) || !S_ISREG(v->file.st_mode)) {
        err = ax__code_fail(errmsg, AX_EBADMODULE, "%s: not a regular file",
                            path);
        goto out_close_in;
    }
    if ((err = name_copy(v, path))) {
        err = ax__code_fail(errmsg, err, "%s: no private directory for a "
                            "copy (%s)", path, ax_strerror(err));
        goto out_close_in;
    }
    out = open(v->copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
    err = out < 0 ? errno : sendfile_all(out, in, v->file.st_size);
    if (out >= 0 && close(out) && !err)
        err = errno;
    if (err)
        err = ax__code_fail(errmsg, AX_EBADMODULE, "%s: copying to %s: %s",
                            path, v->copy, strerror(err));
out_close_in:
    close(in);
    return err;
}

struct text_span {
    const char *path;
    uintptr_t lo;
    uintptr_t hi;
};

/* dl_iterate_phdr's callback: the executable segments of span->path. */
static int find_text(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct text_span *span = arg;

    (void)size;
    if (!info->dlpi_name || strcmp(info->dlpi_name, span->path) != 0)
        return 0;
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        if (!span->lo || lo < span->lo)
            span->lo = lo;
        if (lo + ph->p_memsz > span->hi)
            span->hi = lo + ph->p_memsz;
    }
    return 1;
}

/* Notes v's code as preemptible anywhere. If the table is full it is
 * preempted at safe points only: nothing to report. */
static void note_text(struct module_version *v)
{
    struct text_span span = {v->copy, 0, 0};

    dl_iterate_phdr(find_text, &span);
    v->text_bytes = span.hi - span.lo;
    if (span.lo && ax__preempt_code_add(span.lo, span.hi) == 0)
        v->text = span.lo;
}

/* dlopens v's copy and finds its descriptor. */
static int open_copy(struct module_version *v, const char *path,
                     char **errmsg)
{
    const char *e;
    size_t n = strlen(v->copy);

    ax__preempt_disable(); /* its constructors run under the linker's lock */
    v->handle = dlopen(v->copy, RTLD_NOW | RTLD_LOCAL);
    ax__preempt_enable();
    if (v->handle) {
        v->desc = dlsym(v->handle, AX_MODULE_SYMBOL);
        if (v->desc) {
            note_text(v);
            return 0;
        }
        return ax__code_fail(errmsg, AX_EBADMODULE,
                             "%s: not an ax module (no %s)", path,
                             AX_MODULE_SYMBOL);
    }
    /* dlerror's text is the thread's until its next dl call: copied by
     * the formatting below, before anything else. It names the private
     * copy, which means nothing to the caller: the path stands for it. */
    e = dlerror();
    if (!e)
        e = "dlopen failed";
    if (!strncmp(e, v->copy, n) && e[n] == ':' && e[n + 1] == ' ')
        e += n + 2;
    return ax__code_fail(errmsg, AX_EBADMODULE, "%s: %s", path, e);
}

static const char *missing_callback(const ax_module_desc_t *d)
{
    if (!d->init)
        return "init";
    if (!d->handle_call)
        return "handle_call";
    if (!d->handle_cast)
        return "handle_cast";
    return NULL;
}

/* Checks v's descriptor and sets v->name. */
static int check_desc(struct module_version *v, const char *path,
                      ax_term_t expect, char **errmsg)
{
    const ax_module_desc_t *d = v->desc;
    const char *missing;
    const char *want;
    size_t len;

    if (d->abi != AX_MODULE_ABI)
        return ax__code_fail(errmsg, AX_EBADMODULE,
                             "%s: built for module ABI %u, this runtime "
                             "has %d", path, (unsigned)d->abi,
                             AX_MODULE_ABI);
    if (!d->name || ax_atom_intern(d->name, strlen(d->name), &v->name))
        return ax__code_fail(errmsg, AX_EBADMODULE,
                             "%s: the module's name is not an atom", path);
    if ((missing = missing_callback(d)))
        return ax__code_fail(errmsg, AX_EBADMODULE, "%s: missing %s", path,
                             missing);
    if (expect == AX_NONE || expect == v->name)
        return 0;
    want = ax_atom_text(expect, &len);
    return ax__code_fail(errmsg, AX_EBADMODULE,
                         "%s: defines module %s, not %.*s", path, d->name,
                         (int)len, want);
}

/* A loaded and checked version of the file at path, not yet installed,
 * with one reference (the table's, once it is). */
static int version_new(const char *path, ax_term_t expect,
                       struct module_version **out, char **errmsg)
{
    struct module_version *v = ax__calloc(1, sizeof(*v));
    int err;

    if (!v)
        return ax__code_fail(errmsg, AX_ENOMEM, "%s: out of memory", path);
    atomic_init(&v->refs, 1);
    atomic_init(&v->procs, 0);
    err = copy_file(v, path, errmsg);
    if (!err)
        err = open_copy(v, path, errmsg);
    if (!err)
        err = check_desc(v, path, expect, errmsg);
    if (!err) {
        v->source = absolute(path);
        v->vsn = ax__code_printf("%s", v->desc->version ? v->desc->version
                                                         : "");
        if (!v->source || !v->vsn)
            err = ax__code_fail(errmsg, AX_ENOMEM, "%s: out of memory",
                                path);
        else if (ax_atom_intern(v->vsn, strlen(v->vsn), &v->vsn_atom))
            v->vsn_atom = AX_NONE; /* too long, or no atoms left */
    }
    if (err) {
        version_free(v);
        return err;
    }
    *out = v;
    return 0;
}

/* --- The table ----------------------------------------------------------- */

/* With lock held. */
static struct module *find_module(ax_term_t name)
{
    struct module *m = modules;

    while (m && m->name != name)
        m = m->next;
    return m;
}

/* With lock held: a new module with no version, in the list. */
static struct module *module_new(ax_term_t name)
{
    struct module *m = ax__calloc(1, sizeof(*m));

    if (!m)
        return NULL;
    m->name = name;
    atomic_init(&m->current, NULL);
    m->next = modules;
    modules = m;
    return m;
}

/* With lock held: m's current version (relaxed: the lock orders it). */
static struct module_version *current_of(struct module *m)
{
    return atomic_load_explicit(&m->current, memory_order_relaxed);
}

/* Who runs a version being purged, for kill_runner. */
struct runners {
    struct module_version *v;
    ax_term_t self;     /* the caller's pid, or AX_NONE */
    bool self_runs;     /* the caller runs v */
};

static void kill_runner(struct proc *p, void *arg)
{
    struct runners *r = arg;
    /* The pid first (acquire, pairing with its publication): a code read
     * after it is that process's or a later owner's of the slot, and a
     * kill to a stale pid is dropped. Relaxed for code: only compared. */
    ax_term_t pid = atomic_load_explicit(&p->pid, memory_order_acquire);

    if (!pid || atomic_load_explicit(&p->code, memory_order_relaxed) != r->v)
        return;
    if (pid == r->self)
        r->self_runs = true;
    else
        ax_exit_signal(pid, ATOM_KILL);
}

/*
 * With lock held: detaches m's old version and kills the processes that
 * run it (all but the caller: *self_runs says whether it does). Returns
 * the version, whose table reference the caller drops after unlocking.
 */
static struct module_version *detach_old(struct module *m, bool *self_runs)
{
    struct runners r = {m->old, ax_self(), false};

    m->old = NULL;
    /* Relaxed: a process entering v right now holds a reference and
     * moves to the current version at its next message. */
    if (atomic_load_explicit(&r.v->procs, memory_order_relaxed) > 0)
        ax__ptab_foreach(kill_runner, &r);
    *self_runs = r.self_runs;
    return r.v;
}

/* After a purge that found the caller running the purged version. */
static void kill_self(void)
{
    ax_exit_signal(ax_self(), ATOM_KILL);
}

/*
 * Makes v its module's current version (the current one becomes old, the
 * old one is purged), or, if_absent and the module has a current version
 * already, drops v. *got (if not NULL) gets the current version after
 * that, with a new reference. Consumes v on failure.
 */
static int install(struct module_version *v, bool if_absent,
                   struct module_version **got)
{
    struct module_version *dropped = NULL;
    struct module_version *cur;
    bool self_runs = false;
    struct module *m;

    pthread_mutex_lock(&lock);
    m = find_module(v->name);
    if (!m && !(m = module_new(v->name))) {
        pthread_mutex_unlock(&lock);
        version_free(v);
        return AX_ENOMEM;
    }
    cur = current_of(m);
    if (if_absent && cur) {
        dropped = v;
        v = cur;
    } else {
        if (m->old)
            dropped = detach_old(m, &self_runs);
        m->old = cur;
        v->mod = m;
        /* release: a thread that sees v as current sees it whole. */
        atomic_store_explicit(&m->current, v, memory_order_release);
    }
    if (got) {
        version_ref(v);
        *got = v;
    }
    pthread_mutex_unlock(&lock);
    ax__version_release(dropped);
    if (self_runs)
        kill_self();
    return 0;
}

static int load(const char *path, ax_term_t expect, bool if_absent,
                struct module_version **got, char **errmsg)
{
    struct module_version *v = NULL;
    int err = version_new(path, expect, &v, errmsg);

    if (!err && (err = install(v, if_absent, got)))
        ax__code_fail(errmsg, err, "%s: out of memory", path);
    return err;
}

int ax__module_load_file(const char *path, ax_term_t expect, ax_term_t *name,
                         char **errmsg)
{
    struct module_version *v;
    int err;

    if (errmsg)
        *errmsg = NULL;
    err = load(path, expect, false, &v, errmsg);
    if (err)
        return err;
    if (name)
        *name = v->name;
    ax__version_release(v);
    return 0;
}

/* Whether what names a file rather than a module: a slash or the suffix. */
static bool is_path(const char *what, const char *suffix)
{
    size_t n = strlen(what);
    size_t s = strlen(suffix);

    return strchr(what, '/') || (n > s && !strcmp(what + n - s, suffix));
}

int ax_module_load(const char *what, ax_term_t *name, char **errmsg)
{
    ax_term_t expect;
    char *path;
    int err;

    if (errmsg)
        *errmsg = NULL;
    if (!what || !*what)
        return AX_EINVAL;
    if (is_path(what, ".so"))
        return ax__module_load_file(what, AX_NONE, name, errmsg);
    err = ax__code_find(what, ".so", &path);
    if (err)
        return ax__code_fail(errmsg, err, "%s: no %s.so in the search path",
                             what, what);
    expect = ax_atom(what);
    err = expect == AX_NONE
              ? ax__code_fail(errmsg, AX_EBADARG, "%s: not an atom", what)
              : ax__module_load_file(path, expect, name, errmsg);
    ax__free(path);
    return err;
}

/* The module name's text as a C string in buf; AX_ENOMODULE if it could
 * not be a file's name. */
static int name_text(ax_term_t name, char *buf, size_t size)
{
    size_t len;
    const char *text = ax_atom_text(name, &len);

    if (!text)
        return AX_EBADARG;
    if (len >= size || memchr(text, '\0', len))
        return AX_ENOMODULE;
    memcpy(buf, text, len);
    buf[len] = '\0';
    return 0;
}

/* With a reference: module name's current version, or NULL. */
static struct module_version *acquire_loaded(ax_term_t name)
{
    struct module_version *v = NULL;
    struct module *m;

    pthread_mutex_lock(&lock);
    m = find_module(name);
    if (m && (v = current_of(m)))
        version_ref(v);
    pthread_mutex_unlock(&lock);
    return v;
}

struct module_version *ax__module_acquire(ax_term_t name, int *err)
{
    char text[AX_ATOM_MAX_CHARS * 4 + 1];
    struct module_version *v = acquire_loaded(name);
    char *path;

    *err = 0;
    if (v)
        return v;
    *err = name_text(name, text, sizeof(text));
    if (!*err)
        *err = ax__code_find(text, ".so", &path);
    if (*err)
        return NULL;
    *err = load(path, name, true, &v, NULL);
    ax__free(path);
    return *err ? NULL : v;
}

/* --- Versions ------------------------------------------------------------ */

bool ax__version_is_current(const struct module_version *v)
{
    /* Relaxed: only compared; a stale answer delays a move to the new
     * version by one message, and the move itself takes the lock. */
    return atomic_load_explicit(&v->mod->current, memory_order_relaxed) == v;
}

struct module_version *ax__version_current(const struct module_version *v)
{
    struct module_version *cur;

    pthread_mutex_lock(&lock);
    cur = current_of(v->mod);
    if (cur)
        version_ref(cur);
    pthread_mutex_unlock(&lock);
    return cur;
}

const ax_module_desc_t *ax__version_desc(const struct module_version *v)
{
    return v->desc;
}

ax_term_t ax__version_vsn_term(const struct module_version *v, ax_heap_t *h)
{
    return ax_string(h, v->vsn);
}

ax_term_t ax__version_module(const struct module_version *v)
{
    return v->name;
}

/* Relaxed process counts: statistics and soft purge's test, both racy by
 * nature (a process may enter or leave just after). */
static size_t version_procs(const struct module_version *v)
{
    return atomic_load_explicit(&v->procs, memory_order_relaxed);
}

void ax__version_enter(struct module_version *v)
{
    struct proc *p = ax__proc_self();

    version_ref(v);
    atomic_fetch_add_explicit(&v->procs, 1, memory_order_relaxed);
    /* Relaxed: written by the process alone, only compared by purge;
     * the module's name is an atom, read racily by observers. */
    if (p) {
        atomic_store_explicit(&p->code, v, memory_order_relaxed);
        atomic_store_explicit(&p->module, v->name, memory_order_relaxed);
        atomic_store_explicit(&p->version, v->vsn_atom,
                              memory_order_relaxed);
    }
}

static void leave_counts(struct module_version *v)
{
    atomic_fetch_sub_explicit(&v->procs, 1, memory_order_relaxed);
    ax__version_release(v);
}

void ax__version_leave(struct module_version *v)
{
    struct proc *p = ax__proc_self();

    if (p && atomic_load_explicit(&p->code, memory_order_relaxed) == v) {
        atomic_store_explicit(&p->code, NULL, memory_order_relaxed);
        atomic_store_explicit(&p->module, AX_NONE, memory_order_relaxed);
        atomic_store_explicit(&p->version, AX_NONE, memory_order_relaxed);
    }
    leave_counts(v);
}

void ax__code_proc_exit(struct proc *p)
{
    struct module_version *v = atomic_exchange_explicit(
        &p->code, NULL, memory_order_relaxed);

    if (v)
        leave_counts(v);
}

/* --- Purging ------------------------------------------------------------- */

static int purge(ax_term_t name, bool kill)
{
    struct module_version *old = NULL;
    bool self_runs = false;
    struct module *m;
    int err = 0;

    pthread_mutex_lock(&lock);
    m = find_module(name);
    if (!m)
        err = AX_ENOMODULE;
    else if (m->old && !kill && version_procs(m->old) > 0)
        err = AX_EBUSY;
    else if (m->old)
        old = detach_old(m, &self_runs);
    pthread_mutex_unlock(&lock);
    ax__version_release(old);
    if (self_runs)
        kill_self();
    return err;
}

int ax_module_purge(ax_term_t name)
{
    return purge(name, true);
}

int ax_module_soft_purge(ax_term_t name)
{
    return purge(name, false);
}

/* --- Introspection ------------------------------------------------------- */

/* With lock held: #{name, current, old, path, current_procs, old_procs}
 * of m on h, or AX_NONE. */
static ax_term_t module_info(ax_heap_t *h, struct module *m)
{
    struct module_version *cur = current_of(m);
    struct module_version *old = m->old;
    ax_term_t keys[] = {ax_atom("name"), ax_atom("current"), ax_atom("old"),
                        ax_atom("path"), ax_atom("current_procs"),
                        ax_atom("old_procs")};
    ax_term_t vals[] = {
        m->name,
        ax_string(h, cur->vsn),
        old ? ax_string(h, old->vsn) : ATOM_UNDEFINED,
        ax_string(h, cur->source),
        ax_int(h, (int64_t)version_procs(cur)),
        ax_int(h, old ? (int64_t)version_procs(old) : 0),
    };

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (keys[i] == AX_NONE || vals[i] == AX_NONE)
            return AX_NONE;
    return ax_map_from(h, sizeof(keys) / sizeof(keys[0]), keys, vals);
}

ax_term_t ax_modules(ax_heap_t *h)
{
    /* Built on a heap of our own under the lock, then copied to h after
     * it: running out of h may end the calling process, which must not
     * happen with the lock held. */
    ax_heap_t *tmp = ax_heap_new();
    ax_term_t list = AX_NIL;
    ax_term_t out;

    if (!tmp || !h) {
        ax_heap_free(tmp);
        return AX_NONE;
    }
    pthread_mutex_lock(&lock);
    for (struct module *m = modules; m && list != AX_NONE; m = m->next) {
        ax_term_t info = module_info(tmp, m);

        list = info == AX_NONE ? AX_NONE : ax_cons(tmp, info, list);
    }
    pthread_mutex_unlock(&lock);
    out = list == AX_NONE ? AX_NONE : ax_copy(h, list);
    ax_heap_free(tmp);
    return out;
}

size_t ax__code_bytes(void)
{
    size_t n = 0;
    struct module_version *cur;

    pthread_mutex_lock(&lock);
    for (struct module *m = modules; m; m = m->next) {
        cur = current_of(m);
        n += cur ? cur->text_bytes : 0;
        n += m->old ? m->old->text_bytes : 0;
    }
    pthread_mutex_unlock(&lock);
    return n;
}

bool ax__code_same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

bool ax__module_file_is_current(ax_term_t name, const struct stat *st)
{
    struct module *m;
    bool same;

    pthread_mutex_lock(&lock);
    m = find_module(name);
    same = m && ax__code_same_file(&current_of(m)->file, st);
    pthread_mutex_unlock(&lock);
    return same;
}

int ax_module_watch(ax_term_t name, bool on)
{
    char *path = NULL;
    struct module *m;
    int err;

    pthread_mutex_lock(&lock);
    m = find_module(name);
    if (m)
        path = ax__code_printf("%s", current_of(m)->source);
    pthread_mutex_unlock(&lock);
    if (!m)
        return AX_ENOMODULE;
    err = path ? ax__watch_set(name, path, on) : AX_ENOMEM;
    ax__free(path);
    return err;
}

/* --- Node life ----------------------------------------------------------- */

int ax__code_init(void)
{
    int err;

    if (inited)
        return 0;
    err = ax__code_path_init();
    if (err)
        return err;
    ax__compile_open();
    ax__watch_open();
    inited = true;
    return 0;
}

void ax__code_halt(void)
{
    ax__watch_close();
    ax__compile_close();
}

void ax__code_stop(void)
{
    struct module *m;

    ax__code_halt();
    pthread_mutex_lock(&lock);
    m = modules;
    modules = NULL;
    pthread_mutex_unlock(&lock);
    while (m) {
        struct module *next = m->next;

        ax__version_release(m->old);
        ax__version_release(current_of(m));
        ax__free(m);
        m = next;
    }
    ax__code_path_stop();
    inited = false;
}
