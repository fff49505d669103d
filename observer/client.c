/*
 * client.c - the observer's side of the control socket: requests written
 * as Erlang text (parsed here, so each view says what it asks in one
 * readable line), their replies on o->h, reconnecting, and reading the
 * maps the node answers with into C text and numbers.
 */
#include "obs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long a request may take before the observer says so. */
#define REQUEST_MS 5000

int obs_req_term(struct obs *o, ax_term_t req, ax_term_t *val)
{
    ax_term_t res;
    int err;

    if (o->lost || !o->c)
        return AX_ENOCONN;
    err = ax_client_request(o->c, o->h, req, REQUEST_MS, &res);
    if (err == AX_ENOCONN || err == AX_EPROTO) {
        o->lost = true;
        o->dirty = true;
        return AX_ENOCONN;
    }
    if (err) {
        obs_say(o, true, "the node did not answer: %s", ax_strerror(err));
        return err;
    }
    if (ax_tuple_get(res, 0) != ax_atom("ok")) {
        term_text(ax_tuple_get(res, 1), o->error, sizeof(o->error));
        if (!o->quiet)
            obs_say(o, true, "error: %s", o->error);
        o->quiet = false;
        return AX_EBADARG;
    }
    o->quiet = false;
    *val = ax_tuple_get(res, 1);
    return 0;
}

int obs_req(struct obs *o, ax_term_t *val, const char *fmt, ...)
{
    char text[1024];
    ax_term_t req;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(text) ||
        ax_parse(o->h, text, (size_t)n, &req, NULL) != 0)
        return AX_EINVAL;
    return obs_req_term(o, req, val);
}

int obs_reconnect(struct obs *o)
{
    ax_client_t *c = NULL;
    int err = ax_client_connect(o->node, o->cookie, AX_NONE, &c);

    if (err) {
        obs_say(o, true, "cannot attach to %s: %s", o->node,
                ax_strerror(err));
        return err;
    }
    if (o->own_client)
        ax_client_close(o->c);
    o->c = c;
    o->own_client = true;
    o->lost = false;
    o->refresh_now = true;
    snprintf(o->node_name, sizeof(o->node_name), "%s", ax_client_node(c));
    obs_say(o, false, "attached to %s again", o->node_name);
    return 0;
}

/* --- Reading replies --------------------------------------------------- */

int64_t m_int(ax_term_t map, const char *key)
{
    ax_term_t v = ax_is_map(map) ? ax_map_get(map, ax_atom(key)) : AX_NONE;
    int64_t n = 0;

    if (v != AX_NONE)
        ax_get_int(v, &n);
    return n;
}

double m_float(ax_term_t map, const char *key)
{
    ax_term_t v = ax_is_map(map) ? ax_map_get(map, ax_atom(key)) : AX_NONE;
    double d = 0;

    if (v != AX_NONE)
        ax_get_float(v, &d);
    return d;
}

void term_text(ax_term_t t, char *buf, size_t size)
{
    ax_format_opts_t fo = {.max_depth = 6, .max_width = 16,
                           .max_chars = size > 8 ? size - 8 : size};
    const char *p;
    size_t len = 0;
    char *text;

    buf[0] = '\0';
    if (t == AX_NONE || t == AX_NIL)
        return;
    p = ax_is_atom(t) ? ax_atom_text(t, &len)
                      : (const char *)ax_binary_data(t, &len);
    if (p) {
        snprintf(buf, size, "%.*s", (int)len, p);
        return;
    }
    text = ax_format(t, &fo, NULL);
    snprintf(buf, size, "%s", text ? text : "?");
    free(text);
}

void m_text(ax_term_t map, const char *key, char *buf, size_t size)
{
    term_text(ax_is_map(map) ? ax_map_get(map, ax_atom(key)) : AX_NONE, buf,
              size);
}

static void scaled(double v, const char *const *units, double step,
                   char *buf, size_t size)
{
    int u = 0;

    while (v >= step * 0.9995 && units[u + 1]) {
        v /= step;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%.0f%s", v, units[0]);
    else
        snprintf(buf, size, v < 10 ? "%.1f%s" : "%.0f%s", v, units[u]);
}

void human(double v, char *buf, size_t size)
{
    static const char *const units[] = {"", "k", "M", "G", "T", NULL};

    scaled(v, units, 1000, buf, size);
}

void human_bytes(double v, char *buf, size_t size)
{
    static const char *const units[] = {"B", "K", "M", "G", "T", NULL};

    scaled(v, units, 1024, buf, size);
}
