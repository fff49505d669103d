/*
 * supervisor.h - what the node layer reads of the supervisors
 * (supervisor.c): the restarts made so far, node-wide.
 */
#ifndef AX_CODE_SUPERVISOR_H
#define AX_CODE_SUPERVISOR_H

#include <stdint.h>

/* Children restarted by any supervisor since the node started. Any
 * thread. */
uint64_t ax__supervisor_restarts(void);

#endif /* AX_CODE_SUPERVISOR_H */
