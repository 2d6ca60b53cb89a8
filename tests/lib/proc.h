/* Test helper: run the real kvguard binary in the background (a server),
 * follow its JSON-line log, signal it and collect its exit status. */
#ifndef KVG_TEST_PROC_H
#define KVG_TEST_PROC_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct kvg_proc {
    pid_t pid;        /* 0 when not running */
    char log[512];    /* stdout + stderr of the child */
    int port;         /* from the "server.listening" log line */
} kvg_proc;

/* Starts KVG_BINARY with args (NULL-terminated, without argv[0]); output
 * goes to dir/<name>.log. Returns 0, or -1 when it could not start. */
int kvg_proc_start(kvg_proc *p, const char *dir, const char *name,
                   const char *const args[]);
/* Waits until the log contains needle; returns the whole line (free it) or
 * NULL after timeout_ms or when the process exited. */
char *kvg_proc_wait_log(kvg_proc *p, const char *needle, int timeout_ms);
/* Waits for the "server.listening" line and fills p->port; -1 on failure. */
int kvg_proc_wait_port(kvg_proc *p, int timeout_ms);
/* Counts the log lines containing needle. */
int kvg_proc_count_log(const kvg_proc *p, const char *needle);
int kvg_proc_signal(kvg_proc *p, int sig);
/* Exit code (128+N when killed by signal N), or -1 after timeout_ms (the
 * process is then killed). */
int kvg_proc_wait_exit(kvg_proc *p, int timeout_ms);
/* SIGKILL and reap if still running (teardown). */
void kvg_proc_kill(kvg_proc *p);
/* Prints the log to stderr (diagnosing a failed test). */
void kvg_proc_dump_log(const kvg_proc *p);

#endif

/* ---- kvguard serve fixtures ---------------------------------------------- */

/* `kvguard certs --out dir/sub --dns localhost --ip 127.0.0.1`; 0 on success. */
int kvg_proc_make_certs(const char *dir, const char *sub);
/* Writes dir/config.yaml (config_yaml) and a small cluster state in
 * dir/state, then starts `kvguard serve --config ... --listen 127.0.0.1:0
 * --tls-cert cert --tls-key key --cluster-state dir/state` and waits for its
 * port. 0 on success (the log is dumped on failure). */
int kvg_proc_start_server(kvg_proc *p, const char *dir, const char *config_yaml,
                          const char *cert, const char *key);
