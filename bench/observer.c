/*
 * observer - what observing a node of 1,000,000 idle processes costs it,
 * and how fast the observer answers a key. The node runs here, listening
 * on its socket; the real observer (the ax binary: $AX, else build/ax)
 * attaches from another process, as a person's would.
 *
 *   observer_node_cpu_<view>: the node's CPU time (getrusage of this
 *     process, its idle cost subtracted) over wall time while `ax
 *     observer --batch` refreshes the view every second: percent of one
 *     core. The target: under 5.
 *   observer_processes_request: one {processes, #{limit => 40}} (a page
 *     of the top 40 by reductions of the million), round trip, median.
 *   observer_key_to_frame: a key (2: Processes) to its frame on the
 *     terminal (a pty), median; observer_key_to_data: the same key to the
 *     frame holding the node's answer (the page of a million processes).
 *     The target: under 100 ms.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define N 1000000
#define WINDOW_S 10
#define KEY_RUNS 5

static sem_t ready;
static char node[64];
static const char *ax_bin;

static ax_term_t idle(ax_term_t msg, ax_term_t state)
{
    (void)msg;
    return state;
}

/* Spawns the million and waits for ever (the node's stop ends it). */
static void root(ax_term_t arg)
{
    ax_term_t pid;
    ax_term_t msg;

    (void)arg;
    for (int i = 0; i < N; i++)
        BENCH_CHECK(ax_spawn_handler(idle, AX_NIL, &pid) == 0);
    sem_post(&ready);
    ax_receive(AX_ANY, AX_INFINITY, &msg, NULL);
}

static void *run_root(void *arg)
{
    (void)arg;
    ax_node_run(root, AX_NIL, NULL);
    return NULL;
}

static double cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* The node's CPU per wall second over secs with nothing attached. */
static double idle_rate(int secs)
{
    double c0 = cpu_s();
    uint64_t t0 = bench_now_ns();

    sleep((unsigned)secs);
    return (cpu_s() - c0) / ((double)(bench_now_ns() - t0) / 1e9);
}

/* Percent of a core the node spends while a batch observer refreshes
 * view every second for WINDOW_S seconds. */
static double observe_cost(const char *view, double idle_per_s)
{
    char frames[16];
    double c0 = cpu_s();
    uint64_t t0 = bench_now_ns();
    double wall;
    int status;
    pid_t child;

    snprintf(frames, sizeof(frames), "%d", WINDOW_S + 1);
    child = fork();
    if (child == 0) {
        int null = open("/dev/null", O_WRONLY);

        dup2(null, STDOUT_FILENO);
        execl(ax_bin, ax_bin, "observer", node, "--batch", "-n", frames,
              "--interval", "1000", "--view", view, (char *)NULL);
        _exit(127);
    }
    waitpid(child, &status, 0);
    wall = (double)(bench_now_ns() - t0) / 1e9;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "observer: ax observer failed (%d)\n", status);
        exit(1);
    }
    return (cpu_s() - c0 - idle_per_s * wall) / wall * 100;
}

static double request_ms(void)
{
    double ms[20];
    ax_client_t *c;
    ax_heap_t *h = ax_heap_new();
    ax_term_t req;
    ax_term_t res;

    if (ax_client_connect(node, NULL, AX_NONE, &c) != 0)
        exit(1);
    ax_parse(h, "{processes, #{limit => 40}}", 27, &req, NULL);
    for (int i = 0; i < 20; i++) {
        uint64_t t0 = bench_now_ns();

        if (ax_client_request(c, h, req, 10000, &res) != 0)
            exit(1);
        ms[i] = (double)(bench_now_ns() - t0) / 1e6;
    }
    ax_client_close(c);
    ax_heap_free(h);
    return bench_median(ms, 20);
}

/* --- The terminal ------------------------------------------------------- */

struct term {
    int fd;
    pid_t pid;
    char out[1 << 20];
    size_t len;
};

/* Reads the observer's output until it holds mark (since the last
 * clear); false after 20 s. */
static bool wait_mark(struct term *t, const char *mark)
{
    uint64_t end = bench_now_ns() + 20000000000ull;

    while (!memmem(t->out, t->len, mark, strlen(mark))) {
        struct pollfd p = {t->fd, POLLIN, 0};
        ssize_t n;

        if (bench_now_ns() > end)
            return false;
        if (poll(&p, 1, 100) <= 0)
            continue;
        if (t->len == sizeof(t->out))
            t->len = 0;
        n = read(t->fd, t->out + t->len, sizeof(t->out) - t->len);
        if (n <= 0)
            return false;
        t->len += (size_t)n;
    }
    return true;
}

static void start_term(struct term *t)
{
    struct winsize ws = {.ws_row = 40, .ws_col = 140};

    t->len = 0;
    t->pid = forkpty(&t->fd, NULL, NULL, &ws);
    if (t->pid == 0) {
        setenv("TERM", "xterm", 1);
        execl(ax_bin, ax_bin, "observer", node, (char *)NULL);
        _exit(127);
    }
}

static void stop_term(struct term *t)
{
    if (write(t->fd, "q", 1) != 1)
        kill(t->pid, SIGTERM);
    waitpid(t->pid, NULL, 0);
    close(t->fd);
}

static void key_latency(double *frame_ms, double *data_ms)
{
    static struct term t;
    double f[KEY_RUNS];
    double d[KEY_RUNS];

    for (int r = 0; r < KEY_RUNS; r++) {
        uint64_t t0;

        start_term(&t);
        if (!wait_mark(&t, "Schedulers"))
            exit(1);
        t.len = 0;
        t0 = bench_now_ns();
        if (write(t.fd, "2", 1) != 1 || !wait_mark(&t, "PID"))
            exit(1);
        f[r] = (double)(bench_now_ns() - t0) / 1e6;
        if (!wait_mark(&t, "processes, sorted by"))
            exit(1);
        d[r] = (double)(bench_now_ns() - t0) / 1e6;
        stop_term(&t);
    }
    *frame_ms = bench_median(f, KEY_RUNS);
    *data_ms = bench_median(d, KEY_RUNS);
}

int main(void)
{
    ax_listen_opts_t lo = {.name = node};
    pthread_t th;
    double idle_per_s;
    double frame_ms;
    double data_ms;

    ax_bin = getenv("AX") ? getenv("AX") : "build/ax";
    if (access(ax_bin, X_OK) != 0) {
        fprintf(stderr, "observer: no %s (set AX)\n", ax_bin);
        return 1;
    }
    snprintf(node, sizeof(node), "bench-observer-%d", (int)getpid());
    sem_init(&ready, 0, 0);
    if (ax_node_start(NULL) != 0 || ax_node_listen(&lo) != 0 ||
        pthread_create(&th, NULL, run_root, NULL) != 0)
        return 1;
    sem_wait(&ready);
    sleep(1);
    idle_per_s = idle_rate(5);
    printf("observer_node_idle %.2f %%core\n", idle_per_s * 100);
    printf("observer_node_cpu_system %.2f %%core\n",
           observe_cost("system", idle_per_s));
    printf("observer_node_cpu_processes %.2f %%core\n",
           observe_cost("processes", idle_per_s));
    printf("observer_processes_request %.1f ms\n", request_ms());
    key_latency(&frame_ms, &data_ms);
    printf("observer_key_to_frame %.1f ms\n", frame_ms);
    printf("observer_key_to_data %.1f ms\n", data_ms);
    ax_node_stop();
    pthread_join(th, NULL);
    return 0;
}
