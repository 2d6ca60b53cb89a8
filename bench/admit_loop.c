/* Benchmark (not a test): the server's per-request work without the
 * transport. Calls kvg_admit() (decode, policy, encode, audit record through
 * an audit sink writing to /dev/null, metrics) in a loop over review files
 * against a cluster-state directory, the way `kvguard serve` does. Meant to
 * run under `valgrind --tool=callgrind` (deterministic instruction counts)
 * or perf; prints wall-clock µs per request as well.
 *
 * Usage: bench_admit_loop STATE_DIR ITERATIONS REVIEW.json...
 *   e.g. after `bench_gen_state /tmp/s 10000`:
 *   bench_admit_loop /tmp/s/cluster 200 /tmp/s/reviews/SNAPSHOT-small.json */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvguard/admission.h"
#include "kvguard/audit.h"
#include "kvguard/config.h"
#include "kvguard/informer.h"
#include "kvguard/log.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const kvg_diag *d)
{
    fprintf(stderr, "bench_admit_loop: %s: %s\n", what, d->msg);
    exit(1);
}

int main(int argc, char **argv)
{
    kvg_config cfg;
    kvg_diag d = {{0}};
    kvg_store *store = NULL;
    kvg_informers *inf = NULL;
    kvg_audit_sink *sink = NULL;
    kvg_audit_sink_opts so;
    if (argc < 4) {
        fprintf(stderr, "usage: bench_admit_loop STATE_DIR ITERATIONS REVIEW...\n");
        return 2;
    }
    long iters = atol(argv[2]);
    int n = argc - 3;
    kvg_buf *bodies = calloc((size_t)n, sizeof *bodies);
    if (!bodies || kvg_config_init(&cfg))
        return 1;
    kvg_log_set_level(KVG_LOG_WARN);
    free(cfg.cluster_state_dir);
    cfg.cluster_mode = KVG_CLUSTER_FILES;
    cfg.cluster_state_dir = strdup(argv[1]);
    if (kvg_cluster_open(&cfg, &store, &inf, &d))
        die("cluster view", &d);
    for (int i = 0; i < n; i++) {
        kvg_buf_init(&bodies[i], 0);
        if (kvg_buf_read_file(&bodies[i], argv[3 + i], &d))
            die(argv[3 + i], &d);
    }
    kvg_audit_sink_opts_init(&so);
    so.path = "/dev/null";
    if (kvg_audit_sink_open_opts(&so, &sink, &d))
        die("audit sink", &d);
    kvg_admit_opts opts = {.audit = true, .audit_sink = sink};
    kvg_buf out;
    kvg_buf_init(&out, 0);
    double t0 = now();
    size_t bytes = 0;
    for (long it = 0; it < iters; it++) {
        for (int i = 0; i < n; i++) {
            kvg_admit_result res;
            kvg_buf_reset(&out);
            if (kvg_admit(&cfg.policy, kvg_store_view(store), bodies[i].data,
                          bodies[i].len, &opts, &out, &res, &d) ||
                res.http_status != 200)
                die(argv[3 + i], &d);
            bytes += out.len;
        }
        /* keep the queue from filling up (dropped records cost less) */
        kvg_audit_sink_flush(sink, 10000);
    }
    double dt = now() - t0;
    printf("requests=%ld us_per_req=%.1f response_bytes=%zu\n", iters * n,
           dt * 1e6 / (double)(iters * n), bytes);
    kvg_buf_free(&out);
    kvg_audit_sink_close(sink);
    for (int i = 0; i < n; i++)
        kvg_buf_free(&bodies[i]);
    free(bodies);
    kvg_cluster_close(store, inf);
    kvg_config_free(&cfg);
    return 0;
}
