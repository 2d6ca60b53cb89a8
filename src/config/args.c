/* kvguard: the command-line flags every command shares (SPEC §2). They are
 * collected first and applied after `--config F` is loaded, so a flag always
 * overrides the file whatever the order on the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

enum { A_CONFIG, A_LISTEN, A_CERT, A_KEY, A_STATE, A_KUBECONFIG, A_CONTEXT,
       A_LOGLEVEL, A_COUNT };

static const char *const flag_names[A_COUNT] = {
    [A_CONFIG] = "--config",         [A_LISTEN] = "--listen",
    [A_CERT] = "--tls-cert",         [A_KEY] = "--tls-key",
    [A_STATE] = "--cluster-state",   [A_KUBECONFIG] = "--kubeconfig",
    [A_CONTEXT] = "--context",       [A_LOGLEVEL] = "--log-level",
};

/* Which flag argv[i] is (A_COUNT: none of ours); *val gets its value, *used
 * the argv slots it takes. A missing value is an error. */
static kvg_err match(int argc, char **argv, int i, int *which,
                     const char **val, int *used, kvg_diag *d)
{
    const char *a = argv[i];
    for (int f = 0; f < A_COUNT; f++) {
        size_t n = strlen(flag_names[f]);
        if (strncmp(a, flag_names[f], n) || (a[n] && a[n] != '='))
            continue;
        *which = f;
        if (a[n] == '=') {
            *val = a + n + 1;
            *used = 1;
        } else {
            *val = i + 1 < argc ? argv[i + 1] : NULL;
            *used = 2;
        }
        if (!*val || !**val || !strncmp(*val, "--", 2))
            return kvg_diag_set(d, KVG_EINVAL, "flag %s needs a value",
                                flag_names[f]);
        return KVG_OK;
    }
    *which = A_COUNT;
    return KVG_OK;
}

static kvg_err collect(int *argc, char **argv, const char *vals[A_COUNT],
                       kvg_diag *d)
{
    int out = 1, i = 1;
    while (i < *argc) {
        int which, used = 1;
        const char *val = NULL;
        kvg_err e;
        if (!strcmp(argv[i], "--")) /* the rest belongs to the command */
            break;
        if ((e = match(*argc, argv, i, &which, &val, &used, d)))
            return e;
        if (which == A_COUNT) {
            argv[out++] = argv[i++];
            continue;
        }
        vals[which] = val;
        i += used;
    }
    while (i < *argc)
        argv[out++] = argv[i++];
    argv[out] = NULL;
    *argc = out;
    return KVG_OK;
}

static kvg_err set(char **dst, const char *v)
{
    char *n = strdup(v);
    if (!n)
        return KVG_ENOMEM;
    free(*dst);
    *dst = n;
    return KVG_OK;
}

static kvg_err apply(kvg_config *c, const char *vals[A_COUNT], kvg_diag *d)
{
    char why[256];
    kvg_err e = KVG_OK;
    if (vals[A_LISTEN] && kvg_cfg_check_listen(vals[A_LISTEN], why, sizeof why))
        return kvg_diag_set(d, KVG_EINVAL, "flag --listen: %s", why);
    if (vals[A_LOGLEVEL] && kvg_log_level_parse(vals[A_LOGLEVEL], &c->log_level))
        return kvg_diag_set(d, KVG_EINVAL, "flag --log-level: '%.64s' is not "
                            "debug, info, warn or error", vals[A_LOGLEVEL]);
    if (vals[A_STATE] && vals[A_KUBECONFIG])
        return kvg_diag_set(d, KVG_EINVAL, "flags --cluster-state and "
                            "--kubeconfig exclude each other: pick one "
                            "cluster view");
    if (vals[A_STATE])
        c->cluster_mode = KVG_CLUSTER_FILES;
    if (vals[A_KUBECONFIG])
        c->cluster_mode = KVG_CLUSTER_KUBE;
    if ((vals[A_LISTEN] && (e = set(&c->listen, vals[A_LISTEN]))) ||
        (vals[A_CERT] && (e = set(&c->tls_cert, vals[A_CERT]))) ||
        (vals[A_KEY] && (e = set(&c->tls_key, vals[A_KEY]))) ||
        (vals[A_STATE] && (e = set(&c->cluster_state_dir, vals[A_STATE]))) ||
        (vals[A_KUBECONFIG] && (e = set(&c->kubeconfig, vals[A_KUBECONFIG]))) ||
        (vals[A_CONTEXT] && (e = set(&c->kube_context, vals[A_CONTEXT]))))
        return e;
    return KVG_OK;
}

kvg_err kvg_config_from_args(kvg_config *c, int *argc, char **argv,
                             kvg_diag *d)
{
    const char *vals[A_COUNT] = {0};
    kvg_err e;
    if (!c || !argc || !argv || *argc < 1)
        return KVG_EINVAL;
    if ((e = collect(argc, argv, vals, d)))
        return e;
    if (vals[A_CONFIG] && (e = kvg_config_load(c, vals[A_CONFIG], d)))
        return e;
    return apply(c, vals, d);
}
