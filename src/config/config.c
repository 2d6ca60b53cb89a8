/* kvguard: the YAML configuration file (SPEC §9).
 *
 * Every key is optional and checked: an unknown key, a wrong type, a bad enum
 * value or a negative number is refused with "FILE:LINE: key 'a.b': reason",
 * because a typo silently ignored in an admission webhook's config turns into
 * a policy nobody asked for. The keys are described by tables (one per
 * mapping) so that walking, type checks and messages exist once. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"
#include "kvguard/json.h"

#define CONFIG_MAX_BYTES (1u << 20)

/* ---- defaults -------------------------------------------------------------- */

static kvg_err dup_into(char **dst, const char *s)
{
    char *n = s ? strdup(s) : NULL;
    if (s && !n)
        return KVG_ENOMEM;
    free(*dst);
    *dst = n;
    return KVG_OK;
}

kvg_err kvg_config_init(kvg_config *c)
{
    kvg_err e;
    memset(c, 0, sizeof *c);
    kvg_policy_config_init(&c->policy);
    c->max_body_bytes = 7u << 20;
    c->idle_timeout_s = 120;
    c->shutdown_delay_s = 5;
    c->drain_timeout_s = 10;
    c->log_level = KVG_LOG_INFO;
    c->audit_log_max_bytes = 100u << 20;
    c->cluster_mode = KVG_CLUSTER_FILES;
    c->stale_after_s = 120;
    c->restore_cleanup = true;
    c->lease_duration_s = 15;
    c->renew_deadline_s = 10;
    c->retry_period_s = 2;
    if ((e = dup_into(&c->listen, "0.0.0.0:8443")) ||
        (e = dup_into(&c->tls_min_version, "1.2")) ||
        (e = dup_into(&c->rollback_image, KVG_DEFAULT_ROLLBACK_IMAGE)) ||
        (e = dup_into(&c->rollback_namespace, "kvguard-rollback")) ||
        (e = dup_into(&c->lease_name, "kvguard-reconciler")) ||
        (e = dup_into(&c->lease_namespace, "kvguard-system"))) {
        kvg_config_free(c);
        return e;
    }
    return KVG_OK;
}

void kvg_cfg_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

void kvg_config_free(kvg_config *c)
{
    if (!c)
        return;
    char **strs[] = {&c->listen, &c->tls_cert, &c->tls_key,
                     &c->tls_min_version, &c->audit_log, &c->cluster_state_dir,
                     &c->kubeconfig, &c->kube_context, &c->rollback_image,
                     &c->rollback_namespace, &c->zfs_snapshot_namespace,
                     &c->lease_name, &c->lease_namespace};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        free(*strs[i]);
    kvg_cfg_strv_free(c->clone_labels);
    kvg_policy_config_free(&c->policy);
    memset(c, 0, sizeof *c);
}

/* ---- shared value checks (file and flags) ---------------------------------- */

kvg_err kvg_cfg_check_listen(const char *s, char *why, size_t n)
{
    const char *colon = strrchr(s, ':');
    char *end;
    long port;
    if (!colon || colon == s) {
        snprintf(why, n, "'%.128s' is not ADDR:PORT", s);
        return KVG_ECONFIG;
    }
    port = strtol(colon + 1, &end, 10);
    /* Port 0: the kernel picks a free port (tests; logged at start). */
    if (!colon[1] || *end || port < 0 || port > 65535) {
        snprintf(why, n, "'%.128s': port must be 0-65535", s);
        return KVG_ECONFIG;
    }
    /* An IPv6 address has colons of its own and must be bracketed. */
    if (memchr(s, ':', (size_t)(colon - s)) &&
        (s[0] != '[' || colon[-1] != ']')) {
        snprintf(why, n, "'%.128s': write an IPv6 address as [ADDR]:PORT", s);
        return KVG_ECONFIG;
    }
    return KVG_OK;
}

/* ---- walking the document -------------------------------------------------- */

typedef struct cctx {
    const kvg_yaml_docs *docs;
    const char *name;
    const char *base_dir; /* relative paths in the file start here, or NULL */
    kvg_diag *d;
    char ptr[1024]; /* JSON pointer of the current node, "/0/policy/rules" */
    char key[1024]; /* the same as the user wrote it, "policy.rules" */
} cctx;

typedef struct mark {
    size_t ptr, key;
} mark;

static mark enter(cctx *c, const char *k)
{
    mark m = {strlen(c->ptr), strlen(c->key)};
    size_t p = m.ptr, q = m.key;
    if (p + 1 < sizeof c->ptr)
        c->ptr[p++] = '/';
    /* The YAML loader escapes keys as JSON pointers (RFC 6901). */
    for (const char *s = k; *s && p + 3 < sizeof c->ptr; s++) {
        if (*s == '~' || *s == '/') {
            c->ptr[p++] = '~';
            c->ptr[p++] = *s == '~' ? '0' : '1';
        } else {
            c->ptr[p++] = *s;
        }
    }
    c->ptr[p] = '\0';
    snprintf(c->key + q, sizeof c->key - q, "%s%s", q ? "." : "", k);
    return m;
}

static void leave(cctx *c, mark m)
{
    c->ptr[m.ptr] = '\0';
    c->key[m.key] = '\0';
}

static kvg_err cerr(cctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static kvg_err cerr(cctx *c, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    int line = kvg_yaml_line(c->docs, c->ptr);
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (line > 0)
        return kvg_diag_set(c->d, KVG_ECONFIG, "%s:%d: key '%s': %s", c->name,
                            line, c->key, why);
    return kvg_diag_set(c->d, KVG_ECONFIG, "%s: key '%s': %s", c->name,
                        c->key, why);
}

static const char *tname(json_object *v)
{
    return json_type_to_name(json_object_get_type(v));
}

static kvg_err want(cctx *c, json_object *v, json_type t, const char *what)
{
    if (json_object_is_type(v, t))
        return KVG_OK;
    return cerr(c, "must be %s (got %s)", what, tname(v));
}

static kvg_err get_str(cctx *c, json_object *v, char **dst)
{
    kvg_err e = want(c, v, json_type_string, "a string");
    if (e)
        return e;
    if (!*json_object_get_string(v))
        return cerr(c, "must not be empty");
    return dup_into(dst, json_object_get_string(v));
}

static kvg_err get_num(cctx *c, json_object *v, unsigned long long min,
                       unsigned long long max, unsigned long long *out)
{
    int64_t n;
    if (!json_object_is_type(v, json_type_int))
        return cerr(c, "must be an integer (got %s)", tname(v));
    n = json_object_get_int64(v);
    if (n < 0)
        return cerr(c, "must not be negative (got %lld)", (long long)n);
    if ((unsigned long long)n < min || (unsigned long long)n > max)
        return cerr(c, "must be between %llu and %llu (got %lld)", min, max,
                    (long long)n);
    *out = (unsigned long long)n;
    return KVG_OK;
}

/* A file or directory named in the config file: relative to the file's own
 * directory, as kubelet and kubeconfig files do, so that a config works
 * whatever the current directory of the process. */
static kvg_err get_path(cctx *c, json_object *v, char **dst)
{
    const char *p;
    char *joined;
    kvg_err e = get_str(c, v, dst);
    if (e || !c->base_dir || (*dst)[0] == '/')
        return e;
    p = *dst;
    if (asprintf(&joined, "%s/%s", c->base_dir, p) < 0)
        return KVG_ENOMEM;
    free(*dst);
    *dst = joined;
    return KVG_OK;
}

typedef enum ftype { F_STR, F_PATH, F_UINT, F_SIZE, F_BOOL, F_MAP, F_FN } ftype;

typedef kvg_err (*field_fn)(cctx *c, json_object *v, kvg_config *cfg);

typedef struct field {
    const char *key;
    ftype type;
    size_t off;               /* F_STR, F_UINT, F_SIZE, F_BOOL: in kvg_config */
    unsigned long long min, max; /* F_UINT, F_SIZE */
    const struct field *sub;  /* F_MAP: NULL-key-terminated table */
    field_fn fn;              /* F_FN */
} field;

static kvg_err apply_map(cctx *c, json_object *obj, const field *table,
                         kvg_config *cfg);

static kvg_err apply_field(cctx *c, const field *f, json_object *v,
                           kvg_config *cfg)
{
    char *base = (char *)cfg;
    unsigned long long n = 0;
    kvg_err e;
    switch (f->type) {
    case F_STR:
        return get_str(c, v, (char **)(base + f->off));
    case F_PATH:
        return get_path(c, v, (char **)(base + f->off));
    case F_UINT:
    case F_SIZE:
        if ((e = get_num(c, v, f->min, f->max, &n)))
            return e;
        if (f->type == F_UINT)
            *(unsigned *)(base + f->off) = (unsigned)n;
        else
            *(size_t *)(base + f->off) = (size_t)n;
        return KVG_OK;
    case F_BOOL:
        if ((e = want(c, v, json_type_boolean, "true or false")))
            return e;
        *(bool *)(base + f->off) = json_object_get_boolean(v);
        return KVG_OK;
    case F_MAP:
        return apply_map(c, v, f->sub, cfg);
    case F_FN:
        return f->fn(c, v, cfg);
    }
    return KVG_EINVAL;
}

static kvg_err apply_map(cctx *c, json_object *obj, const field *table,
                         kvg_config *cfg)
{
    kvg_err e = want(c, obj, json_type_object, "a mapping");
    if (e)
        return e;
    json_object_object_foreach(obj, k, v) {
        const field *f = table;
        mark m = enter(c, k);
        while (f->key && strcmp(f->key, k))
            f++;
        if (!f->key)
            e = cerr(c, "unknown key");
        else if (v) /* an empty value (YAML null) keeps the default */
            e = apply_field(c, f, v, cfg);
        if (e)
            return e;
        leave(c, m);
    }
    return KVG_OK;
}

/* ---- keys that need more than a type check --------------------------------- */

static kvg_err set_listen(cctx *c, json_object *v, kvg_config *cfg)
{
    char why[256];
    kvg_err e = want(c, v, json_type_string, "a string like 0.0.0.0:8443");
    if (e)
        return e;
    if (kvg_cfg_check_listen(json_object_get_string(v), why, sizeof why))
        return cerr(c, "%s", why);
    return dup_into(&cfg->listen, json_object_get_string(v));
}

static kvg_err set_tls_min(cctx *c, json_object *v, kvg_config *cfg)
{
    char text[32];
    /* Unquoted 1.2 is a YAML float; accept it as the operator meant it. */
    if (json_object_is_type(v, json_type_double))
        snprintf(text, sizeof text, "%.1f", json_object_get_double(v));
    else if (json_object_is_type(v, json_type_string))
        snprintf(text, sizeof text, "%.31s", json_object_get_string(v));
    else
        return cerr(c, "must be \"1.2\" or \"1.3\" (got %s)", tname(v));
    if (strcmp(text, "1.2") && strcmp(text, "1.3"))
        return cerr(c, "'%s' is not 1.2 or 1.3", text);
    return dup_into(&cfg->tls_min_version, text);
}

static kvg_err set_log_level(cctx *c, json_object *v, kvg_config *cfg)
{
    kvg_err e = want(c, v, json_type_string, "a string");
    if (e)
        return e;
    if (kvg_log_level_parse(json_object_get_string(v), &cfg->log_level))
        return cerr(c, "'%.64s' is not debug, info, warn or error",
                    json_object_get_string(v));
    return KVG_OK;
}

static kvg_err set_cluster_mode(cctx *c, json_object *v, kvg_config *cfg)
{
    kvg_err e = want(c, v, json_type_string, "a string");
    const char *s = json_object_get_string(v);
    if (e)
        return e;
    if (!strcmp(s, "files"))
        cfg->cluster_mode = KVG_CLUSTER_FILES;
    else if (!strcmp(s, "kube"))
        cfg->cluster_mode = KVG_CLUSTER_KUBE;
    else
        return cerr(c, "'%.64s' is not files or kube", s);
    return KVG_OK;
}

static kvg_err set_on_unavailable(cctx *c, json_object *v, kvg_config *cfg)
{
    kvg_err e = want(c, v, json_type_string, "a string");
    const char *s = json_object_get_string(v);
    if (e)
        return e;
    if (!strcmp(s, "deny"))
        cfg->policy.on_unavailable = KVG_UNAVAILABLE_DENY;
    else if (!strcmp(s, "allow"))
        cfg->policy.on_unavailable = KVG_UNAVAILABLE_ALLOW;
    else
        return cerr(c, "'%.64s' is not deny or allow", s);
    return KVG_OK;
}

static kvg_err set_rules(cctx *c, json_object *v, kvg_config *cfg)
{
    kvg_err e = want(c, v, json_type_object, "a mapping of rule id to action");
    if (e)
        return e;
    json_object_object_foreach(v, k, a) {
        mark m = enter(c, k);
        kvg_rule_id id;
        kvg_action act;
        if (kvg_rule_find(k, &id))
            return cerr(c, "unknown rule");
        /* Plain `off` is the boolean false for YAML 1.1 readers (ours
         * follows Kubernetes'): it can only mean the action off. */
        if (a && json_object_is_type(a, json_type_boolean) &&
            !json_object_get_boolean(a)) {
            cfg->policy.actions[id] = KVG_ACTION_OFF;
            leave(c, m);
            continue;
        }
        if (!a || !json_object_is_type(a, json_type_string))
            return cerr(c, "must be enforce, warn, audit or off (got %s)",
                        a ? tname(a) : "null");
        if (kvg_action_parse(json_object_get_string(a), &act))
            return cerr(c, "'%.64s' is not enforce, warn, audit or off",
                        json_object_get_string(a));
        cfg->policy.actions[id] = act;
        leave(c, m);
    }
    return KVG_OK;
}

/* A list of strings -> NULL-terminated vector (replaces *dst). */
static kvg_err set_strv(cctx *c, json_object *v, char ***dst)
{
    size_t n;
    char **vec;
    kvg_err e = want(c, v, json_type_array, "a list of strings");
    if (e)
        return e;
    n = json_object_array_length(v);
    if (!(vec = calloc(n + 1, sizeof *vec)))
        return KVG_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_object *s = json_object_array_get_idx(v, i);
        if (!s || !json_object_is_type(s, json_type_string) ||
            !*json_object_get_string(s)) {
            kvg_cfg_strv_free(vec);
            return cerr(c, "item %zu must be a non-empty string", i + 1);
        }
        if (!(vec[i] = strdup(json_object_get_string(s)))) {
            kvg_cfg_strv_free(vec);
            return KVG_ENOMEM;
        }
    }
    kvg_cfg_strv_free(*dst);
    *dst = vec;
    return KVG_OK;
}

static kvg_err set_excluded(cctx *c, json_object *v, kvg_config *cfg)
{
    return set_strv(c, v, &cfg->policy.excluded_namespaces);
}

static kvg_err set_labels(cctx *c, json_object *v, kvg_config *cfg)
{
    size_t n = 0;
    char **vec;
    kvg_err e = want(c, v, json_type_object, "a mapping of label to value");
    if (e)
        return e;
    if (!(vec = calloc((size_t)json_object_object_length(v) + 1, sizeof *vec)))
        return KVG_ENOMEM;
    json_object_object_foreach(v, k, val) {
        mark m = enter(c, k);
        if (!val || !json_object_is_type(val, json_type_string)) {
            kvg_cfg_strv_free(vec);
            return cerr(c, "label values must be strings (got %s); quote it",
                        val ? tname(val) : "null");
        }
        if (asprintf(&vec[n], "%s=%s", k, json_object_get_string(val)) < 0) {
            vec[n] = NULL;
            kvg_cfg_strv_free(vec);
            return KVG_ENOMEM;
        }
        n++;
        leave(c, m);
    }
    kvg_cfg_strv_free(cfg->clone_labels);
    cfg->clone_labels = vec;
    return KVG_OK;
}

/* One capability entry: {snapshot, restore, clone, onlineSnapshot: bool};
 * a key left out stays KVG_UNKNOWN, i.e. the built-in table decides. */
static kvg_err set_capability(cctx *c, json_object *v, kvg_capability *cap)
{
    static const char *const keys[] = {"snapshot", "restore", "clone",
                                       "onlineSnapshot"};
    kvg_tristate *slots[] = {&cap->snapshot, &cap->restore, &cap->clone,
                             &cap->online_snapshot};
    kvg_err e = want(c, v, json_type_object, "a mapping");
    if (e)
        return e;
    json_object_object_foreach(v, k, b) {
        mark m = enter(c, k);
        size_t i = 0;
        while (i < 4 && strcmp(keys[i], k))
            i++;
        if (i == 4)
            return cerr(c, "unknown key (snapshot, restore, clone, "
                           "onlineSnapshot)");
        if (b) {
            if ((e = want(c, b, json_type_boolean, "true or false")))
                return e;
            *slots[i] = json_object_get_boolean(b) ? KVG_YES : KVG_NO;
        }
        leave(c, m);
    }
    return KVG_OK;
}

static kvg_err set_caps(cctx *c, json_object *v, kvg_capability **arr,
                        size_t *n)
{
    kvg_err e = want(c, v, json_type_object, "a mapping of name to capabilities");
    if (e)
        return e;
    json_object_object_foreach(v, k, entry) {
        mark m = enter(c, k);
        kvg_capability cap = {NULL, KVG_UNKNOWN, KVG_UNKNOWN, KVG_UNKNOWN,
                              KVG_UNKNOWN};
        kvg_capability *grown;
        size_t i = 0;
        if (entry && (e = set_capability(c, entry, &cap)))
            return e;
        /* A name given again (second file, flags) replaces its entry. */
        while (i < *n && strcmp((*arr)[i].provisioner, k))
            i++;
        if (i == *n) {
            if (!(grown = realloc(*arr, (*n + 1) * sizeof *grown)))
                return KVG_ENOMEM;
            *arr = grown;
            if (!(cap.provisioner = strdup(k)))
                return KVG_ENOMEM;
            (*n)++;
        } else {
            cap.provisioner = (*arr)[i].provisioner;
        }
        (*arr)[i] = cap;
        leave(c, m);
    }
    return KVG_OK;
}

static kvg_err set_provisioners(cctx *c, json_object *v, kvg_config *cfg)
{
    return set_caps(c, v, &cfg->policy.provisioner_overrides,
                    &cfg->policy.n_provisioner_overrides);
}

static kvg_err set_storage_classes(cctx *c, json_object *v, kvg_config *cfg)
{
    return set_caps(c, v, &cfg->policy.storageclass_overrides,
                    &cfg->policy.n_storageclass_overrides);
}

/* ---- the key tables -------------------------------------------------------- */

#define OFF(m) offsetof(kvg_config, m)
#define STR(k, m) {k, F_STR, OFF(m), 0, 0, NULL, NULL}
#define PATH(k, m) {k, F_PATH, OFF(m), 0, 0, NULL, NULL}
#define UINT(k, m, lo, hi) {k, F_UINT, OFF(m), lo, hi, NULL, NULL}
#define SIZE(k, m, lo, hi) {k, F_SIZE, OFF(m), lo, hi, NULL, NULL}
#define BOOL(k, m) {k, F_BOOL, OFF(m), 0, 0, NULL, NULL}
#define MAP(k, t) {k, F_MAP, 0, 0, 0, t, NULL}
#define FN(k, f) {k, F_FN, 0, 0, 0, NULL, f}
#define END {NULL, F_STR, 0, 0, 0, NULL, NULL}

static const field tls_keys[] = {
    PATH("certFile", tls_cert), PATH("keyFile", tls_key),
    FN("minVersion", set_tls_min), END};
static const field audit_keys[] = {
    PATH("file", audit_log), SIZE("maxBytes", audit_log_max_bytes, 0, 1ull << 40),
    END};
static const field cluster_keys[] = {
    FN("mode", set_cluster_mode), PATH("stateDir", cluster_state_dir),
    PATH("kubeconfig", kubeconfig), STR("context", kube_context),
    UINT("staleAfterSeconds", stale_after_s, 0, 86400), END};
static const field policy_fallback_keys[] = {
    BOOL("enabled", policy.clone_fallback_enabled), END};
static const field capability_keys[] = {
    FN("provisioners", set_provisioners),
    FN("storageClasses", set_storage_classes), END};
static const field policy_keys[] = {
    FN("excludedNamespaces", set_excluded), FN("rules", set_rules),
    FN("onClusterStateUnavailable", set_on_unavailable),
    MAP("cloneFallback", policy_fallback_keys),
    MAP("capabilities", capability_keys), END};
static const field rollback_keys[] = {
    STR("image", rollback_image), STR("namespace", rollback_namespace), END};
static const field lease_keys[] = {
    STR("leaseName", lease_name), STR("leaseNamespace", lease_namespace),
    UINT("leaseDurationSeconds", lease_duration_s, 1, 3600),
    UINT("renewDeadlineSeconds", renew_deadline_s, 1, 3600),
    UINT("retryPeriodSeconds", retry_period_s, 1, 3600), END};
static const field reconciler_fallback_keys[] = {
    BOOL("startAfterClone", clone_start_after), FN("labels", set_labels), END};
static const field reconciler_keys[] = {
    BOOL("restoreCleanup", restore_cleanup), BOOL("dryRun", dry_run),
    BOOL("startAfterRestore", start_after_restore),
    MAP("rollbackJob", rollback_keys),
    STR("zfsSnapshotNamespace", zfs_snapshot_namespace),
    MAP("leaderElection", lease_keys),
    MAP("cloneFallback", reconciler_fallback_keys), END};
static const field top_keys[] = {
    FN("listen", set_listen), MAP("tls", tls_keys),
    SIZE("maxBodyBytes", max_body_bytes, 1024, 256ull << 20),
    UINT("workers", workers, 0, 1024),
    /* The apiserver keeps idle connections for 90 s: closing earlier makes
     * it send requests into connections we are closing. */
    UINT("idleTimeoutSeconds", idle_timeout_s, 91, 86400),
    UINT("shutdownDelaySeconds", shutdown_delay_s, 0, 3600),
    UINT("drainTimeoutSeconds", drain_timeout_s, 0, 3600),
    FN("logLevel", set_log_level), MAP("audit", audit_keys),
    MAP("cluster", cluster_keys), MAP("policy", policy_keys),
    MAP("reconciler", reconciler_keys), END};

/* client-go's leader election refuses these too; say so at load time. */
static kvg_err check_lease(cctx *c, const kvg_config *cfg)
{
    mark m = enter(c, "reconciler");
    mark m2 = enter(c, "leaderElection");
    kvg_err e = KVG_OK;
    if (cfg->lease_duration_s <= cfg->renew_deadline_s)
        e = cerr(c, "leaseDurationSeconds (%u) must be greater than "
                    "renewDeadlineSeconds (%u)", cfg->lease_duration_s,
                 cfg->renew_deadline_s);
    else if (cfg->renew_deadline_s <= cfg->retry_period_s)
        e = cerr(c, "renewDeadlineSeconds (%u) must be greater than "
                    "retryPeriodSeconds (%u)", cfg->renew_deadline_s,
                 cfg->retry_period_s);
    leave(c, m2);
    leave(c, m);
    return e;
}

static kvg_err load_text(kvg_config *c, const char *text, size_t len,
                         const char *name, const char *base_dir, kvg_diag *d)
{
    kvg_yaml_docs docs;
    cctx ctx = {.docs = &docs, .name = name ? name : "<config>",
                .base_dir = base_dir, .d = d};
    kvg_err e;
    if (!c)
        return KVG_EINVAL;
    e = kvg_yaml_parse(text ? text : "", text ? len : 0, ctx.name, &docs, d);
    if (e)
        return e == KVG_ENOMEM ? e : KVG_ECONFIG;
    if (docs.count > 1)
        e = kvg_diag_set(d, KVG_ECONFIG, "%s:%d: a second YAML document: the "
                         "config is one mapping", ctx.name, docs.docs[1].line);
    else if (docs.count == 1 && docs.docs[0].obj) {
        snprintf(ctx.ptr, sizeof ctx.ptr, "/0");
        if (!json_object_is_type(docs.docs[0].obj, json_type_object))
            e = kvg_diag_set(d, KVG_ECONFIG, "%s:%d: the config must be a "
                             "mapping of keys (got %s)", ctx.name,
                             docs.docs[0].line, tname(docs.docs[0].obj));
        else
            e = apply_map(&ctx, docs.docs[0].obj, top_keys, c);
        if (!e)
            e = check_lease(&ctx, c);
    }
    kvg_yaml_docs_free(&docs);
    return e;
}

kvg_err kvg_config_load_text(kvg_config *c, const char *text, size_t len,
                             const char *name, kvg_diag *d)
{
    return load_text(c, text, len, name, NULL, d);
}

kvg_err kvg_config_load(kvg_config *c, const char *path, kvg_diag *d)
{
    const char *slash;
    char *dir = NULL;
    kvg_buf b;
    kvg_err e;
    if (!c || !path)
        return KVG_EINVAL;
    /* "kvguard.yaml" alone: its directory is the current one, no prefix */
    if ((slash = strrchr(path, '/')) &&
        !(dir = strndup(path, slash == path ? 1 : (size_t)(slash - path))))
        return KVG_ENOMEM;
    kvg_buf_init(&b, CONFIG_MAX_BYTES);
    e = kvg_buf_read_file(&b, path, d);
    if (!e)
        e = load_text(c, b.data, b.len, path, dir, d);
    kvg_buf_free(&b);
    free(dir);
    return e;
}
