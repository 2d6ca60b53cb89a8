/* Test helper: run a command with pipes on all three standard streams. A
 * poll loop feeds stdin and drains both outputs together, so a child that
 * writes a lot before reading cannot deadlock the test. */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct sink {
    char *data;
    size_t len, cap;
} sink;

static int sink_read(int fd, sink *s)
{
    char tmp[8192];
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n <= 0)
        return n < 0 && errno == EINTR ? 1 : 0;
    if (s->len + (size_t)n + 1 > s->cap) {
        size_t cap = (s->cap ? s->cap * 2 : 16384) + (size_t)n;
        char *p = realloc(s->data, cap);
        if (!p)
            return 0;
        s->data = p;
        s->cap = cap;
    }
    memcpy(s->data + s->len, tmp, (size_t)n);
    s->len += (size_t)n;
    s->data[s->len] = '\0';
    return 1;
}

static void child(const char *const argv[], int in[2], int out[2], int err[2])
{
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(in[1]);
    close(out[0]);
    close(err[0]);
    execv(argv[0], (char *const *)argv);
    _exit(127);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pump(int in, int out, int err, const char *input, size_t len,
                 int timeout_s, pid_t pid, sink *so, sink *se)
{
    size_t sent = 0;
    double deadline = now() + timeout_s;
    if (!input || !len) {
        close(in);
        in = -1;
    }
    while (out >= 0 || err >= 0) {
        struct pollfd p[3] = {{out, POLLIN, 0}, {err, POLLIN, 0},
                              {in, POLLOUT, 0}};
        if (now() > deadline) {
            kill(pid, SIGKILL);
            break;
        }
        if (poll(p, 3, 200) < 0 && errno != EINTR)
            break;
        if (p[0].revents && !sink_read(out, so))
            close(out), out = -1;
        if (p[1].revents && !sink_read(err, se))
            close(err), err = -1;
        if (in >= 0 && p[2].revents) {
            ssize_t n = write(in, input + sent, len - sent);
            if (n > 0)
                sent += (size_t)n;
            if (n < 0 || sent == len)
                close(in), in = -1;
        }
    }
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    if (err >= 0)
        close(err);
}

int kvg_run(const char *const argv[], const char *input, size_t input_len,
            int timeout_s, kvg_run_result *r)
{
    int in[2], out[2], err[2], st = 0;
    sink so = {0}, se = {0};
    pid_t pid;
    memset(r, 0, sizeof *r);
    r->status = -1;
    if (pipe(in) || pipe(out) || pipe(err))
        return -1;
    signal(SIGPIPE, SIG_IGN);
    if ((pid = fork()) < 0)
        return -1;
    if (pid == 0)
        child(argv, in, out, err);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    pump(in[1], out[0], err[0], input, input_len, timeout_s > 0 ? timeout_s : 60,
         pid, &so, &se);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r->out = so.data ? so.data : strdup("");
    r->out_len = so.len;
    r->err = se.data ? se.data : strdup("");
    r->err_len = se.len;
    return 0;
}

void kvg_run_result_free(kvg_run_result *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}
