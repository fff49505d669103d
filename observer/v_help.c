/*
 * v_help.c - the help screen (? or F1): every key of the observer, the
 * global ones, the actions and the current view's own, from the tables
 * the other files describe their keys in. Any key goes back.
 */
#include "obs.h"

static const struct keyhelp global_help[] = {
    {"1 2 3 4 5", "System, Processes, Supervision trees, Crashes, Modules"},
    {"Tab / Shift-Tab", "the next / previous view"},
    {"Enter", "open the selected process, crash or tree node"},
    {"Esc Backspace Left", "back to where you came from"},
    {"p", "pause / resume refreshing"},
    {"+ -", "refresh faster / slower (0.1 s .. 60 s)"},
    {"r", "reconnect when the node went away (Modules: reload)"},
    {"mouse", "click selects, click a tab or a header, wheel scrolls"},
    {"^L", "redraw the screen"},
    {"? F1 h", "this help"},
    {"q ^C", "quit"},
    {NULL, NULL},
};

static void section(struct frame *f, const char *title,
                    const struct keyhelp *k)
{
    fr_line(f);
    fr_line(f);
    fr_add(f, R_HEADER, " %s", title);
    fr_fill(f, R_HEADER);
    for (; k && k->key; k++) {
        fr_line(f);
        fr_add(f, R_KEY, " %-26s", k->key);
        fr_add(f, R_NORMAL, " %s", k->what);
    }
}

static void help_draw(struct obs *o, struct frame *f, int rows, int cols)
{
    const struct view *v = obs_view(o->nback ? o->back[o->nback - 1]
                                             : V_SYSTEM);

    (void)rows;
    (void)cols;
    fr_line(f);
    fr_add(f, R_TITLE, " Help: any key goes back; man ax-observer tells more");
    fr_fill(f, R_TITLE);
    section(f, "Everywhere", global_help);
    section(f, "Actions on the selected process", action_help);
    if (v->help && v->help->key)
        section(f, v->name, v->help);
}

const struct view view_help = {
    .name = "Help",
    .draw = help_draw,
};
