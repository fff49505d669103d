/*
 * rates.h - a session's memory of the reductions of every process at its
 * previous process-list request sorted by rate, to compute reductions
 * per second (rates.c). One session's requests only, one at a time.
 */
#ifndef AX_NODE_RATES_H
#define AX_NODE_RATES_H

#include <stddef.h>
#include <stdint.h>

#include "ax.h"

struct rates;

/* A new, empty memory (NULL if out of memory); ax__rates_free frees one,
 * or NULL. */
struct rates *ax__rates_new(void);
void ax__rates_free(struct rates *r);

/* Starts a request that will note about expect processes. AX_ENOMEM. */
int ax__rates_begin(struct rates *r, size_t expect);
/* Notes pid's reductions now and returns its reductions per second
 * since the previous request (0 at the first). */
uint64_t ax__rates_note(struct rates *r, ax_term_t pid, uint64_t reductions);
/* Ends the request: what it noted is the previous request's from now. */
void ax__rates_end(struct rates *r);

#endif /* AX_NODE_RATES_H */
