/*
 * cmd_nodes.c - `ax nodes [--cookie C] [--dir DIR]`: this user's running
 * nodes, one line each (name, processes, uptime, socket), from their
 * sockets in the socket directory. A socket nobody answers on is a node
 * that died without cleaning up: it is removed and said so. A node whose
 * cookie is not ours is listed as such.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ax.h"
#include "cmd.h"

static int usage(FILE *f, int status)
{
    fprintf(f, "usage: ax nodes [--cookie COOKIE] [--dir DIR]\n"
               "Lists this user's running nodes and removes stale "
               "sockets.\n");
    return status;
}

/* True if nothing listens on the socket at path (a stale one). */
static bool is_stale(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool stale;

    if (fd < 0 || strlen(path) >= sizeof(a.sun_path)) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    memcpy(a.sun_path, path, strlen(path) + 1);
    stale = connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 &&
            errno == ECONNREFUSED;
    close(fd);
    return stale;
}

static int64_t stat_of(ax_term_t stats, const char *key)
{
    int64_t v = -1;

    ax_get_int(ax_map_get(stats, ax_atom(key)), &v);
    return v;
}

/* One line for the node at path, named name. */
static void show(const char *name, const char *path, const char *cookie)
{
    ax_heap_t *h = ax_heap_new();
    ax_client_t *c = NULL;
    ax_term_t r = AX_NONE;
    int64_t up;
    int err = ax_client_connect(path, cookie, AX_NONE, &c);

    if (!err)
        err = ax_client_request(c, h, ax_atom("stats"), 5000, &r);
    if (err == AX_EREFUSED)
        printf("%-16s %10s %10s  %s\n", name, "?", "?",
               "(another cookie)");
    else if (err || !ax_is_record(r, ax_atom("ok"), 2))
        printf("%-16s %10s %10s  %s (%s)\n", name, "?", "?", path,
               ax_strerror(err));
    else {
        up = stat_of(ax_tuple_get(r, 1), "uptime_ms") / 1000;
        printf("%-16s %10lld %4lldh%02lldm%02llds  %s\n", name,
               (long long)stat_of(ax_tuple_get(r, 1), "processes"),
               (long long)(up / 3600), (long long)(up / 60 % 60),
               (long long)(up % 60), path);
    }
    ax_client_close(c);
    ax_heap_free(h);
}

static int list(const char *dir, const char *cookie)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];

    if (!d) {
        if (errno == ENOENT)
            return 0;
        fprintf(stderr, "ax nodes: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    printf("%-16s %10s %10s  %s\n", "NAME", "PROCESSES", "UPTIME",
           "SOCKET");
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);

        if (len <= 5 || strcmp(e->d_name + len - 5, ".sock") != 0 ||
            (size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >=
                sizeof(path))
            continue;
        e->d_name[len - 5] = '\0';
        if (is_stale(path)) {
            unlink(path);
            fprintf(stderr, "ax nodes: removed the stale socket of %s\n",
                    e->d_name);
            continue;
        }
        show(e->d_name, path, cookie);
    }
    closedir(d);
    return 0;
}

int ax_cmd_nodes(int argc, char **argv)
{
    const char *cookie = NULL;
    const char *dir = NULL;
    char def[4096];
    int err;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0)
            return usage(stdout, 0);
        if (strcmp(argv[i], "--cookie") == 0 && i + 1 < argc)
            cookie = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else
            return usage(stderr, 2);
    }
    if (!dir) {
        err = ax_node_socket_dir(def, sizeof(def), false);
        if (err == AX_EINVAL && access(def, F_OK) != 0)
            return 0; /* no directory: no node has run */
        if (err)
            return 1;
        dir = def;
    }
    return list(dir, cookie);
}
