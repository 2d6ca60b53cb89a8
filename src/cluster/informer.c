/* List+watch informers: one thread per kind fills the store (informer.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvguard/informer.h"
#include "kvguard/json.h"
#include "kvguard/log.h"


typedef struct kinformer {
    struct kvg_informers *inf;
    kvg_kind kind;
    const kvg_kind_info *ki;
    pthread_t thread;
    bool started;
    kvg_kube_resource res;
    bool discovered;
    char rv[128];       /* last resourceVersion seen */
    char labels[160];   /* log fields: "kind":"..." */
    int failures;       /* consecutive, for the backoff */
    bool stale_logged;  /* "stale" said, "fresh again" not yet */
    uint64_t rand;
    kvg_store_batch *relist; /* the list being read, NULL between lists */
    size_t n_listed;
} kinformer;

struct kvg_informers {
    kvg_kube_client *client;
    bool owns_client;
    kvg_store *store;
    kvg_informers_opts o;
    atomic_bool stop;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* wakes sleepers on stop */
    /* One LIST at a time: a page is held as json-c trees (~10x its text)
     * while it is sorted into the store, so sixteen kinds listing at once
     * multiply the peak, and what one relist keeps would be allocated
     * between another's trees, pinning their heap pages after they are
     * freed. Lists are few (start-up, 410 Gone), watches do not wait. */
    pthread_mutex_t list_gate;
    kinformer *k;
    size_t n;
};

void kvg_informers_opts_init(kvg_informers_opts *o)
{
    *o = (kvg_informers_opts){
        .watch_timeout_min_s = 300, .watch_timeout_max_s = 600,
        .page_limit = 500, .backoff_base_ms = 500, .backoff_max_ms = 30000,
        .absent_recheck_s = 60, .stop_deadline_ms = 5000,
        .stale_after_s = 120,
    };
}

/* ---- helpers ------------------------------------------------------------------- */

static uint64_t next_rand(kinformer *k)
{
    k->rand ^= k->rand << 13;
    k->rand ^= k->rand >> 7;
    k->rand ^= k->rand << 17;
    return k->rand;
}

static bool stopping(const kvg_informers *inf)
{
    return atomic_load(&inf->stop);
}

/* Sleep ms unless stopped first; false when stopping. */
static bool pause_ms(kvg_informers *inf, long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&inf->mu);
    while (!stopping(inf) &&
           pthread_cond_timedwait(&inf->cv, &inf->mu, &ts) == 0)
        ;
    pthread_mutex_unlock(&inf->mu);
    return !stopping(inf);
}

/* ---- contact with the apiserver ------------------------------------------------ */

/* The apiserver answered for this kind: the cache is fresh (readers judge
 * staleness from the time of the last touch, see kvg_store_touch). */
static void in_contact(kinformer *k)
{
    kvg_store_touch(k->inf->store, k->kind);
    if (k->stale_logged) {
        k->stale_logged = false;
        kvg_logf_kv(KVG_LOG_INFO, "informer.fresh", k->labels,
                    "%s cache is fresh again: the apiserver answers",
                    k->ki->name);
    }
}

/* After a failure: say once when the cache has turned stale. Readers see
 * it at once; this line may come up to one backoff later. */
static void note_stale(kinformer *k)
{
    double age;
    if (k->stale_logged ||
        !kvg_view_stale(kvg_store_view(k->inf->store), k->kind, &age))
        return;
    k->stale_logged = true;
    kvg_logf_kv(KVG_LOG_WARN, "informer.stale", k->labels,
                "%s cache is stale: no contact with the apiserver for %.0f s "
                "(window %ld s); admission follows onClusterStateUnavailable "
                "and /readyz fails until it answers again", k->ki->name, age,
                k->inf->o.stale_after_s);
}

/* Exponential backoff with jitter after a failure. */
static bool back_off(kinformer *k)
{
    const kvg_informers_opts *o = &k->inf->o;
    note_stale(k);
    long d = o->backoff_base_ms;
    for (int i = 0; i < k->failures && d < o->backoff_max_ms; i++)
        d *= 2;
    if (d > o->backoff_max_ms)
        d = o->backoff_max_ms;
    if (k->failures < 30)
        k->failures++;
    long half = d / 2;
    return pause_ms(k->inf, half + (long)(next_rand(k) % (uint64_t)(half + 1)));
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set_rv(kinformer *k, const json_object *obj)
{
    const char *rv = kvg_json_str(obj, "metadata", "resourceVersion", NULL);
    if (rv && *rv && strlen(rv) < sizeof k->rv)
        snprintf(k->rv, sizeof k->rv, "%s", rv);
}

static const kvg_kube_call *call_of(kinformer *k, kvg_kube_call *c)
{
    *c = (kvg_kube_call){.cancel = &k->inf->stop};
    return c;
}

/* What the informer lists for a kind. Pods: only those that can still use a
 * claim; a pod that turns Succeeded/Failed arrives as DELETED. */
static void list_filter(const kinformer *k, const char **field)
{
    *field = k->kind == KVG_KIND_POD
                 ? "status.phase!=Succeeded,status.phase!=Failed" : NULL;
}

/* ---- discovery ---------------------------------------------------------------- */

typedef enum step { STEP_OK, STEP_ABSENT, STEP_FAILED } step;

static step discover(kinformer *k)
{
    bool served = false;
    kvg_diag d;
    kvg_err e = kvg_kube_discover(k->inf->client, k->kind, &served, &k->res,
                                  NULL, &d);
    if (e != KVG_OK) {
        kvg_logf_kv(KVG_LOG_WARN, "informer.discovery", k->labels,
                    "discovery of %s failed: %s", k->ki->name, d.msg);
        return STEP_FAILED;
    }
    if (!served) {
        const kvg_view *v = kvg_store_view(k->inf->store);
        kvg_view_begin(v);
        kvg_kind_state st = kvg_view_state(v, k->kind);
        kvg_view_end(v);
        if (st != KVG_KIND_ABSENT) {
            kvg_logf_kv(KVG_LOG_INFO, "informer.absent", k->labels,
                        "%s (%s) is not served: its facts are unknown",
                        k->ki->name, k->ki->group);
            kvg_store_replace(k->inf->store, k->kind, NULL, 0);
            kvg_store_set_state(k->inf->store, k->kind, KVG_KIND_ABSENT);
        }
        return STEP_ABSENT;
    }
    pthread_mutex_lock(&k->inf->mu);
    k->discovered = true;
    pthread_mutex_unlock(&k->inf->mu);
    return STEP_OK;
}

/* ---- what is kept -------------------------------------------------------------- */

bool kvg_informer_prepare(kvg_kind kind, json_object *obj)
{
    kvg_prune_object(kind, obj);
    if (kind != KVG_KIND_POD)
        return true;
    /* Pods matter only as users of claims; after pruning, spec.volumes holds
     * just the claim-backed volumes. Most pods of a cluster have none. */
    json_object *vols = kvg_json_array(obj, "spec", "volumes", NULL);
    return vols && json_object_array_length(vols) > 0;
}

/* ---- relist -------------------------------------------------------------------- */

static void drop_relist(kinformer *k)
{
    kvg_store_batch_abort(k->relist);
    k->relist = NULL;
}

/* Prune each item as it arrives (the store serializes compact kinds right
 * away): a 10,000-pod relist never holds 10,000 unpruned pods. */
static kvg_err collect(json_object *item, void *ud)
{
    kinformer *k = ud;
    if (!kvg_informer_prepare(k->kind, item)) {
        json_object_put(item);
        return KVG_OK;
    }
    k->n_listed++;
    return kvg_store_batch_add(k->relist, item);
}

static kvg_err list_into_store(kinformer *k);

static kvg_err relist(kinformer *k)
{
    pthread_mutex_lock(&k->inf->list_gate);
    kvg_err e = list_into_store(k);
    pthread_mutex_unlock(&k->inf->list_gate);
    return e;
}

static kvg_err list_into_store(kinformer *k)
{
    kvg_kube_list_opts lo = {.limit = k->inf->o.page_limit};
    kvg_kube_call call;
    kvg_diag d;
    char *rv = NULL;
    list_filter(k, &lo.field_selector);
    k->n_listed = 0;
    kvg_err e = kvg_store_batch_begin(k->inf->store, k->kind, &k->relist);
    if (e == KVG_OK)
        e = kvg_kube_list_each(k->inf->client, &k->res, NULL, &lo, collect,
                               k, &rv, call_of(k, &call), &d);
    else
        kvg_diag_set(&d, e, "out of memory");
    if (e != KVG_OK) {
        drop_relist(k);
        if (e != KVG_ECANCELED)
            kvg_logf_kv(KVG_LOG_WARN, "informer.list", k->labels,
                        "list of %s failed: %s", k->ki->name, d.msg);
        return e;
    }
    size_t n = k->n_listed;
    e = kvg_store_batch_replace(k->relist);
    k->relist = NULL;
    if (e == KVG_OK) {
        snprintf(k->rv, sizeof k->rv, "%s", rv ? rv : "");
        kvg_store_set_resource_version(k->inf->store, k->kind, k->rv);
        kvg_store_set_state(k->inf->store, k->kind, KVG_KIND_SYNCED);
        kvg_logf_kv(KVG_LOG_INFO, "informer.synced", k->labels,
                    "listed %zu %s at resourceVersion %s", n, k->ki->name,
                    k->rv);
        in_contact(k);
    }
    free(rv);
    return e;
}

/* ---- watch --------------------------------------------------------------------- */

typedef struct wstate {
    kinformer *k;
    unsigned long events;
} wstate;

/* An object the informer does not keep: make sure no older copy stays. */
static void drop_event_object(kinformer *k, json_object *obj)
{
    const char *ns = kvg_json_str(obj, "metadata", "namespace", NULL);
    const char *name = kvg_json_str(obj, "metadata", "name", NULL);
    if (name)
        kvg_store_delete(k->inf->store, k->kind, k->ki->namespaced ? ns : NULL,
                         name);
    json_object_put(obj);
}

static kvg_err on_event(kvg_watch_event *ev, void *ud)
{
    wstate *ws = ud;
    kinformer *k = ws->k;
    kvg_store *s = k->inf->store;
    json_object *obj = ev->object;
    ws->events++;
    in_contact(k); /* events and bookmarks alike */
    set_rv(k, obj);
    switch (ev->type) {
    case KVG_WATCH_ADDED:
    case KVG_WATCH_MODIFIED:
        if (!kvg_informer_prepare(k->kind, obj)) {
            drop_event_object(k, obj);
            break;
        }
        if (kvg_store_put(s, k->kind, obj) != KVG_OK)
            kvg_logf_kv(KVG_LOG_WARN, "informer.event", k->labels,
                        "%s event without a usable name ignored",
                        k->ki->name);
        break;
    case KVG_WATCH_DELETED:
        drop_event_object(k, obj);
        break;
    case KVG_WATCH_BOOKMARK:
        json_object_put(obj);
        break;
    }
    kvg_store_set_resource_version(s, k->kind, k->rv);
    return KVG_OK;
}

/* The server-side timeout of the next watch: random in [min, max) as
 * client-go does, but at most half the staleness window (a third to a
 * half), so that a quiet kind proves contact at least twice per window with
 * a watch run to its timeout: not every apiserver bookmarks idle watches. */
static long watch_timeout(kinformer *k)
{
    const kvg_informers_opts *o = &k->inf->o;
    long lo = o->watch_timeout_min_s, hi = o->watch_timeout_max_s;
    if (o->stale_after_s > 0 && hi > o->stale_after_s / 2) {
        hi = o->stale_after_s / 2 > 1 ? o->stale_after_s / 2 : 1;
        lo = o->stale_after_s / 3 > 1 ? o->stale_after_s / 3 : 1;
    }
    long span = hi - lo;
    return lo + (span > 0 ? (long)(next_rand(k) % (uint64_t)span) : 0);
}

/* Watch until it must relist (KVG_EGONE), rediscover (KVG_ENOTFOUND) or
 * stop (KVG_ECANCELED); other endings resume from the last version. */
static kvg_err watch_loop(kinformer *k)
{
    while (!stopping(k->inf)) {
        kvg_kube_watch_opts wo = {.resource_version = k->rv};
        wo.timeout_s = watch_timeout(k);
        list_filter(k, &wo.field_selector);
        wstate ws = {.k = k};
        kvg_kube_call call;
        kvg_diag d;
        double t0 = mono_now();
        kvg_err e = kvg_kube_watch(k->inf->client, &k->res, NULL, &wo, on_event,
                                   &ws, call_of(k, &call), &d);
        double took = mono_now() - t0;
        bool lasted = took >= 1.0;
        /* Ran to its timeout: the apiserver held it open all along and
         * closed it on time. Not one that ended later: the client gives up
         * on a silent stream after timeout + 30 s, or its low-speed time,
         * which a dead peer causes too. */
        bool ran_out = e == KVG_OK && took >= (double)wo.timeout_s - 1 &&
                       took < (double)wo.timeout_s + 5;
        if (e == KVG_EGONE) {
            kvg_logf_kv(KVG_LOG_INFO, "informer.expired", k->labels,
                        "%s: resourceVersion %s expired, relisting",
                        k->ki->name, k->rv);
            return e;
        }
        if (e == KVG_ECANCELED || e == KVG_ENOTFOUND)
            return e;
        if (ran_out)
            in_contact(k);
        if (ws.events > 0 || (e == KVG_OK && (lasted || ran_out)))
            k->failures = 0;
        if (e == KVG_OK && (ws.events > 0 || lasted || ran_out))
            continue; /* the server's timeout or a restart: resume at once */
        if (e != KVG_OK)
            kvg_logf_kv(KVG_LOG_WARN, "informer.watch", k->labels,
                        "watch of %s ended: %s; resuming from %s",
                        k->ki->name, d.msg, k->rv);
        /* an empty or failed watch must not turn into a tight loop */
        if (!back_off(k))
            return KVG_ECANCELED;
    }
    return KVG_ECANCELED;
}

/* ---- the thread -------------------------------------------------------------- */

/* k->res is written here and read by kvg_informers_resource: under mu. */
static void forget(kinformer *k)
{
    pthread_mutex_lock(&k->inf->mu);
    k->discovered = false;
    pthread_mutex_unlock(&k->inf->mu);
}

static void *run(void *arg)
{
    kinformer *k = arg;
    kvg_informers *inf = k->inf;
    while (!stopping(inf)) {
        if (!k->discovered) {
            step s = discover(k);
            if (s == STEP_ABSENT) {
                k->failures = 0;
                pause_ms(inf, inf->o.absent_recheck_s * 1000L);
                continue;
            }
            if (s == STEP_FAILED) {
                back_off(k);
                continue;
            }
        }
        kvg_err e = relist(k);
        if (e == KVG_ECANCELED)
            break;
        if (e == KVG_ENOTFOUND) { /* the CRD went away */
            forget(k);
            continue;
        }
        if (e != KVG_OK) { /* incl. a continue token expired mid-list */
            back_off(k);
            continue;
        }
        k->failures = 0;
        e = watch_loop(k);
        if (e == KVG_ENOTFOUND)
            forget(k);
    }
    drop_relist(k);
    return NULL;
}

/* ---- API --------------------------------------------------------------------- */


static void free_informers(kvg_informers *inf)
{
    if (inf->owns_client)
        kvg_kube_client_free(inf->client);
    pthread_mutex_destroy(&inf->mu);
    pthread_mutex_destroy(&inf->list_gate);
    pthread_cond_destroy(&inf->cv);
    free(inf->k);
    free(inf);
}

static kvg_err start_threads(kvg_informers *inf, kvg_diag *d)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    /* 16 mostly idle threads: no need for 8 MiB of stack each */
    pthread_attr_setstacksize(&attr, 512 * 1024);
    for (size_t i = 0; i < inf->n; i++) {
        if (pthread_create(&inf->k[i].thread, &attr, run, &inf->k[i]) != 0) {
            pthread_attr_destroy(&attr);
            return kvg_diag_set(d, KVG_ENOMEM, "informers: cannot start a "
                                "thread for %s", inf->k[i].ki->name);
        }
        inf->k[i].started = true;
    }
    pthread_attr_destroy(&attr);
    return KVG_OK;
}

kvg_err kvg_informers_start_opts(kvg_kube_client *client, kvg_store *store,
                                 const kvg_kind *kinds, size_t n,
                                 const kvg_informers_opts *o,
                                 kvg_informers **out, kvg_diag *d)
{
    if (!client || !store || !out || (n && !kinds))
        return kvg_diag_set(d, KVG_EINVAL, "informers: missing argument");
    kvg_informers *inf = calloc(1, sizeof *inf);
    if (!inf || !(inf->k = calloc(n ? n : 1, sizeof *inf->k))) {
        free(inf);
        return KVG_ENOMEM;
    }
    inf->client = client;
    inf->store = store;
    inf->n = n;
    if (o)
        inf->o = *o;
    else
        kvg_informers_opts_init(&inf->o);
    kvg_store_set_stale_after(store, (double)inf->o.stale_after_s);
    atomic_init(&inf->stop, false);
    pthread_mutex_init(&inf->mu, NULL);
    pthread_mutex_init(&inf->list_gate, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&inf->cv, &ca);
    pthread_condattr_destroy(&ca);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    for (size_t i = 0; i < n; i++) {
        kinformer *k = &inf->k[i];
        k->inf = inf;
        k->kind = kinds[i];
        k->ki = kvg_kind_info_get(kinds[i]);
        if (!k->ki) {
            free_informers(inf);
            return kvg_diag_set(d, KVG_EINVAL, "informers: unknown kind %d",
                                (int)kinds[i]);
        }
        snprintf(k->labels, sizeof k->labels, "\"kind\":\"%s\"", k->ki->name);
        k->rand = ((uint64_t)ts.tv_nsec << 16) ^ (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull;
        k->rand |= 1;
    }
    kvg_err e = start_threads(inf, d);
    if (e != KVG_OK) {
        kvg_informers_stop(inf);
        return e;
    }
    *out = inf;
    return KVG_OK;
}

kvg_err kvg_informers_start(kvg_kube_client *client, kvg_store *store,
                            const kvg_kind *kinds, size_t n,
                            kvg_informers **out, kvg_diag *d)
{
    return kvg_informers_start_opts(client, store, kinds, n, NULL, out, d);
}

kvg_err kvg_informers_stop(kvg_informers *inf)
{
    if (!inf)
        return KVG_OK;
    pthread_mutex_lock(&inf->mu);
    atomic_store(&inf->stop, true);
    pthread_cond_broadcast(&inf->cv);
    pthread_mutex_unlock(&inf->mu);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += inf->o.stop_deadline_ms / 1000;
    dl.tv_nsec += (inf->o.stop_deadline_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    bool all = true;
    for (size_t i = 0; i < inf->n; i++) {
        if (!inf->k[i].started)
            continue;
        if (pthread_timedjoin_np(inf->k[i].thread, NULL, &dl) != 0) {
            all = false;
            kvg_logf(KVG_LOG_ERROR, "informer.stop",
                     "informer of %s did not stop in time",
                     inf->k[i].ki->name);
        }
    }
    if (!all)
        return KVG_ETIMEOUT;
    free_informers(inf);
    return KVG_OK;
}

bool kvg_informers_synced(const kvg_informers *inf)
{
    if (!inf)
        return true;
    const kvg_view *v = kvg_store_view(inf->store);
    bool ok = true;
    kvg_view_begin(v);
    for (size_t i = 0; i < inf->n && ok; i++)
        ok = kvg_view_state(v, inf->k[i].kind) != KVG_KIND_UNSYNCED;
    kvg_view_end(v);
    return ok;
}

kvg_err kvg_informers_wait_synced(const kvg_informers *inf, long timeout_ms,
                                  kvg_diag *d)
{
    for (long waited = 0; !kvg_informers_synced(inf); waited += 50) {
        if (waited >= timeout_ms) {
            char names[512] = "";
            const kvg_view *v = kvg_store_view(inf->store);
            kvg_view_begin(v);
            for (size_t i = 0; i < inf->n; i++)
                if (kvg_view_state(v, inf->k[i].kind) == KVG_KIND_UNSYNCED) {
                    size_t l = strlen(names);
                    snprintf(names + l, sizeof names - l, "%s%s", l ? ", " : "",
                             inf->k[i].ki->name);
                }
            kvg_view_end(v);
            return kvg_diag_set(d, KVG_ETIMEOUT, "cluster view not synced "
                                "after %ld ms: %s", timeout_ms, names);
        }
        struct timespec ts = {.tv_nsec = 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return KVG_OK;
}

bool kvg_informers_resource(const kvg_informers *inf, kvg_kind kind,
                            kvg_kube_resource *out)
{
    bool found = false;
    if (!inf || !out)
        return false;
    pthread_mutex_lock((pthread_mutex_t *)&inf->mu);
    for (size_t i = 0; i < inf->n && !found; i++)
        if (inf->k[i].kind == kind && inf->k[i].discovered) {
            *out = inf->k[i].res;
            found = true;
        }
    pthread_mutex_unlock((pthread_mutex_t *)&inf->mu);
    return found;
}

kvg_kube_client *kvg_informers_client(const kvg_informers *inf)
{
    return inf ? inf->client : NULL;
}

void kvg_informers_own_client(kvg_informers *inf)
{
    inf->owns_client = true;
}
