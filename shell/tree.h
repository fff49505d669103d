/*
 * tree.h - a supervision tree written in a file, as `ax run` and
 * `ax shell --tree` start it: one term ended by a full stop,
 *
 *   {supervisor, Name, Flags, Children}.
 *
 * with Flags and Children as ax_supervisor_start takes them.
 */
#ifndef AX_SHELL_TREE_H
#define AX_SHELL_TREE_H

#include "ax.h"

/* Reads and checks file's tree onto h. On an error says on stderr what
 * was wrong (FILE:LINE:COL for a malformed term), prefixed with who,
 * and returns nonzero. */
int tree_load(const char *who, const char *file, ax_heap_t *h,
              ax_term_t *tree);

/*
 * The body of a process that starts the tree, says so on stdout (unless
 * quiet) and waits for it: it exits with the tree's reason when the tree
 * gives up, or start_failed if it does not start (said on stderr). arg
 * is {Tree, Quiet} or {Tree, Quiet, Sem}: Sem, an integer, is the
 * address of a sem_t posted once the tree has started or failed to.
 */
void tree_root(ax_term_t arg);

#endif /* AX_SHELL_TREE_H */
