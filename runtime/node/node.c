/*
 * node.c - starting and stopping a node: what every layer needs set up
 * around the schedulers (fault handling now; the control socket and the
 * crash log later), in the order the layers depend on each other.
 */
#include "../crash/fault.h"
#include "../sched/sched.h"

int ax_node_start(const ax_node_opts_t *opts)
{
    int err = ax__fault_init();

    if (err)
        return err;
    ax__sched_on_thread = ax__fault_thread;
    return ax__sched_start(opts);
}

int ax_node_stop(void)
{
    return ax__sched_stop();
}
