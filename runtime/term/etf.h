/*
 * etf.h - the node table behind the External Term Format (ax.h "External
 * Term Format"; etf.c).
 *
 * A pid or a reference carries a node index (0..PID_NODE_MAX) instead of
 * a node name. The table maps each index to the node's name (an atom) and
 * creation, as they travel in the External Term Format. Index 0 is this
 * node ('nonode@nohost', creation 0, until ax_etf_set_node_name()); the
 * others are added by decoding pids and references of other nodes, and
 * stay for the life of the process (an index, once given, never changes
 * meaning).
 */
#ifndef AX_TERM_ETF_H
#define AX_TERM_ETF_H

#include "term.h"

/*
 * The name and creation of node index. False if no node has that index.
 * Lock-free; any thread.
 */
bool ax__etf_node(unsigned index, ax_term_t *name, uint32_t *creation);

/*
 * The index of the node (name, creation), added to the table if new: 0
 * for this node's own name and creation. Errors: AX_ESYSLIMIT when the
 * table is full. Lock-free when the node is known; adding takes a mutex.
 */
int ax__etf_node_index(ax_term_t name, uint32_t creation, unsigned *index);

#endif /* AX_TERM_ETF_H */
