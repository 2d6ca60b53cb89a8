/* Robustness of the policy engine against malformed objects: for
 * representative admission cases, every member of the request object and of
 * the cluster objects the rules read is replaced, one at a time, by values of
 * every JSON type (and a huge array, and deep nesting); the engine must
 * decide (validate and mutate) without crashing or leaking, and every
 * decision must be well-formed: denied with 400/403/422 and a message, or
 * allowed; warnings under 120 characters; a patch, if any, an array.
 * Run it under ASan/UBSan (the sanitizer build does) to catch memory errors. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/admission.h"
#include "kvguard/json.h"
#include "kvguard/policy.h"
#include "kvguard/view.h"
#include "policy/patch.h"

#define CASES KVG_SOURCE_DIR "/tests/cases/"

/* Cases whose objects exercise every snapshot/restore rule. */
static const char *const case_dirs[] = {
    "snapshot-source-ref/ok-v1beta1",
    "snapshot-volume-support/dv-template-class",
    "snapshot-volume-support/several-bad-volumes",
    "snapshot-vm-busy/other-snapshot-in-progress",
    "snapshot-online-consistency/running-without-agent",
    "snapshot-mutate/vmi-owner-other-name",
    "snapshot-immutable/spec-changed",
    "restore-target-ref/patches-valid",
    "restore-target-ref/override-with-empty-labels",
    "restore-target-identity/new-vm-from-tpm-snapshot",
    "restore-storage-restorable/thick-lvm-denied",
    "restore-in-progress/other-restore-incomplete",
    "restore-mutate/mixed-volumes",
};

static json_object *variants[16];
static size_t n_variants;
static size_t decisions;

static void make_variants(void)
{
    json_object *big = json_object_new_array(), *deep = json_object_new_object();
    json_object *cur = deep;
    char longs[400];
    memset(longs, 'x', sizeof longs - 1);
    longs[sizeof longs - 1] = '\0';
    for (int i = 0; i < 2000; i++)
        json_object_array_add(big, json_tokener_parse(
                                       "{\"name\":\"v\",\"persistentVolumeClaim\":"
                                       "{\"claimName\":\"c\"},\"kind\":\"VirtualMachine\"}"));
    for (int i = 0; i < 40; i++) {
        json_object *next = json_object_new_object();
        json_object_object_add(cur, "spec", next);
        cur = next;
    }
    n_variants = 0;
    variants[n_variants++] = NULL; /* JSON null */
    variants[n_variants++] = json_object_new_boolean(0);
    variants[n_variants++] = json_object_new_int(7);
    variants[n_variants++] = json_object_new_double(-1.5);
    variants[n_variants++] = json_object_new_string("");
    variants[n_variants++] = json_object_new_string(longs);
    variants[n_variants++] = json_object_new_array();
    variants[n_variants++] = json_tokener_parse("[1, \"a\", {}, null]");
    variants[n_variants++] = json_object_new_object();
    variants[n_variants++] = big;
    variants[n_variants++] = deep;
}

static void free_variants(void)
{
    for (size_t i = 0; i < n_variants; i++)
        json_object_put(variants[i]);
}

static void check_decision(const kvg_decision *d, const char *what)
{
    if (!d->allowed) {
        ck_assert_msg(d->code == 400 || d->code == 403 || d->code == 422,
                      "%s: denial code %d", what, d->code);
        ck_assert_msg(d->message && *d->message, "%s: denial without message", what);
    } else {
        ck_assert_msg(d->code == 200, "%s: allowed with code %d", what, d->code);
    }
    for (size_t i = 0; i < d->n_warnings; i++)
        ck_assert_msg(strlen(d->warnings[i]) < 120, "%s: long warning %s", what,
                      d->warnings[i]);
    if (d->patch)
        ck_assert_msg(json_object_is_type(d->patch, json_type_array),
                      "%s: patch is not an array", what);
}

static void decide_both(const kvg_policy_config *cfg, const kvg_view *v,
                        const kvg_request *req, const char *what)
{
    for (int m = 0; m < 2; m++) {
        kvg_decide_opts o = {.mutate = m == 1, .explain = (decisions % 7) == 0};
        kvg_decision d;
        kvg_decision_init(&d);
        ck_assert_int_eq(kvg_policy_decide(cfg, v, req, &o, &d), KVG_OK);
        check_decision(&d, what);
        kvg_decision_free(&d);
        decisions++;
    }
}

/* Every JSON pointer below o (objects and arrays; arrays: first 3 items). */
static void collect_paths(json_object *o, const char *prefix, json_object *out,
                          int depth)
{
    char path[1024];
    if (depth > 12)
        return;
    if (json_object_is_type(o, json_type_object)) {
        json_object_object_foreach(o, k, v) {
            kvg_buf b;
            kvg_buf_init(&b, 0);
            kvg_buf_puts(&b, prefix);
            kvg_jsonptr_append(&b, k);
            json_object_array_add(out, json_object_new_string(b.data));
            snprintf(path, sizeof path, "%s", b.data);
            kvg_buf_free(&b);
            collect_paths(v, path, out, depth + 1);
        }
    } else if (json_object_is_type(o, json_type_array)) {
        size_t n = json_object_array_length(o);
        for (size_t i = 0; i < n && i < 3; i++) {
            snprintf(path, sizeof path, "%s/%zu", prefix, i);
            json_object_array_add(out, json_object_new_string(path));
            collect_paths(json_object_array_get_idx(o, i), path, out, depth + 1);
        }
    }
}

/* A copy of doc with the value at ptr replaced; NULL when it cannot apply. */
static json_object *replaced(json_object *doc, const char *ptr, json_object *value)
{
    json_object *copy = NULL, *ops = json_object_new_array(), *val = NULL;
    kvg_diag d;
    if (value && json_object_deep_copy(value, &val, NULL))
        ck_abort_msg("deep copy failed");
    kvg_patch_op(ops, "replace", ptr, val);
    ck_assert_int_eq(json_object_deep_copy(doc, &copy, NULL), 0);
    if (kvg_patch_apply(&copy, ops, &d)) {
        json_object_put(copy);
        copy = NULL;
    }
    json_object_put(ops);
    return copy;
}

typedef struct loaded {
    kvg_review rv;
    kvg_store *store;
    kvg_policy_config cfg;
} loaded;

static void load_case(const char *rel, loaded *l)
{
    char path[4096];
    kvg_buf b;
    kvg_diag d = {{0}};
    snprintf(path, sizeof path, CASES "%s/review.json", rel);
    kvg_buf_init(&b, 0);
    ck_assert_msg(kvg_buf_read_file(&b, path, &d) == KVG_OK, "%s", d.msg);
    ck_assert_msg(kvg_review_decode(b.data, b.len, &l->rv, &d) == KVG_OK, "%s: %s", rel, d.msg);
    kvg_buf_free(&b);
    snprintf(path, sizeof path, CASES "%s/cluster", rel);
    ck_assert_msg(kvg_files_load(path, &l->store, &d) == KVG_OK, "%s: %s", rel, d.msg);
    kvg_policy_config_init(&l->cfg);
}

static void unload_case(loaded *l)
{
    kvg_review_free(&l->rv);
    kvg_store_free(l->store);
}

START_TEST(request_object_members)
{
    loaded l;
    json_object *paths = json_object_new_array();
    const kvg_view *v;
    load_case(case_dirs[_i], &l);
    v = kvg_store_view(l.store);
    collect_paths((json_object *)l.rv.req.object, "", paths, 0);
    for (size_t p = 0; p < json_object_array_length(paths); p++) {
        const char *ptr = json_object_get_string(json_object_array_get_idx(paths, p));
        for (size_t k = 0; k < n_variants; k++) {
            kvg_request req = l.rv.req;
            json_object *obj = replaced((json_object *)req.object, ptr, variants[k]);
            char what[1200];
            if (!obj)
                continue;
            req.object = obj;
            snprintf(what, sizeof what, "%s: object %s = variant %zu", case_dirs[_i], ptr, k);
            decide_both(&l.cfg, v, &req, what);
            json_object_put(obj);
        }
    }
    json_object_put(paths);
    unload_case(&l);
}
END_TEST

/* The cluster objects a decision reads (VMs, VMIs, PVCs, DataVolumes,
 * snapshots, contents, restores, classes) mutated the same way. */
typedef struct obj_list {
    json_object *objs; /* deep copies */
} obj_list;

static int collect_obj(const json_object *o, void *ud)
{
    obj_list *l = ud;
    json_object *copy = NULL;
    ck_assert_int_eq(json_object_deep_copy((json_object *)o, &copy, NULL), 0);
    json_object_array_add(l->objs, copy);
    return 0;
}

START_TEST(cluster_object_members)
{
    static const kvg_kind kinds[] = {KVG_KIND_VM, KVG_KIND_VMI, KVG_KIND_PVC,
                                     KVG_KIND_DATAVOLUME, KVG_KIND_VMSNAPSHOT,
                                     KVG_KIND_VMSNAPSHOTCONTENT, KVG_KIND_VMRESTORE,
                                     KVG_KIND_STORAGECLASS, KVG_KIND_VOLUMESNAPSHOTCLASS,
                                     KVG_KIND_STORAGEPROFILE};
    loaded l;
    obj_list ol;
    const kvg_view *v;
    load_case(case_dirs[_i], &l);
    v = kvg_store_view(l.store);
    ol.objs = json_object_new_array();
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        size_t before = json_object_array_length(ol.objs);
        kvg_view_each(v, kinds[k], NULL, collect_obj, &ol);
        /* Only a few StorageClasses etc.: the shared fixtures are big. */
        if (kinds[k] >= KVG_KIND_STORAGECLASS)
            while (json_object_array_length(ol.objs) > before + 2)
                json_object_array_del_idx(ol.objs, json_object_array_length(ol.objs) - 1, 1);
    }
    for (size_t i = 0; i < json_object_array_length(ol.objs); i++) {
        json_object *orig = json_object_array_get_idx(ol.objs, i);
        json_object *paths = json_object_new_array();
        kvg_kind kind;
        ck_assert_int_eq(kvg_kind_of_object(orig, &kind), KVG_OK);
        collect_paths(json_object_object_get(orig, "spec"), "/spec", paths, 1);
        collect_paths(json_object_object_get(orig, "status"), "/status", paths, 1);
        json_object_array_add(paths, json_object_new_string("/spec"));
        json_object_array_add(paths, json_object_new_string("/status"));
        /* Not /metadata/annotations: the store prunes it on put, and a
         * non-object there is the files backend's to refuse. */
        json_object_array_add(paths, json_object_new_string("/metadata/ownerReferences"));
        json_object_array_add(paths, json_object_new_string("/provisioner"));
        json_object_array_add(paths, json_object_new_string("/driver"));
        for (size_t p = 0; p < json_object_array_length(paths); p++) {
            const char *ptr = json_object_get_string(json_object_array_get_idx(paths, p));
            for (size_t k = 0; k < n_variants; k += 2) {
                json_object *obj = replaced(orig, ptr, variants[k]);
                json_object *back = NULL;
                char what[1200];
                if (!obj)
                    continue;
                ck_assert_int_eq(kvg_store_put(l.store, kind, obj), KVG_OK);
                snprintf(what, sizeof what, "%s: %s %s = variant %zu", case_dirs[_i],
                         kvg_json_str(orig, "metadata", "name", NULL), ptr, k);
                decide_both(&l.cfg, v, &l.rv.req, what);
                ck_assert_int_eq(json_object_deep_copy(orig, &back, NULL), 0);
                ck_assert_int_eq(kvg_store_put(l.store, kind, back), KVG_OK);
            }
        }
        json_object_put(paths);
    }
    json_object_put(ol.objs);
    unload_case(&l);
}
END_TEST

START_TEST(null_arguments)
{
    kvg_policy_config cfg;
    kvg_decision d;
    kvg_request req;
    kvg_store *s;
    memset(&req, 0, sizeof req);
    kvg_policy_config_init(&cfg);
    ck_assert_int_eq(kvg_store_new(&s), KVG_OK);
    kvg_decision_init(&d);
    ck_assert_int_eq(kvg_policy_decide(NULL, kvg_store_view(s), &req, NULL, &d), KVG_EINVAL);
    ck_assert_int_eq(kvg_policy_decide(&cfg, NULL, &req, NULL, &d), KVG_EINVAL);
    ck_assert_int_eq(kvg_policy_decide(&cfg, kvg_store_view(s), NULL, NULL, &d), KVG_EINVAL);
    ck_assert_int_eq(kvg_policy_decide(&cfg, kvg_store_view(s), &req, NULL, NULL), KVG_EINVAL);
    /* a request with no kind at all: not handled, allowed */
    ck_assert_int_eq(kvg_policy_decide(&cfg, kvg_store_view(s), &req, NULL, &d), KVG_OK);
    ck_assert(d.allowed);
    kvg_decision_free(&d);
    kvg_store_free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("policy-robust");
    TCase *tr = tcase_create("request");
    TCase *tv = tcase_create("view");
    int n = (int)(sizeof case_dirs / sizeof case_dirs[0]);
    make_variants();
    tcase_add_test(tr, null_arguments);
    tcase_add_loop_test(tr, request_object_members, 0, n);
    tcase_add_loop_test(tv, cluster_object_members, 0, n);
    tcase_set_timeout(tr, 300);
    tcase_set_timeout(tv, 300);
    suite_add_tcase(s, tr);
    suite_add_tcase(s, tv);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free_variants();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
