/* `kvguard review` through the real binary: exit 0 allowed, 1 denied, 2 bad
 * input, the response AdmissionReview on stdout, messages on stderr. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakeapi.h"
#include "kvguard/json.h"
#include "run.h"
#include "testlib.h"

#define CM_REVIEW(api, uid) \
    "{\"apiVersion\":\"" api "\",\"kind\":\"AdmissionReview\",\"request\":{" \
    "\"uid\":\"" uid "\",\"operation\":\"CREATE\",\"kind\":{\"group\":\"\","     \
    "\"version\":\"v1\",\"kind\":\"ConfigMap\"},\"namespace\":\"a\","           \
    "\"name\":\"c\",\"object\":{\"kind\":\"ConfigMap\"}}}"

/* A snapshot of a VM that does not exist: denied by snapshot-source-exists. */
#define SNAP_MISSING_VM                                                        \
    "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","    \
    "\"request\":{\"uid\":\"s-9\",\"operation\":\"CREATE\",\"kind\":{\"group\":" \
    "\"snapshot.kubevirt.io\",\"version\":\"v1beta1\",\"kind\":"               \
    "\"VirtualMachineSnapshot\"},\"namespace\":\"ns\",\"name\":\"snap\","      \
    "\"object\":{\"apiVersion\":\"snapshot.kubevirt.io/v1beta1\",\"kind\":"    \
    "\"VirtualMachineSnapshot\",\"metadata\":{\"name\":\"snap\",\"namespace\":" \
    "\"ns\"},\"spec\":{\"source\":{\"apiGroup\":\"kubevirt.io\",\"kind\":"     \
    "\"VirtualMachine\",\"name\":\"ghost-vm\"}}}}}"

static char *dir;      /* temp dir: inputs */
static char *empty;    /* an empty cluster state */
static kvg_run_result r;

static void setup(void)
{
    char path[4096];
    dir = kvg_test_mkdtemp();
    snprintf(path, sizeof path, "%s/empty", dir);
    kvg_test_write_file(dir, "empty/README.txt", "no manifests\n");
    empty = strdup(path);
    memset(&r, 0, sizeof r);
}

static void teardown(void)
{
    kvg_run_result_free(&r);
    kvg_test_rmtree(dir);
    free(dir);
    free(empty);
}

/* Runs `kvguard review ARGS...` with stdin; returns the exit status. */
static int review(const char *input, const char *a1, const char *a2,
                  const char *a3, const char *a4)
{
    const char *argv[] = {KVG_BINARY, "review", a1, a2, a3, a4, NULL};
    kvg_run_result_free(&r);
    ck_assert_int_eq(kvg_run(argv, input, input ? strlen(input) : 0, 30, &r), 0);
    return r.status;
}

static char *file(const char *name, const char *text)
{
    static char path[4096];
    kvg_test_write_file(dir, name, text);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static json_object *stdout_json(void)
{
    json_object *o = NULL;
    kvg_diag d = {{0}};
    ck_assert_msg(kvg_json_parse(r.out, r.out_len, 0, &o, &d) == KVG_OK,
                  "stdout is not JSON (%s):\n%s\nstderr:\n%s", d.msg, r.out, r.err);
    return o;
}

START_TEST(allowed_from_stdin)
{
    ck_assert_int_eq(review(CM_REVIEW("admission.k8s.io/v1", "u-1"),
                            "--cluster-state", empty, "-", NULL), 0);
    json_object *o = stdout_json();
    ck_assert_str_eq(kvg_json_str(o, "apiVersion", NULL), "admission.k8s.io/v1");
    ck_assert_str_eq(kvg_json_str(o, "kind", NULL), "AdmissionReview");
    ck_assert_str_eq(kvg_json_str(o, "response", "uid", NULL), "u-1");
    ck_assert(kvg_json_bool(false, o, "response", "allowed", NULL));
    ck_assert_msg(strchr(r.out, '\n') < r.out + r.out_len - 1, "not pretty");
    json_object_put(o);
}
END_TEST

START_TEST(allowed_from_yaml_file_v1beta1)
{
    const char *path = file("r.yaml",
                            "apiVersion: admission.k8s.io/v1beta1\n"
                            "kind: AdmissionReview\n"
                            "request:\n"
                            "  uid: \"y-1\"\n"
                            "  operation: UPDATE\n"
                            "  kind: {group: \"\", version: v1, kind: ConfigMap}\n"
                            "  namespace: a\n");
    ck_assert_int_eq(review(NULL, path, "--cluster-state", empty, NULL), 0);
    json_object *o = stdout_json();
    ck_assert_str_eq(kvg_json_str(o, "apiVersion", NULL), "admission.k8s.io/v1beta1");
    ck_assert_str_eq(kvg_json_str(o, "response", "uid", NULL), "y-1");
    json_object_put(o);
}
END_TEST

START_TEST(mutate_and_explain)
{
    const char *path = file("r.json", CM_REVIEW("admission.k8s.io/v1", "m-1"));
    ck_assert_int_eq(review(NULL, "--mutate", "--explain",
                            "--cluster-state=/nonexistent-ignored", path), 2);
    ck_assert_int_eq(review(NULL, "--mutate", "--explain", path, NULL), 0);
    json_object *o = stdout_json();
    ck_assert(kvg_json_bool(false, o, "response", "allowed", NULL));
    json_object_put(o);
}
END_TEST

START_TEST(denied_exit_1)
{
    ck_assert_int_eq(review(SNAP_MISSING_VM, "--cluster-state", empty, "--explain",
                            NULL), 1);
    json_object *o = stdout_json();
    ck_assert(!kvg_json_bool(true, o, "response", "allowed", NULL));
    ck_assert_str_eq(kvg_json_str(o, "response", "uid", NULL), "s-9");
    ck_assert_ptr_nonnull(strstr(kvg_json_str(o, "response", "status", "message",
                                              NULL), "ghost-vm"));
    ck_assert_msg(r.err_len > 0, "--explain printed nothing");
    json_object_put(o);
}
END_TEST

typedef struct bad_case {
    const char *input;           /* stdin */
    const char *a1, *a2, *a3;    /* after "review" */
    const char *msg;             /* expected on stderr */
} bad_case;

static const bad_case bad_cases[] = {
    {"{not json", "-", NULL, NULL, "not JSON: line 1 column 2"},
    {"", NULL, NULL, NULL, "empty"},
    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}", "-",
     NULL, NULL, "request is missing"},
    {"{\"apiVersion\":\"v1\",\"kind\":\"AdmissionReview\"}", NULL, NULL, NULL,
     "apiVersion 'v1' is not admission.k8s.io/v1 or v1beta1"},
    {"apiVersion: admission.k8s.io/v1\nkind: AdmissionReview\nrequest:\n"
     "  uid: x\n  operation: PATCH\n", NULL, NULL, NULL,
     "request.operation 'PATCH' is not CREATE, UPDATE, DELETE or CONNECT"},
    {NULL, "/nonexistent/review.json", NULL, NULL, "/nonexistent/review.json"},
    {NULL, "--frobnicate", NULL, NULL, "unknown flag '--frobnicate'"},
    {NULL, "a.json", "b.json", NULL, "one input only"},
    {CM_REVIEW("admission.k8s.io/v1", "u"), "--kubeconfig", "/nonexistent/kc", NULL,
     "kubeconfig /nonexistent/kc"},
    {NULL, "--sync-timeout", "0", NULL, "--sync-timeout needs 1-3600 seconds"},
    {NULL, "--listen", NULL, NULL, "flag --listen needs a value"},
    {NULL, "--config", "/nonexistent/c.yaml", NULL, "/nonexistent/c.yaml"},
    {CM_REVIEW("admission.k8s.io/v1", "u"), "--cluster-state",
     "/nonexistent/state", NULL, "/nonexistent/state"},
};

START_TEST(bad_input_exit_2)
{
    const bad_case *c = &bad_cases[_i];
    int st = review(c->input, c->a1, c->a2, c->a3, NULL);
    ck_assert_msg(st == 2, "case %d: exit %d, stderr: %s", _i, st, r.err);
    ck_assert_msg(strstr(r.err, c->msg), "case %d: stderr '%s' lacks '%s'", _i,
                  r.err, c->msg);
    ck_assert_msg(r.out_len == 0, "case %d: stdout not empty: %s", _i, r.out);
}
END_TEST

START_TEST(bad_config_names_line)
{
    char want[4200];
    const char *path = file("c.yaml", "policy:\n  rules:\n    nope: warn\n");
    ck_assert_int_eq(review(CM_REVIEW("admission.k8s.io/v1", "u"), "--config",
                            path, NULL, NULL), 2);
    snprintf(want, sizeof want, "%s:3: key 'policy.rules.nope': unknown rule", path);
    ck_assert_msg(strstr(r.err, want), "%s", r.err);
}
END_TEST

/* --kubeconfig: the same decision from informers over a (fake) API server. */
static char *write_kubeconfig(const kvg_fakeapi *fa)
{
    char text[8192];
    kvg_kube_config kc;
    kvg_buf ca;
    kvg_fakeapi_config(fa, &kc);
    kvg_buf_init(&ca, 0);
    ck_assert_int_eq(kvg_base64_encode(kc.ca.data, kc.ca.len, &ca), KVG_OK);
    snprintf(text, sizeof text,
             "current-context: t\ncontexts: [{name: t, context: {cluster: f, "
             "user: u}}]\nclusters: [{name: f, cluster: {server: '%s', "
             "certificate-authority-data: %s}}]\nusers: [{name: u, user: "
             "{token: abc}}]\n", kc.server, ca.data);
    kvg_buf_free(&ca);
    kvg_kube_config_free(&kc);
    return file("kubeconfig", text);
}

START_TEST(kubeconfig_view)
{
    kvg_fakeapi *fa = kvg_fakeapi_start();
    kvg_fakeapi_serve_kinds(fa);
    char *kc = strdup(write_kubeconfig(fa));
    ck_assert_int_eq(review(SNAP_MISSING_VM, "--kubeconfig", kc, "--log-level=error",
                            NULL), 1);
    json_object *o = stdout_json();
    ck_assert_ptr_nonnull(strstr(kvg_json_str(o, "response", "status", "message",
                                              NULL), "ghost-vm"));
    json_object_put(o);
    /* once the VM exists (stopped, no disks) the same snapshot is allowed */
    kvg_fakeapi_put(fa, "kubevirt.io", "virtualmachines",
                    "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":"
                    "\"VirtualMachine\",\"metadata\":{\"name\":\"ghost-vm\","
                    "\"namespace\":\"ns\"},\"spec\":{\"runStrategy\":\"Halted\","
                    "\"template\":{\"spec\":{\"domain\":{\"devices\":{}}}}}}");
    ck_assert_msg(review(SNAP_MISSING_VM, "--kubeconfig", kc, "--log-level=error",
                         NULL) == 0, "stdout: %s\nstderr: %s", r.out, r.err);
    free(kc);
    kvg_fakeapi_stop(fa);
}
END_TEST

START_TEST(help)
{
    ck_assert_int_eq(review(NULL, "--help", NULL, NULL, NULL), 0);
    ck_assert_ptr_nonnull(strstr(r.out, "usage: kvguard review"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("review_cli");
    TCase *t = tcase_create("review");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, allowed_from_stdin);
    tcase_add_test(t, allowed_from_yaml_file_v1beta1);
    tcase_add_test(t, mutate_and_explain);
    tcase_add_test(t, denied_exit_1);
    tcase_add_loop_test(t, bad_input_exit_2, 0,
                        (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(t, bad_config_names_line);
    tcase_add_test(t, kubeconfig_view);
    tcase_add_test(t, help);
    suite_add_tcase(s, t);
    return kvg_test_run(s);
}
