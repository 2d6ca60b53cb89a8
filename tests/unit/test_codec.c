/* The AdmissionReview codec: decoding (v1, v1beta1, YAML, every bad input),
 * encoding (status, causes, warnings, patch, audit annotations), the audit
 * record and kvg_admit() end to end with the real policy engine. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvguard/admission.h"
#include "kvguard/json.h"
#include "kvguard/log.h"
#include "testlib.h"

#define GVK_SNAP "\"kind\":{\"group\":\"snapshot.kubevirt.io\",\"version\":" \
                 "\"v1beta1\",\"kind\":\"VirtualMachineSnapshot\"}"
#define BASE_REQ "\"uid\":\"u-1\"," GVK_SNAP ",\"operation\":\"CREATE\""
#define REVIEW_V(api, req) \
    "{\"apiVersion\":\"" api "\",\"kind\":\"AdmissionReview\",\"request\":{" req "}}"
#define REVIEW(req) REVIEW_V("admission.k8s.io/v1", req)
/* json-c keeps the last of duplicate keys: BASE_REQ "," X overrides a field. */
#define BAD(field_json) REVIEW(BASE_REQ "," field_json)

/* ---- decoding: bad input ---------------------------------------------------- */

typedef struct bad_case {
    const char *body;
    const char *msg; /* the whole diag must contain this */
} bad_case;

static const bad_case bad_cases[] = {
    {"", "not JSON: the body is empty"},
    {"{", "not JSON"},
    {"{\"a\":1} x", "not JSON: line 1 column 9"},
    {"{\n\"a\": tru}", "not JSON: line 2"},
    {"[]", "not an AdmissionReview: the top level must be an object (got array)"},
    {"\"x\"", "not an AdmissionReview"},
    {"{\"kind\":\"AdmissionReview\"}", "apiVersion is missing"},
    {"{\"apiVersion\":5,\"kind\":\"AdmissionReview\"}",
     "apiVersion is not a string (got int)"},
    {"{\"apiVersion\":\"v1\",\"kind\":\"AdmissionReview\"}",
     "apiVersion 'v1' is not admission.k8s.io/v1 or v1beta1"},
    {"{\"apiVersion\":\"admission.k8s.io/v2\",\"kind\":\"AdmissionReview\"}",
     "apiVersion 'admission.k8s.io/v2' is not admission.k8s.io/v1 or v1beta1"},
    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"Pod\"}",
     "kind 'Pod' is not AdmissionReview"},
    {"{\"apiVersion\":\"admission.k8s.io/v1\"}", "kind '' is not AdmissionReview"},
    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}",
     "request is missing"},
    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
     "\"request\":null}", "request is missing"},
    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
     "\"request\":[]}", "request is not an object (got array)"},
    {REVIEW(GVK_SNAP ",\"operation\":\"CREATE\""),
     "request.uid is missing or not a string"},
    {BAD("\"uid\":5"), "request.uid is missing or not a string"},
    {BAD("\"uid\":\"\""), "request.uid is missing or not a string"},
    {BAD("\"uid\":null"), "request.uid is missing or not a string"},
    {REVIEW("\"uid\":\"u\"," GVK_SNAP), "request.operation is missing"},
    {BAD("\"operation\":\"PATCH\""),
     "request.operation 'PATCH' is not CREATE, UPDATE, DELETE or CONNECT"},
    {BAD("\"operation\":\"create\""),
     "request.operation 'create' is not CREATE, UPDATE, DELETE or CONNECT"},
    {BAD("\"operation\":1"), "request.operation is not a string (got int)"},
    {REVIEW("\"uid\":\"u\",\"operation\":\"CREATE\""), "request.kind is missing"},
    {BAD("\"kind\":\"VirtualMachine\""),
     "request.kind is not an object (got string)"},
    {BAD("\"kind\":{\"group\":\"\",\"version\":\"v1\"}"),
     "request.kind.kind is missing"},
    {BAD("\"kind\":{\"group\":\"\",\"kind\":\"Pod\"}"),
     "request.kind.version is missing"},
    {BAD("\"kind\":{\"group\":1,\"version\":\"v1\",\"kind\":\"Pod\"}"),
     "request.kind.group is not a string (got int)"},
    {BAD("\"kind\":{\"version\":true,\"kind\":\"Pod\"}"),
     "request.kind.version is not a string (got boolean)"},
    {BAD("\"resource\":\"pods\""), "request.resource is not an object"},
    {BAD("\"resource\":{\"resource\":7}"),
     "request.resource.resource is not a string (got int)"},
    {BAD("\"subResource\":[]"), "request.subResource is not a string (got array)"},
    {BAD("\"namespace\":3"), "request.namespace is not a string (got int)"},
    {BAD("\"name\":{}"), "request.name is not a string (got object)"},
    {BAD("\"userInfo\":\"bob\""), "request.userInfo is not an object (got string)"},
    {BAD("\"userInfo\":{\"username\":1}"),
     "request.userInfo.username is not a string (got int)"},
    {BAD("\"userInfo\":{\"groups\":\"admins\"}"),
     "request.userInfo.groups is not an array (got string)"},
    {BAD("\"userInfo\":{\"groups\":[\"a\",1]}"),
     "request.userInfo.groups[1] is not a string (got int)"},
    {BAD("\"dryRun\":\"true\""), "request.dryRun is not a boolean (got string)"},
    {BAD("\"object\":\"x\""), "request.object is not an object (got string)"},
    {BAD("\"object\":[1]"), "request.object is not an object (got array)"},
    {BAD("\"oldObject\":1.5"), "request.oldObject is not an object (got double)"},
};

START_TEST(decode_bad)
{
    const bad_case *c = &bad_cases[_i];
    kvg_review rv;
    kvg_diag d = {{0}};
    kvg_err e = kvg_review_decode(c->body, strlen(c->body), &rv, &d);
    ck_assert_msg(e != KVG_OK, "case %d accepted: %s", _i, c->body);
    ck_assert_int_eq(e, KVG_EPARSE);
    ck_assert_msg(strstr(d.msg, c->msg), "case %d: got '%s', want '%s'", _i,
                  d.msg, c->msg);
    ck_assert_ptr_null(rv.root);
}
END_TEST

/* 10 000 nested arrays inside the object: refused by the depth limit. */
START_TEST(decode_deep)
{
    size_t n = 10000, len = 0;
    char *s = malloc(2 * n + 256);
    len += (size_t)sprintf(s, "%s", "{\"apiVersion\":\"admission.k8s.io/v1\",\"x\":");
    memset(s + len, '[', n);
    len += n;
    memset(s + len, ']', n);
    len += n;
    s[len++] = '}';
    kvg_review rv;
    kvg_diag d = {{0}};
    ck_assert_int_eq(kvg_review_decode(s, len, &rv, &d), KVG_EPARSE);
    ck_assert_ptr_nonnull(strstr(d.msg, "not JSON"));
    free(s);
}
END_TEST

/* A 6 MiB object (under the server's 7 MiB cap) decodes. */
START_TEST(decode_huge)
{
    size_t big = 6u << 20;
    const char *head = REVIEW(BASE_REQ ",\"object\":{\"data\":\"");
    size_t hl = strlen(head) - 2; /* drop the closing "}}" of REVIEW */
    char *s = malloc(hl + big + 16);
    memcpy(s, head, hl);
    memset(s + hl, 'a', big);
    memcpy(s + hl + big, "\"}}}", 4);
    kvg_review rv;
    kvg_diag d = {{0}};
    ck_assert_int_eq(kvg_review_decode(s, hl + big + 4, &rv, &d), KVG_OK);
    ck_assert_uint_eq(strlen(kvg_json_str(rv.req.object, "data", NULL)), big);
    kvg_review_free(&rv);
    free(s);
}
END_TEST

/* ---- decoding: good input --------------------------------------------------- */

static const char full_v1[] =
    "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
    "\"request\":{\"uid\":\"705ab4f5-6393-11e8-b7cc-42010a800002\","
    "\"kind\":{\"group\":\"snapshot.kubevirt.io\",\"version\":\"v1beta1\","
    "\"kind\":\"VirtualMachineSnapshot\"},"
    "\"resource\":{\"group\":\"snapshot.kubevirt.io\",\"version\":\"v1beta1\","
    "\"resource\":\"virtualmachinesnapshots\"},\"subResource\":\"status\","
    "\"namespace\":\"prod\",\"name\":\"snap-1\",\"operation\":\"UPDATE\","
    "\"userInfo\":{\"username\":\"alice\",\"groups\":[\"system:authenticated\","
    "\"ops\"]},\"dryRun\":true,"
    "\"object\":{\"metadata\":{\"name\":\"snap-1\"}},"
    "\"oldObject\":{\"metadata\":{\"name\":\"snap-0\"}}}}";

/* Every member of a full review, replaced by every JSON type in turn: the
 * decoder either accepts it or says what is wrong; whatever it accepts can be
 * encoded and audited. Runs under ASan in CI. */
static void each_member(json_object *root, json_object *o, int *n);

static void try_variant(json_object *root, int *n)
{
    const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
    kvg_review rv;
    kvg_diag d = {{0}};
    kvg_err e = kvg_review_decode(text, strlen(text), &rv, &d);
    (*n)++;
    if (e) {
        ck_assert_int_eq(e, KVG_EPARSE);
        ck_assert_msg(d.msg[0], "error without a message for %s", text);
        return;
    }
    kvg_decision dec;
    kvg_buf b;
    kvg_decision_init(&dec);
    kvg_buf_init(&b, 0);
    ck_assert_int_eq(kvg_review_encode(&rv, &dec, &b), KVG_OK);
    ck_assert_int_eq(kvg_audit_format(&rv, &dec, false, 0.001, &b), KVG_OK);
    kvg_buf_free(&b);
    kvg_decision_free(&dec);
    kvg_review_free(&rv);
}

static void each_member(json_object *root, json_object *o, int *n)
{
    static const char *const values[] = {"null", "1", "1.5", "true", "\"s\"",
                                         "\"\"", "[]", "[1]", "{}"};
    char *keys[64];
    size_t nk = 0;
    if (!json_object_is_type(o, json_type_object))
        return;
    /* keys first: the object changes under the loop below */
    json_object_object_foreach(o, key, val) {
        (void)val;
        if (nk < 64)
            keys[nk++] = strdup(key);
    }
    for (size_t k = 0; k < nk; k++) {
        json_object *saved = json_object_get(json_object_object_get(o, keys[k]));
        for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
            json_object_object_add(o, keys[k], json_tokener_parse(values[i]));
            try_variant(root, n);
        }
        json_object_object_del(o, keys[k]);
        try_variant(root, n);
        json_object_object_add(o, keys[k], saved);
        each_member(root, saved, n);
        free(keys[k]);
    }
}

START_TEST(decode_wrong_types_everywhere)
{
    json_object *root = json_tokener_parse(full_v1);
    int n = 0;
    ck_assert_ptr_nonnull(root);
    each_member(root, root, &n);
    ck_assert_int_gt(n, 200);
    json_object_put(root);
}
END_TEST

START_TEST(decode_full_v1)
{
    kvg_review rv;
    kvg_diag d = {{0}};
    ck_assert_int_eq(kvg_review_decode(full_v1, strlen(full_v1), &rv, &d), KVG_OK);
    const kvg_request *q = &rv.req;
    ck_assert_str_eq(rv.api_version, "admission.k8s.io/v1");
    ck_assert_str_eq(q->uid, "705ab4f5-6393-11e8-b7cc-42010a800002");
    ck_assert_str_eq(q->group, "snapshot.kubevirt.io");
    ck_assert_str_eq(q->version, "v1beta1");
    ck_assert_str_eq(q->kind, "VirtualMachineSnapshot");
    ck_assert_str_eq(q->resource, "virtualmachinesnapshots");
    ck_assert_str_eq(q->sub_resource, "status");
    ck_assert_str_eq(q->namespace_, "prod");
    ck_assert_str_eq(q->name, "snap-1");
    ck_assert_int_eq(q->operation, KVG_OP_UPDATE);
    ck_assert_str_eq(q->username, "alice");
    ck_assert_uint_eq(json_object_array_length(q->groups), 2);
    ck_assert(q->dry_run);
    ck_assert_str_eq(kvg_json_str(q->object, "metadata", "name", NULL), "snap-1");
    ck_assert_str_eq(kvg_json_str(q->old_object, "metadata", "name", NULL), "snap-0");
    kvg_review_free(&rv);
    ck_assert_ptr_null(rv.root);
}
END_TEST

typedef struct good_case {
    const char *body;
    const char *api;
    kvg_operation op;
    const char *group, *kind, *ns, *name;
    bool has_object;
} good_case;

static const good_case good_cases[] = {
    {REVIEW_V("admission.k8s.io/v1beta1", BASE_REQ), "admission.k8s.io/v1beta1",
     KVG_OP_CREATE, "snapshot.kubevirt.io", "VirtualMachineSnapshot", "", "",
     false},
    {REVIEW("\"uid\":\"a\",\"operation\":\"DELETE\",\"kind\":{\"group\":\"\","
            "\"version\":\"v1\",\"kind\":\"PersistentVolumeClaim\"},"
            "\"namespace\":\"ns\",\"name\":\"pvc\",\"object\":null,"
            "\"oldObject\":{\"kind\":\"PersistentVolumeClaim\"}"),
     "admission.k8s.io/v1", KVG_OP_DELETE, "", "PersistentVolumeClaim", "ns",
     "pvc", false},
    /* generateName: no name yet; kind.group may be left out for core */
    {REVIEW("\"uid\":\"b\",\"operation\":\"CONNECT\",\"kind\":{\"version\":"
            "\"v1\",\"kind\":\"Pod\"},\"namespace\":\"x\",\"object\":{}"),
     "admission.k8s.io/v1", KVG_OP_CONNECT, "", "Pod", "x", "", true},
    {REVIEW(BASE_REQ ",\"userInfo\":{},\"dryRun\":false,\"options\":null"),
     "admission.k8s.io/v1", KVG_OP_CREATE, "snapshot.kubevirt.io",
     "VirtualMachineSnapshot", "", "", false},
};

START_TEST(decode_good)
{
    const good_case *c = &good_cases[_i];
    kvg_review rv;
    kvg_diag d = {{0}};
    ck_assert_msg(kvg_review_decode(c->body, strlen(c->body), &rv, &d) == KVG_OK,
                  "case %d: %s", _i, d.msg);
    ck_assert_str_eq(rv.api_version, c->api);
    ck_assert_int_eq(rv.req.operation, c->op);
    ck_assert_str_eq(rv.req.group, c->group);
    ck_assert_str_eq(rv.req.kind, c->kind);
    ck_assert_str_eq(rv.req.namespace_, c->ns);
    ck_assert_str_eq(rv.req.name, c->name);
    ck_assert_str_eq(rv.req.username, "");
    ck_assert(!rv.req.dry_run);
    ck_assert_int_eq(rv.req.object != NULL, c->has_object);
    kvg_review_free(&rv);
}
END_TEST

START_TEST(decode_yaml)
{
    const char *y =
        "apiVersion: admission.k8s.io/v1beta1\n"
        "kind: AdmissionReview\n"
        "request:\n"
        "  uid: \"42\"\n"
        "  kind: {group: clone.kubevirt.io, version: v1beta1, kind: "
        "VirtualMachineClone}\n"
        "  operation: CREATE\n"
        "  namespace: default\n"
        "  dryRun: true\n"
        "  object:\n"
        "    spec: {source: {kind: VirtualMachine, name: vm1}}\n";
    kvg_review rv;
    kvg_diag d = {{0}};
    ck_assert_msg(kvg_review_decode_any(y, strlen(y), "r.yaml", &rv, &d) == KVG_OK,
                  "%s", d.msg);
    ck_assert_str_eq(rv.api_version, "admission.k8s.io/v1beta1");
    ck_assert_str_eq(rv.req.uid, "42");
    ck_assert_str_eq(rv.req.kind, "VirtualMachineClone");
    ck_assert(rv.req.dry_run);
    ck_assert_str_eq(kvg_json_str(rv.req.object, "spec", "source", "name", NULL),
                     "vm1");
    kvg_review_free(&rv);
}
END_TEST

typedef struct any_case {
    const char *text;
    const char *msg;
} any_case;

static const any_case any_bad[] = {
    /* unquoted numbers are numbers in YAML: a uid must be a string */
    {"apiVersion: admission.k8s.io/v1\nkind: AdmissionReview\nrequest:\n"
     "  uid: 42\n  operation: CREATE\n",
     "r.yaml: request.uid is missing or not a string"},
    {"apiVersion: admission.k8s.io/v1\nkind: AdmissionReview\n---\nkind: x\n",
     "r.yaml:3: 2 YAML documents"},
    {"", "r.yaml: empty document"},
    {"a: [\n", "r.yaml"},
    {"{\"apiVersion\": 1}", "r.yaml: apiVersion is not a string"},
    {"  {\"a\":", "r.yaml: not JSON"},
    {"- 1\n- 2\n", "r.yaml: not an AdmissionReview"},
};

START_TEST(decode_any_bad)
{
    const any_case *c = &any_bad[_i];
    kvg_review rv;
    kvg_diag d = {{0}};
    ck_assert_msg(kvg_review_decode_any(c->text, strlen(c->text), "r.yaml", &rv,
                                        &d) != KVG_OK, "case %d accepted", _i);
    ck_assert_msg(strstr(d.msg, c->msg), "case %d: got '%s', want '%s'", _i,
                  d.msg, c->msg);
}
END_TEST

/* ---- encoding --------------------------------------------------------------- */

static kvg_review review_of(const char *body)
{
    kvg_review rv;
    kvg_diag d = {{0}};
    ck_assert_msg(kvg_review_decode(body, strlen(body), &rv, &d) == KVG_OK, "%s",
                  d.msg);
    return rv;
}

static json_object *encode(const kvg_review *rv, const kvg_decision *dec)
{
    kvg_buf b;
    json_object *o = NULL;
    kvg_buf_init(&b, 0);
    ck_assert_int_eq(kvg_review_encode(rv, dec, &b), KVG_OK);
    ck_assert_int_eq(kvg_json_parse(b.data, b.len, 0, &o, NULL), KVG_OK);
    kvg_buf_free(&b);
    return o;
}

static bool has(const json_object *o, const char *a, const char *b)
{
    return kvg_json_path(o, a, b, NULL) != NULL;
}

START_TEST(encode_allowed)
{
    kvg_review rv = review_of(REVIEW_V("admission.k8s.io/v1beta1", BASE_REQ));
    kvg_decision dec;
    kvg_decision_init(&dec);
    dec.allowed = true;
    dec.code = 200;
    json_object *o = encode(&rv, &dec);
    ck_assert_str_eq(kvg_json_str(o, "apiVersion", NULL), "admission.k8s.io/v1beta1");
    ck_assert_str_eq(kvg_json_str(o, "kind", NULL), "AdmissionReview");
    ck_assert_str_eq(kvg_json_str(o, "response", "uid", NULL), "u-1");
    ck_assert(kvg_json_bool(false, o, "response", "allowed", NULL));
    ck_assert(!has(o, "response", "status"));
    ck_assert(!has(o, "response", "warnings"));
    ck_assert(!has(o, "response", "patch"));
    ck_assert(!has(o, "response", "patchType"));
    ck_assert(!has(o, "response", "auditAnnotations"));
    ck_assert(!has(o, "request", NULL));
    json_object_put(o);
    kvg_decision_free(&dec);
    kvg_review_free(&rv);
}
END_TEST

START_TEST(encode_denied)
{
    kvg_review rv = review_of(REVIEW(BASE_REQ));
    kvg_decision dec;
    kvg_decision_init(&dec);
    dec.allowed = false;
    dec.code = 403;
    dec.reason = strdup("Forbidden");
    dec.message = strdup("snapshot-volume-support: volume \"disk\" has no "
                         "VolumeSnapshotClass");
    json_object *o = encode(&rv, &dec);
    ck_assert_str_eq(kvg_json_str(o, "apiVersion", NULL), "admission.k8s.io/v1");
    ck_assert(!kvg_json_bool(true, o, "response", "allowed", NULL));
    ck_assert_int_eq(kvg_json_int(0, o, "response", "status", "code", NULL), 403);
    ck_assert_str_eq(kvg_json_str(o, "response", "status", "reason", NULL),
                     "Forbidden");
    ck_assert_str_eq(kvg_json_str(o, "response", "status", "message", NULL),
                     dec.message);
    ck_assert_ptr_null(kvg_json_path(o, "response", "status", "details", NULL));
    json_object_put(o);
    kvg_decision_free(&dec);
    kvg_review_free(&rv);
}
END_TEST

START_TEST(encode_causes)
{
    kvg_review rv = review_of(REVIEW(BASE_REQ));
    kvg_decision dec;
    kvg_decision_init(&dec);
    dec.allowed = false;
    dec.code = 422;
    dec.reason = strdup("Invalid");
    dec.message = strdup("spec.source.apiGroup: Required value");
    dec.causes = json_tokener_parse(
        "[{\"type\":\"FieldValueRequired\",\"message\":\"missing apiGroup\","
        "\"field\":\"spec.source.apiGroup\"}]");
    json_object *o = encode(&rv, &dec);
    json_object *causes = kvg_json_array(o, "response", "status", "details",
                                         "causes", NULL);
    ck_assert_ptr_nonnull(causes);
    ck_assert_int_eq(json_object_array_length(causes), 1);
    ck_assert_str_eq(kvg_json_str(json_object_array_get_idx(causes, 0), "field",
                                  NULL), "spec.source.apiGroup");
    ck_assert_int_eq(kvg_json_int(0, o, "response", "status", "code", NULL), 422);
    json_object_put(o);
    kvg_decision_free(&dec);
    kvg_review_free(&rv);
}
END_TEST

START_TEST(encode_warnings)
{
    kvg_review rv = review_of(REVIEW(BASE_REQ));
    kvg_decision dec;
    kvg_decision_init(&dec);
    dec.allowed = true;
    dec.warnings = calloc(2, sizeof *dec.warnings);
    dec.warnings[0] = strdup("snapshot-online-consistency: crash-consistent only");
    dec.warnings[1] = strdup("with \"quotes\" and / slash");
    dec.n_warnings = 2;
    json_object *o = encode(&rv, &dec);
    json_object *w = kvg_json_array(o, "response", "warnings", NULL);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(json_object_array_length(w), 2);
    ck_assert_str_eq(kvg_json_as_str(json_object_array_get_idx(w, 1)),
                     "with \"quotes\" and / slash");
    ck_assert(!has(o, "response", "status"));
    json_object_put(o);
    kvg_decision_free(&dec);
    kvg_review_free(&rv);
}
END_TEST

static const char patch_text[] =
    "[{\"op\":\"replace\",\"path\":\"/spec/source/kind\",\"value\":"
    "\"VirtualMachine\"},{\"op\":\"add\",\"path\":\"/metadata/annotations/"
    "kvguard.io~1clone-strategy\",\"value\":\"cdi\"}]";

START_TEST(encode_patch)
{
    kvg_review rv = review_of(REVIEW(BASE_REQ));
    kvg_decision dec;
    kvg_buf raw;
    json_object *decoded = NULL;
    kvg_decision_init(&dec);
    dec.allowed = true;
    dec.patch = json_tokener_parse(patch_text);
    json_object *o = encode(&rv, &dec);
    ck_assert_str_eq(kvg_json_str(o, "response", "patchType", NULL), "JSONPatch");
    const char *p = kvg_json_str(o, "response", "patch", NULL);
    ck_assert_ptr_nonnull(p);
    kvg_buf_init(&raw, 0);
    ck_assert_int_eq(kvg_base64_decode(p, strlen(p), &raw), KVG_OK);
    ck_assert_int_eq(kvg_json_parse(raw.data, raw.len, 0, &decoded, NULL), KVG_OK);
    json_object *want = json_tokener_parse(patch_text);
    ck_assert(json_object_equal(decoded, want));
    json_object_put(want);
    json_object_put(decoded);
    kvg_buf_free(&raw);
    json_object_put(o);
    /* a denied request never carries a patch; an empty patch is no patch */
    dec.allowed = false;
    o = encode(&rv, &dec);
    ck_assert(!has(o, "response", "patch"));
    ck_assert(!has(o, "response", "patchType"));
    json_object_put(o);
    dec.allowed = true;
    json_object_put(dec.patch);
    dec.patch = json_object_new_array();
    o = encode(&rv, &dec);
    ck_assert(!has(o, "response", "patchType"));
    json_object_put(o);
    kvg_decision_free(&dec);
    kvg_review_free(&rv);
}
END_TEST

START_TEST(encode_audit_annotations)
{
    kvg_review rv = review_of(REVIEW(BASE_REQ));
    kvg_decision dec;
    kvg_decision_init(&dec);
    dec.allowed = true;
    dec.annotations = json_tokener_parse(
        "{\"kvguard.io/clone-strategy\":\"cdi\",\"weird key!\":\"x\","
        "\"count\":5,\"-._\":\"dropped\"}");
    json_object *o = encode(&rv, &dec);
    json_object *a = kvg_json_path(o, "response", "auditAnnotations", NULL);
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(kvg_json_str(a, "clone-strategy", NULL), "cdi");
    ck_assert_str_eq(kvg_json_str(a, "weird-key", NULL), "x");
    ck_assert_str_eq(kvg_json_str(a, "count", NULL), "5");
    ck_assert_int_eq(json_object_object_length(a), 3);
    json_object_put(o);
    kvg_decision_free(&dec);
    kvg_review_free(&rv);
}
END_TEST

START_TEST(error_body)
{
    kvg_buf b;
    json_object *o = NULL;
    kvg_buf_init(&b, 0);
    ck_assert_int_eq(kvg_admission_error_body(400, "request is \"missing\"", &b),
                     KVG_OK);
    ck_assert_int_eq(kvg_json_parse(b.data, b.len, 0, &o, NULL), KVG_OK);
    ck_assert_str_eq(kvg_json_str(o, "error", NULL), "request is \"missing\"");
    ck_assert_int_eq(kvg_json_int(0, o, "code", NULL), 400);
    json_object_put(o);
    kvg_buf_free(&b);
}
END_TEST

/* ---- audit record ----------------------------------------------------------- */

START_TEST(audit_record)
{
    kvg_review rv = review_of(full_v1);
    kvg_decision dec;
    kvg_buf b;
    json_object *o = NULL;
    kvg_decision_init(&dec);
    dec.allowed = false;
    dec.code = 403;
    dec.message = strdup("denied: no VolumeSnapshotClass");
    dec.results = calloc(2, sizeof *dec.results);
    dec.results[0] = (kvg_rule_result){KVG_RULE_SNAPSHOT_SOURCE_REF,
                                       KVG_ACTION_ENFORCE, KVG_OUTCOME_PASS, NULL};
    dec.results[1] = (kvg_rule_result){KVG_RULE_SNAPSHOT_VOLUME_SUPPORT,
                                       KVG_ACTION_ENFORCE, KVG_OUTCOME_FAIL,
                                       strdup("no VolumeSnapshotClass")};
    dec.n_results = 2;
    dec.patch = json_tokener_parse(patch_text);
    kvg_buf_init(&b, 0);
    ck_assert_int_eq(kvg_audit_format(&rv, &dec, true, 0.0012345, &b), KVG_OK);
    ck_assert_ptr_null(strchr(b.data, '\n'));
    ck_assert_int_eq(kvg_json_parse(b.data, b.len, 0, &o, NULL), KVG_OK);
    const char *t = kvg_json_str(o, "time", NULL);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(strlen(t), 24); /* 2026-11-21T21:00:00.123Z */
    ck_assert_int_eq(t[10], 'T');
    ck_assert_int_eq(t[23], 'Z');
    ck_assert_str_eq(kvg_json_str(o, "uid", NULL), rv.req.uid);
    ck_assert_str_eq(kvg_json_str(o, "user", NULL), "alice");
    ck_assert_int_eq(json_object_array_length(kvg_json_array(o, "groups", NULL)), 2);
    ck_assert_str_eq(kvg_json_str(o, "operation", NULL), "UPDATE");
    ck_assert_str_eq(kvg_json_str(o, "group", NULL), "snapshot.kubevirt.io");
    ck_assert_str_eq(kvg_json_str(o, "version", NULL), "v1beta1");
    ck_assert_str_eq(kvg_json_str(o, "kind", NULL), "VirtualMachineSnapshot");
    ck_assert_str_eq(kvg_json_str(o, "resource", NULL), "virtualmachinesnapshots");
    ck_assert_str_eq(kvg_json_str(o, "namespace", NULL), "prod");
    ck_assert_str_eq(kvg_json_str(o, "name", NULL), "snap-1");
    ck_assert(kvg_json_bool(false, o, "dryRun", NULL));
    ck_assert_str_eq(kvg_json_str(o, "webhook", NULL), "mutate");
    ck_assert_str_eq(kvg_json_str(o, "decision", NULL), "denied");
    ck_assert_int_eq(kvg_json_int(0, o, "code", NULL), 403);
    ck_assert_str_eq(kvg_json_str(o, "message", NULL), dec.message);
    json_object *rules = kvg_json_array(o, "rules", NULL);
    ck_assert_int_eq(json_object_array_length(rules), 2);
    json_object *r1 = json_object_array_get_idx(rules, 1);
    ck_assert_str_eq(kvg_json_str(r1, "id", NULL), "snapshot-volume-support");
    ck_assert_str_eq(kvg_json_str(r1, "action", NULL), "enforce");
    ck_assert_str_eq(kvg_json_str(r1, "outcome", NULL),
                     kvg_outcome_name(KVG_OUTCOME_FAIL));
    ck_assert_str_eq(kvg_json_str(r1, "message", NULL), "no VolumeSnapshotClass");
    json_object *p = kvg_json_array(o, "patch", NULL);
    ck_assert_int_eq(json_object_array_length(p), 2);
    ck_assert_str_eq(kvg_json_str(json_object_array_get_idx(p, 0), "op", NULL),
                     "replace");
    ck_assert_str_eq(kvg_json_str(json_object_array_get_idx(p, 0), "path", NULL),
                     "/spec/source/kind");
    ck_assert_ptr_null(kvg_json_path(json_object_array_get_idx(p, 0), "value",
                                     NULL));
    json_object *lat = kvg_json_path(o, "latency_ms", NULL);
    ck_assert(json_object_is_type(lat, json_type_double));
    ck_assert_double_eq_tol(json_object_get_double(lat), 1.234, 0.001);
    json_object_put(o);
    kvg_buf_free(&b);
    kvg_decision_free(&dec);
    kvg_review_free(&rv);
}
END_TEST

/* ---- kvg_admit with the real engine ----------------------------------------- */

typedef struct admit_env {
    kvg_policy_config cfg;
    kvg_store *store;
    kvg_buf out;
    kvg_admit_result res;
    kvg_diag d;
} admit_env;

static void env_init(admit_env *e)
{
    memset(e, 0, sizeof *e);
    kvg_policy_config_init(&e->cfg);
    ck_assert_int_eq(kvg_store_new(&e->store), KVG_OK);
    /* an empty but synced cluster, as the files backend gives */
    for (int k = 0; k < KVG_KIND_COUNT; k++)
        kvg_store_set_state(e->store, (kvg_kind)k, KVG_KIND_SYNCED);
    kvg_buf_init(&e->out, 0);
}

static void env_free(admit_env *e)
{
    kvg_buf_free(&e->out);
    kvg_store_free(e->store);
    kvg_policy_config_free(&e->cfg);
}

static kvg_err admit(admit_env *e, const char *body, const kvg_admit_opts *o)
{
    kvg_buf_reset(&e->out);
    return kvg_admit(&e->cfg, kvg_store_view(e->store), body, strlen(body), o,
                     &e->out, &e->res, &e->d);
}

START_TEST(admit_bad_input)
{
    admit_env e;
    json_object *o = NULL;
    kvg_admit_opts opts = {.audit = true};
    env_init(&e);
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        ck_assert_int_eq(admit(&e, bad_cases[i].body, &opts), KVG_EPARSE);
        ck_assert_int_eq(e.res.http_status, 400);
        ck_assert(!e.res.allowed);
        ck_assert_int_eq(kvg_json_parse(e.out.data, e.out.len, 0, &o, NULL), KVG_OK);
        ck_assert_int_eq(kvg_json_int(0, o, "code", NULL), 400);
        ck_assert_ptr_nonnull(strstr(kvg_json_str(o, "error", NULL),
                                     bad_cases[i].msg));
        json_object_put(o);
    }
    env_free(&e);
}
END_TEST

/* A kind kvguard does not handle is allowed; the response echoes the uid in
 * the version asked and the result carries the metric labels. */
START_TEST(admit_unhandled_kind)
{
    admit_env e;
    json_object *o = NULL;
    const char *body = REVIEW_V("admission.k8s.io/v1beta1",
                                "\"uid\":\"p-1\",\"operation\":\"DELETE\","
                                "\"kind\":{\"group\":\"\",\"version\":\"v1\","
                                "\"kind\":\"ConfigMap\"},\"namespace\":\"a\"");
    env_init(&e);
    ck_assert_int_eq(admit(&e, body, NULL), KVG_OK);
    ck_assert_int_eq(e.res.http_status, 200);
    ck_assert(e.res.allowed);
    ck_assert_str_eq(e.res.kind, "ConfigMap");
    ck_assert_str_eq(e.res.operation, "DELETE");
    ck_assert(e.res.seconds >= 0 && e.res.seconds < 5);
    ck_assert_int_eq(kvg_json_parse(e.out.data, e.out.len, 0, &o, NULL), KVG_OK);
    ck_assert_str_eq(kvg_json_str(o, "apiVersion", NULL), "admission.k8s.io/v1beta1");
    ck_assert_str_eq(kvg_json_str(o, "response", "uid", NULL), "p-1");
    ck_assert(kvg_json_bool(false, o, "response", "allowed", NULL));
    json_object_put(o);
    env_free(&e);
}
END_TEST

/* A snapshot of a VM that is not in the view is denied (snapshot-source-
 * exists), and the audit record lands on the log fd as one JSON line. */
START_TEST(admit_denied_with_audit)
{
    admit_env e;
    json_object *o = NULL;
    int fds[2];
    char line[16384];
    const char *body = REVIEW(
        "\"uid\":\"s-1\",\"operation\":\"CREATE\"," GVK_SNAP ",\"namespace\":\"ns\","
        "\"name\":\"snap\",\"userInfo\":{\"username\":\"bob\"},\"object\":{"
        "\"apiVersion\":\"snapshot.kubevirt.io/v1beta1\",\"kind\":"
        "\"VirtualMachineSnapshot\",\"metadata\":{\"name\":\"snap\",\"namespace\":"
        "\"ns\"},\"spec\":{\"source\":{\"apiGroup\":\"kubevirt.io\",\"kind\":"
        "\"VirtualMachine\",\"name\":\"no-such-vm\"}}}");
    kvg_admit_opts opts = {.audit = true};
    env_init(&e);
    ck_assert_int_eq(pipe(fds), 0);
    kvg_log_set_fd(fds[1]);
    ck_assert_int_eq(admit(&e, body, &opts), KVG_OK);
    kvg_log_set_fd(-1);
    close(fds[1]);
    ck_assert_int_eq(e.res.http_status, 200);
    ck_assert(!e.res.allowed);
    ck_assert_int_eq(kvg_json_parse(e.out.data, e.out.len, 0, &o, NULL), KVG_OK);
    ck_assert(!kvg_json_bool(true, o, "response", "allowed", NULL));
    ck_assert_ptr_nonnull(strstr(kvg_json_str(o, "response", "status", "message",
                                              NULL), "no-such-vm"));
    json_object_put(o);
    ssize_t n = read(fds[0], line, sizeof line - 1);
    close(fds[0]);
    ck_assert(n > 0);
    line[n] = '\0';
    ck_assert_int_eq(line[n - 1], '\n');
    ck_assert_int_eq(kvg_json_parse(line, (size_t)n, 0, &o, NULL), KVG_OK);
    ck_assert_str_eq(kvg_json_str(o, "uid", NULL), "s-1");
    ck_assert_str_eq(kvg_json_str(o, "user", NULL), "bob");
    ck_assert_str_eq(kvg_json_str(o, "decision", NULL), "denied");
    ck_assert_str_eq(kvg_json_str(o, "webhook", NULL), "validate");
    ck_assert_ptr_nonnull(strstr(line, "snapshot-source-exists"));
    json_object_put(o);
    env_free(&e);
}
END_TEST

Suite *codec_suite(void)
{
    Suite *s = suite_create("codec");
    TCase *t = tcase_create("decode");
    tcase_add_loop_test(t, decode_bad, 0,
                        (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_loop_test(t, decode_good, 0,
                        (int)(sizeof good_cases / sizeof good_cases[0]));
    tcase_add_loop_test(t, decode_any_bad, 0,
                        (int)(sizeof any_bad / sizeof any_bad[0]));
    tcase_add_test(t, decode_full_v1);
    tcase_add_test(t, decode_wrong_types_everywhere);
    tcase_add_test(t, decode_yaml);
    tcase_add_test(t, decode_deep);
    tcase_add_test(t, decode_huge);
    suite_add_tcase(s, t);
    t = tcase_create("encode");
    tcase_add_test(t, encode_allowed);
    tcase_add_test(t, encode_denied);
    tcase_add_test(t, encode_causes);
    tcase_add_test(t, encode_warnings);
    tcase_add_test(t, encode_patch);
    tcase_add_test(t, encode_audit_annotations);
    tcase_add_test(t, error_body);
    tcase_add_test(t, audit_record);
    suite_add_tcase(s, t);
    t = tcase_create("admit");
    tcase_add_test(t, admit_bad_input);
    tcase_add_test(t, admit_unhandled_kind);
    tcase_add_test(t, admit_denied_with_audit);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return kvg_test_run(codec_suite());
}
