/*
 * gen.h - random terms for property tests: every type, with the awkward
 * values (int64 extremes, -0.0, denormals, quoted and unicode atoms,
 * reserved words, off-heap binaries, improper lists, mixed map keys).
 *
 * Everything follows from the PRNG state, so a failure is reproduced from
 * its seed. Atoms come from a fixed pool (GEN_ATOM_POOL texts), so any
 * number of terms makes a bounded number of atoms.
 */
#ifndef AX_TESTS_GEN_H
#define AX_TESTS_GEN_H

#include <stdint.h>

#include "ax.h"

#define GEN_ATOM_POOL 2048

/* The next 64 random bits (splitmix64). */
uint64_t gen_next(uint64_t *rng);
/* A random number in [0, n) (n > 0). */
uint64_t gen_below(uint64_t *rng, uint64_t n);

/* Scalars. gen_float never gives NaN or an infinity. */
int64_t gen_int64(uint64_t *rng);
double gen_float(uint64_t *rng);
ax_term_t gen_atom(uint64_t *rng);
ax_term_t gen_binary(ax_heap_t *h, uint64_t *rng);
ax_term_t gen_pid(uint64_t *rng);
ax_term_t gen_ref(ax_heap_t *h, uint64_t *rng);
/* Any term but a container. */
ax_term_t gen_scalar(ax_heap_t *h, uint64_t *rng);

/*
 * A random term on h, containers nested at most depth deep (0: a scalar),
 * now and then a long list. AX_NONE if h runs out of memory.
 */
ax_term_t gen_term(ax_heap_t *h, uint64_t *rng, int depth);

/* A term nested about levels deep: random containers, one inside the
 * next, with scalar siblings. AX_NONE if h runs out of memory. */
ax_term_t gen_deep(ax_heap_t *h, uint64_t *rng, int levels);

#endif /* AX_TESTS_GEN_H */
