/*
 * registry.h - registered names (registry.c). All functions thread-safe.
 */
#ifndef AX_PROC_REGISTRY_H
#define AX_PROC_REGISTRY_H

#include "../term/atom.h"
#include "proc.h"

/* Registers name for p, whose pid is pid. AX_EBADARG if the name is taken
 * or not an atom (or undefined), if p already has a name, or if p is no
 * longer pid or is exiting; AX_ENOMEM. */
int ax__registry_add(ax_term_t name, struct proc *p, ax_term_t pid);
/* Removes name (if pid is not AX_NONE, only if it names pid) and clears
 * the process's own note of it, unless the process is exiting.
 * AX_EBADARG if not registered. */
int ax__registry_remove(ax_term_t name, ax_term_t pid);
/* The pid registered as name, or AX_NONE. */
ax_term_t ax__registry_lookup(ax_term_t name);
/* All names as a list on h (AX_NONE if h ran out of memory). */
ax_term_t ax__registry_list(ax_heap_t *h);
/* Forgets every name (node stop). */
void ax__registry_clear(void);

#endif /* AX_PROC_REGISTRY_H */
