/* kvguard: AdmissionReview codec (admission.k8s.io/v1 and v1beta1).
 *
 * Decoding is strict about the fields the engine relies on (uid, kind,
 * operation, types of everything it reads) so that a malformed review is a
 * 400 naming the field, never a guess. The response is built as a json-c tree
 * and serialized once, so escaping is never done by hand. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/admission.h"
#include "kvguard/json.h"
#include "admission/internal.h"

#define API_V1 "admission.k8s.io/v1"
#define API_V1BETA1 "admission.k8s.io/v1beta1"

/* Deep enough for any real Kubernetes object (VM specs nest ~15 levels),
 * shallow enough that json-c's tokener stack stays small. */
#define REVIEW_MAX_DEPTH 64

static const char *type_name(const json_object *o)
{
    return o ? json_type_to_name(json_object_get_type(o)) : "null";
}

static json_object *field(const json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

/* Optional string member: missing or null -> def; any other type is an error. */
static kvg_err opt_str(const json_object *o, const char *where, const char *key,
                       const char *def, const char **out, kvg_diag *d)
{
    json_object *v = field(o, key);
    if (!v) {
        *out = def;
        return KVG_OK;
    }
    if (!json_object_is_type(v, json_type_string))
        return kvg_diag_set(d, KVG_EPARSE, "%s%s is not a string (got %s)",
                            where, key, type_name(v));
    *out = json_object_get_string(v);
    return KVG_OK;
}

/* Optional object member (null counts as missing). */
static kvg_err opt_obj(const json_object *o, const char *where, const char *key,
                       json_object **out, kvg_diag *d)
{
    json_object *v = field(o, key);
    *out = NULL;
    if (!v)
        return KVG_OK;
    if (!json_object_is_type(v, json_type_object))
        return kvg_diag_set(d, KVG_EPARSE, "%s%s is not an object (got %s)",
                            where, key, type_name(v));
    *out = v;
    return KVG_OK;
}

static kvg_err parse_operation(const char *s, kvg_operation *op, kvg_diag *d)
{
    static const kvg_operation ops[] = {KVG_OP_CREATE, KVG_OP_UPDATE,
                                        KVG_OP_DELETE, KVG_OP_CONNECT};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (!strcmp(s, kvg_operation_name(ops[i]))) {
            *op = ops[i];
            return KVG_OK;
        }
    }
    return kvg_diag_set(d, KVG_EPARSE,
                        "request.operation '%.64s' is not CREATE, UPDATE, "
                        "DELETE or CONNECT", s);
}

static kvg_err decode_kind(json_object *req, kvg_request *r, kvg_diag *d)
{
    json_object *k = NULL;
    kvg_err e = opt_obj(req, "request.", "kind", &k, d);
    if (e)
        return e;
    if (!k)
        return kvg_diag_set(d, KVG_EPARSE, "request.kind is missing");
    if ((e = opt_str(k, "request.kind.", "group", "", &r->group, d)) ||
        (e = opt_str(k, "request.kind.", "version", NULL, &r->version, d)) ||
        (e = opt_str(k, "request.kind.", "kind", NULL, &r->kind, d)))
        return e;
    if (!r->version || !r->kind || !*r->kind)
        return kvg_diag_set(d, KVG_EPARSE, "request.kind.%s is missing",
                            r->kind && *r->kind ? "version" : "kind");
    return KVG_OK;
}

static kvg_err decode_resource(json_object *req, kvg_request *r, kvg_diag *d)
{
    json_object *res = NULL;
    kvg_err e = opt_obj(req, "request.", "resource", &res, d);
    r->resource = "";
    if (e || !res)
        return e;
    return opt_str(res, "request.resource.", "resource", "", &r->resource, d);
}

static kvg_err decode_user(json_object *req, kvg_request *r, kvg_diag *d)
{
    json_object *ui = NULL, *groups;
    kvg_err e = opt_obj(req, "request.", "userInfo", &ui, d);
    r->username = "";
    r->groups = NULL;
    if (e || !ui)
        return e;
    if ((e = opt_str(ui, "request.userInfo.", "username", "", &r->username, d)))
        return e;
    groups = field(ui, "groups");
    if (!groups)
        return KVG_OK;
    if (!json_object_is_type(groups, json_type_array))
        return kvg_diag_set(d, KVG_EPARSE,
                            "request.userInfo.groups is not an array (got %s)",
                            type_name(groups));
    for (size_t i = 0; i < json_object_array_length(groups); i++) {
        json_object *g = json_object_array_get_idx(groups, i);
        if (!json_object_is_type(g, json_type_string))
            return kvg_diag_set(d, KVG_EPARSE,
                                "request.userInfo.groups[%zu] is not a string "
                                "(got %s)", i, type_name(g));
    }
    r->groups = groups;
    return KVG_OK;
}

static kvg_err decode_objects(json_object *req, kvg_request *r, kvg_diag *d)
{
    json_object *obj = NULL, *old = NULL, *dry = field(req, "dryRun");
    kvg_err e;
    if ((e = opt_obj(req, "request.", "object", &obj, d)) ||
        (e = opt_obj(req, "request.", "oldObject", &old, d)))
        return e;
    if (dry && !json_object_is_type(dry, json_type_boolean))
        return kvg_diag_set(d, KVG_EPARSE,
                            "request.dryRun is not a boolean (got %s)",
                            type_name(dry));
    r->dry_run = dry && json_object_get_boolean(dry);
    r->object = obj;
    r->old_object = old;
    return KVG_OK;
}

static kvg_err decode_request(json_object *req, kvg_request *r, kvg_diag *d)
{
    const char *op = NULL;
    kvg_err e;
    json_object *uid = field(req, "uid");
    if (!uid || !json_object_is_type(uid, json_type_string) ||
        !*json_object_get_string(uid))
        return kvg_diag_set(d, KVG_EPARSE,
                            "request.uid is missing or not a string");
    r->uid = json_object_get_string(uid);
    if ((e = opt_str(req, "request.", "operation", NULL, &op, d)))
        return e;
    if (!op)
        return kvg_diag_set(d, KVG_EPARSE, "request.operation is missing");
    if ((e = parse_operation(op, &r->operation, d)) ||
        (e = decode_kind(req, r, d)) || (e = decode_resource(req, r, d)) ||
        (e = opt_str(req, "request.", "subResource", "", &r->sub_resource, d)) ||
        (e = opt_str(req, "request.", "namespace", "", &r->namespace_, d)) ||
        (e = opt_str(req, "request.", "name", "", &r->name, d)) ||
        (e = decode_user(req, r, d)))
        return e;
    return decode_objects(req, r, d);
}

static kvg_err decode_envelope(json_object *root, kvg_review *out, kvg_diag *d)
{
    const char *api = NULL, *kind = NULL;
    json_object *req = NULL;
    kvg_err e;
    if (!json_object_is_type(root, json_type_object))
        return kvg_diag_set(d, KVG_EPARSE, "not an AdmissionReview: the top "
                            "level must be an object (got %s)", type_name(root));
    if ((e = opt_str(root, "", "apiVersion", NULL, &api, d)) ||
        (e = opt_str(root, "", "kind", NULL, &kind, d)))
        return e;
    if (!api)
        return kvg_diag_set(d, KVG_EPARSE,
                            "apiVersion is missing: not an AdmissionReview");
    if (strcmp(api, API_V1) && strcmp(api, API_V1BETA1))
        return kvg_diag_set(d, KVG_EPARSE,
                            "apiVersion '%.64s' is not admission.k8s.io/v1 or "
                            "v1beta1", api);
    if (!kind || strcmp(kind, "AdmissionReview"))
        return kvg_diag_set(d, KVG_EPARSE, "kind '%.64s' is not AdmissionReview",
                            kind ? kind : "");
    snprintf(out->api_version, sizeof out->api_version, "%s", api);
    if ((e = opt_obj(root, "", "request", &req, d)))
        return e;
    if (!req)
        return kvg_diag_set(d, KVG_EPARSE, "request is missing");
    return decode_request(req, &out->req, d);
}

/* Takes ownership of root, also on error. */
static kvg_err decode_root(json_object *root, kvg_review *out, kvg_diag *d)
{
    kvg_err e;
    memset(out, 0, sizeof *out);
    out->root = root;
    if ((e = decode_envelope(root, out, d)))
        kvg_review_free(out);
    return e;
}

kvg_err kvg_review_decode(const char *body, size_t len, kvg_review *out,
                          kvg_diag *d)
{
    json_object *root = NULL;
    kvg_err e;
    if (!out)
        return KVG_EINVAL;
    memset(out, 0, sizeof *out);
    if (!body || len == 0)
        return kvg_diag_set(d, KVG_EPARSE, "not JSON: the body is empty");
    e = kvg_review_parse_fast(body, len, &root);
    if (e == KVG_ENOMEM)
        return kvg_diag_set(d, e, "out of memory decoding the AdmissionReview");
    /* Declined: json-c parses it (its errors read "not JSON: line L column
     * C: ..."). */
    if (e)
        e = kvg_json_parse(body, len, REVIEW_MAX_DEPTH, &root, d);
    if (e)
        return e;
    return decode_root(root, out, d);
}

static bool looks_like_json(const char *t, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)t[i]))
            return t[i] == '{' || t[i] == '[';
    return false;
}

kvg_err kvg_review_decode_any(const char *text, size_t len, const char *name,
                              kvg_review *out, kvg_diag *d)
{
    kvg_yaml_docs docs = {0};
    json_object *root;
    kvg_err e;
    if (!out)
        return KVG_EINVAL;
    memset(out, 0, sizeof *out);
    /* JSON gets the JSON parser: its errors are the precise ones. */
    if (looks_like_json(text ? text : "", text ? len : 0)) {
        e = kvg_review_decode(text, len, out, d);
        if (e)
            kvg_diag_prefix(d, "%s", name ? name : "-");
        return e;
    }
    e = kvg_yaml_parse(text ? text : "", text ? len : 0, name ? name : "-",
                       &docs, d);
    if (e)
        return e == KVG_ENOMEM ? e : KVG_EPARSE;
    if (docs.count != 1 || !docs.docs[0].obj) {
        if (docs.count > 1)
            e = kvg_diag_set(d, KVG_EPARSE, "%s:%d: %zu YAML documents: give "
                             "one AdmissionReview", name ? name : "-",
                             docs.docs[1].line, docs.count);
        else
            e = kvg_diag_set(d, KVG_EPARSE, "%s: empty document",
                             name ? name : "-");
        kvg_yaml_docs_free(&docs);
        return e;
    }
    root = json_object_get(docs.docs[0].obj);
    kvg_yaml_docs_free(&docs);
    e = decode_root(root, out, d);
    if (e)
        kvg_diag_prefix(d, "%s", name ? name : "-");
    return e;
}

void kvg_review_free(kvg_review *r)
{
    if (!r)
        return;
    json_object_put(r->root);
    memset(r, 0, sizeof *r);
}

/* ---- encoding ------------------------------------------------------------ */

/* The response is written directly (kvg_buf_json_str escapes as json-c
 * does): the same bytes a json-c tree would give, without building one per
 * request. Subtrees the engine built (causes) are still written by json-c. */
#define CHAIN KVG_BUF_CHAIN

static kvg_err encode_status(const kvg_decision *dec, kvg_buf *b)
{
    kvg_err e = KVG_OK;
    CHAIN(e, kvg_buf_printf(b, ",\"status\":{\"code\":%d",
                            dec->code ? dec->code : 403));
    CHAIN(e, kvg_buf_json_field(b, ",\"message\":",
                                dec->message ? dec->message : "denied by kvguard"));
    if (dec->reason)
        CHAIN(e, kvg_buf_json_field(b, ",\"reason\":", dec->reason));
    if (dec->causes && json_object_is_type(dec->causes, json_type_array) &&
        json_object_array_length(dec->causes) > 0) {
        CHAIN(e, kvg_buf_puts(b, ",\"details\":{\"causes\":"));
        CHAIN(e, kvg_json_to_buf(dec->causes, b));
        CHAIN(e, kvg_buf_puts(b, "}"));
    }
    CHAIN(e, kvg_buf_puts(b, "}"));
    return e;
}

static kvg_err encode_warnings(const kvg_decision *dec, kvg_buf *b)
{
    kvg_err e = KVG_OK;
    if (dec->n_warnings == 0)
        return KVG_OK;
    for (size_t i = 0; i < dec->n_warnings; i++)
        CHAIN(e, kvg_buf_json_field(b, i ? "," : ",\"warnings\":[",
                                    dec->warnings[i]));
    CHAIN(e, kvg_buf_puts(b, "]"));
    return e;
}

static kvg_err encode_patch(const kvg_decision *dec, kvg_buf *b)
{
    kvg_buf raw, b64;
    kvg_err e;
    if (!dec->patch || !json_object_is_type(dec->patch, json_type_array) ||
        json_object_array_length(dec->patch) == 0)
        return KVG_OK;
    kvg_buf_init(&raw, 0);
    kvg_buf_init(&b64, 0);
    e = kvg_json_to_buf(dec->patch, &raw);
    if (!e)
        e = kvg_base64_encode(raw.data, raw.len, &b64);
    CHAIN(e, kvg_buf_puts(b, ",\"patchType\":\"JSONPatch\""));
    CHAIN(e, kvg_buf_json_field(b, ",\"patch\":", b64.data));
    kvg_buf_free(&raw);
    kvg_buf_free(&b64);
    return e;
}

/* The apiserver records each key as "<webhook name>/<key>" and drops (with
 * only a log line of its own) any that is not then a qualified name, so the
 * key must be a valid name part: [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?,
 * at most 63 chars. A prefix the engine may have written ("kvguard.io/x")
 * is dropped here instead, where it is visible. */
static void annotation_key(const char *in, char out[64])
{
    const char *slash = strrchr(in, '/');
    size_t n = 0;
    if (slash)
        in = slash + 1;
    for (; *in && n < 63; in++) {
        unsigned char ch = (unsigned char)*in;
        if (isalnum(ch) || ((ch == '-' || ch == '_' || ch == '.') && n > 0))
            out[n++] = (char)ch;
        else if (n > 0)
            out[n++] = '-';
    }
    while (n > 0 && !isalnum((unsigned char)out[n - 1]))
        n--;
    out[n] = '\0';
}

typedef struct annotation {
    char key[64];
    const char *value;
} annotation;

/* Keys as annotation_key() makes them; two keys that become the same keep
 * the first one's place and the last one's value (what adding them to a
 * json-c object did). Sets *n to how many distinct keys are in out. */
static kvg_err collect_annotations(json_object *annotations, annotation *out,
                                   size_t *n_out)
{
    size_t n = 0;
    json_object_object_foreach(annotations, key, val) {
        char k[64];
        const char *s = kvg_json_as_str(val);
        size_t i = 0;
        annotation_key(key, k);
        if (!*k)
            continue;
        while (i < n && strcmp(out[i].key, k))
            i++;
        if (i == n)
            memcpy(out[n++].key, k, sizeof k);
        /* Values must be strings for the apiserver; serialize anything
         * else (NULL when memory runs out). */
        out[i].value = s ? s : json_object_to_json_string_ext(
                                   val, JSON_C_TO_STRING_PLAIN |
                                            JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!out[i].value)
            return KVG_ENOMEM;
    }
    *n_out = n;
    return KVG_OK;
}

static kvg_err encode_annotations(const kvg_decision *dec, kvg_buf *b)
{
    annotation *ann;
    size_t n = 0;
    kvg_err e;
    if (!dec->annotations || !json_object_is_type(dec->annotations,
                                                  json_type_object) ||
        json_object_object_length(dec->annotations) == 0)
        return KVG_OK;
    ann = calloc((size_t)json_object_object_length(dec->annotations), sizeof *ann);
    if (!ann)
        return KVG_ENOMEM;
    e = collect_annotations(dec->annotations, ann, &n);
    CHAIN(e, kvg_buf_puts(b, ",\"auditAnnotations\":{"));
    for (size_t i = 0; i < n; i++) {
        CHAIN(e, kvg_buf_json_field(b, i ? "," : "", ann[i].key));
        CHAIN(e, kvg_buf_json_field(b, ":", ann[i].value));
    }
    CHAIN(e, kvg_buf_puts(b, "}"));
    free(ann);
    return e;
}

static kvg_err encode_response(const kvg_review *r, const kvg_decision *dec,
                               kvg_buf *b)
{
    kvg_err e = KVG_OK;
    CHAIN(e, kvg_buf_json_field(b, "{\"apiVersion\":", r->api_version[0]
                                                          ? r->api_version
                                                          : API_V1));
    CHAIN(e, kvg_buf_json_field(b, ",\"kind\":\"AdmissionReview\",\"response\":"
                                   "{\"uid\":", r->req.uid));
    CHAIN(e, kvg_buf_puts(b, dec->allowed ? ",\"allowed\":true" : ",\"allowed\":false"));
    /* As the apiserver reads it: status only explains a denial, and a
     * patch on a denied request would be ignored anyway. */
    if (!dec->allowed)
        CHAIN(e, encode_status(dec, b));
    CHAIN(e, encode_warnings(dec, b));
    if (dec->allowed)
        CHAIN(e, encode_patch(dec, b));
    CHAIN(e, encode_annotations(dec, b));
    CHAIN(e, kvg_buf_puts(b, "}}"));
    return e;
}

kvg_err kvg_review_encode(const kvg_review *r, const kvg_decision *dec,
                          kvg_buf *out)
{
    size_t start;
    kvg_err e;
    if (!r || !dec || !out || !r->req.uid)
        return KVG_EINVAL;
    start = out->len;
    if ((e = encode_response(r, dec, out)))
        kvg_buf_truncate(out, start); /* appends nothing when it fails */
    return e;
}

kvg_err kvg_admission_error_body(int code, const char *msg, kvg_buf *out)
{
    size_t start = out->len;
    kvg_err e = kvg_buf_json_field(out, "{\"error\":", msg);
    CHAIN(e, kvg_buf_printf(out, ",\"code\":%d}", code));
    if (e)
        kvg_buf_truncate(out, start);
    return e;
}
