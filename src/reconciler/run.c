/* The reconciler loop (see kvguard/reconciler.h and internal.h).
 *
 * Level-triggered: every resync it looks at every VirtualMachineRestore and
 * VirtualMachineClone in the view, with a per-object retry schedule (an
 * exponential backoff after errors, a short wait while the cluster catches
 * up) so that one broken object never holds up the others. Only the leader
 * acts; it checks leadership before every object, so losing the lease stops
 * it within one step. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvguard/cleanup.h"
#include "kvguard/informer.h"
#include "kvguard/json.h"
#include "kvguard/kubevirt.h"
#include "kvguard/log.h"
#include "kvguard/metrics.h"
#include "kvguard/reconciler.h"
#include "reconciler/internal.h"

#define WAIT_S 5.0
#define BACKOFF_MAX_S 300.0

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void register_metrics(void)
{
    kvg_metrics_register("kvguard_reconcile_total", KVG_METRIC_COUNTER,
                         "Reconcile passes by controller and result.", NULL, 0);
    kvg_metrics_register("kvguard_pvc_cleanup_total", KVG_METRIC_COUNTER,
                         "Old claims handled after restores, by result.", NULL, 0);
    kvg_metrics_register("kvguard_zfs_rollback_total", KVG_METRIC_COUNTER,
                         "ZFS rollback Jobs by result.", NULL, 0);
    kvg_metrics_register("kvguard_clone_fallback_total", KVG_METRIC_COUNTER,
                         "CDI clone fallbacks by result.", NULL, 0);
    kvg_metrics_register("kvguard_leader", KVG_METRIC_GAUGE,
                         "1 while this replica holds the reconciler lease.", NULL, 0);
}

/* ---- per-object schedule ------------------------------------------------------ */

typedef struct sched_entry {
    double next_at;
    int failures;
    bool done;
    char rv[64]; /* resourceVersion the DONE verdict was for */
} sched_entry;

/* key -> entry; a few hundred restores and clones at most, so a flat array. */
typedef struct sched {
    char **keys;
    sched_entry *entries;
    size_t n;
} sched;

static sched_entry *sched_get(sched *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->keys[i], key))
            return &s->entries[i];
    char **keys = realloc(s->keys, (s->n + 1) * sizeof *keys);
    if (!keys)
        return NULL;
    s->keys = keys;
    sched_entry *entries = realloc(s->entries, (s->n + 1) * sizeof *entries);
    if (!entries)
        return NULL;
    s->entries = entries;
    if (!(keys[s->n] = strdup(key)))
        return NULL;
    memset(&entries[s->n], 0, sizeof *entries);
    return &entries[s->n++];
}

static void sched_free(sched *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->keys[i]);
    free(s->keys);
    free(s->entries);
}

typedef struct work {
    kvg_kind kind;
    json_object *objs; /* deep copies to process outside the read lock */
} work;

static int collect(const json_object *obj, void *ud)
{
    work *w = ud;
    json_object *copy = NULL;
    if (!json_object_deep_copy((json_object *)obj, &copy, NULL))
        json_object_array_add(w->objs, copy);
    return 0;
}

static void schedule(sched_entry *e, kvg_rec_result res, const char *rv)
{
    double now = mono();
    e->done = res == KVG_REC_DONE;
    snprintf(e->rv, sizeof e->rv, "%s", rv ? rv : "");
    if (res == KVG_REC_RETRY) {
        double wait = fmin(BACKOFF_MAX_S, pow(2.0, e->failures));
        e->failures++;
        e->next_at = now + wait * (0.5 + (double)rand() / RAND_MAX / 2); /* jitter */
    } else {
        e->failures = 0;
        e->next_at = now + WAIT_S;
    }
}

static void pass_kind(kvg_rec *r, sched *plan, kvg_kind kind)
{
    work w = {.kind = kind, .objs = json_object_new_array()};
    kvg_view_begin(r->view);
    kvg_view_each(r->view, kind, NULL, collect, &w);
    kvg_view_end(r->view);
    size_t n = json_object_array_length(w.objs);
    for (size_t i = 0; i < n && atomic_load(r->leader) && !atomic_load(r->stop); i++) {
        json_object *obj = json_object_array_get_idx(w.objs, i);
        char key[600];
        snprintf(key, sizeof key, "%d/%s/%s", (int)kind, kvg_obj_namespace(obj), kvg_obj_name(obj));
        const char *rv = kvg_json_str(obj, "metadata", "resourceVersion", NULL);
        sched_entry *e = sched_get(plan, key);
        if (!e || (e->done && !strcmp(e->rv, rv ? rv : "")) || (!e->done && mono() < e->next_at))
            continue;
        kvg_rec_result res = kind == KVG_KIND_VMRESTORE ? kvg_rec_restore(r, obj)
                                                        : kvg_rec_clone(r, obj);
        schedule(e, res, rv);
    }
    json_object_put(w.objs);
}

/* ---- health and metrics endpoint (plain HTTP, for probes and Prometheus) ---- */

static enum MHD_Result health(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version,
                              const char *upload, size_t *upload_len, void **state)
{
    kvg_rec *r = cls;
    (void)version, (void)upload, (void)upload_len, (void)state;
    kvg_buf b;
    kvg_buf_init(&b, 4 << 20);
    unsigned code = 200;
    const char *type = "text/plain";
    if (strcmp(method, "GET")) {
        code = 405;
        kvg_buf_puts(&b, "method not allowed\n");
    } else if (!strcmp(url, "/metrics")) {
        kvg_view_metrics_update(r->view);
        kvg_metrics_render(&b);
        type = "text/plain; version=0.0.4";
    } else if (!strcmp(url, "/healthz")) {
        kvg_buf_puts(&b, "ok\n");
    } else if (!strcmp(url, "/readyz")) {
        bool ok = kvg_view_synced(r->view);
        code = ok ? 200 : 503;
        kvg_buf_puts(&b, ok ? "ok\n" : "cluster view not synced\n");
    } else {
        code = 404;
        kvg_buf_puts(&b, "not found\n");
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        b.len, b.data ? b.data : (char *)"", MHD_RESPMEM_MUST_COPY);
    kvg_buf_free(&b);
    MHD_add_response_header(resp, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(c, code, resp);
    MHD_destroy_response(resp);
    return ret;
}

static kvg_err start_health(kvg_rec *r, const char *listen, struct MHD_Daemon **out, kvg_diag *d)
{
    *out = NULL;
    if (!listen || !*listen)
        return KVG_OK;
    const char *colon = strrchr(listen, ':');
    int port = colon ? atoi(colon + 1) : 0;
    if (!colon || port <= 0 || port > 65535)
        return kvg_diag_set(d, KVG_ECONFIG, "--metrics-listen '%s': want ADDR:PORT", listen);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
    if (inet_pton(AF_INET, *host ? host : "0.0.0.0", &sa.sin_addr) != 1)
        return kvg_diag_set(d, KVG_ECONFIG, "--metrics-listen '%s': not an IPv4 address", listen);
    *out = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                            health, r, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!*out)
        return kvg_diag_set(d, KVG_EIO, "cannot listen on %s", listen);
    kvg_logf(KVG_LOG_INFO, "reconcile.metrics", "metrics and probes on http://%s", listen);
    return KVG_OK;
}

/* ---- setup --------------------------------------------------------------------- */

static void discover_versions(kvg_rec *r)
{
    for (int k = 0; k < KVG_KIND_COUNT; k++) {
        kvg_kube_resource_of((kvg_kind)k, NULL, &r->res[k]);
        bool served = false;
        kvg_kube_resource found;
        kvg_diag d;
        if (r->kube && !kvg_kube_discover(r->kube, (kvg_kind)k, &served, &found, NULL, &d) && served)
            r->res[k] = found;
    }
}

static void make_identity(char *buf, size_t len)
{
    char host[64] = "kvguard";
    gethostname(host, sizeof host - 1);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    srand((unsigned)(ts.tv_nsec ^ getpid()));
    snprintf(buf, len, "%s_%08x", host, (unsigned)rand());
}

static void loop(kvg_rec *r, const kvg_reconcile_opts *o)
{
    sched plan = {0};
    double resync = o->resync_s > 0 ? o->resync_s : 2.0;
    while (!atomic_load(o->stop)) {
        if (atomic_load(r->leader)) {
            pass_kind(r, &plan, KVG_KIND_VMRESTORE);
            pass_kind(r, &plan, KVG_KIND_VMCLONE);
            kvg_rec_clone_orphans(r);
        }
        for (double t = 0; t < resync && !atomic_load(o->stop); t += 0.1)
            nanosleep(&(struct timespec){0, 100000000L}, NULL);
    }
    sched_free(&plan);
}

kvg_err kvg_reconcile_run(const kvg_config *cfg, const kvg_reconcile_opts *o, kvg_diag *d)
{
    if (cfg->cluster_mode != KVG_CLUSTER_KUBE)
        return kvg_diag_set(d, KVG_ECONFIG, "reconcile acts on a cluster: give --kubeconfig, "
                                            "or cluster.mode: kube (files mode: use --report)");
    register_metrics();
    kvg_store *store = NULL;
    kvg_informers *inf = NULL;
    kvg_err e = kvg_cluster_open(cfg, &store, &inf, d);
    if (e)
        return e;
    atomic_bool leader;
    atomic_init(&leader, false);
    kvg_rec r = {.cfg = cfg, .kube = kvg_informers_client(inf), .view = kvg_store_view(store),
                 .leader = &leader, .stop = o->stop, .dry_run = cfg->dry_run};
    make_identity(r.identity, sizeof r.identity);
    discover_versions(&r);
    struct MHD_Daemon *httpd = NULL;
    kvg_leader *lead = NULL;
    if (!(e = start_health(&r, o->metrics_listen, &httpd, d)) &&
        !(e = kvg_leader_start(r.kube, cfg, r.identity, &leader, &lead, d))) {
        kvg_logf(KVG_LOG_INFO, "reconcile.start", "reconciler %s started (dryRun=%s)",
                 r.identity, cfg->dry_run ? "true" : "false");
        loop(&r, o);
        kvg_logf(KVG_LOG_INFO, "reconcile.stop", "stopping: releasing the lease");
    }
    kvg_leader_stop(lead);
    if (httpd)
        MHD_stop_daemon(httpd);
    kvg_cluster_close(store, inf);
    return e;
}

/* ---- files mode report ---------------------------------------------------------- */

static int report_restore(const json_object *restore, void *ud)
{
    void **a = ud;
    const kvg_view *v = a[0];
    FILE *out = a[1];
    const kvg_config *cfg = a[2];
    kvg_cleanup_opts o = {.start_after_restore = cfg->start_after_restore,
                          .zfs_namespace = cfg->zfs_snapshot_namespace};
    kvg_cleanup_plan p;
    if (kvg_cleanup_plan_make(v, restore, &o, &p))
        return 1;
    fprintf(out, "VirtualMachineRestore %s/%s: %s: %s\n", kvg_obj_namespace(restore),
            kvg_obj_name(restore), kvg_cleanup_gate_name(p.gate), p.reason ? p.reason : "");
    for (size_t i = 0; i < p.n_claims; i++)
        fprintf(out, "  claim %s: %s: %s\n", p.claims[i].claim,
                kvg_claim_verdict_name(p.claims[i].verdict), p.claims[i].reason);
    kvg_cleanup_plan_free(&p);
    return 0;
}

kvg_err kvg_reconcile_report(const kvg_config *cfg, FILE *out, kvg_diag *d)
{
    kvg_store *store = NULL;
    kvg_informers *inf = NULL;
    kvg_err e = kvg_cluster_open(cfg, &store, &inf, d);
    if (e)
        return e;
    const kvg_view *v = kvg_store_view(store);
    void *args[3] = {(void *)v, out, (void *)cfg};
    kvg_view_begin(v);
    if (kvg_view_each(v, KVG_KIND_VMRESTORE, NULL, report_restore, args))
        e = KVG_ENOMEM;
    kvg_view_end(v);
    kvg_cluster_close(store, inf);
    return e;
}
