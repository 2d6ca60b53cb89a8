/* kvguard: list+watch informers filling the cluster view (kube backend),
 * and kvg_cluster_open(), which opens the backend the configuration asks for.
 *
 * One thread per kind: discover the served version (a kind whose CRD is not
 * installed is ABSENT, re-checked every minute), LIST every page and swap it
 * in whole with kvg_store_replace, mark SYNCED, then WATCH from the list's
 * resourceVersion with bookmarks. A dropped watch resumes from the last
 * resourceVersion seen; 410 Gone relists; errors back off with jitter.
 * Readers never wait on the network: the store's lock is only taken to swap
 * or apply one event.
 *
 * Every answer of the apiserver for a kind (a successful list, a watch event
 * or bookmark, a watch run to its timeout) touches the store; a synced kind
 * not touched for opts.stale_after_s is stale, i.e. not synced for every
 * reader, until the next one (kvg_store_set_stale_after).
 *
 * Metrics: kvguard_cache_objects{kind} (gauge),
 * kvguard_cache_last_sync_seconds{kind} (Unix time of the last successful
 * list or watch event; the sync age is time() minus it) and
 * kvguard_cache_stale{kind} (1 while stale). */
#ifndef KVGUARD_INFORMER_H
#define KVGUARD_INFORMER_H

#include <stdbool.h>
#include <stddef.h>

#include "kvguard/config.h"
#include "kvguard/error.h"
#include "kvguard/kube.h"
#include "kvguard/view.h"

typedef struct kvg_informers kvg_informers;

typedef struct kvg_informers_opts {
    long watch_timeout_min_s; /* server-side watch timeout, random in */
    long watch_timeout_max_s; /* [min, max): 300..600 as client-go */
    long page_limit;          /* LIST page size: 500 */
    long backoff_base_ms;     /* 500, doubled per failure, jittered */
    long backoff_max_ms;      /* 30000 */
    long absent_recheck_s;    /* 60: rediscover kinds that were absent */
    long stop_deadline_ms;    /* 5000: kvg_informers_stop joins within */
    /* 120: a synced kind without contact with the apiserver (a successful
     * list, a watch event or bookmark, a watch run to its timeout) for
     * longer is stale: not synced for admission, /readyz and the reconciler
     * until the apiserver answers again (kvg_store_set_stale_after). Watch
     * timeouts are capped to a third to a half of it, so that a kind whose
     * objects never change still proves contact twice per window (not every
     * apiserver bookmarks idle watches). 0: never stale, no cap. */
    long stale_after_s;
} kvg_informers_opts;

void kvg_informers_opts_init(kvg_informers_opts *o);

/* Start one informer per kind (kinds[0..n)) over client into store. The
 * client and store stay the caller's and must outlive the informers. */
kvg_err kvg_informers_start(kvg_kube_client *client, kvg_store *store,
                            const kvg_kind *kinds, size_t n,
                            kvg_informers **out, kvg_diag *d);
kvg_err kvg_informers_start_opts(kvg_kube_client *client, kvg_store *store,
                                 const kvg_kind *kinds, size_t n,
                                 const kvg_informers_opts *o,
                                 kvg_informers **out, kvg_diag *d);

/* Stop every thread and free inf (and the client when inf owns it, see
 * kvg_cluster_open). KVG_ETIMEOUT when a thread did not end within the
 * deadline: inf is then leaked on purpose, as that thread still uses it. */
kvg_err kvg_informers_stop(kvg_informers *inf);

/* Every kind SYNCED or ABSENT (the /readyz condition). NULL: true. */
bool kvg_informers_synced(const kvg_informers *inf);
/* Block until synced, up to timeout_ms: KVG_ETIMEOUT names the kinds that
 * are still unsynced (`kvguard review --kubeconfig` and `audit`). */
kvg_err kvg_informers_wait_synced(const kvg_informers *inf, long timeout_ms,
                                  kvg_diag *d);
/* Make inf own its client (freed by kvg_informers_stop). */
void kvg_informers_own_client(kvg_informers *inf);
/* The resource (served version) discovered for kind: false while the kind
 * is not discovered yet or absent. */
bool kvg_informers_resource(const kvg_informers *inf, kvg_kind kind,
                            kvg_kube_resource *out);
/* The API client (the reconciler writes through it). */
kvg_kube_client *kvg_informers_client(const kvg_informers *inf);

/* Prune obj (kvg_prune_object) and say whether the informer stores it: pods
 * without a claim-backed volume are not kept (only claim users matter).
 * The benchmark and tests load objects through this same path. */
bool kvg_informer_prepare(kvg_kind kind, json_object *obj);

/* Open the cluster view the configuration asks for: `files` loads
 * cfg->cluster_state_dir (*inf = NULL); `kube` connects with cfg->kubeconfig
 * (and cfg->kube_context) or in-cluster, and starts informers for every
 * tracked kind (they own the client). Does not wait for the sync. */
kvg_err kvg_cluster_open(const kvg_config *cfg, kvg_store **out,
                         kvg_informers **inf, kvg_diag *d);
/* Stop the informers (if any), then free the store. */
void kvg_cluster_close(kvg_store *store, kvg_informers *inf);

#endif
