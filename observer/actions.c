/*
 * actions.c - what a person may do to the selected process, one key
 * each, described as data: k kill, x exit with a reason, s send a term,
 * g collect its garbage. Destructive ones ask first; --read-only refuses
 * them all. Terms typed are parsed with ax_parse, here, so a typo is said
 * before anything is sent.
 */
#include "obs.h"

#include <stdio.h>
#include <string.h>

struct action {
    int key;
    void (*start)(struct obs *o, const char *pid);
};

static void done_kill(struct obs *o, const char *pid)
{
    ax_term_t v;

    if (obs_req(o, &v, "{exit, %s, kill}", pid) == 0) {
        obs_say(o, false, "killed %s", pid);
        o->refresh_now = true;
    }
}

static void start_kill(struct obs *o, const char *pid)
{
    char q[96];

    snprintf(q, sizeof(q), "Kill %s? (y/n)", pid);
    obs_confirm(o, q, pid, done_kill);
}

/* The pid an action's prompt was opened for (its prompt's arg is taken
 * by the edit; kept here). */
static char target[48];

/* Parses text as a term on o->h; says why not. */
static bool parse(struct obs *o, const char *text, ax_term_t *t)
{
    ax_parse_error_t pe;
    char why[200];

    if (ax_parse(o->h, text, strlen(text), t, &pe) == 0)
        return true;
    ax_parse_error_format(&pe, why, sizeof(why));
    obs_say(o, true, "not a term: %s", why);
    return false;
}

static void done_exit(struct obs *o, const char *reason)
{
    ax_term_t r;
    ax_term_t pid;
    ax_term_t v;

    if (!parse(o, reason, &r) || !parse(o, target, &pid))
        return;
    if (obs_req_term(o, ax_tuple(o->h, 3, ax_atom("exit"), pid, r), &v) ==
        0) {
        obs_say(o, false, "sent exit(%s, %s)", target, reason);
        o->refresh_now = true;
    }
}

/* The reason typed: asks before it is sent. */
static void confirm_exit(struct obs *o, const char *reason)
{
    char q[160];
    ax_term_t r;

    if (!parse(o, reason, &r))
        return;
    snprintf(q, sizeof(q), "exit(%s, %.80s)? (y/n)", target, reason);
    obs_confirm(o, q, reason, done_exit);
}

static void start_exit(struct obs *o, const char *pid)
{
    char q[96];

    snprintf(target, sizeof(target), "%s", pid);
    snprintf(q, sizeof(q), "exit %s with reason:", pid);
    obs_prompt(o, q, "shutdown", NULL, confirm_exit);
}

static void done_send(struct obs *o, const char *text)
{
    ax_term_t msg;
    ax_term_t pid;
    ax_term_t v;

    if (!parse(o, text, &msg) || !parse(o, target, &pid))
        return;
    if (obs_req_term(o, ax_tuple(o->h, 3, ax_atom("send"), pid, msg), &v) ==
        0)
        obs_say(o, false, "sent %s to %s", text, target);
}

static void start_send(struct obs *o, const char *pid)
{
    char q[96];

    snprintf(target, sizeof(target), "%s", pid);
    snprintf(q, sizeof(q), "send to %s:", pid);
    obs_prompt(o, q, NULL, NULL, done_send);
}

static void start_gc(struct obs *o, const char *pid)
{
    ax_term_t v;

    if (obs_req(o, &v, "{gc, %s}", pid) == 0) {
        char what[64];

        term_text(v, what, sizeof(what));
        obs_say(o, false, "garbage collection of %s: %s", pid, what);
        o->refresh_now = true;
    }
}

static const struct action actions[] = {
    {'k', start_kill},
    {'x', start_exit},
    {'s', start_send},
    {'g', start_gc},
};

const struct keyhelp action_help[] = {
    {"k", "kill the selected process (asks first)"},
    {"x", "exit it with a reason you type"},
    {"s", "send it a message (a term you type)"},
    {"g", "collect its garbage"},
    {NULL, NULL},
};

bool action_key(struct obs *o, int key)
{
    const struct view *v = obs_view(o->view);
    char pid[48];

    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        if (actions[i].key != key)
            continue;
        if (o->read_only || o->db) {
            obs_say(o, true, "read-only: actions are disabled");
        } else if (!v->selected || !v->selected(o, pid, sizeof(pid))) {
            obs_say(o, true, "no process selected");
        } else {
            actions[i].start(o, pid);
        }
        return true;
    }
    return false;
}
