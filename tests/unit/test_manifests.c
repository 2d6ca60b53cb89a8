/* Checks of the deployment manifests (manifests/, tools/gen-webhook-certs.sh):
 * what the apiserver sends to kvguard, how safely it runs, and with which
 * rights. Each list of expectations below is the contract of
 * docs/operations.md; changing a manifest means changing it here too. */
#include <check.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/buf.h"
#include "kvguard/config.h"
#include "kvguard/json.h"
#include "kvguard/policy.h"
#include "kvguard/view.h"
#include "testlib.h"

#define BASE "manifests/base"
#define NS "kvguard-system"

/* ---- loading ---------------------------------------------------------------- */

static void append_docs(json_object *arr, const char *text, size_t len,
                        const char *name)
{
    kvg_yaml_docs docs;
    kvg_diag d = {{0}};
    kvg_err e = kvg_yaml_parse(text, len, name, &docs, &d);
    ck_assert_msg(e == KVG_OK, "%s: %s", name, d.msg);
    for (size_t i = 0; i < docs.count; i++)
        if (docs.docs[i].obj)
            json_object_array_add(arr, json_object_get(docs.docs[i].obj));
    kvg_yaml_docs_free(&docs);
}

/* Every document of a YAML file, as a json array (caller puts it). */
static json_object *load_abs(const char *path)
{
    kvg_buf b;
    kvg_diag d = {{0}};
    json_object *arr = json_object_new_array();
    kvg_buf_init(&b, 0);
    ck_assert_msg(kvg_buf_read_file(&b, path, &d) == KVG_OK, "%s: %s", path,
                  d.msg);
    append_docs(arr, b.data ? b.data : "", b.len, path);
    kvg_buf_free(&b);
    return arr;
}

static json_object *load_rel(const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", KVG_SOURCE_DIR, rel);
    return load_abs(path);
}

/* The first document of a file that holds exactly one. */
static json_object *load_one(const char *rel)
{
    json_object *arr = load_rel(rel);
    ck_assert_int_eq((int)json_object_array_length(arr), 1);
    json_object *o = json_object_get(json_object_array_get_idx(arr, 0));
    json_object_put(arr);
    return o;
}

static json_object *base;          /* every object of manifests/base */
static json_object *kustomization; /* manifests/base/kustomization.yaml */

static void base_setup(void)
{
    char rel[512];
    kustomization = load_one(BASE "/kustomization.yaml");
    json_object *res = kvg_json_array(kustomization, "resources", NULL);
    ck_assert_ptr_nonnull(res);
    base = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(res); i++) {
        const char *f = kvg_json_as_str(json_object_array_get_idx(res, i));
        ck_assert_ptr_nonnull(f);
        snprintf(rel, sizeof rel, BASE "/%s", f);
        json_object *docs = load_rel(rel);
        for (size_t j = 0; j < json_object_array_length(docs); j++)
            json_object_array_add(
                base, json_object_get(json_object_array_get_idx(docs, j)));
        json_object_put(docs);
    }
}

static void base_teardown(void)
{
    json_object_put(base);
    json_object_put(kustomization);
    base = kustomization = NULL;
}

/* ---- small helpers -------------------------------------------------------- */

static json_object *at(const json_object *arr, size_t i)
{
    return json_object_array_get_idx(arr, i);
}

static size_t len(const json_object *arr)
{
    return arr ? json_object_array_length(arr) : 0;
}

static json_object *find(const char *kind, const char *name, const char *ns)
{
    for (size_t i = 0; i < len(base); i++) {
        json_object *o = at(base, i);
        const char *ons = kvg_json_str(o, "metadata", "namespace", NULL);
        if (kvg_json_str_eq(o, "kind", kind) &&
            kvg_json_str_eq(kvg_json_path(o, "metadata", NULL), "name", name) &&
            (!ns || (ons && !strcmp(ons, ns))))
            return o;
    }
    ck_abort_msg("%s %s not in %s", kind, name, BASE);
    return NULL;
}

static bool has_str(const json_object *arr, const char *s)
{
    for (size_t i = 0; i < len(arr); i++) {
        const char *v = kvg_json_as_str(at(arr, i));
        if (v && !strcmp(v, s))
            return true;
    }
    return false;
}

/* The array holds exactly these strings, in any order. */
static void assert_strings(const json_object *arr, const char *what,
                           const char *const *want, size_t n)
{
    ck_assert_msg(len(arr) == n, "%s: %zu entries, want %zu", what, len(arr), n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(has_str(arr, want[i]), "%s: '%s' missing", what, want[i]);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A set of strings, kept sorted and joined for a readable comparison. */
typedef struct strset {
    char *items[256];
    size_t n;
} strset;

static void set_add(strset *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_add(strset *s, const char *fmt, ...)
{
    va_list ap;
    ck_assert_uint_lt(s->n, sizeof s->items / sizeof s->items[0]);
    va_start(ap, fmt);
    ck_assert_int_ge(vasprintf(&s->items[s->n++], fmt, ap), 0);
    va_end(ap);
}

static bool set_has(const strset *s, const char *item)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->items[i], item))
            return true;
    return false;
}

static void set_free(strset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->items[i]);
    s->n = 0;
}

/* Appends "<sign> item" for every item of a that b lacks (bounded: Check
 * refuses messages of more than a few KiB). */
static void set_diff(const strset *a, const strset *b, char sign, kvg_buf *out)
{
    for (size_t i = 0; i < a->n; i++)
        if (!set_has(b, a->items[i]))
            (void)kvg_buf_printf(out, "%c %s\n", sign, a->items[i]);
}

/* Frees both sets. */
static void assert_sets_equal(strset *got, strset *want, const char *what)
{
    kvg_buf diff;
    kvg_buf_init(&diff, 2048);
    set_diff(got, want, '+', &diff);
    set_diff(want, got, '-', &diff);
    bool same = got->n == want->n && diff.len == 0;
    set_free(got);
    set_free(want);
    if (!same)
        ck_abort_msg("%s (+ unexpected, - missing):\n%s", what,
                     diff.data ? diff.data : "(duplicates)");
    kvg_buf_free(&diff);
}

/* ---- the routing contract ------------------------------------------------- */

typedef struct route {
    const char *group, *kind, *resource;
    const char *versions[3];
    bool validate_update; /* UPDATE routed to /validate (the *-immutable rules) */
} route;

/* What the engine decides (SPEC §3). Mutations happen at CREATE only. */
static const route routes[] = {
    {"snapshot.kubevirt.io", "VirtualMachineSnapshot", "virtualmachinesnapshots",
     {"v1alpha1", "v1beta1", NULL}, true},
    {"snapshot.kubevirt.io", "VirtualMachineRestore", "virtualmachinerestores",
     {"v1alpha1", "v1beta1", NULL}, true},
    {"clone.kubevirt.io", "VirtualMachineClone", "virtualmachineclones",
     {"v1alpha1", "v1beta1", NULL}, true},
    {"cdi.kubevirt.io", "DataVolume", "datavolumes", {"v1beta1", NULL}, false},
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

static const char *const config_kinds[] = {"ValidatingWebhookConfiguration",
                                           "MutatingWebhookConfiguration"};

static json_object *webhooks_of(const char *kind)
{
    json_object *w = kvg_json_array(find(kind, "kvguard", NULL), "webhooks", NULL);
    ck_assert_msg(len(w) > 0, "%s kvguard has no webhooks", kind);
    return w;
}

static void collect_routes(const char *kind, strset *got)
{
    json_object *hooks = webhooks_of(kind);
    for (size_t h = 0; h < len(hooks); h++) {
        json_object *rules = kvg_json_array(at(hooks, h), "rules", NULL);
        ck_assert_uint_gt(len(rules), 0);
        for (size_t r = 0; r < len(rules); r++) {
            json_object *rule = at(rules, r);
            json_object *g = kvg_json_array(rule, "apiGroups", NULL),
                        *v = kvg_json_array(rule, "apiVersions", NULL),
                        *res = kvg_json_array(rule, "resources", NULL),
                        *ops = kvg_json_array(rule, "operations", NULL);
            ck_assert_str_eq(kvg_json_str(rule, "scope", NULL), "Namespaced");
            for (size_t a = 0; a < len(g); a++)
                for (size_t b = 0; b < len(v); b++)
                    for (size_t c = 0; c < len(res); c++)
                        for (size_t d = 0; d < len(ops); d++)
                            set_add(got, "%s/%s/%s %s",
                                    kvg_json_as_str(at(g, a)),
                                    kvg_json_as_str(at(v, b)),
                                    kvg_json_as_str(at(res, c)),
                                    kvg_json_as_str(at(ops, d)));
        }
    }
}

START_TEST(webhooks_route_exactly_the_handled_kinds)
{
    for (size_t k = 0; k < 2; k++) {
        bool validating = k == 0;
        strset got = {0}, want = {0};
        collect_routes(config_kinds[k], &got);
        for (size_t i = 0; i < N_ROUTES; i++)
            for (const char *const *v = routes[i].versions; *v; v++) {
                set_add(&want, "%s/%s/%s CREATE", routes[i].group, *v,
                        routes[i].resource);
                if (validating && routes[i].validate_update)
                    set_add(&want, "%s/%s/%s UPDATE", routes[i].group, *v,
                            routes[i].resource);
            }
        assert_sets_equal(&got, &want, config_kinds[k]);
    }
}
END_TEST

/* The values of the namespaceSelector expression on `key`, or NULL. */
static json_object *selector_values(const json_object *hook, const char *key)
{
    json_object *exprs =
        kvg_json_array(hook, "namespaceSelector", "matchExpressions", NULL);
    for (size_t i = 0; i < len(exprs); i++)
        if (kvg_json_str_eq(at(exprs, i), "key", key))
            return kvg_json_array(at(exprs, i), "values", NULL);
    return NULL;
}

/* Kinds next to the handled ones that kvguard must not be asked about (a
 * webhook on VirtualMachine or PersistentVolumeClaim would put kvguard in the
 * path of every VM start and every volume). */
static const char *const not_handled[][2] = {
    {"kubevirt.io", "VirtualMachine"},
    {"kubevirt.io", "VirtualMachineInstance"},
    {"snapshot.kubevirt.io", "VirtualMachineSnapshotContent"},
    {"export.kubevirt.io", "VirtualMachineExport"},
    {"pool.kubevirt.io", "VirtualMachinePool"},
    {"cdi.kubevirt.io", "DataSource"},
    {"cdi.kubevirt.io", "StorageProfile"},
    {"", "PersistentVolumeClaim"},
    {"", "Pod"},
    {"snapshot.storage.k8s.io", "VolumeSnapshot"},
    {"zfs.openebs.io", "ZFSVolume"},
    {"zfs.openebs.io", "ZFSSnapshot"},
};

static const route *route_of(const char *group, const char *resource)
{
    for (size_t i = 0; i < N_ROUTES; i++)
        if (!strcmp(routes[i].group, group) && !strcmp(routes[i].resource, resource))
            return &routes[i];
    return NULL;
}

/* The routed versions are the versions the cluster view knows for the kind
 * (matchPolicy Equivalent covers conversions, but a version the view cannot
 * decode must not be sent). */
static void check_versions(const route *rt)
{
    kvg_kind k;
    ck_assert_msg(kvg_kind_from_gk(rt->group, rt->kind, &k) == KVG_OK,
                  "%s %s is not a kind of the cluster view", rt->group, rt->kind);
    const kvg_kind_info *ki = kvg_kind_info_get(k);
    size_t n = 0;
    for (const char *const *v = ki->versions; v && *v; v++, n++) {
        bool routed = false;
        for (const char *const *r = rt->versions; *r; r++)
            routed |= !strcmp(*r, *v);
        ck_assert_msg(routed, "%s: version %s not routed", rt->kind, *v);
    }
    size_t nr = 0;
    while (rt->versions[nr])
        nr++;
    ck_assert_msg(n == nr, "%s: %zu routed versions, the view knows %zu", rt->kind,
                  nr, n);
}

/* The engine and the webhook configurations agree: every routed resource is
 * a kind the engine handles, every kind it handles is routed to both paths,
 * and its neighbours are neither. */
START_TEST(routed_kinds_are_the_engine_kinds)
{
    for (size_t k = 0; k < 2; k++) {
        json_object *hooks = webhooks_of(config_kinds[k]);
        bool seen[N_ROUTES] = {false};
        for (size_t h = 0; h < len(hooks); h++) {
            json_object *rules = kvg_json_array(at(hooks, h), "rules", NULL);
            for (size_t r = 0; r < len(rules); r++) {
                json_object *g = kvg_json_array(at(rules, r), "apiGroups", NULL),
                            *res = kvg_json_array(at(rules, r), "resources", NULL);
                for (size_t a = 0; a < len(g); a++)
                    for (size_t b = 0; b < len(res); b++) {
                        const char *group = kvg_json_as_str(at(g, a)),
                                   *resource = kvg_json_as_str(at(res, b));
                        const route *rt = route_of(group, resource);
                        ck_assert_msg(rt, "%s routes %s/%s, unknown to this test",
                                      config_kinds[k], group, resource);
                        ck_assert_msg(kvg_policy_handles(group, rt->kind),
                                      "%s routes %s/%s but the engine does not "
                                      "handle %s", config_kinds[k], group,
                                      resource, rt->kind);
                        seen[rt - routes] = true;
                    }
            }
        }
        for (size_t i = 0; i < N_ROUTES; i++) {
            ck_assert(kvg_policy_handles(routes[i].group, routes[i].kind));
            check_versions(&routes[i]);
            ck_assert_msg(seen[i], "%s does not route %s", config_kinds[k],
                          routes[i].kind);
        }
    }
    for (size_t i = 0; i < sizeof not_handled / sizeof not_handled[0]; i++)
        ck_assert_msg(!kvg_policy_handles(not_handled[i][0], not_handled[i][1]),
                      "the engine handles %s %s: route it and list it in routes[]",
                      not_handled[i][0], not_handled[i][1]);
}
END_TEST

static void check_namespace_selector(const json_object *hook, const char *name)
{
    static const char *const excluded[] = {"kube-system", NS};
    static const char *const optout[] = {"true"};
    json_object *exprs =
        kvg_json_array(hook, "namespaceSelector", "matchExpressions", NULL);
    bool by_name = false, by_label = false;
    for (size_t i = 0; i < len(exprs); i++) {
        json_object *e = at(exprs, i);
        json_object *values = kvg_json_array(e, "values", NULL);
        ck_assert_str_eq(kvg_json_str(e, "operator", NULL), "NotIn");
        if (kvg_json_str_eq(e, "key", "kubernetes.io/metadata.name")) {
            assert_strings(values, name, excluded, 2);
            by_name = true;
        } else if (kvg_json_str_eq(e, "key", "kvguard.io/exclude")) {
            assert_strings(values, name, optout, 1);
            by_label = true;
        }
    }
    ck_assert_msg(by_name && by_label,
                  "%s: namespaceSelector must exclude kube-system and " NS
                  " by name and honour kvguard.io/exclude=true", name);
}

static void check_hook(const json_object *hook, bool validating)
{
    static const char *const v1[] = {"v1"};
    const char *name = kvg_json_str(hook, "name", NULL);
    ck_assert_ptr_nonnull(name);
    ck_assert_str_eq(kvg_json_str(hook, "sideEffects", NULL), "None");
    ck_assert_int_eq(kvg_json_int(0, hook, "timeoutSeconds", NULL), 5);
    ck_assert_str_eq(kvg_json_str(hook, "failurePolicy", NULL), "Fail");
    ck_assert_str_eq(kvg_json_str(hook, "matchPolicy", NULL), "Equivalent");
    assert_strings(kvg_json_array(hook, "admissionReviewVersions", NULL), name,
                   v1, 1);
    check_namespace_selector(hook, name);
    json_object *svc = kvg_json_path(hook, "clientConfig", "service", NULL);
    ck_assert_str_eq(kvg_json_str(svc, "name", NULL), "kvguard-webhook");
    ck_assert_str_eq(kvg_json_str(svc, "namespace", NULL), NS);
    ck_assert_int_eq(kvg_json_int(0, svc, "port", NULL), 443);
    ck_assert_str_eq(kvg_json_str(svc, "path", NULL),
                     validating ? "/validate" : "/mutate");
    ck_assert_msg(!kvg_json_path(hook, "clientConfig", "url", NULL) &&
                  !kvg_json_path(hook, "clientConfig", "caBundle", NULL),
                  "%s: no url and no caBundle in the base (overlays add it)", name);
    if (!validating)
        ck_assert_str_eq(kvg_json_str(hook, "reinvocationPolicy", NULL),
                         "IfNeeded");
}

START_TEST(every_webhook_fails_closed_fast_and_excludes_system_namespaces)
{
    strset names = {0};
    for (size_t k = 0; k < 2; k++) {
        json_object *hooks = webhooks_of(config_kinds[k]);
        for (size_t h = 0; h < len(hooks); h++) {
            check_hook(at(hooks, h), k == 0);
            set_add(&names, "%s", kvg_json_str(at(hooks, h), "name", NULL));
        }
    }
    /* Names are unique across both configurations: apiserver metrics and
     * errors are labelled by webhook name alone. */
    qsort(names.items, names.n, sizeof names.items[0], cmp_str);
    for (size_t i = 1; i < names.n; i++)
        ck_assert_str_ne(names.items[i - 1], names.items[i]);
    set_free(&names);
}
END_TEST

/* Metadata-only UPDATEs (finalizers, the reconciler's annotations) must not
 * reach kvguard, or KubeVirt's controllers stall whenever it is down. */
START_TEST(validating_updates_only_when_spec_changes)
{
    json_object *hooks = webhooks_of("ValidatingWebhookConfiguration");
    for (size_t h = 0; h < len(hooks); h++) {
        json_object *hook = at(hooks, h);
        json_object *ops = kvg_json_array(at(kvg_json_array(hook, "rules", NULL), 0),
                                          "operations", NULL);
        if (!has_str(ops, "UPDATE"))
            continue;
        json_object *mc = kvg_json_array(hook, "matchConditions", NULL);
        ck_assert_int_eq((int)len(mc), 1);
        const char *expr = kvg_json_str(at(mc, 0), "expression", NULL);
        ck_assert_ptr_nonnull(expr);
        ck_assert_ptr_nonnull(strstr(expr, "request.operation != 'UPDATE'"));
        ck_assert_ptr_nonnull(strstr(expr, "object.spec != oldObject.spec"));
    }
}
END_TEST

/* ---- workloads ---------------------------------------------------------------- */

static void check_container(const json_object *c)
{
    static const char *const all[] = {"ALL"};
    const char *name = kvg_json_str(c, "name", NULL);
    json_object *sc = kvg_json_path(c, "securityContext", NULL);
    ck_assert_msg(sc, "container %s: no securityContext", name);
    ck_assert(!kvg_json_bool(true, sc, "allowPrivilegeEscalation", NULL));
    ck_assert(kvg_json_bool(false, sc, "readOnlyRootFilesystem", NULL));
    ck_assert(!kvg_json_bool(false, sc, "privileged", NULL));
    assert_strings(kvg_json_array(sc, "capabilities", "drop", NULL), name, all, 1);
    ck_assert_ptr_null(kvg_json_path(sc, "capabilities", "add", NULL));
    ck_assert_ptr_nonnull(kvg_json_str(c, "resources", "requests", "cpu", NULL));
    ck_assert_ptr_nonnull(kvg_json_str(c, "resources", "requests", "memory", NULL));
    ck_assert_ptr_nonnull(kvg_json_str(c, "resources", "limits", "memory", NULL));
}

static void check_restricted_pod(const json_object *pod, const char *what)
{
    json_object *sc = kvg_json_path(pod, "securityContext", NULL);
    ck_assert_msg(kvg_json_bool(false, sc, "runAsNonRoot", NULL),
                  "%s: runAsNonRoot", what);
    ck_assert_int_eq(kvg_json_int(0, sc, "runAsUser", NULL), 65532);
    ck_assert_str_eq(kvg_json_str(sc, "seccompProfile", "type", NULL),
                     "RuntimeDefault");
    ck_assert(!kvg_json_bool(false, pod, "hostNetwork", NULL));
    ck_assert(!kvg_json_bool(false, pod, "hostPID", NULL));
    ck_assert(!kvg_json_bool(false, pod, "hostIPC", NULL));
    json_object *vols = kvg_json_array(pod, "volumes", NULL);
    for (size_t i = 0; i < len(vols); i++)
        ck_assert_msg(!kvg_json_path(at(vols, i), "hostPath", NULL),
                      "%s: hostPath volume", what);
    json_object *cs = kvg_json_array(pod, "containers", NULL);
    ck_assert_uint_gt(len(cs), 0);
    for (size_t i = 0; i < len(cs); i++)
        check_container(at(cs, i));
    json_object *init = kvg_json_array(pod, "initContainers", NULL);
    for (size_t i = 0; i < len(init); i++)
        check_container(at(init, i));
}

static bool spreads_over_nodes(const json_object *pod)
{
    json_object *tsc = kvg_json_array(pod, "topologySpreadConstraints", NULL);
    for (size_t i = 0; i < len(tsc); i++)
        if (kvg_json_str_eq(at(tsc, i), "topologyKey", "kubernetes.io/hostname"))
            return true;
    return false;
}

static void check_deployment(const char *name, const char *command)
{
    json_object *d = find("Deployment", name, NS);
    json_object *pod = kvg_json_path(d, "spec", "template", "spec", NULL);
    json_object *c0 = at(kvg_json_array(pod, "containers", NULL), 0);
    json_object *args = kvg_json_array(c0, "args", NULL);
    ck_assert_int_eq(kvg_json_int(0, d, "spec", "replicas", NULL), 2);
    ck_assert_str_eq(kvg_json_str(pod, "serviceAccountName", NULL), name);
    check_restricted_pod(pod, name);
    ck_assert_msg(spreads_over_nodes(pod), "%s: no spread over nodes", name);
    ck_assert_int_eq((int)len(args), 3);
    ck_assert_str_eq(kvg_json_as_str(at(args, 0)), command);
    ck_assert_str_eq(kvg_json_as_str(at(args, 1)), "--config");
    ck_assert_str_eq(kvg_json_as_str(at(args, 2)), "/etc/kvguard/config.yaml");
    /* A PDB that keeps one replica through voluntary disruptions. */
    json_object *pdb = find("PodDisruptionBudget", name, NS);
    ck_assert_int_eq(kvg_json_int(0, pdb, "spec", "minAvailable", NULL), 1);
    json_object *sel = kvg_json_path(pdb, "spec", "selector", "matchLabels", NULL);
    json_object *plabels =
        kvg_json_path(d, "spec", "template", "metadata", "labels", NULL);
    json_object_object_foreach(sel, k, v)
        ck_assert_msg(kvg_json_str_eq(plabels, k, kvg_json_as_str(v)),
                      "PDB %s selects %s which the pods lack", name, k);
}

START_TEST(deployments_are_restricted_and_replicated)
{
    check_deployment("kvguard-webhook", "serve");
    check_deployment("kvguard-reconciler", "reconcile");
}
END_TEST

static json_object *container_port(const json_object *c, const char *name)
{
    json_object *ports = kvg_json_array(c, "ports", NULL);
    for (size_t i = 0; i < len(ports); i++)
        if (kvg_json_str_eq(at(ports, i), "name", name))
            return at(ports, i);
    ck_abort_msg("no container port named %s", name);
    return NULL;
}

static void check_probe(const json_object *c, const char *probe, const char *path)
{
    json_object *g = kvg_json_path(c, probe, "httpGet", NULL);
    ck_assert_msg(g, "%s missing", probe);
    ck_assert_str_eq(kvg_json_str(g, "scheme", NULL), "HTTPS");
    ck_assert_str_eq(kvg_json_str(g, "path", NULL), path);
    ck_assert_int_eq(kvg_json_int(0, g, "port", NULL), 8443);
}

START_TEST(webhook_service_probes_and_tls_volume)
{
    json_object *d = find("Deployment", "kvguard-webhook", NS);
    json_object *pod = kvg_json_path(d, "spec", "template", "spec", NULL);
    json_object *c = at(kvg_json_array(pod, "containers", NULL), 0);
    json_object *svc = find("Service", "kvguard-webhook", NS);
    json_object *sp = at(kvg_json_array(svc, "spec", "ports", NULL), 0);
    ck_assert_int_eq(kvg_json_int(0, sp, "port", NULL), 443);
    json_object *target = container_port(c, kvg_json_str(sp, "targetPort", NULL));
    ck_assert_int_eq(kvg_json_int(0, target, "containerPort", NULL), 8443);
    json_object *plabels =
        kvg_json_path(d, "spec", "template", "metadata", "labels", NULL);
    json_object_object_foreach(kvg_json_path(svc, "spec", "selector", NULL), k, v)
        ck_assert(kvg_json_str_eq(plabels, k, kvg_json_as_str(v)));
    check_probe(c, "readinessProbe", "/readyz");
    check_probe(c, "livenessProbe", "/healthz");

    /* The TLS Secret is mounted as a directory (not subPath): only then does
     * kubelet update the files in place for the reloader. */
    bool mounted = false;
    json_object *vols = kvg_json_array(pod, "volumes", NULL);
    json_object *mounts = kvg_json_array(c, "volumeMounts", NULL);
    for (size_t i = 0; i < len(vols); i++) {
        const char *vname = kvg_json_str(at(vols, i), "name", NULL);
        if (!kvg_json_str_eq(kvg_json_path(at(vols, i), "secret", NULL),
                             "secretName", "kvguard-webhook-tls"))
            continue;
        for (size_t m = 0; m < len(mounts); m++)
            if (kvg_json_str_eq(at(mounts, m), "name", vname)) {
                ck_assert_str_eq(kvg_json_str(at(mounts, m), "mountPath", NULL),
                                 "/etc/kvguard/tls");
                ck_assert_ptr_null(kvg_json_path(at(mounts, m), "subPath", NULL));
                mounted = true;
            }
    }
    ck_assert_msg(mounted, "Secret kvguard-webhook-tls not mounted");
}
END_TEST

/* The reconciler serves plain HTTP probes and metrics on 8080. */
START_TEST(reconciler_probes_its_metrics_port)
{
    json_object *d = find("Deployment", "kvguard-reconciler", NS);
    json_object *c = at(kvg_json_array(d, "spec", "template", "spec", "containers",
                                       NULL), 0);
    ck_assert_int_eq(kvg_json_int(0, container_port(c, "metrics"), "containerPort",
                                  NULL), 8080);
    const char *probes[][2] = {{"readinessProbe", "/readyz"},
                               {"livenessProbe", "/healthz"}};
    for (size_t i = 0; i < 2; i++) {
        json_object *g = kvg_json_path(c, probes[i][0], "httpGet", NULL);
        ck_assert_msg(g, "%s missing", probes[i][0]);
        ck_assert_str_eq(kvg_json_str(g, "path", NULL), probes[i][1]);
        ck_assert_str_eq(kvg_json_str(g, "port", NULL), "metrics");
        ck_assert_str_eq(kvg_json_str(g, "scheme", NULL) ? kvg_json_str(g, "scheme", NULL)
                                                         : "HTTP", "HTTP");
    }
}
END_TEST

/* ---- the config file against the manifests --------------------------------- */

static const char *psa_enforce(const char *ns)
{
    return kvg_json_str(find("Namespace", ns, NULL), "metadata", "labels",
                        "pod-security.kubernetes.io/enforce", NULL);
}

/* The config the pods run with, through kvguard's own loader (so a key it
 * would refuse fails here, not in the cluster), against the manifests. */
START_TEST(config_agrees_with_the_manifests)
{
    size_t n;
    char *text = kvg_test_read_source(BASE "/config.yaml", &n);
    kvg_config cfg;
    kvg_diag d = {{0}};
    ck_assert_int_eq(kvg_config_init(&cfg), KVG_OK);
    ck_assert_msg(kvg_config_load_text(&cfg, text, n, "config.yaml", &d) == KVG_OK,
                  "%s", d.msg);
    free(text);

    ck_assert_int_eq(cfg.cluster_mode, KVG_CLUSTER_KUBE);
    ck_assert_ptr_null(cfg.kubeconfig); /* in-cluster service account */
    ck_assert_str_eq(cfg.tls_cert, "/etc/kvguard/tls/tls.crt");
    ck_assert_str_eq(cfg.tls_key, "/etc/kvguard/tls/tls.key");
    ck_assert_ptr_nonnull(strstr(cfg.listen, ":8443"));

    /* SIGTERM: delay + drain must end before the kubelet's SIGKILL. */
    const char *deps[] = {"kvguard-webhook", "kvguard-reconciler"};
    for (size_t i = 0; i < 2; i++) {
        int64_t grace = kvg_json_int(30, find("Deployment", deps[i], NS), "spec",
                                     "template", "spec",
                                     "terminationGracePeriodSeconds", NULL);
        ck_assert_int_gt(grace, (int64_t)cfg.shutdown_delay_s + cfg.drain_timeout_s);
    }

    /* The engine excludes what the apiserver does not send anyway. */
    json_object *values =
        selector_values(at(webhooks_of("ValidatingWebhookConfiguration"), 0),
                        "kubernetes.io/metadata.name");
    size_t ne = 0;
    for (char **p = cfg.policy.excluded_namespaces; p && *p; p++, ne++)
        ck_assert_msg(has_str(values, *p), "excluded namespace %s not in the "
                      "namespaceSelector", *p);
    ck_assert_uint_eq(ne, len(values));

    /* The privileged rollback Job has its own namespace; ours stays restricted. */
    ck_assert_str_ne(cfg.rollback_namespace, NS);
    ck_assert_str_eq(psa_enforce(cfg.rollback_namespace), "privileged");
    ck_assert_str_eq(psa_enforce(NS), "restricted");
    find("Role", "kvguard-reconciler-rollback", cfg.rollback_namespace);

    json_object *rules = kvg_json_array(
        find("Role", "kvguard-reconciler-leader", cfg.lease_namespace), "rules", NULL);
    bool named = false;
    for (size_t i = 0; i < len(rules); i++)
        named |= has_str(kvg_json_array(at(rules, i), "resourceNames", NULL),
                         cfg.lease_name);
    ck_assert_msg(named, "no grant on Lease %s", cfg.lease_name);
    kvg_config_free(&cfg);
}
END_TEST

/* ---- RBAC ----------------------------------------------------------------------- */

static bool binds_sa(const json_object *binding, const char *sa)
{
    json_object *subjects = kvg_json_array(binding, "subjects", NULL);
    for (size_t i = 0; i < len(subjects); i++) {
        json_object *s = at(subjects, i);
        if (kvg_json_str_eq(s, "kind", "ServiceAccount") &&
            kvg_json_str_eq(s, "name", sa) && kvg_json_str_eq(s, "namespace", NS))
            return true;
    }
    return false;
}

static void add_rule(strset *out, const json_object *rule, const char *scope)
{
    json_object *g = kvg_json_array(rule, "apiGroups", NULL),
                *r = kvg_json_array(rule, "resources", NULL),
                *v = kvg_json_array(rule, "verbs", NULL),
                *names = kvg_json_array(rule, "resourceNames", NULL);
    ck_assert_msg(!kvg_json_path(rule, "nonResourceURLs", NULL),
                  "no nonResourceURLs grants");
    for (size_t a = 0; a < len(g); a++)
        for (size_t b = 0; b < len(r); b++)
            for (size_t c = 0; c < len(v); c++)
                set_add(out, "%s %s/%s %s%s%s", scope,
                        *kvg_json_as_str(at(g, a)) ? kvg_json_as_str(at(g, a))
                                                   : "core",
                        kvg_json_as_str(at(r, b)), kvg_json_as_str(at(v, c)),
                        names ? " " : "",
                        names ? kvg_json_as_str(at(names, 0)) : "");
}

/* Every grant to a service account of kvguard-system, as
 * "<cluster|namespace> group/resource verb [name]". */
static void grants_of(const char *sa, strset *out)
{
    for (size_t i = 0; i < len(base); i++) {
        json_object *b = at(base, i);
        bool cluster = kvg_json_str_eq(b, "kind", "ClusterRoleBinding");
        if (!(cluster || kvg_json_str_eq(b, "kind", "RoleBinding")) ||
            !binds_sa(b, sa))
            continue;
        const char *ns = cluster ? NULL : kvg_json_str(b, "metadata", "namespace", NULL);
        const char *rk = kvg_json_str(b, "roleRef", "kind", NULL);
        json_object *role = find(rk, kvg_json_str(b, "roleRef", "name", NULL),
                                 strcmp(rk, "Role") ? NULL : ns);
        json_object *rules = kvg_json_array(role, "rules", NULL);
        for (size_t j = 0; j < len(rules); j++)
            add_rule(out, at(rules, j), ns ? ns : "cluster");
    }
}

/* get/list/watch of every kind the cluster view tracks (the informers list
 * and watch them all, cluster-wide): a kind added to the view without its
 * grant would leave kvguard never ready in a real cluster. */
static void add_reads(strset *want)
{
    static const char *const verbs[] = {"get", "list", "watch"};
    for (int k = 0; k < KVG_KIND_COUNT; k++) {
        const kvg_kind_info *ki = kvg_kind_info_get((kvg_kind)k);
        ck_assert_ptr_nonnull(ki);
        for (size_t v = 0; v < 3; v++)
            set_add(want, "cluster %s/%s %s", *ki->group ? ki->group : "core",
                    ki->resource, verbs[v]);
    }
}

START_TEST(webhook_can_only_read_the_kinds_it_looks_at)
{
    strset got = {0}, want = {0};
    grants_of("kvguard-webhook", &got);
    add_reads(&want);
    assert_sets_equal(&got, &want, "grants of kvguard-webhook");
}
END_TEST

START_TEST(reconciler_writes_only_what_it_must)
{
    static const char *const writes[] = {
        "cluster core/persistentvolumeclaims delete",
        "cluster kubevirt.io/virtualmachines create",
        "cluster kubevirt.io/virtualmachines delete",
        "cluster kubevirt.io/virtualmachines patch",
        "cluster cdi.kubevirt.io/datavolumes delete",
        "cluster subresources.kubevirt.io/virtualmachines/start update",
        "cluster snapshot.kubevirt.io/virtualmachinerestores patch",
        "cluster clone.kubevirt.io/virtualmachineclones patch",
        "cluster core/events create", "cluster core/events patch",
        "cluster events.k8s.io/events create", "cluster events.k8s.io/events patch",
        NS " coordination.k8s.io/leases create",
        NS " coordination.k8s.io/leases get kvguard-reconciler",
        NS " coordination.k8s.io/leases update kvguard-reconciler",
        "kvguard-rollback batch/jobs create", "kvguard-rollback batch/jobs get",
        "kvguard-rollback batch/jobs list", "kvguard-rollback batch/jobs watch",
        "kvguard-rollback batch/jobs delete"};
    strset got = {0}, want = {0};
    grants_of("kvguard-reconciler", &got);
    add_reads(&want);
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++)
        set_add(&want, "%s", writes[i]);
    assert_sets_equal(&got, &want, "grants of kvguard-reconciler");
}
END_TEST

/* ---- files and overlays ------------------------------------------------------- */

START_TEST(kustomization_lists_every_manifest)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/" BASE, KVG_SOURCE_DIR);
    DIR *dp = opendir(dir);
    ck_assert_ptr_nonnull(dp);
    json_object *res = kvg_json_array(kustomization, "resources", NULL);
    json_object *gen = at(kvg_json_array(kustomization, "configMapGenerator", NULL), 0);
    ck_assert(has_str(kvg_json_array(gen, "files", NULL), "config.yaml"));
    for (struct dirent *e; (e = readdir(dp));) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 5, ".yaml") ||
            !strcmp(e->d_name, "kustomization.yaml") ||
            !strcmp(e->d_name, "config.yaml"))
            continue;
        ck_assert_msg(has_str(res, e->d_name), "%s is not in kustomization.yaml",
                      e->d_name);
    }
    closedir(dp);
    for (size_t i = 0; i < len(base); i++) {
        json_object *o = at(base, i);
        ck_assert_ptr_nonnull(kvg_json_str(o, "apiVersion", NULL));
        ck_assert_ptr_nonnull(kvg_json_str(o, "kind", NULL));
        ck_assert_ptr_nonnull(kvg_json_str(o, "metadata", "name", NULL));
    }
}
END_TEST

START_TEST(cert_manager_overlay_injects_its_own_certificate)
{
    json_object *docs = load_rel("manifests/overlays/cert-manager/certificates.yaml");
    json_object *cert = NULL;
    for (size_t i = 0; i < len(docs); i++)
        if (kvg_json_str_eq(at(docs, i), "kind", "Certificate") &&
            kvg_json_str_eq(kvg_json_path(at(docs, i), "spec", NULL), "secretName",
                            "kvguard-webhook-tls"))
            cert = at(docs, i);
    ck_assert_ptr_nonnull(cert);
    ck_assert(has_str(kvg_json_array(cert, "spec", "dnsNames", NULL),
                      "kvguard-webhook." NS ".svc"));
    char ref[256];
    snprintf(ref, sizeof ref, "%s/%s", kvg_json_str(cert, "metadata", "namespace", NULL),
             kvg_json_str(cert, "metadata", "name", NULL));
    size_t n;
    char *k = kvg_test_read_source("manifests/overlays/cert-manager/kustomization.yaml", &n);
    char want[300];
    snprintf(want, sizeof want, "cert-manager.io/inject-ca-from: %s", ref);
    const char *p = strstr(k, want);
    ck_assert_msg(p && strstr(p + 1, want), "both configurations need '%s'", want);
    free(k);
    json_object_put(docs);
}
END_TEST

/* ---- the Dockerfile against the build -------------------------------------- */

/* The Debian 12 runtime package of each pkg-config module CMakeLists.txt
 * links. A module missing here fails the test: add it and its package to the
 * Dockerfile's runtime stage. */
static const char *const runtime_pkgs[][2] = {
    {"libmicrohttpd", "libmicrohttpd12"}, {"gnutls", "libgnutls30"},
    {"json-c", "libjson-c5"},             {"yaml-0.1", "libyaml-0-2"},
    {"libcurl", "libcurl4"},              {"openssl", "libssl3"},
};

static const char *runtime_pkg_of(const char *module, size_t n)
{
    for (size_t i = 0; i < sizeof runtime_pkgs / sizeof runtime_pkgs[0]; i++)
        if (strlen(runtime_pkgs[i][0]) == n && !strncmp(runtime_pkgs[i][0], module, n))
            return runtime_pkgs[i][1];
    return NULL;
}

/* Is `word` a whole word of text? */
static bool has_word(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = text; (p = strstr(p, word)); p += n) {
        bool start = p == text || strchr(" \t\n\\", p[-1]);
        bool end = !p[n] || strchr(" \t\n\\", p[n]);
        if (start && end)
            return true;
    }
    return false;
}

START_TEST(dockerfile_matches_the_build_and_the_manifests)
{
    char *cm = kvg_test_read_source("CMakeLists.txt", NULL);
    char *df = kvg_test_read_source("Dockerfile", NULL);
    const char *runtime = strstr(df, "\nFROM debian:12-slim");
    ck_assert_msg(runtime, "no debian:12-slim runtime stage");
    ck_assert_msg(strstr(df, "COPY .ci/deps.sh") && strstr(df, "bash /tmp/deps.sh"),
                  "the build stage must install .ci/deps.sh's packages");
    int modules = 0;
    /* pkg_check_modules(VAR REQUIRED IMPORTED_TARGET module[>=ver]) */
    for (const char *p = cm; (p = strstr(p, "pkg_check_modules(")); p++) {
        const char *m = strstr(p, "IMPORTED_TARGET ");
        ck_assert_ptr_nonnull(m);
        m += strlen("IMPORTED_TARGET ");
        size_t n = strcspn(m, ">=<) \n");
        const char *pkg = runtime_pkg_of(m, n);
        ck_assert_msg(pkg, "CMakeLists.txt links '%.*s': add its runtime package "
                      "to the Dockerfile and to runtime_pkgs[]", (int)n, m);
        ck_assert_msg(has_word(runtime, pkg), "Dockerfile runtime stage lacks %s", pkg);
        modules++;
    }
    ck_assert_int_ge(modules, 6);
    ck_assert_ptr_nonnull(strstr(runtime, "\nUSER 65532:65532\n"));
    ck_assert_ptr_nonnull(strstr(runtime, "ENTRYPOINT [\"/usr/local/bin/kvguard\"]"));
    /* The image the Deployments name is the one kustomize sets. */
    json_object *img = at(kvg_json_array(kustomization, "images", NULL), 0);
    ck_assert_str_eq(kvg_json_str(img, "name", NULL), "kvguard");
    const char *deps[] = {"kvguard-webhook", "kvguard-reconciler"};
    for (size_t i = 0; i < 2; i++)
        ck_assert_str_eq(kvg_json_str(at(kvg_json_array(find("Deployment", deps[i], NS),
                                                        "spec", "template", "spec",
                                                        "containers", NULL), 0),
                                      "image", NULL), "kvguard");
    free(cm);
    free(df);
}
END_TEST

/* The value of the JSON patch op on `path` in the ha component's patch of
 * `kind`, or NULL. */
static json_object *ha_patch_value(json_object *patches, const char *kind,
                                   const char *path, json_object **holder)
{
    for (size_t i = 0; i < len(patches); i++) {
        json_object *p = at(patches, i);
        const char *text = kvg_json_str(p, "patch", NULL);
        if (!kvg_json_str_eq(kvg_json_path(p, "target", NULL), "kind", kind) || !text)
            continue;
        json_object *ops = json_object_new_array();
        append_docs(ops, text, strlen(text), "ha patch");
        for (size_t j = 0; j < len(at(ops, 0)); j++)
            if (kvg_json_str_eq(at(at(ops, 0), j), "path", path)) {
                *holder = ops;
                return kvg_json_path(at(at(ops, 0), j), "value", NULL);
            }
        json_object_put(ops);
    }
    return NULL;
}

/* ha: 3 replicas on 3 nodes, and a PDB that still lets a drain proceed. */
START_TEST(ha_component_spreads_and_still_allows_drains)
{
    json_object *k = load_one("manifests/components/ha/kustomization.yaml");
    json_object *patches = kvg_json_array(k, "patches", NULL), *h1 = NULL,
                *h2 = NULL, *h3 = NULL;
    json_object *replicas = ha_patch_value(patches, "Deployment", "/spec/replicas", &h1);
    json_object *min = ha_patch_value(patches, "PodDisruptionBudget",
                                      "/spec/minAvailable", &h2);
    json_object *tsc = ha_patch_value(patches, "Deployment",
                                      "/spec/template/spec/topologySpreadConstraints", &h3);
    ck_assert_ptr_nonnull(replicas);
    ck_assert_ptr_nonnull(min);
    ck_assert_int_eq(json_object_get_int(replicas), 3);
    ck_assert_int_eq(json_object_get_int(min), 2);
    bool hard = false;
    for (size_t i = 0; i < len(tsc); i++)
        hard |= kvg_json_str_eq(at(tsc, i), "topologyKey", "kubernetes.io/hostname") &&
                kvg_json_str_eq(at(tsc, i), "whenUnsatisfiable", "DoNotSchedule");
    ck_assert_msg(hard, "ha: replicas must be forced onto different nodes");
    json_object_put(h1);
    json_object_put(h2);
    json_object_put(h3);
    json_object_put(k);
}
END_TEST

/* tools/gen-webhook-certs.sh with the kvguard binary just built: the patches
 * must set caBundle on every webhook of the base, to the CA that signed the
 * serving certificate; a second run keeps the previous CA for the rotation. */
static char *run_generator(const char *out, const char *extra)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "bash '%s/tools/gen-webhook-certs.sh' --kvguard '%s' --out '%s' %s "
             ">'%s.log' 2>&1", KVG_SOURCE_DIR, KVG_BINARY, out, extra, out);
    int rc = system(cmd);
    if (rc) {
        snprintf(cmd, sizeof cmd, "%s.log", out);
        kvg_buf b;
        kvg_buf_init(&b, 0);
        kvg_buf_read_file(&b, cmd, NULL);
        ck_abort_msg("gen-webhook-certs.sh failed (%d): %s", rc, b.data ? b.data : "");
    }
    snprintf(cmd, sizeof cmd, "%s/cabundle.txt", out);
    kvg_buf b;
    kvg_buf_init(&b, 0);
    ck_assert_int_eq(kvg_buf_read_file(&b, cmd, NULL), KVG_OK);
    kvg_buf pem;
    kvg_buf_init(&pem, 0);
    while (b.len && (b.data[b.len - 1] == '\n'))
        b.data[--b.len] = '\0';
    ck_assert_int_eq(kvg_base64_decode(b.data, b.len, &pem), KVG_OK);
    kvg_buf_free(&b);
    return kvg_buf_steal(&pem, NULL);
}

static int count_certs(const char *pem)
{
    int n = 0;
    for (const char *p = pem; (p = strstr(p, "-----BEGIN CERTIFICATE-----")); p++)
        n++;
    return n;
}

static void check_patch(const char *out, const char *file, const char *config_kind,
                        const char *bundle)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out, file);
    json_object *docs = load_abs(path);
    json_object *ops = at(docs, 0);
    size_t n = len(webhooks_of(config_kind));
    ck_assert_uint_eq(len(ops), n);
    for (size_t i = 0; i < n; i++) {
        char want[64];
        snprintf(want, sizeof want, "/webhooks/%zu/clientConfig/caBundle", i);
        ck_assert_str_eq(kvg_json_str(at(ops, i), "op", NULL), "add");
        ck_assert_str_eq(kvg_json_str(at(ops, i), "path", NULL), want);
        ck_assert_str_eq(kvg_json_str(at(ops, i), "value", NULL), bundle);
    }
    json_object_put(docs);
}

START_TEST(generated_overlay_sets_the_ca_on_every_webhook)
{
    char *dir = kvg_test_mkdtemp(), out[1024], path[2048];
    snprintf(out, sizeof out, "%s/overlay", dir);
    char *pem = run_generator(out, "");
    ck_assert_int_eq(count_certs(pem), 1);
    snprintf(path, sizeof path, "%s/ca.crt", out);
    kvg_buf ca;
    kvg_buf_init(&ca, 0);
    ck_assert_int_eq(kvg_buf_read_file(&ca, path, NULL), KVG_OK);
    ck_assert_str_eq(pem, ca.data);

    snprintf(path, sizeof path, "%s/cabundle.txt", out);
    kvg_buf b64;
    kvg_buf_init(&b64, 0);
    ck_assert_int_eq(kvg_buf_read_file(&b64, path, NULL), KVG_OK);
    b64.data[strcspn(b64.data, "\n")] = '\0';
    check_patch(out, "cabundle-validating.yaml", "ValidatingWebhookConfiguration",
                b64.data);
    check_patch(out, "cabundle-mutating.yaml", "MutatingWebhookConfiguration",
                b64.data);

    /* The Secret the Deployment mounts, in the namespace it runs in. */
    snprintf(path, sizeof path, "%s/kustomization.yaml", out);
    json_object *k = load_abs(path);
    json_object *sg = at(kvg_json_array(at(k, 0), "secretGenerator", NULL), 0);
    ck_assert_str_eq(kvg_json_str(sg, "name", NULL), "kvguard-webhook-tls");
    ck_assert_str_eq(kvg_json_str(sg, "namespace", NULL), NS);
    ck_assert_str_eq(kvg_json_str(sg, "type", NULL), "kubernetes.io/tls");
    ck_assert(kvg_json_bool(false, sg, "options", "disableNameSuffixHash", NULL));
    json_object_put(k);

    /* Rotation: new CA first, the previous one still trusted; then dropped. */
    char *pem2 = run_generator(out, "");
    ck_assert_int_eq(count_certs(pem2), 2);
    ck_assert_ptr_nonnull(strstr(pem2, ca.data));
    ck_assert_ptr_ne(strstr(pem2, ca.data), pem2);
    char *pem3 = run_generator(out, "--drop-previous-ca");
    ck_assert_int_eq(count_certs(pem3), 1);
    ck_assert_ptr_eq(strstr(pem2, pem3), pem2);

    free(pem);
    free(pem2);
    free(pem3);
    kvg_buf_free(&ca);
    kvg_buf_free(&b64);
    kvg_test_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("manifests");
    TCase *tc = tcase_create("base");
    tcase_add_checked_fixture(tc, base_setup, base_teardown);
    tcase_add_test(tc, kustomization_lists_every_manifest);
    tcase_add_test(tc, webhooks_route_exactly_the_handled_kinds);
    tcase_add_test(tc, routed_kinds_are_the_engine_kinds);
    tcase_add_test(tc, every_webhook_fails_closed_fast_and_excludes_system_namespaces);
    tcase_add_test(tc, validating_updates_only_when_spec_changes);
    tcase_add_test(tc, deployments_are_restricted_and_replicated);
    tcase_add_test(tc, webhook_service_probes_and_tls_volume);
    tcase_add_test(tc, reconciler_probes_its_metrics_port);
    tcase_add_test(tc, config_agrees_with_the_manifests);
    tcase_add_test(tc, webhook_can_only_read_the_kinds_it_looks_at);
    tcase_add_test(tc, reconciler_writes_only_what_it_must);
    tcase_add_test(tc, cert_manager_overlay_injects_its_own_certificate);
    tcase_add_test(tc, ha_component_spreads_and_still_allows_drains);
    tcase_add_test(tc, dockerfile_matches_the_build_and_the_manifests);
    tcase_add_test(tc, generated_overlay_sets_the_ca_on_every_webhook);
    suite_add_tcase(s, tc);
    return kvg_test_run(s);
}
