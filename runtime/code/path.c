/*
 * path.c - where the loader finds and keeps files: the search path
 * (ax_module_add_path, AX_PATH, then the current directory), the private
 * directory that holds the copies it dlopens, and the formatting of the
 * messages it hands back.
 *
 * Invariants: the search path and the private directory's name change
 * only under `lock`. The private directory is made (mkdtemp, mode 0700)
 * at the first copy and removed, with whatever is left in it, by
 * ax__code_path_stop; nothing but the loader writes in it.
 */
#include "module.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/alloc.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char **dirs;         /* the search path before ".", front first */
static size_t ndirs;
static char *private_dir;   /* NULL until the first copy */

/* --- Messages ------------------------------------------------------------ */

char *ax__code_printf(const char *fmt, ...)
{
    va_list ap;
    int n;
    char *s;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(s = ax__malloc((size_t)n + 1)))
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

int ax__code_fail(char **errmsg, int err, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!errmsg)
        return err;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(*errmsg = ax__malloc((size_t)n + 1)))
        return err;
    va_start(ap, fmt);
    vsnprintf(*errmsg, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return err;
}

/* --- The search path ----------------------------------------------------- */

/* With lock held: removes dirs[i]. */
static void remove_dir(size_t i)
{
    ax__free(dirs[i]);
    memmove(dirs + i, dirs + i + 1, (ndirs - i - 1) * sizeof(*dirs));
    ndirs--;
}

/* With lock held: inserts a copy of dir at position i. */
static int insert_dir(size_t i, const char *dir, size_t len)
{
    char **grown = ax__realloc_array(dirs, ndirs + 1, sizeof(*dirs));
    char *copy = ax__malloc(len + 1);

    if (grown)
        dirs = grown;
    if (!grown || !copy) {
        ax__free(copy);
        return AX_ENOMEM;
    }
    memcpy(copy, dir, len);
    copy[len] = '\0';
    memmove(dirs + i + 1, dirs + i, (ndirs - i) * sizeof(*dirs));
    dirs[i] = copy;
    ndirs++;
    return 0;
}

int ax_module_add_path(const char *dir)
{
    struct stat st;
    int err;

    if (!dir || !*dir || stat(dir, &st) || !S_ISDIR(st.st_mode))
        return AX_EINVAL;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < ndirs; i++)
        if (!strcmp(dirs[i], dir)) {
            remove_dir(i);
            break;
        }
    err = insert_dir(0, dir, strlen(dir));
    pthread_mutex_unlock(&lock);
    return err;
}

int ax__code_path_init(void)
{
    const char *p = getenv("AX_PATH");
    int err = 0;

    pthread_mutex_lock(&lock);
    while (p && *p && !err) {
        size_t len = strcspn(p, ":");

        if (len)
            err = insert_dir(ndirs, p, len);
        p += len + (p[len] == ':');
    }
    pthread_mutex_unlock(&lock);
    return err;
}

static bool is_file(const char *path)
{
    struct stat st;

    return !stat(path, &st) && S_ISREG(st.st_mode);
}

int ax__code_find(const char *name, const char *ext, char **path)
{
    char *p = NULL;
    bool nomem = false;

    *path = NULL;
    if (!*name || strchr(name, '/'))
        return AX_ENOMODULE;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i <= ndirs && !p && !nomem; i++) {
        p = i < ndirs ? ax__code_printf("%s/%s%s", dirs[i], name, ext)
                      : ax__code_printf("%s%s", name, ext);
        nomem = !p;
        if (p && !is_file(p)) {
            ax__free(p);
            p = NULL;
        }
    }
    pthread_mutex_unlock(&lock);
    *path = p;
    return p ? 0 : nomem ? AX_ENOMEM : AX_ENOMODULE;
}

/* --- The private directory ----------------------------------------------- */

/* With lock held: makes the private directory. */
static int make_private_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    char *name = ax__code_printf("%s/ax-code-XXXXXX",
                                 tmp && *tmp ? tmp : "/tmp");

    if (!name)
        return AX_ENOMEM;
    if (!mkdtemp(name)) {
        ax__free(name);
        return AX_EBADMODULE;
    }
    private_dir = name;
    return 0;
}

char *ax__code_private_path(const char *base, int *err)
{
    char *p = NULL;

    pthread_mutex_lock(&lock);
    *err = private_dir ? 0 : make_private_dir();
    if (!*err && !(p = ax__code_printf("%s/%s", private_dir, base)))
        *err = AX_ENOMEM;
    pthread_mutex_unlock(&lock);
    return p;
}

/* Removes dir and the files in it (the loader makes no subdirectory). */
static void remove_private_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    rmdir(dir);
}

void ax__code_path_stop(void)
{
    pthread_mutex_lock(&lock);
    while (ndirs)
        remove_dir(ndirs - 1);
    ax__free(dirs);
    dirs = NULL;
    if (private_dir)
        remove_private_dir(private_dir);
    ax__free(private_dir);
    private_dir = NULL;
    pthread_mutex_unlock(&lock);
}
