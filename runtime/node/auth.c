/*
 * auth.c - where a node's socket lives and what a peer must present.
 *
 * The socket directory is $XDG_RUNTIME_DIR/ax, else /tmp/ax-UID, mode
 * 0700: only its owner may enter it, so only the owner may connect (and
 * the node checks the peer's uid too). The cookie is ~/.ax/cookie, made
 * at random with mode 0400 on first use; a cookie file that others may
 * read is refused rather than trusted.
 */
#include "node.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

bool ax__node_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n > NODE_NAME_MAX || name[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

int ax__node_socket_path(const char *dir, const char *name, char *buf,
                         size_t size)
{
    int n;

    if (!ax__node_name_ok(name))
        return AX_EINVAL;
    /* sun_path holds 108 bytes, the NUL included. */
    if (size > 108)
        size = 108;
    n = snprintf(buf, size, "%s/%s.sock", dir, name);
    return n < 0 || (size_t)n >= size ? AX_ERANGE : 0;
}

int ax__node_dir_check(const char *dir)
{
    struct stat st;

    if (lstat(dir, &st) != 0) {
        fprintf(stderr, "ax: %s: %s\n", dir, strerror(errno));
        return AX_EINVAL;
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 077)) {
        fprintf(stderr, "ax: %s: not a directory of ours closed to others "
                        "(owner %u, mode %o): refused\n",
                dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
        return AX_EINVAL;
    }
    return 0;
}

int ax_node_socket_dir(char *buf, size_t size, bool make)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int n;

    if (xdg && xdg[0] == '/')
        n = snprintf(buf, size, "%s/ax", xdg);
    else
        n = snprintf(buf, size, "/tmp/ax-%u", (unsigned)geteuid());
    if (n < 0 || (size_t)n >= size)
        return AX_ERANGE;
    if (make && mkdir(buf, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "ax: %s: %s\n", buf, strerror(errno));
        return AX_EINVAL;
    }
    return ax__node_dir_check(buf);
}

/* Writes a new random cookie to path (mode 0400, made exclusively so two
 * nodes starting at once agree on one). */
static int make_cookie(const char *path)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    uint8_t rnd[20];
    char text[sizeof(rnd)];
    int fd;
    ssize_t w;

    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return AX_EINVAL;
    for (size_t i = 0; i < sizeof(rnd); i++)
        text[i] = alpha[rnd[i] % 26];
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
    if (fd < 0)
        return errno == EEXIST ? 0 : AX_EINVAL;
    w = write(fd, text, sizeof(text));
    close(fd);
    return w == (ssize_t)sizeof(text) ? 0 : AX_EINVAL;
}

/* Reads the cookie file at path into buf (trailing white space cut). */
static int read_cookie(const char *path, char *buf, size_t size)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    ssize_t n;

    if (fd < 0) {
        fprintf(stderr, "ax: %s: %s\n", path, strerror(errno));
        return AX_EINVAL;
    }
    if (fstat(fd, &st) != 0 || st.st_uid != geteuid() ||
        (st.st_mode & 077)) {
        fprintf(stderr, "ax: %s: must be ours and closed to others\n", path);
        close(fd);
        return AX_EINVAL;
    }
    n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return AX_EINVAL;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' ||
                     buf[n - 1] == '\r' || buf[n - 1] == '\t'))
        n--;
    buf[n] = '\0';
    return n > 0 ? 0 : AX_EINVAL;
}

int ax__node_cookie(const char *given, char *buf, size_t size)
{
    const char *home = getenv("HOME");
    char path[4096];
    int err;

    if (given) {
        if (!given[0] || strlen(given) >= size || strlen(given) > COOKIE_MAX)
            return given[0] ? AX_ERANGE : AX_EINVAL;
        strcpy(buf, given);
        return 0;
    }
    if (!home || !home[0])
        return AX_EINVAL;
    if ((size_t)snprintf(path, sizeof(path), "%s/.ax", home) >= sizeof(path))
        return AX_ERANGE;
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return AX_EINVAL;
    strcat(path, "/cookie");
    err = access(path, F_OK) == 0 ? 0 : make_cookie(path);
    return err ? err : read_cookie(path, buf, size);
}

bool ax__node_cookie_eq(const char *ours, const uint8_t *theirs, size_t len)
{
    size_t n = strlen(ours);
    unsigned diff = n != len;

    for (size_t i = 0; i < len; i++)
        diff |= (unsigned)(uint8_t)ours[i < n ? i : 0] ^ theirs[i];
    return diff == 0;
}
