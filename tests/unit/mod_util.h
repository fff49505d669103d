/*
 * mod_util.h - what tests that load modules share: a temporary directory
 * per test, modules compiled into it from tests/modules/ as a user would
 * build them, and the directory's removal. Paths in the repository are
 * found from this file's own path, so the tests run from anywhere.
 */
#ifndef AX_TESTS_MOD_UTIL_H
#define AX_TESTS_MOD_UTIL_H

#include <criterion/criterion.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define MOD_PATH_LEN 512

extern char **environ;

/* The path of the repository's file rel. */
static inline void mod_repo_path(char *buf, const char *rel)
{
    const char *end = strstr(__FILE__, "tests/unit/");

    if (snprintf(buf, MOD_PATH_LEN, "%.*s%s", (int)(end - __FILE__),
                 __FILE__, rel) >= MOD_PATH_LEN)
        abort(); /* paths of this length are not the tests' concern */
}

/* Makes a fresh directory named after tag in dir (MOD_PATH_LEN bytes). */
static inline void mod_dir_make(char *dir, const char *tag)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(dir, MOD_PATH_LEN, "%s/ax-test-%s-XXXXXX",
             tmp && *tmp ? tmp : "/tmp", tag);
    cr_assert(mkdtemp(dir), "mkdtemp %s", dir);
}

/* Compiles tests/modules/src (a file name) into the file out. */
static inline void mod_build(const char *src, const char *out)
{
    char from[MOD_PATH_LEN];
    char rel[MOD_PATH_LEN + 16];
    char inc[MOD_PATH_LEN + 2] = "-I";
    char *argv[] = {"cc",   "-shared", "-fPIC", "-O2", "-std=c11",
                    "-D_GNU_SOURCE", inc, "-o", (char *)out, from, NULL};
    pid_t pid;
    int st;

    snprintf(rel, sizeof(rel), "tests/modules/%s", src);
    mod_repo_path(from, rel);
    mod_repo_path(inc + 2, "runtime");
    cr_assert_eq(posix_spawnp(&pid, "cc", NULL, NULL, argv, environ), 0);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "cc %s failed", src);
}

static inline int mod_remove_entry(const char *path, const struct stat *st,
                                   int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes dir and everything in it. */
static inline void mod_dir_remove(const char *dir)
{
    nftw(dir, mod_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

#endif /* AX_TESTS_MOD_UTIL_H */
