/* Leader election with a coordination.k8s.io/v1 Lease, as client-go does it.
 *
 * Expiry is judged on this replica's monotonic clock from the moment it last
 * saw the lease change (holder or renewTime), never by comparing wall clocks
 * across machines. The leader renews every retry period; when it cannot renew
 * within the renew deadline it stops acting at once (is_leader false) before
 * the lease can expire for the others. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvguard/json.h"
#include "kvguard/log.h"
#include "kvguard/metrics.h"
#include "reconciler/internal.h"

struct kvg_leader {
    kvg_kube_client *kube;
    const kvg_config *cfg;
    char identity[128];
    atomic_bool *is_leader;
    atomic_bool stop;
    pthread_t thread;
    char observed[256];    /* holder + renewTime last seen */
    double observed_at;    /* monotonic seconds when it changed */
    double last_renew;     /* monotonic seconds of our last successful renew */
};

static const kvg_kube_resource leases = {.group = "coordination.k8s.io", .version = "v1",
                                         .resource = "leases", .namespaced = true};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void micro_time_now(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             ts.tv_nsec / 1000);
}

static void set_spec(json_object *lease, const char *holder, bool acquire,
                     unsigned duration, int transitions)
{
    char now[64];
    micro_time_now(now, sizeof now);
    json_object *spec = json_object_new_object();
    json_object_object_add(spec, "holderIdentity", json_object_new_string(holder));
    json_object_object_add(spec, "leaseDurationSeconds", json_object_new_int((int)duration));
    json_object_object_add(spec, "renewTime", json_object_new_string(now));
    json_object_object_add(spec, "leaseTransitions", json_object_new_int(transitions));
    json_object *old = kvg_json_path(lease, "spec", "acquireTime", NULL);
    json_object_object_add(spec, "acquireTime",
                           acquire || !old ? json_object_new_string(now) : json_object_get(old));
    json_object_object_add(lease, "spec", spec);
}

/* One attempt to acquire or renew; true when we hold the lease afterwards. */
static bool try_acquire(kvg_leader *l)
{
    const kvg_config *c = l->cfg;
    json_object *lease = NULL;
    kvg_diag d;
    kvg_err e = kvg_kube_get(l->kube, &leases, c->lease_namespace, c->lease_name, &lease, NULL, &d);
    if (e == KVG_ENOTFOUND) {
        lease = json_object_new_object();
        json_object *meta = json_object_new_object();
        json_object_object_add(meta, "name", json_object_new_string(c->lease_name));
        json_object_object_add(meta, "namespace", json_object_new_string(c->lease_namespace));
        json_object_object_add(lease, "apiVersion", json_object_new_string("coordination.k8s.io/v1"));
        json_object_object_add(lease, "kind", json_object_new_string("Lease"));
        json_object_object_add(lease, "metadata", meta);
        set_spec(lease, l->identity, true, c->lease_duration_s, 0);
        e = kvg_kube_create(l->kube, &leases, c->lease_namespace, lease, NULL, NULL, &d);
        json_object_put(lease);
        return e == KVG_OK;
    }
    if (e) {
        kvg_logf(KVG_LOG_WARN, "leader.get_failed", "%s", d.msg);
        return false;
    }
    const char *holder = kvg_json_str(lease, "spec", "holderIdentity", NULL);
    const char *renew = kvg_json_str(lease, "spec", "renewTime", NULL);
    int64_t dur = kvg_json_int(c->lease_duration_s, lease, "spec", "leaseDurationSeconds", NULL);
    char seen[256];
    snprintf(seen, sizeof seen, "%s|%s", holder ? holder : "", renew ? renew : "");
    if (strcmp(seen, l->observed)) {
        snprintf(l->observed, sizeof l->observed, "%s", seen);
        l->observed_at = mono();
    }
    bool ours = holder && !strcmp(holder, l->identity);
    bool free_ = !holder || !*holder || mono() - l->observed_at > (double)dur;
    if (!ours && !free_) {
        json_object_put(lease);
        return false;
    }
    int transitions = (int)kvg_json_int(0, lease, "spec", "leaseTransitions", NULL) + !ours;
    set_spec(lease, l->identity, !ours, c->lease_duration_s, transitions);
    /* PUT carries metadata.resourceVersion: a concurrent writer gets 409. */
    e = kvg_kube_update(l->kube, &leases, c->lease_namespace, c->lease_name, NULL, lease,
                        NULL, NULL, &d);
    json_object_put(lease);
    if (e && e != KVG_ECONFLICT)
        kvg_logf(KVG_LOG_WARN, "leader.update_failed", "%s", d.msg);
    return e == KVG_OK;
}

static void set_leader(kvg_leader *l, bool on)
{
    if (atomic_exchange(l->is_leader, on) != on)
        kvg_logf(KVG_LOG_INFO, on ? "leader.acquired" : "leader.lost",
                 "%s %s lease %s/%s", l->identity, on ? "holds" : "no longer holds",
                 l->cfg->lease_namespace, l->cfg->lease_name);
    kvg_metrics_set("kvguard_leader", NULL, on ? 1 : 0);
}

static void sleep_s(kvg_leader *l, double s)
{
    for (double t = 0; t < s && !atomic_load(&l->stop); t += 0.1)
        nanosleep(&(struct timespec){0, 100000000L}, NULL);
}

static void *leader_loop(void *arg)
{
    kvg_leader *l = arg;
    while (!atomic_load(&l->stop)) {
        bool held = try_acquire(l);
        if (held)
            l->last_renew = mono();
        bool leader = atomic_load(l->is_leader);
        if (held && !leader)
            set_leader(l, true);
        else if (!held && leader && mono() - l->last_renew > l->cfg->renew_deadline_s)
            set_leader(l, false);
        sleep_s(l, l->cfg->retry_period_s);
    }
    return NULL;
}

kvg_err kvg_leader_start(kvg_kube_client *kube, const kvg_config *cfg, const char *identity,
                         atomic_bool *is_leader, kvg_leader **out, kvg_diag *d)
{
    if (!cfg->lease_name || !cfg->lease_namespace)
        return kvg_diag_set(d, KVG_ECONFIG, "leader election needs a lease name and namespace");
    kvg_leader *l = calloc(1, sizeof *l);
    if (!l)
        return KVG_ENOMEM;
    l->kube = kube;
    l->cfg = cfg;
    l->is_leader = is_leader;
    snprintf(l->identity, sizeof l->identity, "%s", identity);
    atomic_init(&l->stop, false);
    kvg_metrics_set("kvguard_leader", NULL, 0);
    if (pthread_create(&l->thread, NULL, leader_loop, l)) {
        free(l);
        return kvg_diag_set(d, KVG_ENOMEM, "cannot start the leader election thread");
    }
    *out = l;
    return KVG_OK;
}

/* Gives the lease up by making it look expired, so a standby takes over at
 * its next retry instead of waiting a whole lease duration. */
static void release(kvg_leader *l)
{
    json_object *lease = NULL;
    kvg_diag d;
    if (kvg_kube_get(l->kube, &leases, l->cfg->lease_namespace, l->cfg->lease_name, &lease,
                     NULL, &d))
        return;
    const char *holder = kvg_json_str(lease, "spec", "holderIdentity", NULL);
    if (holder && !strcmp(holder, l->identity)) {
        set_spec(lease, "", false, 1, (int)kvg_json_int(0, lease, "spec", "leaseTransitions", NULL));
        kvg_kube_update(l->kube, &leases, l->cfg->lease_namespace, l->cfg->lease_name, NULL,
                        lease, NULL, NULL, &d);
    }
    json_object_put(lease);
}

void kvg_leader_stop(kvg_leader *l)
{
    if (!l)
        return;
    atomic_store(&l->stop, true);
    pthread_join(l->thread, NULL);
    bool was = atomic_load(l->is_leader);
    set_leader(l, false);
    if (was)
        release(l);
    free(l);
}
