/*
 * module.h - the module loader: loaded modules, their versions, purging,
 * the search path, compiling (compile.c) and watching files (watch.c).
 *
 * A module is a name (an atom) with at most two loaded versions, current
 * and old. A version is one dlopen of a private copy of a shared object,
 * so a file rebuilt at the same path loads as a new version (glibc's
 * dlopen returns the handle it has for a path it has seen).
 *
 * Lifetime of a version: it holds a reference count. The module table
 * holds one reference while the version is current or old; each process
 * running it holds one (ax__version_enter); anyone else who keeps the
 * pointer holds one. The version is dlclosed, and its private copy
 * unlinked, when the count reaches zero. A new reference is only ever
 * taken from a holder of one, or under the table's lock from the table's
 * own, so a count never rises from zero.
 *
 * A process running a version records it in its struct proc's `code`
 * (written only by the process itself; purge reads it to find whom to
 * kill). A process dies with its reference dropped by ax__code_proc_exit,
 * which the exit path calls.
 */
#ifndef AX_CODE_MODULE_H
#define AX_CODE_MODULE_H

#include <sys/stat.h>

#include "../proc/proc.h"

struct module_version;
struct module;

/* ===================================================================== */
/* Versions, for gen_server                                               */
/* ===================================================================== */

/*
 * The current version of module `name` (an atom), loading NAME.so from
 * the search path first if the module is not loaded; with a new reference
 * the caller drops with ax__version_release. NULL on failure, with *err
 * set to AX_ENOMODULE (no such file), AX_EBADMODULE (not a loadable
 * module), AX_EBADARG (name is not an atom) or AX_ENOMEM. Two threads
 * acquiring a module that is not loaded load it once. Any thread.
 */
struct module_version *ax__module_acquire(ax_term_t name, int *err);

/* Whether v is still its module's current version. Lock-free (one atomic
 * load): for every message of a server. Any thread. */
bool ax__version_is_current(const struct module_version *v);

/* The current version of v's module with a new reference (to move a
 * process to it), or NULL once the module has been unloaded. The caller
 * holds a reference to v. Any thread. */
struct module_version *ax__version_current(const struct module_version *v);

/* The descriptor of v (its callbacks), valid while the caller holds a
 * reference to v. */
const ax_module_desc_t *ax__version_desc(const struct module_version *v);

/* v's version string as a binary on h; AX_NONE if h is out of memory. */
ax_term_t ax__version_vsn_term(const struct module_version *v, ax_heap_t *h);

/* The name of v's module (an atom). */
ax_term_t ax__version_module(const struct module_version *v);

/*
 * Drops a reference to v; the last one dlcloses it and unlinks its
 * private copy. Accepts NULL. The caller must not be executing v's code
 * and must not keep pointers into it. Any thread (not under the table's
 * lock).
 */
void ax__version_release(struct module_version *v);

/*
 * The calling process starts running v: takes a reference, counts the
 * process in v's process count, and records v as the process's code (so
 * purge finds it). The caller holds a reference to v already. From a
 * plain thread: the reference and the count only.
 */
void ax__version_enter(struct module_version *v);

/*
 * The calling process stops running v: undoes ax__version_enter (its code
 * is cleared only if it still is v, so a process may enter its new version
 * before leaving the old). May dlclose v (see ax__version_release).
 */
void ax__version_leave(struct module_version *v);

/*
 * What the exit path of process p does, in p's context: leaves the
 * version p runs, if any. A process killed while running old code drops
 * its reference here, which may dlclose that version.
 */
void ax__code_proc_exit(struct proc *p);

/* ===================================================================== */
/* Node life                                                              */
/* ===================================================================== */

/*
 * Prepares the loader for a node: appends the directories of AX_PATH
 * (colon-separated) to the search path and allows the compile and watch
 * threads. A second call before ax__code_stop does nothing. Returns 0 or
 * AX_ENOMEM. Not thread-safe: node start.
 */
int ax__code_init(void);

/*
 * Stops the watcher thread and the compile threads (a running compiler
 * is killed), and refuses new ones. To be called while the schedulers
 * still run (the threads send to processes), before the processes are
 * killed. Idempotent. From a thread that is not a process.
 */
void ax__code_halt(void);

/*
 * Unloads every module, removes the private directory and forgets the
 * search path; calls ax__code_halt first if it was not called. No process
 * may be alive (every reference to a version must have been dropped).
 * Idempotent. From a thread that is not a process.
 */
void ax__code_stop(void);

/* ===================================================================== */
/* Between the loader's files (module.c, compile.c, watch.c)              */
/* ===================================================================== */

/*
 * Loads the shared object at path as a new version (see ax_module_load).
 * expect: the name the module must have (it was found by name), or
 * AX_NONE. Messages name the file as `path`. Any thread.
 */
int ax__module_load_file(const char *path, ax_term_t expect, ax_term_t *name,
                         char **errmsg);

/* Bytes of code loaded: the executable segments of every current and old
 * version. Takes the table's lock. Any thread. */
size_t ax__code_bytes(void);

/* Whether a and b describe the same state of one file: same inode, size
 * and modification time. */
bool ax__code_same_file(const struct stat *a, const struct stat *b);
/* Whether the file that module name's current version was copied from is
 * the file st describes. Any thread. */
bool ax__module_file_is_current(ax_term_t name, const struct stat *st);

/* path.c: the search path and the private directory. Thread-safe. */

/*
 * The first NAME<ext> (ext such as ".so") in the search path, in a string
 * the caller frees; AX_ENOMODULE if there is none or name could not be a
 * file name, AX_ENOMEM.
 */
int ax__code_find(const char *name, const char *ext, char **path);
/* Appends AX_PATH's directories to the search path: 0 or AX_ENOMEM. */
int ax__code_path_init(void);
/* Forgets the search path and removes the private directory. */
void ax__code_path_stop(void);
/* A path for base in the loader's private directory (made if needed), in
 * a string the caller frees; NULL with *err set (AX_ENOMEM, or
 * AX_EBADMODULE if no directory can be made) on failure. */
char *ax__code_private_path(const char *base, int *err);

/* printf into a new string (the caller frees it with free()), or NULL. */
char *ax__code_printf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* Sets *errmsg (if errmsg is not NULL) to a new string formatted as
 * printf, and returns err. */
int ax__code_fail(char **errmsg, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Allows (node start) or stops, kills and refuses (node stop) compile
 * threads. Not thread-safe with each other. */
void ax__compile_open(void);
void ax__compile_close(void);

/*
 * Starts (on) or stops watching the file path for changes, reloading
 * module name from it when it changes. The watcher thread starts at the
 * first watch. Errors: AX_ESTATE (closed), AX_ENOMEM, AX_ESYSLIMIT (no
 * inotify instance or thread). Any thread.
 */
int ax__watch_set(ax_term_t name, const char *path, bool on);
/* As the compile threads, for the watcher thread. */
void ax__watch_open(void);
void ax__watch_close(void);

#endif /* AX_CODE_MODULE_H */
