/* Test helper: background kvguard processes (see proc.h). */
#include "proc.h"

#include "run.h"
#include "testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int kvg_proc_start(kvg_proc *p, const char *dir, const char *name,
                   const char *const args[])
{
    memset(p, 0, sizeof *p);
    snprintf(p->log, sizeof p->log, "%s/%s.log", dir, name);
    const char *argv[64];
    size_t n = 0;
    argv[n++] = KVG_BINARY;
    for (size_t i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fd);
        return -1;
    }
    if (pid == 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fd);
    p->pid = pid;
    return 0;
}

static char *find_line(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *line = NULL, *found = NULL;
    size_t cap = 0;
    while (!found && getline(&line, &cap, f) > 0)
        if (strstr(line, needle))
            found = strdup(line);
    free(line);
    fclose(f);
    return found;
}

int kvg_proc_count_log(const kvg_proc *p, const char *needle)
{
    FILE *f = fopen(p->log, "r");
    if (!f)
        return 0;
    char *line = NULL;
    size_t cap = 0;
    int n = 0;
    while (getline(&line, &cap, f) > 0)
        n += strstr(line, needle) != NULL;
    free(line);
    fclose(f);
    return n;
}

static bool exited(kvg_proc *p)
{
    if (p->pid == 0)
        return true;
    siginfo_t info;
    memset(&info, 0, sizeof info);
    /* WNOWAIT: peek, leave the status for kvg_proc_wait_exit(). */
    if (waitid(P_PID, (id_t)p->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0)
        return info.si_pid != 0;
    /* Not our child (Check runs tests in a fork of the process that started
     * the server): only ask whether it still exists. */
    return kill(p->pid, 0) != 0 && errno == ESRCH;
}

char *kvg_proc_wait_log(kvg_proc *p, const char *needle, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    for (;;) {
        char *line = find_line(p->log, needle);
        if (line)
            return line;
        if (now_ms() > deadline || exited(p))
            return find_line(p->log, needle);
        sleep_ms(20);
    }
}

int kvg_proc_wait_port(kvg_proc *p, int timeout_ms)
{
    char *line = kvg_proc_wait_log(p, "\"event\":\"server.listening\"", timeout_ms);
    const char *at = line ? strstr(line, "\"port\":") : NULL;
    p->port = at ? atoi(at + 7) : -1;
    free(line);
    return p->port > 0 ? 0 : -1;
}

int kvg_proc_signal(kvg_proc *p, int sig)
{
    return p->pid > 0 ? kill(p->pid, sig) : -1;
}

int kvg_proc_wait_exit(kvg_proc *p, int timeout_ms)
{
    if (p->pid <= 0)
        return -1;
    long deadline = now_ms() + timeout_ms;
    int status;
    for (;;) {
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid)
            break;
        if (r < 0 && errno != EINTR)
            return -1;
        if (now_ms() > deadline) {
            kvg_proc_kill(p);
            return -1;
        }
        sleep_ms(20);
    }
    p->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void kvg_proc_kill(kvg_proc *p)
{
    if (p->pid <= 0)
        return;
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    p->pid = 0;
}

void kvg_proc_dump_log(const kvg_proc *p)
{
    FILE *f = fopen(p->log, "r");
    if (!f)
        return;
    char buf[4096];
    size_t n;
    fprintf(stderr, "---- %s ----\n", p->log);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stderr);
    fclose(f);
}

int kvg_proc_make_certs(const char *dir, const char *sub)
{
    char out[512];
    snprintf(out, sizeof out, "%s/%s", dir, sub);
    const char *argv[] = {KVG_BINARY, "certs", "--out", out, "--dns", "localhost",
                          "--ip", "127.0.0.1", NULL};
    kvg_run_result r;
    if (kvg_run(argv, NULL, 0, 60, &r) != 0)
        return -1;
    int rc = r.status;
    if (rc != 0)
        fprintf(stderr, "kvguard certs failed (%d): %s\n", rc, r.err);
    kvg_run_result_free(&r);
    return rc == 0 ? 0 : -1;
}

/* Objects of a kind the view tracks, so the files backend has work to do. */
static const char state_yaml[] =
    "apiVersion: storage.k8s.io/v1\n"
    "kind: StorageClass\n"
    "metadata:\n"
    "  name: local-zfs\n"
    "provisioner: zfs.csi.openebs.io\n"
    "---\n"
    "apiVersion: kubevirt.io/v1\n"
    "kind: VirtualMachine\n"
    "metadata:\n"
    "  name: vm1\n"
    "  namespace: default\n"
    "spec:\n"
    "  runStrategy: Halted\n"
    "  template:\n"
    "    spec:\n"
    "      domain:\n"
    "        devices: {}\n";

int kvg_proc_start_server(kvg_proc *p, const char *dir, const char *config_yaml,
                          const char *cert, const char *key)
{
    char cfg[512], state[512];
    snprintf(cfg, sizeof cfg, "%s/config.yaml", dir);
    snprintf(state, sizeof state, "%s/state", dir);
    kvg_test_write_file(dir, "config.yaml", config_yaml ? config_yaml : "{}\n");
    kvg_test_write_file(state, "cluster.yaml", state_yaml);
    const char *args[] = {"serve", "--config", cfg, "--listen", "127.0.0.1:0",
                          "--tls-cert", cert, "--tls-key", key,
                          "--cluster-state", state, NULL};
    if (kvg_proc_start(p, dir, "serve", args) != 0)
        return -1;
    if (kvg_proc_wait_port(p, 20000) != 0) {
        kvg_proc_dump_log(p);
        kvg_proc_kill(p);
        return -1;
    }
    return 0;
}
