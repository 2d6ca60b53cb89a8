/* Cache metrics of the cluster view, read from the view at scrape time so
 * that every backend (files, kube informers) and every process (webhook,
 * reconciler) reports them the same way. */
#include <stdio.h>
#include <time.h>

#include "kvguard/metrics.h"
#include "kvguard/view.h"

#define M_OBJECTS "kvguard_cache_objects"
#define M_SYNC "kvguard_cache_last_sync_seconds"
#define M_STALE "kvguard_cache_stale"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void kvg_view_metrics_update(const kvg_view *v)
{
    kvg_metrics_register(M_OBJECTS, KVG_METRIC_GAUGE,
                         "Objects in the cluster view cache, by kind.", NULL, 0);
    kvg_metrics_register(M_SYNC, KVG_METRIC_GAUGE,
                         "Unix time of the last list, watch event or load of the "
                         "cache, by kind (alert on time() - this).", NULL, 0);
    kvg_metrics_register(M_STALE, KVG_METRIC_GAUGE,
                         "1 while the kind's cache is stale: no contact with the "
                         "apiserver for longer than cluster.staleAfterSeconds "
                         "(admission treats it as not synced).", NULL, 0);
    /* the view keeps monotonic times; Prometheus wants wall-clock timestamps */
    double wall = clock_s(CLOCK_REALTIME), mono = clock_s(CLOCK_MONOTONIC);
    kvg_view_begin(v);
    for (int k = 0; k < KVG_KIND_COUNT; k++) {
        char labels[96];
        snprintf(labels, sizeof labels, "kind=\"%s\"", kvg_kind_info_get((kvg_kind)k)->name);
        kvg_metrics_set(M_OBJECTS, labels, (double)kvg_view_count(v, (kvg_kind)k));
        double last = kvg_view_last_sync(v, (kvg_kind)k);
        if (last > 0)
            kvg_metrics_set(M_SYNC, labels, wall - (mono - last));
        kvg_metrics_set(M_STALE, labels, kvg_view_stale(v, (kvg_kind)k, NULL));
    }
    kvg_view_end(v);
}
