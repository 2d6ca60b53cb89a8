/* Kubernetes verbs and discovery on top of kvg_kube_do(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/internal.h"
#include "kvguard/json.h"

#define PATH_LIMIT (64u * 1024)
#define DEFAULT_PAGE 500
#define JSON_DEPTH 128

kvg_err kvg_kube_resource_of(kvg_kind kind, const char *version,
                             kvg_kube_resource *out)
{
    const kvg_kind_info *ki = kvg_kind_info_get(kind);
    if (!ki || !out)
        return KVG_EINVAL;
    if (!version)
        version = ki->versions && ki->versions[0] ? ki->versions[0] : "v1";
    memset(out, 0, sizeof *out);
    out->group = ki->group;
    out->resource = ki->resource;
    out->namespaced = ki->namespaced;
    snprintf(out->version, sizeof out->version, "%s", version);
    return KVG_OK;
}

/* GET path and parse the JSON body. */
static kvg_err get_json(kvg_kube_client *c, const char *method,
                        const char *path, bool idempotent, const char *ctype,
                        const char *body, size_t body_len, json_object **out,
                        const kvg_kube_call *call, kvg_diag *d)
{
    kvg_kube_req req = {.method = method, .path = path, .ctype = ctype,
                        .body = body, .body_len = body_len,
                        .idempotent = idempotent};
    kvg_buf resp;
    kvg_diag jd;
    kvg_buf_init(&resp, 0);
    kvg_err e = kvg_kube_do(c, &req, &resp, call, d);
    if (e == KVG_OK && out) {
        *out = NULL;
        if (resp.len == 0)
            *out = json_object_new_object();
        else if (kvg_json_parse(resp.data, resp.len, JSON_DEPTH, out, &jd) !=
                 KVG_OK)
            e = kvg_diag_set(d, KVG_EPARSE, "%s %s: bad JSON answer: %s",
                             method, path, jd.msg);
    }
    kvg_buf_free(&resp);
    return e;
}

/* ---- discovery ------------------------------------------------------------- */

static bool lists_resource(const json_object *rl, const char *resource)
{
    json_object *arr = kvg_json_array(rl, "resources", NULL);
    size_t n = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++)
        if (kvg_json_str_eq(json_object_array_get_idx(arr, i), "name",
                            resource))
            return true;
    return false;
}

static bool group_serves(const json_object *grp, const char *version)
{
    json_object *arr = kvg_json_array(grp, "versions", NULL);
    size_t n = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++)
        if (kvg_json_str_eq(json_object_array_get_idx(arr, i), "version",
                            version))
            return true;
    return false;
}

/* The version to use: the group's preferred one when the kind knows it,
 * else the kind's first version (its own preference order) served. */
static const char *pick_version(const kvg_kind_info *ki, const json_object *grp)
{
    const char *pref = kvg_json_str(grp, "preferredVersion", "version", NULL);
    const char *first = NULL;
    for (size_t i = 0; ki->versions && ki->versions[i]; i++) {
        if (pref && strcmp(pref, ki->versions[i]) == 0)
            return pref;
        if (!first && group_serves(grp, ki->versions[i]))
            first = ki->versions[i];
    }
    return first;
}

static kvg_err discover_version(kvg_kube_client *c, const kvg_kind_info *ki,
                                const char *version, bool *served,
                                const kvg_kube_call *call, kvg_diag *d)
{
    char path[256];
    json_object *rl = NULL;
    if (!ki->group[0])
        snprintf(path, sizeof path, "/api/%s", version);
    else
        snprintf(path, sizeof path, "/apis/%s/%s", ki->group, version);
    kvg_err e = get_json(c, "GET", path, true, NULL, NULL, 0, &rl, call, d);
    if (e == KVG_ENOTFOUND)
        return KVG_OK;
    if (e == KVG_OK)
        *served = lists_resource(rl, ki->resource);
    json_object_put(rl);
    return e;
}

kvg_err kvg_kube_discover(kvg_kube_client *c, kvg_kind kind, bool *served,
                          kvg_kube_resource *out, kvg_kube_status *st,
                          kvg_diag *d)
{
    const kvg_kind_info *ki = kvg_kind_info_get(kind);
    kvg_kube_call call = {.status = st};
    const char *version = "v1";
    json_object *grp = NULL;
    kvg_err e;
    if (!c || !ki || !served || !out)
        return KVG_EINVAL;
    *served = false;
    if (ki->group[0]) {
        char path[256];
        snprintf(path, sizeof path, "/apis/%s", ki->group);
        e = get_json(c, "GET", path, true, NULL, NULL, 0, &grp, &call, d);
        if (e == KVG_ENOTFOUND)
            return KVG_OK; /* the group (CRD) is not installed */
        if (e != KVG_OK)
            return e;
        version = pick_version(ki, grp);
        if (!version) {
            json_object_put(grp);
            return KVG_OK; /* served, but at none of the versions we know */
        }
    }
    e = discover_version(c, ki, version, served, &call, d);
    if (e == KVG_OK && *served)
        e = kvg_kube_resource_of(kind, version, out);
    json_object_put(grp);
    return e;
}

/* ---- read verbs ------------------------------------------------------------ */

kvg_err kvg_kube_get(kvg_kube_client *c, const kvg_kube_resource *r,
                     const char *ns, const char *name, json_object **out,
                     const kvg_kube_call *call, kvg_diag *d)
{
    kvg_buf p;
    kvg_buf_init(&p, PATH_LIMIT);
    kvg_err e = kvg_kube_path(&p, r, ns, name, NULL, d);
    if (e == KVG_OK)
        e = get_json(c, "GET", p.data, true, NULL, NULL, 0, out, call, d);
    kvg_buf_free(&p);
    return e;
}

static kvg_err selectors(kvg_buf *p, const char *label, const char *field)
{
    kvg_err e = KVG_OK;
    if (label && *label)
        e = kvg_kube_query(p, "labelSelector", label);
    if (e == KVG_OK && field && *field)
        e = kvg_kube_query(p, "fieldSelector", field);
    return e;
}

static kvg_err page_path(kvg_buf *p, const kvg_kube_resource *r,
                         const char *ns, const kvg_kube_list_opts *o,
                         const char *cont, kvg_diag *d)
{
    char lim[32];
    kvg_buf_reset(p);
    kvg_err e = kvg_kube_path(p, r, ns, NULL, NULL, d);
    snprintf(lim, sizeof lim, "%ld", o && o->limit > 0 ? o->limit : DEFAULT_PAGE);
    if (e == KVG_OK)
        e = kvg_kube_query(p, "limit", lim);
    if (e == KVG_OK && cont)
        e = kvg_kube_query(p, "continue", cont);
    if (e == KVG_OK && o)
        e = selectors(p, o->label_selector, o->field_selector);
    return e;
}

/* Hand every item of a page to fn; records the page's continue token. */
static kvg_err deliver_page(json_object *page, kvg_kube_item_fn fn, void *ud,
                            char **cont, char **rv)
{
    json_object *items = kvg_json_array(page, "items", NULL);
    const char *c = kvg_json_str(page, "metadata", "continue", NULL);
    const char *v = kvg_json_str(page, "metadata", "resourceVersion", NULL);
    free(*cont);
    *cont = c && *c ? strdup(c) : NULL;
    if (c && *c && !*cont)
        return KVG_ENOMEM;
    if (rv && !*rv && v && !(*rv = strdup(v)))
        return KVG_ENOMEM;
    size_t n = items ? json_object_array_length(items) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *it = json_object_array_get_idx(items, i);
        /* detach from the page so the page can be freed under it */
        json_object_get(it);
        json_object_array_put_idx(items, i, NULL);
        kvg_err e = fn(it, ud);
        if (e != KVG_OK)
            return e;
    }
    return KVG_OK;
}

kvg_err kvg_kube_list_each(kvg_kube_client *c, const kvg_kube_resource *r,
                           const char *ns, const kvg_kube_list_opts *o,
                           kvg_kube_item_fn fn, void *ud, char **rv,
                           const kvg_kube_call *call, kvg_diag *d)
{
    kvg_buf p;
    char *cont = NULL;
    kvg_err e;
    if (!c || !r || !fn)
        return KVG_EINVAL;
    if (rv)
        *rv = NULL;
    kvg_buf_init(&p, PATH_LIMIT);
    do {
        json_object *page = NULL;
        e = page_path(&p, r, ns, o, cont, d);
        if (e == KVG_OK)
            e = get_json(c, "GET", p.data, true, NULL, NULL, 0, &page, call, d);
        if (e == KVG_OK && !kvg_json_array(page, "items", NULL))
            e = kvg_diag_set(d, KVG_EPARSE, "GET %s: answer has no items",
                             p.data);
        if (e == KVG_OK)
            e = deliver_page(page, fn, ud, &cont, rv);
        json_object_put(page);
    } while (e == KVG_OK && cont);
    free(cont);
    kvg_buf_free(&p);
    if (e != KVG_OK && rv) {
        free(*rv);
        *rv = NULL;
    }
    return e;
}

static kvg_err collect(json_object *item, void *ud)
{
    return json_object_array_add(ud, item) == 0 ? KVG_OK : KVG_ENOMEM;
}

kvg_err kvg_kube_list(kvg_kube_client *c, const kvg_kube_resource *r,
                      const char *ns, const kvg_kube_list_opts *o,
                      json_object **items, char **rv,
                      const kvg_kube_call *call, kvg_diag *d)
{
    if (!items)
        return KVG_EINVAL;
    json_object *arr = json_object_new_array();
    if (!arr)
        return KVG_ENOMEM;
    kvg_err e = kvg_kube_list_each(c, r, ns, o, collect, arr, rv, call, d);
    if (e != KVG_OK) {
        json_object_put(arr);
        arr = NULL;
    }
    *items = arr;
    return e;
}

/* ---- write verbs ----------------------------------------------------------- */

/* Serialize a borrowed object without touching it (json-c caches the text
 * inside the object it serializes). */
static kvg_err to_text(json_object *obj, kvg_buf *b)
{
    json_object *copy = NULL;
    if (json_object_deep_copy(obj, &copy, NULL) != 0)
        return KVG_ENOMEM;
    kvg_err e = kvg_json_to_buf(copy, b);
    json_object_put(copy);
    return e;
}

static kvg_err send_obj(kvg_kube_client *c, const char *method,
                        const kvg_kube_resource *r, const char *ns,
                        const char *name, const char *sub, json_object *obj,
                        json_object **out, const kvg_kube_call *call,
                        kvg_diag *d)
{
    kvg_buf p, body;
    kvg_buf_init(&p, PATH_LIMIT);
    kvg_buf_init(&body, 0);
    kvg_err e = kvg_kube_path(&p, r, ns, name, sub, d);
    if (e == KVG_OK && !obj)
        e = kvg_diag_set(d, KVG_EINVAL, "%s %s: no object", method, p.data);
    if (e == KVG_OK)
        e = to_text(obj, &body);
    if (e == KVG_OK)
        e = get_json(c, method, p.data, false, "application/json", body.data,
                     body.len, out, call, d);
    kvg_buf_free(&p);
    kvg_buf_free(&body);
    return e;
}

kvg_err kvg_kube_create(kvg_kube_client *c, const kvg_kube_resource *r,
                        const char *ns, json_object *obj, json_object **out,
                        const kvg_kube_call *call, kvg_diag *d)
{
    return send_obj(c, "POST", r, ns, NULL, NULL, obj, out, call, d);
}

kvg_err kvg_kube_update(kvg_kube_client *c, const kvg_kube_resource *r,
                        const char *ns, const char *name,
                        const char *subresource, json_object *obj,
                        json_object **out, const kvg_kube_call *call,
                        kvg_diag *d)
{
    if (!name)
        return kvg_diag_set(d, KVG_EINVAL, "PUT: no name");
    return send_obj(c, "PUT", r, ns, name, subresource, obj, out, call, d);
}

kvg_err kvg_kube_patch(kvg_kube_client *c, const kvg_kube_resource *r,
                       const char *ns, const char *name,
                       const char *subresource, kvg_patch_type type,
                       const char *patch, json_object **out,
                       const kvg_kube_call *call, kvg_diag *d)
{
    kvg_buf p;
    if (!name || !patch)
        return kvg_diag_set(d, KVG_EINVAL, "PATCH: no name or patch");
    kvg_buf_init(&p, PATH_LIMIT);
    kvg_err e = kvg_kube_path(&p, r, ns, name, subresource, d);
    const char *ct = type == KVG_PATCH_JSON ? "application/json-patch+json"
                                            : "application/merge-patch+json";
    if (e == KVG_OK)
        e = get_json(c, "PATCH", p.data, false, ct, patch, strlen(patch), out,
                     call, d);
    kvg_buf_free(&p);
    return e;
}

static kvg_err delete_body(const kvg_kube_delete_opts *o, kvg_buf *b)
{
    json_object *root = json_object_new_object(), *pre = NULL;
    kvg_err e = KVG_ENOMEM;
    if (!root)
        return e;
    json_object_object_add(root, "kind", json_object_new_string("DeleteOptions"));
    json_object_object_add(root, "apiVersion", json_object_new_string("v1"));
    if (o && (o->uid || o->resource_version)) {
        if (!(pre = json_object_new_object()))
            goto out;
        if (o->uid)
            json_object_object_add(pre, "uid", json_object_new_string(o->uid));
        if (o->resource_version)
            json_object_object_add(pre, "resourceVersion",
                                   json_object_new_string(o->resource_version));
        json_object_object_add(root, "preconditions", pre);
    }
    if (o && o->propagation)
        json_object_object_add(root, "propagationPolicy",
                               json_object_new_string(o->propagation));
    e = kvg_json_to_buf(root, b);
out:
    json_object_put(root);
    return e;
}

kvg_err kvg_kube_delete(kvg_kube_client *c, const kvg_kube_resource *r,
                        const char *ns, const char *name,
                        const kvg_kube_delete_opts *o,
                        const kvg_kube_call *call, kvg_diag *d)
{
    kvg_buf p, body;
    if (!name)
        return kvg_diag_set(d, KVG_EINVAL, "DELETE: no name");
    kvg_buf_init(&p, PATH_LIMIT);
    kvg_buf_init(&body, 0);
    kvg_err e = kvg_kube_path(&p, r, ns, name, NULL, d);
    if (e == KVG_OK)
        e = delete_body(o, &body);
    /* Without a precondition a repeated DELETE could remove an object
     * re-created under the same name in between. */
    bool safe = o && (o->uid || o->resource_version);
    if (e == KVG_OK)
        e = get_json(c, "DELETE", p.data, safe, "application/json", body.data,
                     body.len, NULL, call, d);
    kvg_buf_free(&p);
    kvg_buf_free(&body);
    return e;
}

static kvg_err vm_action(kvg_kube_client *c, const char *ns, const char *name,
                         const char *action, const kvg_kube_call *call,
                         kvg_diag *d)
{
    kvg_kube_resource r = {.group = "subresources.kubevirt.io",
                           .version = "v1", .resource = "virtualmachines",
                           .namespaced = true};
    kvg_buf p;
    if (!ns || !*ns || !name)
        return kvg_diag_set(d, KVG_EINVAL, "VM %s: no namespace or name",
                            action);
    kvg_buf_init(&p, PATH_LIMIT);
    kvg_err e = kvg_kube_path(&p, &r, ns, name, action, d);
    if (e == KVG_OK)
        e = get_json(c, "PUT", p.data, false, "application/json", "{}", 2,
                     NULL, call, d);
    kvg_buf_free(&p);
    return e;
}

kvg_err kvg_kube_vm_start(kvg_kube_client *c, const char *ns, const char *name,
                          const kvg_kube_call *call, kvg_diag *d)
{
    return vm_action(c, ns, name, "start", call, d);
}

kvg_err kvg_kube_vm_stop(kvg_kube_client *c, const char *ns, const char *name,
                         const kvg_kube_call *call, kvg_diag *d)
{
    return vm_action(c, ns, name, "stop", call, d);
}

/* ---- watch ------------------------------------------------------------------ */

kvg_err kvg_kube_watch(kvg_kube_client *c, const kvg_kube_resource *r,
                       const char *ns, const kvg_kube_watch_opts *o,
                       kvg_watch_fn fn, void *ud, const kvg_kube_call *call,
                       kvg_diag *d)
{
    kvg_buf p;
    kvg_watch_parser parser;
    char tmo[32];
    long timeout = o && o->timeout_s > 0 ? o->timeout_s : 300;
    if (!c || !r || !fn)
        return KVG_EINVAL;
    kvg_buf_init(&p, PATH_LIMIT);
    kvg_err e = kvg_kube_path(&p, r, ns, NULL, NULL, d);
    snprintf(tmo, sizeof tmo, "%ld", timeout);
    if (e == KVG_OK)
        e = kvg_kube_query(&p, "watch", "true");
    if (e == KVG_OK)
        e = kvg_kube_query(&p, "allowWatchBookmarks", "true");
    if (e == KVG_OK)
        e = kvg_kube_query(&p, "timeoutSeconds", tmo);
    if (e == KVG_OK && o && o->resource_version && *o->resource_version)
        e = kvg_kube_query(&p, "resourceVersion", o->resource_version);
    if (e == KVG_OK && o)
        e = selectors(&p, o->label_selector, o->field_selector);
    if (e != KVG_OK) {
        kvg_buf_free(&p);
        return e;
    }
    kvg_watch_parser_init(&parser, 0, fn, ud);
    kvg_kube_req req = {.method = "GET", .path = p.data, .idempotent = true,
                        .watch = true, .watch_timeout_s = timeout,
                        .parser = &parser};
    e = kvg_kube_do(c, &req, NULL, call, d);
    if (e == KVG_OK)
        e = kvg_watch_parser_finish(&parser, d);
    if ((e == KVG_EGONE || e == KVG_EAPI) && parser.status.code && call &&
        call->status)
        *call->status = parser.status;
    kvg_watch_parser_free(&parser);
    kvg_buf_free(&p);
    return e;
}
