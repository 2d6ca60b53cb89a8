/* kvg_cluster_open: the one place that turns the configuration into a
 * cluster view, for `serve`, `reconcile`, `review` and `audit`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/informer.h"
#include "kvguard/log.h"

/* No --kubeconfig: in a pod, the service account; elsewhere, as kubectl,
 * the first file of $KUBECONFIG. */
static kvg_err load_credentials(const kvg_config *cfg, kvg_kube_config *kc,
                                kvg_diag *d)
{
    const char *env = getenv("KUBECONFIG");
    char first[4096];
    if (cfg->kubeconfig && *cfg->kubeconfig)
        return kvg_kubeconfig_load(cfg->kubeconfig, cfg->kube_context, kc, d);
    if (getenv("KUBERNETES_SERVICE_HOST") || !env || !*env)
        return kvg_kube_incluster(NULL, kc, d);
    snprintf(first, sizeof first, "%.*s", (int)strcspn(env, ":"), env);
    return kvg_kubeconfig_load(first, cfg->kube_context, kc, d);
}

static kvg_err open_kube(const kvg_config *cfg, kvg_store **out,
                         kvg_informers **inf, kvg_diag *d)
{
    kvg_kube_config kc;
    kvg_kube_client *client = NULL;
    kvg_store *store = NULL;
    kvg_err e = load_credentials(cfg, &kc, d);
    if (e != KVG_OK)
        return e;
    e = kvg_kube_client_new(&kc, &client, d);
    if (e == KVG_OK)
        kvg_logf(KVG_LOG_INFO, "cluster.open", "kube backend: %s (%s)",
                 kc.server, kc.source);
    kvg_kube_config_free(&kc);
    if (e != KVG_OK)
        return e;
    if ((e = kvg_store_new(&store)) != KVG_OK) {
        kvg_kube_client_free(client);
        return e;
    }
    kvg_kind kinds[KVG_KIND_COUNT];
    for (int i = 0; i < KVG_KIND_COUNT; i++)
        kinds[i] = (kvg_kind)i;
    kvg_informers_opts o;
    kvg_informers_opts_init(&o);
    o.stale_after_s = (long)cfg->stale_after_s;
    e = kvg_informers_start_opts(client, store, kinds, KVG_KIND_COUNT, &o, inf,
                                 d);
    if (e != KVG_OK) {
        kvg_kube_client_free(client);
        kvg_store_free(store);
        return e;
    }
    kvg_informers_own_client(*inf);
    *out = store;
    return KVG_OK;
}

kvg_err kvg_cluster_open(const kvg_config *cfg, kvg_store **out,
                         kvg_informers **inf, kvg_diag *d)
{
    if (!cfg || !out || !inf)
        return kvg_diag_set(d, KVG_EINVAL, "cluster: missing argument");
    *out = NULL;
    *inf = NULL;
    if (cfg->cluster_mode == KVG_CLUSTER_KUBE)
        return open_kube(cfg, out, inf, d);
    if (!cfg->cluster_state_dir || !*cfg->cluster_state_dir)
        return kvg_diag_set(d, KVG_ECONFIG, "cluster: files mode needs a "
                            "directory (--cluster-state DIR)");
    return kvg_files_load(cfg->cluster_state_dir, out, d);
}

void kvg_cluster_close(kvg_store *store, kvg_informers *inf)
{
    /* a thread that did not stop may still write into the store: keep it */
    if (kvg_informers_stop(inf) == KVG_OK)
        kvg_store_free(store);
}
