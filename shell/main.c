/*
 * main.c - the ax command: one binary, subcommands as git has them. Each
 * subcommand is an entry in the table below (name, summary, function).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ax.h"
#include "cmd.h"

static const struct cmd_entry commands[] = {
    {"shell", "[--name NAME] [--cookie C] [--path DIR]... [--tree FILE] "
              "[-e EXPR] [NODE]",
     "start a node and a shell on it, or attach a shell to a running node",
     ax_cmd_shell},
    {"term", "[TERM...]", "read Erlang terms, print them back and their "
                          "external format",
     ax_cmd_term},
    {"run", "[--path DIR]... [--schedulers N] [--db PATH] [--name NAME]\n"
            "      [--cookie C] FILE",
     "start a headless node running the supervision tree in FILE",
     ax_cmd_run},
    {"crashes", "[NODE | --db PATH] [--since T] [--module M] [--pid P] "
                "[--name N]\n      [--reason TEXT] [--limit N] [--json] "
                "[--id N]",
     "print the crash reports of a node's crash log (running or not)",
     ax_cmd_crashes},
    {"nodes", "[--cookie COOKIE] [--dir DIR]",
     "list this user's running nodes; remove stale sockets", ax_cmd_nodes},
    {"observer", "[NODE] [--cookie C] [--interval MS] [--read-only] "
                 "[--big]\n      [--view NAME] [--batch -n N] | --db PATH",
     "a live view of a node's processes, trees, crashes and modules",
     ax_cmd_observer},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
    fprintf(f, "usage: ax [--help] [--version] COMMAND [ARGS]\n\n"
               "commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  ax %s %s\n      %s\n", commands[i].name,
                commands[i].usage, commands[i].summary);
    fprintf(f, "\nax COMMAND --help tells more. See ax(1).\n");
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "shell";

    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0) {
        printf("ax %s\n", AX_VERSION_STRING);
        return 0;
    }
    if (name[0] == '-') /* `ax --name demo`: the shell's options */
        return ax_cmd_shell(argc, argv);
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].fn(argc > 1 ? argc - 1 : 0,
                                  argc > 1 ? argv + 1 : argv);
    fprintf(stderr, "ax: unknown command '%s'\n\n", name);
    usage(stderr);
    return 2;
}
