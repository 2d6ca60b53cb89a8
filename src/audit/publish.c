/* kvguard audit --apply: keep the cluster's PolicyReports equal to the
 * report. Bounded by construction: one object per namespace, named
 * "kvguard", results capped by the renderer; reports of namespaces that no
 * longer have anything to report are deleted, never left to accumulate. */
#include <stdio.h>
#include <string.h>

#include "kvguard/audit.h"
#include "kvguard/json.h"
#include "kvguard/kubevirt.h"

static const kvg_kube_resource policyreports = {
    .group = "wgpolicyk8s.io", .version = "v1alpha2",
    .resource = "policyreports", .namespaced = true};

static void failed(kvg_audit_publish_stats *st, kvg_diag *d, bool *first,
                   const kvg_diag *why, const char *verb, const char *ns)
{
    st->failed++;
    if (*first)
        kvg_diag_set(d, KVG_EAPI, "PolicyReport %s/%s: %s: %s", ns,
                     KVG_AUDIT_REPORT_NAME, verb, why->msg);
    *first = false;
}

/* PUT over the current object (its resourceVersion), or POST when there is
 * none. A conflict (someone wrote in between) is retried once. */
static kvg_err apply_one(kvg_kube_client *c, json_object *pr, bool *created,
                         kvg_diag *d)
{
    const char *ns = kvg_obj_namespace(pr);
    kvg_err e = KVG_ECONFLICT;
    for (int attempt = 0; attempt < 2 && e == KVG_ECONFLICT; attempt++) {
        json_object *cur = NULL;
        e = kvg_kube_get(c, &policyreports, ns, KVG_AUDIT_REPORT_NAME, &cur,
                         NULL, d);
        if (e == KVG_ENOTFOUND) {
            *created = true;
            return kvg_kube_create(c, &policyreports, ns, pr, NULL, NULL, d);
        }
        if (e)
            return e;
        const char *rv = kvg_json_str(cur, "metadata", "resourceVersion", NULL);
        json_object *md = kvg_json_path(pr, "metadata", NULL);
        if (rv && md)
            json_object_object_add(md, "resourceVersion", json_object_new_string(rv));
        json_object_put(cur);
        *created = false;
        e = kvg_kube_update(c, &policyreports, ns, KVG_AUDIT_REPORT_NAME, NULL,
                            pr, NULL, NULL, d);
    }
    return e;
}

static bool ours(const json_object *pr)
{
    const char *l = kvg_obj_label(pr, KVG_AUDIT_MANAGED_LABEL);
    return l && !strcmp(l, "kvguard") &&
           !strcmp(kvg_obj_name(pr), KVG_AUDIT_REPORT_NAME);
}

static bool listed(const json_object *items, const char *ns)
{
    for (size_t i = 0; i < json_object_array_length(items); i++)
        if (!strcmp(kvg_obj_namespace(json_object_array_get_idx(items, i)), ns))
            return true;
    return false;
}

/* Delete our reports in namespaces the new list does not cover. */
static void prune(kvg_kube_client *c, const json_object *items,
                  const char *scope_ns, kvg_audit_publish_stats *st,
                  kvg_diag *d, bool *first)
{
    kvg_kube_list_opts lo = {.label_selector = KVG_AUDIT_MANAGED_LABEL "=kvguard"};
    json_object *have = NULL;
    kvg_diag why = {{0}};
    if (kvg_kube_list(c, &policyreports, scope_ns, &lo, &have, NULL, NULL, &why)) {
        failed(st, d, first, &why, "list", scope_ns ? scope_ns : "*");
        return;
    }
    for (size_t i = 0; i < json_object_array_length(have); i++) {
        json_object *pr = json_object_array_get_idx(have, i);
        kvg_kube_delete_opts dopt = {.uid = kvg_obj_uid(pr)};
        kvg_err e;
        /* the selector is a hint: check name and label ourselves */
        if (!ours(pr) || listed(items, kvg_obj_namespace(pr)))
            continue;
        e = kvg_kube_delete(c, &policyreports, kvg_obj_namespace(pr),
                            KVG_AUDIT_REPORT_NAME, &dopt, NULL, &why);
        if (e == KVG_OK)
            st->deleted++;
        else if (e != KVG_ENOTFOUND)
            failed(st, d, first, &why, "delete", kvg_obj_namespace(pr));
    }
    json_object_put(have);
}

kvg_err kvg_audit_publish(kvg_kube_client *client, const json_object *list,
                          const char *scope_ns, kvg_audit_publish_stats *st,
                          kvg_diag *d)
{
    kvg_audit_publish_stats local;
    json_object *items = kvg_json_array(list, "items", NULL);
    bool first = true;
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    if (!client || !items)
        return kvg_diag_set(d, KVG_EINVAL, "publish: no API client or no "
                                           "PolicyReport List");
    if (scope_ns && !*scope_ns)
        scope_ns = NULL;
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        /* a copy: apply_one stamps the resourceVersion into it */
        json_object *pr = NULL;
        kvg_diag why = {{0}};
        bool created = false;
        if (json_object_deep_copy(json_object_array_get_idx(items, i), &pr, NULL))
            return KVG_ENOMEM;
        if (apply_one(client, pr, &created, &why))
            failed(st, d, &first, &why, "apply", kvg_obj_namespace(pr));
        else if (created)
            st->created++;
        else
            st->updated++;
        json_object_put(pr);
    }
    prune(client, items, scope_ns, st, d, &first);
    return st->failed ? KVG_EAPI : KVG_OK;
}
