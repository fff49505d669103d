/*
 * test_shell_lang.c - the shell language (shell/lang.h) against a fake
 * backend: the exact text printed for each construct and command,
 * errors, incomplete input, pattern matching, receive over queued
 * messages, and pretty-printing at several widths.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax.h"
#include "../../shell/lang.h"
#include "../../shell/lang_int.h"

/* --- The fake backend ------------------------------------------------------ */

struct fake {
    const char *inbox[8]; /* messages still to come, as text */
    size_t next;
    char log[1024]; /* what was asked, one line each */
};

static struct fake fk;
static struct shell *sh;
static char *outbuf;
static size_t outlen;
static size_t seen;
static FILE *out;

static ax_term_t term(ax_heap_t *h, const char *text)
{
    ax_term_t t = AX_NONE;

    cr_assert_eq(ax_parse(h, text, strlen(text), &t, NULL), 0, "%s", text);
    return t;
}

static void note(const char *what, ax_term_t a, ax_term_t b)
{
    char *x = ax_format(a, NULL, NULL);
    char *y = b == AX_NONE ? strdup("") : ax_format(b, NULL, NULL);
    size_t len = strlen(fk.log);

    snprintf(fk.log + len, sizeof(fk.log) - len, "%s %s %s\n", what, x, y);
    free(x);
    free(y);
}

static int f_self(void *ctx, ax_heap_t *h, ax_term_t *o)
{
    (void)ctx;
    *o = term(h, "<0.99.0>");
    return 0;
}

static int f_spawn(void *ctx, ax_heap_t *h, ax_term_t m, ax_term_t a,
                   ax_term_t how, ax_term_t *o)
{
    (void)ctx;
    note("spawn", m, how);
    (void)a;
    if (m == ax_atom("nosuch"))
        return AX_ENOMODULE;
    *o = term(h, how == ax_atom("monitor") ? "{<0.100.0>, #Ref<0.1.2.3>}"
                                           : "<0.100.0>");
    return 0;
}

static int f_send(void *ctx, ax_heap_t *h, ax_term_t to, ax_term_t msg,
                  ax_term_t *o)
{
    (void)ctx;
    (void)h;
    (void)o;
    if (to == ax_atom("nobody"))
        return AX_EBADARG;
    note("send", to, msg);
    return 0;
}

static int f_link(void *ctx, ax_heap_t *h, ax_term_t pid, ax_term_t *o)
{
    (void)ctx;
    (void)o;
    if (ax_equal(pid, term(h, "<0.66.0>")))
        return AX_ENOPROC;
    note("link", pid, AX_NONE);
    return ax_is_pid(pid) ? 0 : AX_EBADARG;
}

static int f_whereis(void *ctx, ax_heap_t *h, ax_term_t name, ax_term_t *o)
{
    (void)ctx;
    *o = name == ax_atom("counter") ? term(h, "<0.100.0>")
                                    : ax_atom("undefined");
    return 0;
}

static int f_next(void *ctx, ax_heap_t *h, ax_term_t timeout, ax_term_t *o)
{
    (void)ctx;
    (void)timeout;
    if (fk.next >= 8 || !fk.inbox[fk.next])
        return AX_ETIMEOUT;
    *o = term(h, fk.inbox[fk.next++]);
    return 0;
}

static int f_call(void *ctx, ax_heap_t *h, ax_term_t srv, ax_term_t req,
                  ax_term_t timeout, ax_term_t *o)
{
    (void)ctx;
    note("call", srv, timeout);
    if (req == ax_atom("slow"))
        return AX_ETIMEOUT;
    if (req == ax_atom("die")) {
        *o = term(h, "{badarith, [counter]}");
        return AX_EEXITED;
    }
    *o = ax_tuple(h, 2, ax_atom("reply"), req);
    return 0;
}

static int f_compile(void *ctx, ax_heap_t *h, ax_term_t m, ax_term_t *o)
{
    (void)ctx;
    if (m == ax_atom("bad")) {
        *o = ax_string(h, "bad.c:3:1: error: expected ';'");
        return AX_ECOMPILE;
    }
    *o = m;
    return 0;
}

static int f_load(void *ctx, ax_heap_t *h, ax_term_t m, ax_term_t *o)
{
    (void)ctx;
    (void)h;
    *o = m;
    return m == ax_atom("nosuch") ? AX_ENOMODULE : 0;
}

static int f_start_child(void *ctx, ax_heap_t *h, ax_term_t sup,
                         ax_term_t spec, ax_term_t *o)
{
    (void)ctx;
    (void)sup;
    if (!ax_is_map(spec)) {
        *o = term(h, "{bad_child_spec, x, missing_id}");
        return AX_EBADARG;
    }
    *o = term(h, "<0.101.0>");
    return 0;
}

static int f_process_list(void *ctx, ax_heap_t *h, ax_term_t opts,
                          ax_term_t *o)
{
    (void)ctx;
    *o = term(h, "[#{pid => <0.100.0>, registered_name => counter, "
                 "initial_call => {counter, init, 1}, current => "
                 "{gen, loop, 3}, heap => 233, reductions => 1200, "
                 "message_queue_len => 2, memory => 2960}]");
    if (ax_map_size(opts) == 0)
        *o = ax_cons(h, term(h, "#{pid => <0.99.0>, registered_name => [], "
                                "initial_call => {shell, start, 0}, "
                                "current => {shell, eval, 1}, heap => 100, "
                                "reductions => 5, message_queue_len => 0, "
                                "memory => 1000}"),
                     *o);
    return 0;
}

static int f_tree(void *ctx, ax_heap_t *h, ax_term_t *o)
{
    (void)ctx;
    *o = term(h, "[#{id => demo_sup, pid => <0.80.0>, type => supervisor, "
                 "children => [#{id => counter, pid => <0.81.0>, "
                 "type => worker}, #{id => inner, pid => <0.82.0>, "
                 "type => supervisor, children => [#{id => w1, "
                 "pid => restarting, type => worker}]}]}]");
    return 0;
}

static int f_modules(void *ctx, ax_heap_t *h, ax_term_t *o)
{
    (void)ctx;
    *o = term(h, "[#{name => counter, current => \"1.0\", old => undefined, "
                 "path => \"/x/counter.so\", current_procs => 2, "
                 "old_procs => 0}]");
    return 0;
}

static int f_registered(void *ctx, ax_heap_t *h, ax_term_t *o)
{
    (void)ctx;
    *o = term(h, "[counter, kv]");
    return 0;
}

static const struct shell_backend fake_be = {
    .self = f_self,
    .spawn = f_spawn,
    .send = f_send,
    .link = f_link,
    .whereis = f_whereis,
    .next_message = f_next,
    .call = f_call,
    .compile = f_compile,
    .load = f_load,
    .start_child = f_start_child,
    .process_list = f_process_list,
    .tree = f_tree,
    .modules = f_modules,
    .registered = f_registered,
};

/* --- Fixture --------------------------------------------------------------- */

static void setup(void)
{
    memset(&fk, 0, sizeof(fk));
    out = open_memstream(&outbuf, &outlen);
    cr_assert_not_null(out);
    seen = 0;
    sh = shell_new(&fake_be, &fk, out);
    cr_assert_not_null(sh);
}

static void teardown(void)
{
    shell_free(sh);
    fclose(out);
    free(outbuf);
}

TestSuite(shell_lang, .init = setup, .fini = teardown);

/* Feeds the lines of input; returns what was printed since last time. */
static const char *run(const char *input, enum shell_status *st)
{
    static char last[8192];
    const char *p = input;
    enum shell_status s = SHELL_DONE;

    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char line[1024];

        snprintf(line, sizeof(line), "%.*s", (int)len, p);
        s = shell_feed(sh, line);
        p += len + (nl != NULL);
    }
    fflush(out);
    snprintf(last, sizeof(last), "%s", outbuf + seen);
    seen = outlen;
    if (st)
        *st = s;
    return last;
}

static void check(const char *input, const char *expect)
{
    const char *got = run(input, NULL);

    cr_assert_str_eq(got, expect, "input <%s>\n got: <%s>\nwant: <%s>",
                     input, got, expect);
}

/* --- Terms and operators ---------------------------------------------------- */

Test(shell_lang, terms_print_as_ax_format)
{
    check("42.", "42\n");
    check("-7.", "-7\n");
    check("1.5.", "1.5\n");
    check("16#ff.", "255\n");
    check("$a.", "97\n");
    check("hello.", "hello\n");
    check("'Quoted atom'.", "'Quoted atom'\n");
    check("\"text\" \" more\".", "\"text more\"\n");
    check("{ok, <0.85.0>}.", "{ok, <0.85.0>}\n");
    check("[1, 2 | 3].", "[1, 2 | 3]\n");
    check("#{b => 2, a => 1}.", "#{a => 1, b => 2}\n");
    check("<<1,2,3>>.", "<<1,2,3>>\n");
    check("<<\"abc\">>.", "\"abc\"\n");
    check("{}.", "{}\n");
}

Test(shell_lang, arithmetic_and_comparison)
{
    check("1 + 2 * 3.", "7\n");
    check("(1 + 2) * 3.", "9\n");
    check("7 div 2, 7 rem 2.", "1\n");
    check("7 / 2.", "3.5\n");
    check("- (3 - 5).", "2\n");
    check("1 == 1.0.", "true\n");
    check("1 =:= 1.0.", "false\n");
    check("1 < a.", "true\n");
    check("a =/= b.", "true\n");
    check("not true.", "false\n");
    check("true andalso false.", "false\n");
    check("false orelse 3.", "3\n");
    check("[1, 2] ++ [3].", "[1, 2, 3]\n");
}

Test(shell_lang, several_expressions_per_line_and_prompts)
{
    char p[16];

    shell_prompt(sh, p, sizeof(p));
    cr_assert_str_eq(p, "1> ");
    check("1. 2.", "1\n2\n");
    shell_prompt(sh, p, sizeof(p));
    cr_assert_str_eq(p, "3> ");
}

Test(shell_lang, incomplete_input_asks_for_more)
{
    enum shell_status st;
    char p[16];

    cr_assert_str_eq(run("X = {1,", &st), "");
    cr_assert_eq(st, SHELL_NEED_MORE);
    shell_prompt(sh, p, sizeof(p));
    cr_assert_str_eq(p, ".. ");
    cr_assert_str_eq(run("2}", &st), "");
    cr_assert_eq(st, SHELL_NEED_MORE);
    cr_assert_str_eq(run(".", &st), "{1, 2}\n");
    cr_assert_eq(st, SHELL_DONE);
    cr_assert_str_eq(run("\"a.", &st), "");
    cr_assert_eq(st, SHELL_NEED_MORE);
    cr_assert_str_eq(run("b\".", &st), "\"a.\\nb\"\n");
    cr_assert_str_eq(run("", &st), "");
    cr_assert_eq(st, SHELL_DONE);
    cr_assert(!shell_pending(sh));
    cr_assert_str_eq(run("% only a comment", &st), "");
    cr_assert(!shell_pending(sh));
}

/* --- Variables and matching ------------------------------------------------- */

Test(shell_lang, bindings_and_pattern_matching)
{
    check("X = 1.", "1\n");
    check("X.", "1\n");
    check("X = 1.", "1\n");
    check("{ok, P} = {ok, <0.1.0>}.", "{ok, <0.1.0>}\n");
    check("P.", "<0.1.0>\n");
    check("[H | T] = [1, 2, 3], {H, T}.", "{1, [2, 3]}\n");
    check("#{k := V} = #{k => v, j => w}, V.", "v\n");
    check("{A, A} = {1, 1}, A.", "1\n");
    check("{_, _} = {1, 2}.", "{1, 2}\n");
    check("[_A, B2] = \"ab\" ++ [].",
          "** exception error: bad argument\n"
          "     in operator  '++'/2\n"
          "        called as \"ab\" ++ []\n");
    check("Y = Z = 5, {Y, Z}.", "{5, 5}\n");
    check("M = #{a => 1}, M#{a := 2, b => 3}.", "#{a => 2, b => 3}\n");
}

Test(shell_lang, match_errors)
{
    check("X = 1.", "1\n");
    check("X = 2.",
          "** exception error: no match of right hand side value 2\n");
    check("{C, C} = {1, 2}.",
          "** exception error: no match of right hand side value {1, 2}\n");
    check("C.", "** exception error: variable 'C' is unbound\n");
    check("Q + 1.", "** exception error: variable 'Q' is unbound\n");
}

Test(shell_lang, failed_expression_keeps_no_new_bindings)
{
    check("N = 1, 1 + a.",
          "** exception error: an error occurred when evaluating an "
          "arithmetic expression\n"
          "     in operator  '+'/2\n"
          "        called as 1 + a\n");
    check("N.", "** exception error: variable 'N' is unbound\n");
}

Test(shell_lang, syntax_errors)
{
    enum shell_status st;

    cr_assert_str_eq(run("foo(.", &st), "* 1:5: syntax error before: '.'\n");
    cr_assert_eq(st, SHELL_ERROR);
    check("1 + .", "* 1:5: syntax error before: '.'\n");
    check("{1, 2.", "* 1:6: syntax error before: '.'\n");
    check("f(x) = 1.", "* 1:1: illegal pattern\n");
    check("a ; b.", "* 1:3: syntax error before: ';'\n");
    check("1 ~ 2.", "* 1:3: illegal character\n");
    check("case.", "* 1:5: syntax error before: '.'\n");
    cr_assert_eq(shell_error_count(sh), 7);
}

Test(shell_lang, begin_and_case)
{
    check("begin X = 2, X * 3 end.", "6\n");
    check("case {a, 1} of {b, _} -> no; {a, N} when N > 0 -> N end.", "1\n");
    check("case 3 of 1 -> one end.",
          "** exception error: no case clause matching 3\n");
    check("case 2 of K when K > 5; K < 3 -> small end.", "small\n");
    check("case x of _ when x + 1 -> a; _ -> b end.", "b\n");
}

/* --- Messages ---------------------------------------------------------------- */

Test(shell_lang, send_and_receive)
{
    check("self() ! hello.", "hello\n");
    cr_assert_str_eq(fk.log, "send <0.99.0> hello\n");
    check("nobody ! x.",
          "** exception error: bad argument\n"
          "     in operator  '!'/2\n"
          "        called as nobody ! x\n");
    check("receive X -> X after 0 -> none end.", "none\n");
    fk.inbox[0] = "{a, 1}";
    fk.inbox[1] = "{b, 2}";
    fk.inbox[2] = "{a, 3}";
    check("receive {b, N} -> N after 0 -> none end.", "2\n");
    check("receive {a, A} -> A end.", "1\n");
    check("flush().", "Shell got {a, 3}\nok\n");
    check("flush().", "ok\n");
    check("receive after 10 -> done end.", "done\n");
    check("receive after x -> done end.",
          "** exception error: bad receive timeout value\n");
}

Test(shell_lang, receive_keeps_unmatched_in_order)
{
    fk.inbox[0] = "one";
    fk.inbox[1] = "two";
    fk.inbox[2] = "three";
    check("receive three -> 3 after 0 -> none end.", "3\n");
    check("receive M -> M end.", "one\n");
    check("flush().", "Shell got two\nok\n");
}

/* --- Commands ---------------------------------------------------------------- */

Test(shell_lang, process_commands)
{
    check("P = spawn(counter, [0]).", "<0.100.0>\n");
    check("spawn_monitor(counter, []).", "{<0.100.0>, #Ref<0.1.2.3>}\n");
    check("link(P).", "true\n");
    check("link(<0.66.0>).",
          "** exception error: no such process or port\n");
    check("link(foo).",
          "** exception error: bad argument\n"
          "     in function  link/1\n"
          "        called as link(foo)\n");
    check("whereis(counter).", "<0.100.0>\n");
    check("whereis(nope).", "undefined\n");
    check("spawn(nosuch, []).", "** exception error: undef\n");
    check("unlink(P).", "** exception error: notsup\n");
    check("pid(0, 5, 0).", "<0.5.0>\n");
    check("nope(1).", "** exception error: undefined shell command nope/1\n");
    check("lists:reverse([1]).",
          "** exception error: undefined function lists:reverse/1\n");
    check("c:pid(0, 1, 2).", "<0.1.2>\n");
    check("exit(boom).", "** exception exit: boom\n");
}

Test(shell_lang, call_commands)
{
    check("call(counter, get).", "{reply, get}\n");
    check("call(counter, get, infinity).", "{reply, get}\n");
    cr_assert_str_eq(fk.log, "call counter 5000\ncall counter infinity\n");
    check("call(counter, slow).", "** exception exit: timeout\n");
    check("call(counter, die).",
          "** exception exit: {badarith, [counter]}\n");
}

Test(shell_lang, code_and_supervisor_commands)
{
    check("c(counter).", "{ok, counter}\n");
    check("c(bad).", "bad.c:3:1: error: expected ';'\nerror\n");
    check("l(counter).", "{module, counter}\n");
    check("l(nosuch).", "{error, nosuch}\n");
    check("start_child(sup, #{id => x}).", "{ok, <0.101.0>}\n");
    check("start_child(sup, x).",
          "{error, {bad_child_spec, x, missing_id}}\n");
}

Test(shell_lang, tables)
{
    check("i().",
          "Pid                   Initial Call                             "
          "Heap     Reds Msgs\n"
          "Registered            Current Function                       "
          "Memory\n"
          "<0.99.0>              shell:start/0                             "
          "100        5    0\n"
          "                      shell:eval/1                             "
          "1000\n"
          "<0.100.0>             counter:init/1                            "
          "233     1200    2\n"
          "counter               gen:loop/3                               "
          "2960\n"
          "Total                                                           "
          "333     1205    2\n"
          "                                                               "
          "3960\n"
          "ok\n");
    check("m().",
          "Module               Current    Old         Procs  File\n"
          "counter              \"1.0\"      undefined       2  "
          "/x/counter.so\n"
          "ok\n");
}

Test(shell_lang, tree_text_and_dot)
{
    check("tree().",
          "demo_sup <0.80.0>\n"
          "\u251c\u2500\u2500 counter <0.81.0>\n"
          "\u2514\u2500\u2500 inner <0.82.0>\n"
          "    \u2514\u2500\u2500 w1 restarting\n"
          "ok\n");
    check("tree(dot).",
          "digraph ax {\n"
          "  n0 [label=\"demo_sup <0.80.0>\", shape=box];\n"
          "  n1 [label=\"counter <0.81.0>\", shape=ellipse];\n"
          "  n0 -> n1;\n"
          "  n2 [label=\"inner <0.82.0>\", shape=box];\n"
          "  n3 [label=\"w1 restarting\", shape=ellipse];\n"
          "  n2 -> n3;\n"
          "  n0 -> n2;\n"
          "}\n"
          "ok\n");
}

Test(shell_lang, shell_commands)
{
    enum shell_status st;

    check("B = 2, A = 1.", "1\n");
    check("b().", "A = 1\nB = 2\nok\n");
    check("f(A).", "ok\n");
    check("b().", "B = 2\nok\n");
    check("f().", "ok\n");
    check("b().", "ok\n");
    check("v(1).", "1\n");
    check("v(-1).", "1\n");
    check("v(100).",
          "** exception error: bad argument\n"
          "     in function  v/1\n"
          "        called as v(100)\n");
    check("h(call).",
          "call(Server, Req[, Timeout]) -- a gen_server call\n"
          "Sends Req to Server (a pid or a registered name) as "
          "gen_server:call\n"
          "and returns the reply. Timeout is in ms (default 5000) or "
          "infinity;\n"
          "when it passes, or the server dies, the expression exits.\n"
          "ok\n");
    check("h(nothing).", "{error, missing}\n");
    cr_assert_str_eq(run("q(). 1.", &st), "ok\n");
    cr_assert_eq(st, SHELL_QUIT);
    cr_assert_str_eq(run("halt().", &st), "ok\n");
    cr_assert_eq(st, SHELL_HALT);
}

Test(shell_lang, help_lists_every_command)
{
    const char *got = run("h().", NULL);

    cr_assert(strstr(got, "spawn(Mod, Args)         -- start a server"));
    cr_assert(strstr(got, "tree([dot])"));
    cr_assert(strstr(got, "q()                      -- leave the shell"));
}

Test(shell_lang, completion)
{
    size_t n;
    char **v;

    check("Counter = 1.", "1\n");
    v = shell_complete(sh, "co", &n);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(v[0], "counter");
    shell_free_strings(v);
    v = shell_complete(sh, "spawn", &n);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(v[0], "spawn(");
    cr_assert_str_eq(v[2], "spawn_monitor(");
    shell_free_strings(v);
    v = shell_complete(sh, "C", &n);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(v[0], "Counter");
    shell_free_strings(v);
}

Test(shell_lang, exit_signal_prints_and_keeps_bindings)
{
    check("X = 1.", "1\n");
    shell_exit_signal(sh, ax_atom("killed"));
    cr_assert_str_eq(run("X.", NULL), "** exception exit: killed\n1\n");
}

/* --- Pretty printing --------------------------------------------------------- */

static void check_pretty(const char *text, unsigned width, size_t depth,
                         const char *expect)
{
    ax_heap_t *h = ax_heap_new();
    struct pretty_opts o = {width, 0, depth, 64};
    char *s = pretty_format(term(h, text), &o);

    cr_assert_str_eq(s, expect, "\n got:\n%s\nwant:\n%s", s, expect);
    free(s);
    ax_heap_free(h);
}

Test(shell_lang, pretty_fits_on_one_line)
{
    check_pretty("{ok, [1, 2, 3], #{a => b}}", 80, 0,
                 "{ok, [1, 2, 3], #{a => b}}");
}

Test(shell_lang, pretty_breaks_containers)
{
    check_pretty("{state, [alpha, beta, gamma], #{count => 10, name => foo}}",
                 28, 0,
                 "{state,\n"
                 " [alpha, beta, gamma],\n"
                 " #{count => 10,\n"
                 "   name => foo}}");
    check_pretty("[{a, 1}, {b, 2}, {c, 3}]", 12, 0,
                 "[{a, 1},\n"
                 " {b, 2},\n"
                 " {c, 3}]");
}

Test(shell_lang, pretty_fills_lists_of_plain_values)
{
    check_pretty("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]", 20, 0,
                 "[1, 2, 3, 4, 5, 6,\n"
                 " 7, 8, 9, 10, 11,\n"
                 " 12]");
}

Test(shell_lang, pretty_bounds_depth)
{
    check_pretty("{a, {b, {c, {d}}}}", 80, 2, "{a, {b, ...}}");
    check_pretty("[[[[x]]]]", 80, 3, "[[[...]]]");
}

Test(shell_lang, shell_wraps_results_to_its_width)
{
    shell_set_width(sh, 20);
    check("{ok, [alpha, beta, gamma]}.",
          "{ok,\n"
          " [alpha, beta,\n"
          "  gamma]}\n");
}

Test(shell_lang, hostile_input_is_only_an_error)
{
    static const char *const inputs[] = {
        "<<X>>.", "#Ref<.", "'\\", "receive end.", "case 1 of end.",
        "1 + + + .", "<0.1.2>>.", "M#{}.", "x:y:z().", ").", "$",
    };
    char deep[4096];
    size_t k = 0;

    for (size_t i = 0; i < 1000; i++)
        deep[k++] = i % 2 ? '[' : '-';
    snprintf(deep + k, sizeof(deep) - k, ".");
    check(deep, "* 1:201: expression nested too deep\n");
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        run(inputs[i], NULL);
        shell_discard(sh);
    }
    check("ok.", "ok\n");
}
