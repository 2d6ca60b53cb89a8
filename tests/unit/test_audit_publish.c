/* kvguard audit --apply: PolicyReports written to a (fake) API server, one
 * per namespace, replaced in place, stale ones deleted, foreign ones kept. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakeapi.h"
#include "kvguard/audit.h"
#include "kvguard/json.h"
#include "kvguard/kube.h"
#include "proc.h"
#include "run.h"
#include <signal.h>
#include "testlib.h"

#define PR_GROUP "wgpolicyk8s.io"
#define PR_RES "policyreports"

static kvg_fakeapi *start(void)
{
    kvg_fakeapi *fa = kvg_fakeapi_start();
    kvg_fakeapi_serve(fa, PR_GROUP, "v1alpha2", PR_RES, "PolicyReport", true);
    return fa;
}

static kvg_kube_client *client_of(kvg_fakeapi *fa)
{
    kvg_kube_config kc;
    kvg_kube_client *c = NULL;
    kvg_fakeapi_config(fa, &kc);
    ck_assert_int_eq(kvg_kube_client_new(&kc, &c, NULL), KVG_OK);
    kvg_kube_config_free(&kc);
    return c;
}

static json_object *example_reports(void)
{
    kvg_store *store = NULL;
    kvg_policy_config cfg;
    kvg_audit_report_opts o;
    json_object *rep = NULL, *list = NULL;
    kvg_diag d = {{0}};
    ck_assert_msg(kvg_files_load(KVG_SOURCE_DIR "/examples/cluster", &store, &d) == KVG_OK,
                  "%s", d.msg);
    kvg_policy_config_init(&cfg);
    kvg_audit_report_opts_init(&o);
    ck_assert_int_eq(kvg_audit_report_build(&cfg, kvg_store_view(store), &o, &rep, NULL, NULL),
                     KVG_OK);
    ck_assert_int_eq(kvg_audit_policyreports(rep, &o, &list), KVG_OK);
    json_object_put(rep);
    kvg_store_free(store);
    return list;
}

static json_object *get(kvg_kube_client *c, const char *ns, const char *name)
{
    kvg_kube_resource r = {.group = PR_GROUP, .version = "v1alpha2", .resource = PR_RES,
                           .namespaced = true};
    json_object *o = NULL;
    kvg_err e = kvg_kube_get(c, &r, ns, name, &o, NULL, NULL);
    return e == KVG_OK ? o : NULL;
}

static void put_report(kvg_fakeapi *fa, const char *ns, const char *name, bool labelled)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"apiVersion\":\"wgpolicyk8s.io/v1alpha2\",\"kind\":\"PolicyReport\","
             "\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\"%s},\"results\":[]}",
             name, ns,
             labelled ? ",\"labels\":{\"app.kubernetes.io/managed-by\":\"kvguard\"}" : "");
    kvg_fakeapi_put(fa, PR_GROUP, PR_RES, json);
}

START_TEST(create_replace_prune)
{
    kvg_fakeapi *fa = start();
    kvg_kube_client *c = client_of(fa);
    json_object *list = example_reports(), *o;
    kvg_audit_publish_stats st;
    kvg_diag d = {{0}};
    put_report(fa, "old", "kvguard", true);       /* stale: deleted */
    put_report(fa, "other", "kvguard", false);    /* someone else's: kept */
    put_report(fa, "old", "not-kvguard", true);   /* other name: kept */

    ck_assert_int_eq(kvg_audit_publish(c, list, NULL, &st, &d), KVG_OK);
    ck_assert_uint_eq(st.created, 1);
    ck_assert_uint_eq(st.updated, 0);
    ck_assert_uint_eq(st.deleted, 1);
    ck_assert_uint_eq(st.failed, 0);
    o = get(c, "vms", "kvguard");
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(kvg_json_int(-1, o, "summary", "fail", NULL), 2);
    ck_assert_uint_gt(json_object_array_length(kvg_json_array(o, "results", NULL)), 10);
    json_object_put(o);
    ck_assert_ptr_null(get(c, "old", "kvguard"));
    ck_assert_ptr_nonnull(o = get(c, "other", "kvguard"));
    json_object_put(o);
    ck_assert_ptr_nonnull(o = get(c, "old", "not-kvguard"));
    json_object_put(o);

    /* again: replaced in place (PUT with the current resourceVersion) */
    ck_assert_int_eq(kvg_audit_publish(c, list, NULL, &st, &d), KVG_OK);
    ck_assert_uint_eq(st.created, 0);
    ck_assert_uint_eq(st.updated, 1);
    ck_assert_uint_eq(st.deleted, 0);
    char *body = kvg_fakeapi_last(fa, "PUT", "/apis/" PR_GROUP, KVG_FAKE_BODY);
    ck_assert_ptr_nonnull(body);
    ck_assert_ptr_nonnull(strstr(body, "resourceVersion"));
    free(body);

    /* scoped to a namespace: reports elsewhere are not touched */
    put_report(fa, "elsewhere", "kvguard", true);
    ck_assert_int_eq(kvg_audit_publish(c, list, "vms", &st, &d), KVG_OK);
    ck_assert_uint_eq(st.deleted, 0);
    ck_assert_ptr_nonnull(o = get(c, "elsewhere", "kvguard"));
    json_object_put(o);

    json_object_put(list);
    kvg_kube_client_free(c);
    kvg_fakeapi_stop(fa);
}
END_TEST

START_TEST(api_error_is_reported)
{
    kvg_fakeapi *fa = start();
    kvg_kube_client *c = client_of(fa);
    kvg_kube_tuning t = {.connect_timeout_ms = 2000, .request_timeout_ms = 5000,
                         .max_attempts = 1, .backoff_base_ms = 10, .backoff_max_ms = 10};
    json_object *list = example_reports();
    kvg_audit_publish_stats st;
    kvg_diag d = {{0}};
    kvg_kube_client_tune(c, &t);
    kvg_fakeapi_fail(fa, "POST", "/apis/" PR_GROUP, 1, 403, NULL, NULL);
    ck_assert_int_eq(kvg_audit_publish(c, list, NULL, &st, &d), KVG_EAPI);
    ck_assert_uint_eq(st.failed, 1);
    ck_assert_msg(strstr(d.msg, "vms/kvguard") != NULL, "%s", d.msg);
    json_object_put(list);
    kvg_kube_client_free(c);
    kvg_fakeapi_stop(fa);
}
END_TEST

/* A kubeconfig for the fake API server in dir (path returned, to free). */
static char *write_kubeconfig(kvg_fakeapi *fa, const char *dir)
{
    kvg_kube_config kc;
    kvg_buf ca;
    char text[8192], *path = malloc(strlen(dir) + 16);
    kvg_fakeapi_config(fa, &kc);
    kvg_buf_init(&ca, 0);
    ck_assert_int_eq(kvg_base64_encode(kc.ca.data, kc.ca.len, &ca), KVG_OK);
    snprintf(text, sizeof text,
             "current-context: t\ncontexts: [{name: t, context: {cluster: f, user: u}}]\n"
             "clusters: [{name: f, cluster: {server: '%s', certificate-authority-data: %s}}]\n"
             "users: [{name: u, user: {token: abc}}]\n", kc.server, ca.data);
    kvg_buf_free(&ca);
    kvg_kube_config_free(&kc);
    kvg_test_write_file(dir, "kubeconfig", text);
    sprintf(path, "%s/kubeconfig", dir);
    return path;
}

#define VM1 "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachine\"," \
            "\"metadata\":{\"name\":\"vm1\",\"namespace\":\"ns1\"},\"spec\":" \
            "{\"runStrategy\":\"Halted\",\"template\":{\"spec\":{\"domain\":" \
            "{\"devices\":{}}}}}}"

/* The command: --apply over --kubeconfig writes the report of the view the
 * informers built. */
START_TEST(cli_apply)
{
    kvg_fakeapi *fa = start();
    kvg_fakeapi_serve_kinds(fa);
    char *dir = kvg_test_mkdtemp(), *path = write_kubeconfig(fa, dir);
    kvg_fakeapi_put(fa, "kubevirt.io", "virtualmachines", VM1);
    const char *argv[] = {KVG_BINARY, "audit", "--kubeconfig", path, "--apply",
                          "--log-level=info", NULL};
    kvg_run_result r;
    ck_assert_int_eq(kvg_run(argv, NULL, 0, 60, &r), 0);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "1 created") != NULL, "%s", r.err);
    kvg_run_result_free(&r);
    kvg_kube_client *c = client_of(fa);
    json_object *o = get(c, "ns1", "kvguard");
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(kvg_json_int(-1, o, "summary", "fail", NULL), 0);
    json_object_put(o);
    kvg_kube_client_free(c);
    kvg_test_rmtree(dir);
    free(path);
    free(dir);
    kvg_fakeapi_stop(fa);
}
END_TEST

/* --every: the reports follow the cluster (the VM goes, its namespace's
 * report goes) until SIGTERM, which ends the command with 0. */
START_TEST(cli_apply_every)
{
    kvg_fakeapi *fa = start();
    kvg_fakeapi_serve_kinds(fa);
    char *dir = kvg_test_mkdtemp(), *path = write_kubeconfig(fa, dir);
    kvg_fakeapi_put(fa, "kubevirt.io", "virtualmachines", VM1);
    const char *args[] = {"audit", "--kubeconfig", path, "--apply", "--every", "1",
                          "--log-level=info", NULL};
    kvg_proc p;
    char *line;
    ck_assert_int_eq(kvg_proc_start(&p, dir, "audit", args), 0);
    line = kvg_proc_wait_log(&p, "1 created", 20000);
    if (!line)
        kvg_proc_dump_log(&p);
    ck_assert_ptr_nonnull(line);
    free(line);
    kvg_fakeapi_remove(fa, "kubevirt.io", "virtualmachines", "ns1", "vm1");
    line = kvg_proc_wait_log(&p, "1 deleted", 20000);
    if (!line)
        kvg_proc_dump_log(&p);
    ck_assert_ptr_nonnull(line);
    free(line);
    ck_assert_int_eq(kvg_proc_signal(&p, SIGTERM), 0);
    ck_assert_int_eq(kvg_proc_wait_exit(&p, 10000), 0);
    kvg_kube_client *c = client_of(fa);
    ck_assert_ptr_null(get(c, "ns1", "kvguard"));
    kvg_kube_client_free(c);
    kvg_test_rmtree(dir);
    free(path);
    free(dir);
    kvg_fakeapi_stop(fa);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("audit_publish");
    TCase *t = tcase_create("audit_publish");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, create_replace_prune);
    tcase_add_test(t, api_error_is_reported);
    tcase_add_test(t, cli_apply);
    tcase_add_test(t, cli_apply_every);
    suite_add_tcase(s, t);
    return kvg_test_run(s);
}
