/*
 * node.c - starting and stopping a node: what every layer needs set up
 * around the schedulers, in the order the layers depend on each other:
 * fault handling and the code layer before the schedulers start; the code
 * layer's threads halted before the processes are killed, and its modules
 * unloaded once they are gone; the crash log open while any process
 * runs, and closed (its queue written) once they are gone; the control
 * socket (listen.c) closed first, so no client sees the node half gone.
 */
#include "../code/module.h"
#include "../crash/fault.h"
#include "../crash/log.h"
#include "../sched/sched.h"
#include "node.h"

/* What every exiting process leaves behind, layer by layer: the crash
 * report first, while the module it ran is still loaded. */
static void on_exit(struct proc *p, ax_term_t reason)
{
    if (!ax__session_is_closed_proxy(p))
        ax__crash_report(p, reason);
    ax__session_proc_exit(p, reason);
    ax__code_proc_exit(p);
}

int ax_node_start(const ax_node_opts_t *opts)
{
    int err;

    if (atomic_load(&ax__node.running))
        return AX_ESTATE;
    err = ax__fault_init();
    if (!err && opts && opts->name)
        err = ax__crash_log_set_node(opts->name);
    if (!err)
        err = ax__code_init();
    if (err)
        return err;
    err = ax__crash_log_open(NULL);
    if (err) {
        ax__code_stop();
        return err;
    }
    ax__sched_on_thread = ax__fault_thread;
    ax__exit_hook = on_exit;
    ax_supervisor_set_hook(ax__crash_sup_report);
    err = ax__sched_start(opts);
    if (err) {
        ax__crash_log_close();
        ax__code_stop();
    }
    return err;
}

int ax_node_stop(void)
{
    int err;

    if (ax__sched_self())
        return AX_ESTATE;
    ax__node_unlisten();
    ax__code_halt();
    err = ax__sched_stop();
    if (!err) {
        ax__code_stop();
        ax__crash_log_close();
    }
    return err;
}
