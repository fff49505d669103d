/*
 * cmd.h - the subcommands of the ax binary, one function each, described
 * as data in main.c's table.
 */
#ifndef AX_SHELL_CMD_H
#define AX_SHELL_CMD_H

struct cmd_entry {
    const char *name;
    const char *usage;
    const char *summary;
    /* argv[0] is the subcommand's name; returns the exit status. */
    int (*fn)(int argc, char **argv);
};

int ax_cmd_shell(int argc, char **argv);
int ax_cmd_term(int argc, char **argv);
int ax_cmd_run(int argc, char **argv);
int ax_cmd_crashes(int argc, char **argv);
int ax_cmd_nodes(int argc, char **argv);
int ax_cmd_observer(int argc, char **argv);

#endif /* AX_SHELL_CMD_H */
