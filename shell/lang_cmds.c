/*
 * lang_cmds.c - the shell's commands, described as data: a name, the
 * arities it takes, its help, and either a backend operation (found by
 * its offset in struct shell_backend) with the way its result and its
 * errors become erl's, or a function of its own. h() prints the table.
 *
 * The commands that draw tables (i(), regs(), m(), tree(), crashes())
 * are in lang_show.c; here are the table and the plain commands.
 */
#include "lang_cmds.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define OP(member) offsetof(struct shell_backend, member)

typedef int (*op0_fn)(void *, ax_heap_t *, ax_term_t *);
typedef int (*op1_fn)(void *, ax_heap_t *, ax_term_t, ax_term_t *);
typedef int (*op2_fn)(void *, ax_heap_t *, ax_term_t, ax_term_t,
                      ax_term_t *);
typedef int (*op3_fn)(void *, ax_heap_t *, ax_term_t, ax_term_t, ax_term_t,
                      ax_term_t *);

/* --- Backend operations ---------------------------------------------------- */

/* Calls the backend member at offset op with args a[0..n). */
static int call_op(struct shell *sh, size_t op, const ax_term_t *a,
                   size_t n, ax_term_t *out)
{
    const char *base = (const char *)sh->be + op;
    void (*any)(void);

    memcpy(&any, base, sizeof(any));
    *out = AX_NONE;
    if (!any)
        return AX_ENOTSUP;
    switch (n) {
    case 0:
        return ((op0_fn)any)(sh->ctx, sh->h, out);
    case 1:
        return ((op1_fn)any)(sh->ctx, sh->h, a[0], out);
    case 2:
        return ((op2_fn)any)(sh->ctx, sh->h, a[0], a[1], out);
    default:
        return ((op3_fn)any)(sh->ctx, sh->h, a[0], a[1], a[2], out);
    }
}

static ax_term_t reason_of(int err, ax_term_t given)
{
    return given != AX_NONE ? given : lang_atom(ax_err_reason(err));
}

/* Turns a backend error into the command's exception or value. */
static int op_failed(struct shell *sh, const struct cmd *c, int err,
                     const ax_term_t *a, size_t n, ax_term_t *out)
{
    ax_term_t reason = reason_of(err, *out);

    if (err == SHELL_EINTR)
        return lang_raise(sh, EXC_EXIT, lang_atom("interrupted"), NULL);
    if (err == SHELL_EEXIT)
        return lang_raise(sh, EXC_EXIT, *out, NULL);
    if (c->flags & F_ERR_TUPLE) {
        *out = ax_tuple(sh->h, 2, lang_atom("error"), reason);
        return EV_OK;
    }
    if (c->flags & F_ERR_EXIT)
        return lang_raise(sh, EXC_EXIT, reason, NULL);
    if (err == AX_EBADARG || err == AX_EINVAL)
        return lang_raise_badarg(sh, c->name, a, n);
    return lang_raise(sh, EXC_ERROR, reason, NULL);
}

int lang_cmd_op(struct shell *sh, const struct cmd *c, const ax_term_t *a,
                size_t n, ax_term_t *out)
{
    ax_term_t res = AX_NONE;
    int err = call_op(sh, c->op, a, n, &res);

    if (err) {
        *out = res;
        return op_failed(sh, c, err, a, n, out);
    }
    switch (c->result) {
    case R_VALUE:
        *out = res;
        break;
    case R_TRUE:
        *out = lang_atom("true");
        break;
    case R_OK:
        *out = lang_atom("ok");
        break;
    case R_OK_TUPLE:
        *out = ax_tuple(sh->h, 2, lang_atom("ok"), res);
        break;
    case R_MODULE:
        *out = ax_tuple(sh->h, 2, lang_atom("module"), res);
        break;
    }
    return EV_OK;
}

/* --- Commands that shape their arguments ----------------------------------- */

static int cmd_spawn(struct shell *sh, const struct cmd *c,
                     const ax_term_t *a, size_t n, ax_term_t *out)
{
    const char *how = strcmp(c->name, "spawn_link") == 0      ? "link"
                      : strcmp(c->name, "spawn_monitor") == 0 ? "monitor"
                                                              : "none";
    ax_term_t args[3] = {a[0], a[1], lang_atom(how)};

    (void)n;
    return lang_cmd_op(sh, c, args, 3, out);
}

/* call(Server, Req) waits AX_CALL_TIMEOUT ms, as gen_server:call. */
static int cmd_call(struct shell *sh, const struct cmd *c,
                    const ax_term_t *a, size_t n, ax_term_t *out)
{
    ax_term_t args[3] = {a[0], a[1], n > 2 ? a[2] : AX_NONE};

    if (n == 2)
        args[2] = ax_int(sh->h, AX_CALL_TIMEOUT);
    return lang_cmd_op(sh, c, args, 3, out);
}

/* monitor(Pid) or monitor(process, Pid), as erlang:monitor/2. */
static int cmd_monitor(struct shell *sh, const struct cmd *c,
                       const ax_term_t *a, size_t n, ax_term_t *out)
{
    if (n == 2 && a[0] != lang_atom("process"))
        return lang_raise_badarg(sh, c->name, a, n);
    return lang_cmd_op(sh, c, a + n - 1, 1, out);
}

/* start_supervisor(Flags, Children) or (Name, Flags, Children). */
static int cmd_start_sup(struct shell *sh, const struct cmd *c,
                         const ax_term_t *a, size_t n, ax_term_t *out)
{
    ax_term_t args[3] = {lang_atom("undefined"), a[0], a[1]};

    if (n == 3)
        return lang_cmd_op(sh, c, a, 3, out);
    return lang_cmd_op(sh, c, args, 3, out);
}

/* process_flag(trap_exit, Bool): the old value. */
static int cmd_process_flag(struct shell *sh, const struct cmd *c,
                            const ax_term_t *a, size_t n, ax_term_t *out)
{
    if (a[0] != lang_atom("trap_exit") ||
        (a[1] != lang_atom("true") && a[1] != lang_atom("false")))
        return lang_raise_badarg(sh, c->name, a, n);
    return lang_cmd_op(sh, c, a + 1, 1, out);
}

/* exit(Reason) ends the expression, as in erl. */
static int cmd_exit1(struct shell *sh, const struct cmd *c,
                     const ax_term_t *a, size_t n, ax_term_t *out)
{
    (void)c;
    (void)n;
    (void)out;
    return lang_raise(sh, EXC_EXIT, a[0], NULL);
}

/* c(Mod): the compiler's messages are printed, and the result is error. */
static int cmd_compile(struct shell *sh, const struct cmd *c,
                       const ax_term_t *a, size_t n, ax_term_t *out)
{
    ax_term_t res = AX_NONE;
    int err = call_op(sh, c->op, a, n, &res);
    size_t len;
    const uint8_t *text = ax_binary_data(res, &len);

    if (err == AX_ECOMPILE && text) {
        fwrite(text, 1, len, sh->out);
        if (len > 0 && text[len - 1] != '\n')
            fputc('\n', sh->out);
        *out = lang_atom("error");
        return EV_OK;
    }
    if (err) {
        *out = res;
        return op_failed(sh, c, err, a, n, out);
    }
    *out = ax_tuple(sh->h, 2, lang_atom("ok"), res);
    return EV_OK;
}

/* pid(A, B, C): the pid <A.B.C>. */
static int cmd_pid(struct shell *sh, const struct cmd *c, const ax_term_t *a,
                   size_t n, ax_term_t *out)
{
    int64_t v[3];
    char text[80];

    for (size_t i = 0; i < 3; i++)
        if (ax_get_int(a[i], &v[i]) || v[i] < 0 || v[i] > UINT32_MAX)
            return lang_raise_badarg(sh, c->name, a, n);
    snprintf(text, sizeof(text), "<%lld.%lld.%lld>", (long long)v[0],
             (long long)v[1], (long long)v[2]);
    if (ax_parse(sh->h, text, strlen(text), out, NULL))
        return lang_raise_badarg(sh, c->name, a, n);
    return EV_OK;
}

/* --- The shell's own commands ---------------------------------------------- */

static int cmd_flush(struct shell *sh, const struct cmd *c,
                     const ax_term_t *a, size_t n, ax_term_t *out)
{
    ax_term_t msg;

    (void)c;
    (void)a;
    (void)n;
    for (;;) {
        for (size_t i = 0; i < sh->nmbox; i++) {
            fputs("Shell got ", sh->out);
            lang_print_term(sh, sh->mbox[i], 10);
        }
        sh->nmbox = 0;
        if (lang_next_message(sh, ax_int(sh->h, 0), &msg) != 0)
            break;
    }
    *out = lang_atom("ok");
    return EV_OK;
}

static int by_name(const void *x, const void *y)
{
    size_t lx;
    size_t ly;
    const char *a = ax_atom_text(((const struct binding *)x)->name, &lx);
    const char *b = ax_atom_text(((const struct binding *)y)->name, &ly);
    int d = memcmp(a, b, lx < ly ? lx : ly);

    return d ? d : (lx > ly) - (lx < ly);
}

/* b(): the bindings, sorted by name, as "X = Value". */
static int cmd_bindings(struct shell *sh, const struct cmd *c,
                        const ax_term_t *a, size_t n, ax_term_t *out)
{
    struct binding *v = malloc((sh->nvars + 1) * sizeof(*v));

    (void)c;
    (void)a;
    (void)n;
    if (!v)
        return lang_raise(sh, EXC_ERROR, lang_atom("system_limit"), NULL);
    memcpy(v, sh->vars, sh->nvars * sizeof(*v));
    qsort(v, sh->nvars, sizeof(*v), by_name);
    for (size_t i = 0; i < sh->nvars; i++) {
        size_t len;
        const char *name = ax_atom_text(v[i].name, &len);

        fprintf(sh->out, "%.*s = ", (int)len, name);
        lang_print_term(sh, v[i].value, (unsigned)len + 3);
    }
    free(v);
    *out = lang_atom("ok");
    return EV_OK;
}

/* f(): forgets every binding (f(Var) is done by the evaluator, which
 * sees the variable's name). */
static int cmd_forget(struct shell *sh, const struct cmd *c,
                      const ax_term_t *a, size_t n, ax_term_t *out)
{
    (void)c;
    if (n == 1)
        return lang_raise_badarg(sh, "f", a, n);
    lang_forget(sh, AX_NONE);
    *out = lang_atom("ok");
    return EV_OK;
}

/* v(N): the result of command N; v(-1) the one before this. */
static int cmd_result(struct shell *sh, const struct cmd *c,
                      const ax_term_t *a, size_t n, ax_term_t *out)
{
    int64_t k;

    if (ax_get_int(a[0], &k))
        return lang_raise_badarg(sh, c->name, a, n);
    if (k <= 0)
        k += sh->count;
    if (k <= 0 || k >= sh->count || sh->count - k > SHELL_HISTORY ||
        sh->results[k % SHELL_HISTORY] == AX_NONE)
        return lang_raise_badarg(sh, c->name, a, n);
    *out = sh->results[k % SHELL_HISTORY];
    return EV_OK;
}

static int cmd_quit(struct shell *sh, const struct cmd *c,
                    const ax_term_t *a, size_t n, ax_term_t *out)
{
    (void)a;
    (void)n;
    sh->stop = strcmp(c->name, "halt") == 0 ? SHELL_HALT : SHELL_QUIT;
    *out = lang_atom("ok");
    return EV_OK;
}

static int cmd_help(struct shell *sh, const struct cmd *c,
                    const ax_term_t *a, size_t n, ax_term_t *out);

/* --- The table ------------------------------------------------------------- */

static const struct cmd commands[] = {
    {"spawn", 2, 2, "Mod, Args", "start a server of Mod with init(Args)",
     "Starts a gen_server running module Mod, which init(Args) sets up, and\n"
     "returns its pid. The module is loaded first if it is not yet.\n"
     "  P = spawn(counter, [0]).",
     cmd_spawn, OP(spawn), R_VALUE, 0},
    {"spawn_link", 2, 2, "Mod, Args", "spawn, linked to the shell",
     "As spawn(Mod, Args), and links the new process to the shell: if it\n"
     "crashes the shell gets the exit signal (unless it traps exits).",
     cmd_spawn, OP(spawn), R_VALUE, 0},
    {"spawn_monitor", 2, 2, "Mod, Args", "spawn, monitored: {Pid, Ref}",
     "As spawn(Mod, Args), and monitors it: returns {Pid, Ref}; when it\n"
     "exits the shell gets {'DOWN', Ref, process, Pid, Reason}.",
     cmd_spawn, OP(spawn), R_VALUE, 0},
    {"self", 0, 0, "", "the shell's own pid",
     "The pid of the shell's process, which receives messages (flush())\n"
     "and can be linked to and monitored.",
     NULL, OP(self), R_VALUE, 0},
    {"link", 1, 1, "Pid", "link the shell to Pid",
     "Links the shell to Pid: if either exits abnormally, the other gets\n"
     "an exit signal. Returns true; noproc if Pid is dead.",
     NULL, OP(link), R_TRUE, 0},
    {"unlink", 1, 1, "Pid", "remove the link to Pid",
     "Removes the link between the shell and Pid. Returns true.",
     NULL, OP(unlink), R_TRUE, 0},
    {"monitor", 1, 2, "[process,] Pid", "monitor Pid: a reference",
     "Monitors Pid (or a registered name) and returns a reference. When it\n"
     "exits the shell gets {'DOWN', Ref, process, Pid, Reason}.",
     cmd_monitor, OP(monitor), R_VALUE, 0},
    {"demonitor", 1, 1, "Ref", "remove a monitor",
     "Removes the monitor of reference Ref. Returns true.",
     NULL, OP(demonitor), R_TRUE, 0},
    {"exit", 1, 1, "Reason", "end this expression with exit Reason",
     "Raises an exit exception with Reason in the shell's expression.",
     cmd_exit1, 0, R_VALUE, 0},
    {"exit", 2, 2, "Pid, Reason", "send an exit signal to Pid",
     "Sends an exit signal with Reason to Pid, as erlang:exit/2: kill ends\n"
     "it unconditionally, normal is ignored unless it traps exits.\n"
     "Returns true.",
     NULL, OP(exit), R_TRUE, 0},
    {"process_flag", 2, 2, "trap_exit, Bool", "trap exits in the shell",
     "process_flag(trap_exit, true) makes exit signals to the shell arrive\n"
     "as {'EXIT', Pid, Reason} messages. Returns the old value.",
     cmd_process_flag, OP(trap_exit), R_VALUE, 0},
    {"register", 2, 2, "Name, Pid", "register Pid under the atom Name",
     "Registers Pid as Name, so that Name ! Msg and calls reach it.\n"
     "Returns true; badarg if the name is taken.",
     NULL, OP(register_name), R_TRUE, 0},
    {"unregister", 1, 1, "Name", "remove a registered name",
     "Removes the registered name Name. Returns true.",
     NULL, OP(unregister), R_TRUE, 0},
    {"whereis", 1, 1, "Name", "the pid registered as Name",
     "The pid registered as Name, or undefined.",
     NULL, OP(whereis), R_VALUE, 0},
    {"is_alive", 1, 1, "Pid", "true if Pid is alive",
     "true if the process Pid exists and is not exiting, else false.",
     NULL, OP(is_alive), R_VALUE, 0},
    {"pid", 3, 3, "A, B, C", "the pid <A.B.C>",
     "Makes the pid <A.B.C> from its three numbers, as c:pid/3.",
     cmd_pid, 0, R_VALUE, 0},
    {"i", 0, 0, "", "information about all processes",
     "A table of the node's processes: pid, initial call, heap (words),\n"
     "reductions and queued messages; below each, its registered name,\n"
     "what it runs now and its memory (bytes). Totals at the end.",
     lang_cmd_i, OP(process_list), R_VALUE, 0},
    {"i", 1, 1, "Pid", "information about one process",
     "Everything the node knows of one process, as process_info/1.",
     NULL, OP(process_info), R_VALUE, 0},
    {"regs", 0, 0, "", "information about registered processes",
     "A table of the registered processes: name, pid, initial call,\n"
     "reductions and queued messages.",
     lang_cmd_regs, OP(process_list), R_VALUE, 0},
    {"flush", 0, 0, "", "print and drop the shell's messages",
     "Prints every message in the shell's mailbox as \"Shell got Msg\" and\n"
     "removes them.",
     cmd_flush, 0, R_OK, 0},
    {"call", 2, 3, "Server, Req[, Timeout]", "a gen_server call",
     "Sends Req to Server (a pid or a registered name) as gen_server:call\n"
     "and returns the reply. Timeout is in ms (default 5000) or infinity;\n"
     "when it passes, or the server dies, the expression exits.",
     cmd_call, OP(call), R_VALUE, F_ERR_EXIT},
    {"cast", 2, 2, "Server, Msg", "a gen_server cast",
     "Sends Msg to Server as gen_server:cast. Returns ok.",
     NULL, OP(cast), R_OK, 0},
    {"get_state", 1, 1, "Server", "a server's state",
     "The state of a gen_server (or a supervisor), as sys:get_state.",
     NULL, OP(get_state), R_VALUE, F_ERR_EXIT},
    {"replace_state", 2, 2, "Server, State", "set a server's state",
     "Replaces a gen_server's state with State, as sys:replace_state, and\n"
     "returns the new state.",
     NULL, OP(replace_state), R_VALUE, F_ERR_EXIT},
    {"c", 1, 1, "Mod", "compile and load a module",
     "Compiles Mod.c (a name in the module path, or a file) with the C\n"
     "compiler and loads it as the module's new version. Returns\n"
     "{ok, Mod}; the compiler's messages and error if it fails.",
     cmd_compile, OP(compile), R_OK_TUPLE, F_ERR_TUPLE},
    {"l", 1, 1, "Mod", "load a module's new version",
     "Loads Mod's shared object again: it becomes the current version and\n"
     "the one before it old. Returns {module, Mod} or {error, Reason}.",
     NULL, OP(load), R_MODULE, F_ERR_TUPLE},
    {"m", 0, 0, "", "the loaded modules",
     "A table of the loaded modules: their current and old versions, how\n"
     "many processes run each, and the file.",
     lang_cmd_m, OP(modules), R_VALUE, 0},
    {"purge", 1, 1, "Mod", "remove a module's old version",
     "Removes the old version of Mod, killing the processes that still\n"
     "run it. Returns ok or {error, Reason}.",
     NULL, OP(purge), R_OK, F_ERR_TUPLE},
    {"start_supervisor", 2, 3, "[Name,] Flags, Children",
     "start a supervisor",
     "Starts a supervisor with OTP's flags and child specs, e.g.\n"
     "  start_supervisor(#{strategy => one_for_one},\n"
     "                   [#{id => c1, start => {counter, [0]}}]).\n"
     "Returns {ok, Pid} or {error, Reason}.",
     cmd_start_sup, OP(start_supervisor), R_OK_TUPLE, F_ERR_TUPLE},
    {"children", 1, 1, "Sup", "a supervisor's children",
     "[{Id, Pid, Type, Modules}] of supervisor Sup, as\n"
     "supervisor:which_children.",
     NULL, OP(which_children), R_VALUE, F_ERR_EXIT},
    {"start_child", 2, 2, "Sup, Spec", "add a child to a supervisor",
     "Adds and starts a child (a spec map; for simple_one_for_one, a list\n"
     "of extra arguments). Returns {ok, Pid} or {error, Reason}.",
     NULL, OP(start_child), R_OK_TUPLE, F_ERR_TUPLE},
    {"terminate_child", 2, 2, "Sup, Id", "stop a supervisor's child",
     "Stops the child Id (its spec stays). Returns ok or {error, Reason}.",
     NULL, OP(terminate_child), R_OK, F_ERR_TUPLE},
    {"restart_child", 2, 2, "Sup, Id", "restart a stopped child",
     "Starts the stopped child Id again. Returns {ok, Pid} or\n"
     "{error, Reason}.",
     NULL, OP(restart_child), R_OK_TUPLE, F_ERR_TUPLE},
    {"tree", 0, 1, "[dot]", "draw the supervision trees",
     "Draws the node's supervision trees. tree(dot) prints them in\n"
     "Graphviz DOT instead, for: dot -Tsvg.",
     lang_cmd_tree, OP(tree), R_VALUE, 0},
    {"crashes", 0, 1, "[Filter]", "recent crashes from the crash log",
     "The recent crash reports, newest first. Filter: a pid, a name or\n"
     "module (an atom), or how many (an integer).",
     lang_cmd_crashes, OP(crashes), R_VALUE, 0},
    {"observer", 0, 0, "", "open the observer",
     "Opens the observer on this node.",
     NULL, OP(observer), R_OK, 0},
    {"b", 0, 0, "", "display all variable bindings",
     "Prints each bound variable and its value.",
     cmd_bindings, 0, R_OK, 0},
    {"f", 0, 1, "[Var]", "forget variable bindings",
     "f() forgets every binding, f(X) only X.",
     cmd_forget, 0, R_OK, 0},
    {"v", 1, 1, "N", "the result of command N",
     "The value command N returned (the number in its prompt); v(-1) is\n"
     "the one before. The last 20 are kept.",
     cmd_result, 0, R_VALUE, 0},
    {"h", 0, 1, "[Name]", "help",
     "h() lists the commands, h(Name) tells more of one.",
     cmd_help, 0, R_OK, 0},
    {"q", 0, 0, "", "leave the shell (the node runs on)",
     "Leaves the shell. Attached to a node, it detaches and leaves the\n"
     "node running.",
     cmd_quit, 0, R_OK, 0},
    {"halt", 0, 0, "", "stop the node and leave",
     "Stops the node, then leaves the shell.",
     cmd_quit, 0, R_OK, 0},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

const char *lang_command_name(size_t i)
{
    return i < NCOMMANDS ? commands[i].name : NULL;
}

static bool named(const struct cmd *c, ax_term_t name)
{
    size_t len;
    const char *text = ax_atom_text(name, &len);

    return text && strlen(c->name) == len && memcmp(c->name, text, len) == 0;
}

static void print_usage(struct shell *sh, const struct cmd *c)
{
    char usage[64];

    snprintf(usage, sizeof(usage), "%s(%s)", c->name, c->args);
    fprintf(sh->out, "%-24s -- %s\n", usage, c->summary);
}

static int cmd_help(struct shell *sh, const struct cmd *c,
                    const ax_term_t *a, size_t n, ax_term_t *out)
{
    bool found = false;

    (void)c;
    *out = lang_atom("ok");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (n == 1 && !named(&commands[i], a[0]))
            continue;
        print_usage(sh, &commands[i]);
        if (n == 1)
            fprintf(sh->out, "%s\n", commands[i].help);
        found = true;
    }
    if (!found)
        *out = ax_tuple(sh->h, 2, lang_atom("error"), lang_atom("missing"));
    return EV_OK;
}

int lang_call(struct shell *sh, ax_term_t name, const ax_term_t *args,
              size_t n, ax_term_t *out)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const struct cmd *c = &commands[i];

        if (n < c->min || n > c->max || !named(c, name))
            continue;
        return c->fn ? c->fn(sh, c, args, n, out)
                     : lang_cmd_op(sh, c, args, n, out);
    }
    return lang_raise(sh, EXC_ERROR,
                      ax_tuple(sh->h, 3, lang_atom("shell_undef"), name,
                               ax_int(sh->h, (int64_t)n)),
                      NULL);
}
