/*
 * lang.h - the shell language: an Erlang-flavoured expression language
 * read a line at a time, evaluated in the client, printing its results
 * as erl does. Everything that touches processes goes through a backend
 * (struct shell_backend) that the REPL driver supplies: over the node's
 * socket in the ax binary, a fake in the unit tests.
 *
 * The driver owns the terminal (libedit, history, Ctrl-C); the shell
 * owns the language: pending input, variable bindings, the results of
 * earlier commands, the messages received but not yet matched, and one
 * heap that all of those live on. A shell is used by one thread.
 */
#ifndef AX_SHELL_LANG_H
#define AX_SHELL_LANG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ax.h"

/*
 * A blocking backend operation (next_message, call, ...) returns this
 * when the user interrupted it (Ctrl-C): the expression ends with
 * "** exception exit: interrupted" and the shell goes on.
 */
#define SHELL_EINTR (-1000)
/*
 * A backend operation returns this when the shell process was killed by
 * an exit signal meanwhile (the node has made it a new one): the
 * expression ends with "** exception exit: Reason", Reason in *out.
 */
#define SHELL_EEXIT (-1001)

/*
 * Operations on the node. Each returns 0 or a negative AX_E* code (or
 * SHELL_EINTR) and gives its result as a term in *out, made on h (the
 * shell's heap; immediates need none). On an error, *out may hold a
 * reason term that says more (a supervisor's {error, Reason}, the exit
 * reason of a server that died during a call, a compiler's messages as
 * a binary); it is AX_NONE otherwise. The shell sets *out to AX_NONE
 * before each call. A NULL member makes its commands fail with notsup.
 * ctx is the driver's, given back unchanged.
 *
 * Shapes of the results, as the commands print them:
 * - self: the shell process's pid.
 * - spawn(Mod, Args, How): How is the atom none, link or monitor; a pid,
 *   or {Pid, MonitorRef} for monitor.
 * - send, link, unlink, demonitor, exit, register, unregister, cast,
 *   observer: anything (the command's result is erl's, not this).
 * - monitor: a reference. whereis: a pid or undefined. is_alive: a
 *   boolean. trap_exit(Bool): the old value.
 * - registered: a list of atoms. modules: a list of maps as ax_modules().
 * - process_list(Opts): a list of maps, one per process:
 *   #{pid, registered_name (atom or []), initial_call, current,
 *   heap (words), reductions, message_queue_len, memory (bytes),
 *   status}. Opts is a map: #{} for all processes, #{registered => true}
 *   for the registered ones only. initial_call and current are
 *   {Module, Function, Arity} or any term.
 * - process_info(Pid): a list of {Key, Value} or a map, printed as is.
 * - next_message(Timeout): the next message that came to the shell
 *   process, waiting at most Timeout (ms: an integer, or infinity);
 *   AX_ETIMEOUT when none came.
 * - call(Server, Req, Timeout): the reply; AX_ETIMEOUT, AX_ENOPROC, or
 *   AX_EEXITED with the server's exit reason in *out. Timeout is an
 *   integer (ms) or infinity.
 * - get_state: the state. replace_state(Server, New): the new state.
 * - compile(Mod), load(Mod): the module's name; AX_ECOMPILE with the
 *   compiler's messages (a binary) in *out. purge(Mod): anything.
 * - start_supervisor(Name, Flags, Children): the pid (Name is an atom
 *   or undefined). which_children(Sup): as
 *   ax_supervisor_which_children. start_child(Sup, Spec),
 *   restart_child(Sup, Id): the child's pid. terminate_child(Sup, Id):
 *   anything. Errors carry the supervisor's reason in *out.
 * - tree: a list of trees, one per supervision tree; a tree is a map
 *   #{id => Id, pid => Pid | restarting | undefined,
 *   type => supervisor | worker, children => [Tree]} (children only for
 *   a supervisor; id is the registered name or pid of a root).
 * - crashes(Filter): a list of maps #{time => Text, pid => Pid,
 *   name => Name | [], reason => Reason}, newest first; Filter is #{}
 *   for the recent ones, or a pid, an atom (a registered name or a
 *   module), or an integer (how many).
 */
struct shell_backend {
    int (*self)(void *ctx, ax_heap_t *h, ax_term_t *out);
    int (*spawn)(void *ctx, ax_heap_t *h, ax_term_t mod, ax_term_t args,
                 ax_term_t how, ax_term_t *out);
    int (*send)(void *ctx, ax_heap_t *h, ax_term_t to, ax_term_t msg,
                ax_term_t *out);
    int (*link)(void *ctx, ax_heap_t *h, ax_term_t pid, ax_term_t *out);
    int (*unlink)(void *ctx, ax_heap_t *h, ax_term_t pid, ax_term_t *out);
    int (*monitor)(void *ctx, ax_heap_t *h, ax_term_t pid, ax_term_t *out);
    int (*demonitor)(void *ctx, ax_heap_t *h, ax_term_t ref,
                     ax_term_t *out);
    int (*exit)(void *ctx, ax_heap_t *h, ax_term_t pid, ax_term_t reason,
                ax_term_t *out);
    int (*trap_exit)(void *ctx, ax_heap_t *h, ax_term_t on, ax_term_t *out);
    int (*register_name)(void *ctx, ax_heap_t *h, ax_term_t name,
                         ax_term_t pid, ax_term_t *out);
    int (*unregister)(void *ctx, ax_heap_t *h, ax_term_t name,
                      ax_term_t *out);
    int (*whereis)(void *ctx, ax_heap_t *h, ax_term_t name, ax_term_t *out);
    int (*is_alive)(void *ctx, ax_heap_t *h, ax_term_t pid, ax_term_t *out);
    int (*registered)(void *ctx, ax_heap_t *h, ax_term_t *out);
    int (*process_list)(void *ctx, ax_heap_t *h, ax_term_t opts,
                        ax_term_t *out);
    int (*process_info)(void *ctx, ax_heap_t *h, ax_term_t pid,
                        ax_term_t *out);
    int (*next_message)(void *ctx, ax_heap_t *h, ax_term_t timeout,
                        ax_term_t *out);
    int (*call)(void *ctx, ax_heap_t *h, ax_term_t server, ax_term_t req,
                ax_term_t timeout, ax_term_t *out);
    int (*cast)(void *ctx, ax_heap_t *h, ax_term_t server, ax_term_t msg,
                ax_term_t *out);
    int (*get_state)(void *ctx, ax_heap_t *h, ax_term_t server,
                     ax_term_t *out);
    int (*replace_state)(void *ctx, ax_heap_t *h, ax_term_t server,
                         ax_term_t state, ax_term_t *out);
    int (*compile)(void *ctx, ax_heap_t *h, ax_term_t mod, ax_term_t *out);
    int (*load)(void *ctx, ax_heap_t *h, ax_term_t mod, ax_term_t *out);
    int (*purge)(void *ctx, ax_heap_t *h, ax_term_t mod, ax_term_t *out);
    int (*modules)(void *ctx, ax_heap_t *h, ax_term_t *out);
    int (*start_supervisor)(void *ctx, ax_heap_t *h, ax_term_t name,
                            ax_term_t flags, ax_term_t children,
                            ax_term_t *out);
    int (*which_children)(void *ctx, ax_heap_t *h, ax_term_t sup,
                          ax_term_t *out);
    int (*start_child)(void *ctx, ax_heap_t *h, ax_term_t sup,
                       ax_term_t spec, ax_term_t *out);
    int (*terminate_child)(void *ctx, ax_heap_t *h, ax_term_t sup,
                           ax_term_t id, ax_term_t *out);
    int (*restart_child)(void *ctx, ax_heap_t *h, ax_term_t sup,
                         ax_term_t id, ax_term_t *out);
    int (*tree)(void *ctx, ax_heap_t *h, ax_term_t *out);
    int (*crashes)(void *ctx, ax_heap_t *h, ax_term_t filter,
                   ax_term_t *out);
    int (*observer)(void *ctx, ax_heap_t *h, ax_term_t *out);
};

/* What shell_feed() asks of the driver next. */
enum shell_status {
    SHELL_DONE,      /* every complete expression was evaluated */
    SHELL_NEED_MORE, /* the input ends inside an expression: read on */
    SHELL_ERROR,     /* as DONE, but one raised or did not parse */
    SHELL_QUIT,      /* q(): leave the shell (detach) */
    SHELL_HALT       /* halt(): stop the node, then leave */
};

struct shell;

/*
 * A new shell writing its output to out (not owned). The backend and
 * ctx must outlive it. NULL if out of memory. The atom table must be
 * usable (any program linked with libax).
 */
struct shell *shell_new(const struct shell_backend *be, void *ctx,
                        FILE *out);
/* Frees the shell and everything on its heap. Accepts NULL. */
void shell_free(struct shell *sh);

/*
 * Adds one line of input (without its newline; it is added) and
 * evaluates every expression the pending input now completes, in order,
 * printing each result or error. Input after the last full stop stays
 * pending. Stops at q() or halt(), dropping the rest.
 */
enum shell_status shell_feed(struct shell *sh, const char *line);
/* Drops pending input (Ctrl-C at a continuation prompt). */
void shell_discard(struct shell *sh);
/* True if input is pending, waiting for its full stop. */
bool shell_pending(const struct shell *sh);

/* The prompt: "N> ", or ".. " while input is pending. buf gets at most
 * size bytes, NUL-terminated. */
void shell_prompt(const struct shell *sh, char *buf, size_t size);

/* Terminal width for pretty-printing (default 80; at least 20). */
void shell_set_width(struct shell *sh, unsigned width);

/*
 * Tells the shell that its process was killed by an exit signal: prints
 * "** exception exit: Reason" (the driver then gives the backend a new
 * process; the bindings stay).
 */
void shell_exit_signal(struct shell *sh, ax_term_t reason);

/* How many expressions raised or failed to parse so far (a script's
 * exit status). */
unsigned shell_error_count(const struct shell *sh);

/*
 * Completion candidates for the word prefix: commands (with their "("),
 * bound variables, and through the backend modules and registered
 * names, sorted and unique. A malloc'd array of *n malloc'd strings
 * (NULL-terminated), which the caller frees with shell_free_strings();
 * NULL if out of memory.
 */
char **shell_complete(struct shell *sh, const char *prefix, size_t *n);
void shell_free_strings(char **v);

#endif /* AX_SHELL_LANG_H */
