/*
 * node.h - between the files of the node layer: the control socket's
 * paths and cookie (auth.c), the listener and its I/O thread (listen.c),
 * sessions and their proxy processes (session.c), the requests they run
 * (request.c, introspect.c).
 *
 * Threads: the I/O thread owns every connection and its socket; a
 * session is shared by the I/O thread and its proxy process, and what
 * they share is under the session's lock (or atomic, said where).
 */
#ifndef AX_NODE_NODE_H
#define AX_NODE_NODE_H

#include <pthread.h>
#include <stdatomic.h>

#include "../proc/proc.h"

/* The longest node name, in bytes. */
#define NODE_NAME_MAX 64
/* The longest cookie, in bytes. */
#define COOKIE_MAX 255

/* --- auth.c -------------------------------------------------------------- */

/* True for a name of 1..NODE_NAME_MAX letters, digits, '_', '.', '-'
 * (not starting with '.'). */
bool ax__node_name_ok(const char *name);
/* dir/NAME.sock into buf; AX_ERANGE if it does not fit a socket address,
 * AX_EINVAL for a bad name. */
int ax__node_socket_path(const char *dir, const char *name, char *buf,
                         size_t size);
/* Checks that dir is a directory of ours that no one else may enter;
 * says on stderr why not (AX_EINVAL). */
int ax__node_dir_check(const char *dir);
/* The cookie: given (copied) if not NULL, else ~/.ax/cookie, made at
 * random (mode 0400) if missing. A cookie file others may read is
 * refused. Errors: AX_EINVAL (said on stderr), AX_ERANGE. */
int ax__node_cookie(const char *given, char *buf, size_t size);
/* Compares a presented cookie with ours in time that does not depend on
 * where they differ. */
bool ax__node_cookie_eq(const char *ours, const uint8_t *theirs,
                        size_t len);

/* --- session.c ----------------------------------------------------------- */

struct session;

/* A queued outgoing frame. */
struct out_frame {
    struct out_frame *next;
    size_t len;
    uint8_t data[];
};

/* A session whose frames go out through the I/O thread woken by writing
 * wake_fd; trap is the shell's trap_exit flag. One reference, the
 * caller's. NULL on allocation failure. */
struct session *ax__session_new(int wake_fd, bool trap);
/* Starts (or, after its death, restarts) the session's proxy process;
 * *pid gets its pid. From the I/O thread. */
int ax__session_start(struct session *s, ax_term_t *pid);
/* The proxy's pid now (AX_NONE while none runs). Any thread. */
ax_term_t ax__session_proxy(struct session *s);
/* Hands request {req, Id, Req} (the frame's term, on any heap) to the
 * proxy. AX_ESYSLIMIT if too many requests are in flight. I/O thread. */
int ax__session_request(struct session *s, int64_t id, ax_term_t req);
/* Cancels a blocked request. I/O thread. */
void ax__session_interrupt(struct session *s);
/* Queues frame term t (encoded now) for the client, and wakes the I/O
 * thread. Any thread; a session closed drops it. */
void ax__session_push(struct session *s, ax_term_t t);
/* The frames queued so far, oldest first; the caller frees them. */
struct out_frame *ax__session_take_out(struct session *s);
/* True once the client fell too far behind (its frames were dropped):
 * the I/O thread then closes the connection. */
bool ax__session_overflowed(struct session *s);
/*
 * If the proxy has died since the last call: true, with the reason on h
 * and the dead pid; the requests it had in flight are answered
 * {error, {shell_exit, Reason}}. I/O thread, which then restarts it.
 */
bool ax__session_take_death(struct session *s, ax_heap_t *h,
                            ax_term_t *reason, ax_term_t *dead);
/* The connection is gone: kills the proxy (no restart) and drops the
 * caller's reference. I/O thread. */
void ax__session_close(struct session *s);
/* The session's memory of reductions, for rates (rates.h): made at the
 * first use, NULL if out of memory. Its proxy only. */
struct rates *ax__session_rates(struct session *s);
/* Whether p is the shell process of a session whose client has gone:
 * its death (a kill) is the end of the session, not a crash. */
bool ax__session_is_closed_proxy(struct proc *p);
/* Called by every exiting process (node.c's exit hook): a proxy's death
 * is recorded for the I/O thread, and its reference dropped. */
void ax__session_proc_exit(struct proc *p, ax_term_t reason);
/* Sets the shell's trap_exit flag (the request does). Any thread. */
bool ax__session_set_trap(struct session *s, bool on);
/* True if msg is this session's interrupt. In the proxy. */
bool ax__session_is_interrupt(struct session *s, ax_term_t msg);

/* --- request.c ----------------------------------------------------------- */

/* Runs one request in the proxy's context; the result, {ok, V} or
 * {error, R}, is on the proxy's heap. */
ax_term_t ax__request_run(struct session *s, ax_term_t req);
/* Sends {Tag, {Self, Ref}, Req} to server (a pid or a name), Ref being a
 * monitor's, and waits for {Ref, Reply}, a 'DOWN' or the session's
 * interrupt: {ok, Reply} or {error, noproc | timeout | {exit, Reason} |
 * interrupted}. A late reply is dropped on arrival. In the proxy. */
ax_term_t ax__request_call(struct session *s, ax_term_t server,
                           ax_term_t tag, ax_term_t req, int64_t timeout);
/* {error, Reason} for an AX_E* code, on h. */
ax_term_t ax__request_error(ax_heap_t *h, int err);

/* --- introspect.c -------------------------------------------------------- */

/* The request handlers of introspection, each returning a result as
 * ax__request_run's (args: the request tuple's elements after the tag). */
ax_term_t ax__req_processes(struct session *s, ax_term_t opts);
ax_term_t ax__req_process_info(ax_term_t pid);
/* {messages, Pid, N}: {ok, #{total, messages, cut}}, the first N (at most
 * 100) messages of Pid's queue, 64 KB of them at most, copied by Pid. */
ax_term_t ax__req_messages(ax_term_t pid, ax_term_t n);
ax_term_t ax__req_tree(struct session *s, ax_term_t root);
ax_term_t ax__req_stats(void);

/* --- crashes.c ----------------------------------------------------------- */

/* {crashes, Opts}: the node's recent crash reports (crashes.c). */
ax_term_t ax__req_crashes(ax_term_t opts);
/* {crash, Id}: one report, every column. */
ax_term_t ax__req_crash(ax_term_t id);

/* --- listen.c ------------------------------------------------------------ */

/* Stops the I/O thread, closes every connection and removes the socket
 * (before the node's processes are killed). A node that does not listen:
 * nothing. From ax_node_stop. */
void ax__node_unlisten(void);
/* Asks the I/O thread to stop the node (the halt request): it does so
 * from a thread of its own. */
void ax__node_halt_async(void);

#endif /* AX_NODE_NODE_H */
