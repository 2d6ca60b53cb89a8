/* `kvguard audit`: golden outputs, PolicyReport schema, agreement with the
 * webhook path, exit codes.
 *
 * Every directory tests/golden/audit/<case>/ holds the cluster state, either
 * cluster/ or a file cluster-dir naming a directory of the source tree, and
 * optionally config.yaml (--config) and namespace (-n). Expected outputs:
 * expected.table, expected.json, expected.policyreport.json and exit (the
 * exit code), produced by the real binary with KVG_AUDIT_TIME pinned.
 * KVG_UPDATE_GOLDEN=1 rewrites them (review the diff by hand). */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kvguard/admission.h"
#include "kvguard/audit.h"
#include "kvguard/buf.h"
#include "kvguard/json.h"
#include "kvguard/kubevirt.h"
#include "kvguard/view.h"
#include "run.h"
#include "testlib.h"

#define GOLDEN_DIR KVG_SOURCE_DIR "/tests/golden/audit"
#define CRD_PATH KVG_SOURCE_DIR "/tests/e2e/crds/policyreport-crd.yaml"
#define PINNED_TIME "1790000000"

static char *read_opt(const char *path)
{
    kvg_buf b;
    kvg_buf_init(&b, 0);
    if (kvg_buf_read_file(&b, path, NULL) != KVG_OK) {
        kvg_buf_free(&b);
        return NULL;
    }
    return kvg_buf_steal(&b, NULL);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static void trim(char *s)
{
    s[strcspn(s, "\n")] = '\0';
}

/* The cluster directory of a case (caller frees). */
static char *case_cluster(const char *dir)
{
    char path[1200], *rel, *out;
    snprintf(path, sizeof path, "%s/cluster-dir", dir);
    if ((rel = read_opt(path))) {
        trim(rel);
        out = malloc(strlen(KVG_SOURCE_DIR) + strlen(rel) + 2);
        sprintf(out, "%s/%s", KVG_SOURCE_DIR, rel);
        free(rel);
        return out;
    }
    snprintf(path, sizeof path, "%s/cluster", dir);
    return strdup(path);
}

static void run_audit(const char *dir, const char *format, kvg_run_result *r)
{
    char cfg[1200], nsfile[1200];
    char *cluster = case_cluster(dir), *ns;
    const char *argv[16];
    int n = 0;
    struct stat st;
    snprintf(cfg, sizeof cfg, "%s/config.yaml", dir);
    snprintf(nsfile, sizeof nsfile, "%s/namespace", dir);
    ns = read_opt(nsfile);
    argv[n++] = KVG_BINARY;
    argv[n++] = "audit";
    argv[n++] = "--cluster-state";
    argv[n++] = cluster;
    if (stat(cfg, &st) == 0) {
        argv[n++] = "--config";
        argv[n++] = cfg;
    }
    if (ns) {
        trim(ns);
        argv[n++] = "-n";
        argv[n++] = ns;
    }
    argv[n++] = "-o";
    argv[n++] = format;
    argv[n] = NULL;
    setenv("KVG_AUDIT_TIME", PINNED_TIME, 1);
    ck_assert_int_eq(kvg_run(argv, NULL, 0, 60, r), 0);
    free(cluster);
    free(ns);
}

static const char *const formats[][2] = {
    {"table", "expected.table"},
    {"json", "expected.json"},
    {"policyreport", "expected.policyreport.json"},
};

/* Returns the number of mismatches (and prints them). */
static int check_case(const char *name)
{
    char dir[1024], path[1200], code[16];
    bool update = getenv("KVG_UPDATE_GOLDEN") && !strcmp(getenv("KVG_UPDATE_GOLDEN"), "1");
    int bad = 0, first_status = -1;
    snprintf(dir, sizeof dir, "%s/%s", GOLDEN_DIR, name);
    for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++) {
        kvg_run_result r;
        run_audit(dir, formats[f][0], &r);
        ck_assert_msg(r.status == 0 || r.status == 1, "%s -o %s: exit %d: %s",
                      name, formats[f][0], r.status, r.err);
        if (!strcmp(formats[f][0], "table"))
            for (const char *l = r.out; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != 0))
                ck_assert_msg(strcspn(l, "\n") <= 100, "%s: table line over 100 "
                              "columns: %.*s", name, (int)strcspn(l, "\n"), l);
        if (first_status < 0)
            first_status = r.status;
        ck_assert_msg(r.status == first_status, "%s: exit code differs by format", name);
        snprintf(path, sizeof path, "%s/%s", dir, formats[f][1]);
        if (update) {
            write_text(path, r.out);
        } else {
            char *want = read_opt(path);
            if (!want || strcmp(want, r.out)) {
                fprintf(stderr, "golden mismatch: %s (-o %s); got:\n%s\n", path,
                        formats[f][0], r.out);
                bad++;
            }
            free(want);
        }
        kvg_run_result_free(&r);
    }
    snprintf(path, sizeof path, "%s/exit", dir);
    snprintf(code, sizeof code, "%d\n", first_status);
    if (update) {
        write_text(path, code);
    } else {
        char *want = read_opt(path);
        if (!want || strcmp(want, code)) {
            fprintf(stderr, "%s: exit %d, expected %s", name, first_status,
                    want ? want : "(no exit file)\n");
            bad++;
        }
        free(want);
    }
    return bad;
}

static size_t list_cases(char names[][256], size_t max)
{
    DIR *d = opendir(GOLDEN_DIR);
    struct dirent *e;
    size_t n = 0;
    ck_assert_msg(d != NULL, "no %s", GOLDEN_DIR);
    while ((e = readdir(d)) && n < max) {
        char p[1200];
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", GOLDEN_DIR, e->d_name);
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
            snprintf(names[n++], 256, "%s", e->d_name);
    }
    closedir(d);
    return n;
}

START_TEST(golden_outputs)
{
    char names[32][256];
    size_t n = list_cases(names, 32);
    int bad = 0;
    ck_assert_uint_ge(n, 5);
    for (size_t i = 0; i < n; i++)
        bad += check_case(names[i]);
    ck_assert_msg(bad == 0, "%d golden mismatches (KVG_UPDATE_GOLDEN=1 rewrites)", bad);
}
END_TEST

/* ---- PolicyReport schema (the CRD's openAPIV3Schema, structural subset) --- */

static json_object *load_crd_schema(void)
{
    char *text = read_opt(CRD_PATH);
    kvg_yaml_docs docs;
    kvg_diag d;
    ck_assert_msg(text != NULL, "cannot read %s", CRD_PATH);
    ck_assert_msg(kvg_yaml_parse(text, strlen(text), CRD_PATH, &docs, &d) == KVG_OK, "%s", d.msg);
    json_object *crd = docs.docs[0].obj;
    ck_assert_str_eq(kvg_json_str(crd, "spec", "group", NULL), "wgpolicyk8s.io");
    ck_assert_str_eq(kvg_json_str(crd, "spec", "scope", NULL), "Namespaced");
    json_object *v0 = json_object_array_get_idx(kvg_json_array(crd, "spec", "versions", NULL), 0);
    ck_assert_str_eq(kvg_json_str(v0, "name", NULL), "v1alpha2");
    json_object *schema = json_object_get(kvg_json_path(v0, "schema", "openAPIV3Schema", NULL));
    ck_assert_ptr_nonnull(schema);
    kvg_yaml_docs_free(&docs);
    free(text);
    return schema;
}

static bool type_ok(const char *type, json_object *v)
{
    if (!type)
        return true;
    if (!strcmp(type, "object"))
        return json_object_is_type(v, json_type_object);
    if (!strcmp(type, "array"))
        return json_object_is_type(v, json_type_array);
    if (!strcmp(type, "string"))
        return json_object_is_type(v, json_type_string);
    if (!strcmp(type, "integer"))
        return json_object_is_type(v, json_type_int);
    if (!strcmp(type, "boolean"))
        return json_object_is_type(v, json_type_boolean);
    return false;
}

/* Types, enums, required fields; a field the schema does not declare would be
 * pruned by the API server, so it is an error too. */
static void validate(json_object *schema, json_object *v, const char *path)
{
    const char *type = kvg_json_str(schema, "type", NULL);
    json_object *en = kvg_json_array(schema, "enum", NULL);
    json_object *req = kvg_json_array(schema, "required", NULL);
    json_object *props = kvg_json_path(schema, "properties", NULL);
    json_object *addl = kvg_json_path(schema, "additionalProperties", NULL);
    json_object *items = kvg_json_path(schema, "items", NULL);
    char sub[512];
    ck_assert_msg(type_ok(type, v), "%s: not of type %s", path, type);
    if (en) {
        bool found = false;
        for (size_t i = 0; i < json_object_array_length(en); i++)
            found |= !strcmp(json_object_get_string(json_object_array_get_idx(en, i)),
                             json_object_get_string(v));
        ck_assert_msg(found, "%s: '%s' not in the enum", path, json_object_get_string(v));
    }
    for (size_t i = 0; req && i < json_object_array_length(req); i++) {
        const char *k = json_object_get_string(json_object_array_get_idx(req, i));
        ck_assert_msg(json_object_object_get_ex(v, k, NULL), "%s: required %s missing", path, k);
    }
    if (items)
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            validate(items, json_object_array_get_idx(v, i), sub);
        }
    if (json_object_is_type(v, json_type_object) && (props || addl)) {
        json_object_object_foreach(v, key, val) {
            json_object *ps = props ? kvg_json_path(props, key, NULL) : NULL;
            snprintf(sub, sizeof sub, "%s.%s", path, key);
            ck_assert_msg(ps || addl, "%s: not in the schema (would be pruned)", sub);
            validate(ps ? ps : addl, val, sub);
        }
    }
}

static void check_summary(json_object *pr)
{
    static const char *const names[] = {"pass", "fail", "warn", "error", "skip"};
    json_object *results = kvg_json_array(pr, "results", NULL);
    for (int k = 0; k < 5; k++) {
        int64_t want = 0;
        for (size_t i = 0; i < json_object_array_length(results); i++)
            want += kvg_json_str_eq(json_object_array_get_idx(results, i), "result", names[k]);
        ck_assert_int_eq(kvg_json_int(-1, pr, "summary", names[k], NULL), want);
    }
}

START_TEST(policyreports_match_crd_schema)
{
    char names[32][256];
    size_t n = list_cases(names, 32), reports = 0;
    json_object *schema = load_crd_schema();
    for (size_t c = 0; c < n; c++) {
        char dir[1024];
        kvg_run_result r;
        json_object *list = NULL;
        snprintf(dir, sizeof dir, "%s/%s", GOLDEN_DIR, names[c]);
        run_audit(dir, "policyreport", &r);
        ck_assert_int_eq(kvg_json_parse(r.out, r.out_len, 0, &list, NULL), KVG_OK);
        ck_assert_str_eq(kvg_json_str(list, "apiVersion", NULL), "v1");
        ck_assert_str_eq(kvg_json_str(list, "kind", NULL), "List");
        json_object *items = kvg_json_array(list, "items", NULL);
        for (size_t i = 0; i < json_object_array_length(items); i++) {
            json_object *pr = json_object_array_get_idx(items, i);
            ck_assert_str_eq(kvg_json_str(pr, "apiVersion", NULL), "wgpolicyk8s.io/v1alpha2");
            ck_assert_str_eq(kvg_json_str(pr, "kind", NULL), "PolicyReport");
            ck_assert_ptr_nonnull(kvg_json_str(pr, "metadata", "name", NULL));
            ck_assert_ptr_nonnull(kvg_json_str(pr, "metadata", "namespace", NULL));
            validate(schema, pr, names[c]);
            check_summary(pr);
            reports++;
        }
        json_object_put(list);
        kvg_run_result_free(&r);
    }
    ck_assert_uint_ge(reports, 3); /* vms in several cases, default twice */
    json_object_put(schema);
}
END_TEST

/* ---- the report and the webhook agree -------------------------------------- */

static kvg_store *load_examples(void)
{
    kvg_store *store = NULL;
    kvg_diag d = {{0}};
    ck_assert_msg(kvg_files_load(KVG_SOURCE_DIR "/examples/cluster", &store, &d) == KVG_OK,
                  "%s", d.msg);
    return store;
}

static bool webhook_allows(const kvg_policy_config *cfg, const kvg_view *v,
                           const char *kind, const char *api, const char *ns,
                           const char *vm)
{
    char body[2048];
    kvg_buf out;
    kvg_admit_result res;
    kvg_admit_opts o = {0};
    const char *slash = strchr(api, '/');
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
             "\"request\":{\"uid\":\"u-1\",\"kind\":{\"group\":\"%.*s\",\"version\":\"%s\","
             "\"kind\":\"%s\"},\"resource\":{\"group\":\"%.*s\",\"version\":\"%s\","
             "\"resource\":\"x\"},\"namespace\":\"%s\",\"name\":\"n\",\"operation\":"
             "\"CREATE\",\"userInfo\":{\"username\":\"alice\"},\"object\":{\"apiVersion\":"
             "\"%s\",\"kind\":\"%s\",\"metadata\":{\"name\":\"n\",\"namespace\":\"%s\"},"
             "\"spec\":{\"source\":{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\","
             "\"name\":\"%s\"},\"target\":{\"apiGroup\":\"kubevirt.io\",\"kind\":"
             "\"VirtualMachine\"}}}}}",
             (int)(slash - api), api, slash + 1, kind, (int)(slash - api), api, slash + 1,
             ns, api, kind, ns, vm);
    kvg_buf_init(&out, 0);
    ck_assert_int_eq(kvg_admit(cfg, v, body, strlen(body), &o, &out, &res, NULL), KVG_OK);
    kvg_buf_free(&out);
    return res.allowed;
}

START_TEST(report_agrees_with_webhook)
{
    kvg_store *store = load_examples();
    const kvg_view *v = kvg_store_view(store);
    kvg_policy_config cfg;
    kvg_audit_report_opts o;
    json_object *rep = NULL;
    size_t refused = 0, denied = 0;
    kvg_policy_config_init(&cfg);
    kvg_audit_report_opts_init(&o);
    ck_assert_int_eq(kvg_audit_report_build(&cfg, v, &o, &rep, &refused, NULL), KVG_OK);
    json_object *vms = kvg_json_array(rep, "virtualMachines", NULL);
    ck_assert_uint_eq(json_object_array_length(vms), 7);
    for (size_t i = 0; i < json_object_array_length(vms); i++) {
        json_object *vm = json_object_array_get_idx(vms, i);
        const char *ns = kvg_json_str(vm, "namespace", NULL), *name = kvg_json_str(vm, "name", NULL);
        bool snap = webhook_allows(&cfg, v, "VirtualMachineSnapshot",
                                   "snapshot.kubevirt.io/v1beta1", ns, name);
        bool clone = webhook_allows(&cfg, v, "VirtualMachineClone",
                                    "clone.kubevirt.io/v1beta1", ns, name);
        ck_assert_msg(snap == kvg_json_bool(!snap, vm, "snapshot", "allowed", NULL),
                      "snapshot of %s", name);
        ck_assert_msg(clone == kvg_json_bool(!clone, vm, "clone", "allowed", NULL),
                      "clone of %s", name);
        denied += !snap + !clone;
        /* blockedBy names the denying rules exactly when denied */
        ck_assert_int_eq(json_object_array_length(kvg_json_array(vm, "snapshot", "blockedBy", NULL)) == 0, snap);
        ck_assert_int_eq(json_object_array_length(kvg_json_array(vm, "clone", "blockedBy", NULL)) == 0, clone);
    }
    ck_assert_uint_eq(refused, denied); /* no pending objects in the examples */
    ck_assert_int_eq(kvg_json_int(-1, rep, "summary", "refused", NULL), (int64_t)refused);
    json_object_put(rep);
    kvg_store_free(store);
}
END_TEST

START_TEST(namespace_scope_and_result_cap)
{
    kvg_store *store = load_examples();
    kvg_policy_config cfg;
    kvg_audit_report_opts o;
    json_object *rep = NULL, *list = NULL;
    kvg_buf out;
    kvg_policy_config_init(&cfg);
    kvg_audit_report_opts_init(&o);
    o.namespace_ = "nowhere";
    ck_assert_int_eq(kvg_audit_report_build(&cfg, kvg_store_view(store), &o, &rep, NULL, NULL), KVG_OK);
    ck_assert_uint_eq(json_object_array_length(kvg_json_array(rep, "virtualMachines", NULL)), 0);
    json_object_put(rep);
    o.namespace_ = "vms";
    o.max_results = 3;
    o.now_s = 42;
    ck_assert_int_eq(kvg_audit_report_build(&cfg, kvg_store_view(store), &o, &rep, NULL, NULL), KVG_OK);
    kvg_buf_init(&out, 0);
    ck_assert_int_eq(kvg_audit_render_policyreports(rep, &o, &out), KVG_OK);
    ck_assert_int_eq(kvg_json_parse(out.data, out.len, 0, &list, NULL), KVG_OK);
    json_object *pr = json_object_array_get_idx(kvg_json_array(list, "items", NULL), 0);
    json_object *results = kvg_json_array(pr, "results", NULL);
    ck_assert_uint_eq(json_object_array_length(results), 3);
    ck_assert_int_eq(kvg_json_int(0, json_object_array_get_idx(results, 0), "timestamp", "seconds", NULL), 42);
    /* the summary still counts every result; the cut is announced */
    int64_t total = 0;
    static const char *const k[] = {"pass", "fail", "warn", "error", "skip"};
    for (int i = 0; i < 5; i++)
        total += kvg_json_int(0, pr, "summary", k[i], NULL);
    ck_assert_int_gt(total, 3);
    ck_assert_ptr_nonnull(kvg_json_str(pr, "metadata", "annotations", "kvguard.io/results-truncated", NULL));
    json_object_put(list);
    json_object_put(rep);
    kvg_buf_free(&out);
    kvg_store_free(store);
}
END_TEST

/* ---- exit codes on bad input ---------------------------------------------------- */

static int audit_status(const char *const *args, char **err)
{
    const char *argv[12] = {KVG_BINARY, "audit"};
    kvg_run_result r;
    int n = 2, st;
    for (; *args && n < 11; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    ck_assert_int_eq(kvg_run(argv, NULL, 0, 60, &r), 0);
    st = r.status;
    *err = strdup(r.err);
    kvg_run_result_free(&r);
    return st;
}

START_TEST(bad_input_exits_2)
{
    char *err;
    const char *missing[] = {"--cluster-state", "/nonexistent/kvguard", NULL};
    const char *bad_fmt[] = {"-o", "yaml", NULL};
    const char *unknown[] = {"--frobnicate", NULL};
    const char *no_ns[] = {"--namespace=", NULL};
    ck_assert_int_eq(audit_status(missing, &err), 2);
    ck_assert_msg(strstr(err, "/nonexistent/kvguard") != NULL, "%s", err);
    free(err);
    ck_assert_int_eq(audit_status(bad_fmt, &err), 2);
    ck_assert_msg(strstr(err, "table, json or policyreport") != NULL, "%s", err);
    free(err);
    ck_assert_int_eq(audit_status(unknown, &err), 2);
    ck_assert_msg(strstr(err, "--frobnicate") != NULL, "%s", err);
    free(err);
    ck_assert_int_eq(audit_status(no_ns, &err), 2);
    free(err);
    /* a malformed manifest names its file */
    char *dir = kvg_test_mkdtemp();
    kvg_test_write_file(dir, "bad.yaml", "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\n"
                                         "metadata: {namespace: a}\n");
    const char *bad_state[] = {"--cluster-state", dir, NULL};
    ck_assert_int_eq(audit_status(bad_state, &err), 2);
    ck_assert_msg(strstr(err, "bad.yaml") != NULL, "%s", err);
    free(err);
    kvg_test_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("audit_report");
    TCase *t = tcase_create("audit_report");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, golden_outputs);
    tcase_add_test(t, policyreports_match_crd_schema);
    tcase_add_test(t, report_agrees_with_webhook);
    tcase_add_test(t, namespace_scope_and_result_cap);
    tcase_add_test(t, bad_input_exits_2);
    suite_add_tcase(s, t);
    return kvg_test_run(s);
}
