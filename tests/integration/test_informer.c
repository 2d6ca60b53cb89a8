/* Informers against the fake apiserver: initial paginated sync, absent
 * kinds, live events, watch resume without relist, relist after 410 with
 * readers never seeing a mix, bookmarks, readiness, metrics, stop. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fakeapi.h"
#include "kvguard/informer.h"
#include "kvguard/json.h"
#include "kvguard/metrics.h"
#include "testlib.h"

static kvg_fakeapi *fa;
static kvg_kube_client *kc;
static kvg_store *store;
static const kvg_view *view;
static kvg_informers *inf;

static const kvg_kube_tuning fast = {
    .connect_timeout_ms = 2000, .request_timeout_ms = 10000,
    .watch_low_speed_s = 30, .max_attempts = 3, .backoff_base_ms = 10,
    .backoff_max_ms = 50, .retry_after_max_s = 1,
};

/* Every kind but CDI's and OpenEBS's: those CRDs are "not installed". */
static void serve_most(void)
{
    for (int k = 0; k < KVG_KIND_COUNT; k++) {
        const kvg_kind_info *ki = kvg_kind_info_get((kvg_kind)k);
        if (strcmp(ki->group, "cdi.kubevirt.io") == 0 ||
            strcmp(ki->group, "zfs.openebs.io") == 0)
            continue;
        kvg_fakeapi_serve(fa, ki->group, ki->versions[0], ki->resource,
                          ki->name, ki->namespaced);
    }
}

static void setup(void)
{
    kvg_kube_config cfg;
    kvg_diag d;
    fa = kvg_fakeapi_start();
    serve_most();
    kvg_fakeapi_config(fa, &cfg);
    ck_assert_int_eq(kvg_kube_client_new(&cfg, &kc, &d), KVG_OK);
    kvg_kube_config_free(&cfg);
    kvg_kube_client_tune(kc, &fast);
    ck_assert_int_eq(kvg_store_new(&store), KVG_OK);
    view = kvg_store_view(store);
    inf = NULL;
}

static void teardown(void)
{
    if (inf)
        ck_assert_int_eq(kvg_informers_stop(inf), KVG_OK);
    kvg_store_free(store);
    kvg_kube_client_free(kc);
    kvg_fakeapi_stop(fa);
}

static void start_all(long absent_recheck_s)
{
    kvg_informers_opts o;
    kvg_diag d;
    kvg_kind kinds[KVG_KIND_COUNT];
    for (int i = 0; i < KVG_KIND_COUNT; i++)
        kinds[i] = (kvg_kind)i;
    kvg_informers_opts_init(&o);
    o.page_limit = 7;
    o.backoff_base_ms = 20;
    o.backoff_max_ms = 200;
    o.watch_timeout_min_s = 30;
    o.watch_timeout_max_s = 40;
    o.absent_recheck_s = absent_recheck_s;
    ck_assert_int_eq(kvg_informers_start_opts(kc, store, kinds, KVG_KIND_COUNT,
                                              &o, &inf, &d), KVG_OK);
}

static const char POD_WITH_CLAIM[] =
    "{\"metadata\":{\"namespace\":\"ns\",\"name\":\"launcher\"},\"spec\":"
    "{\"volumes\":[{\"name\":\"d\",\"persistentVolumeClaim\":{\"claimName\":"
    "\"c1\"}},{\"name\":\"e\",\"emptyDir\":{}}]},\"status\":{\"phase\":"
    "\"Running\"}}";
static const char POD_WITHOUT_CLAIM[] =
    "{\"metadata\":{\"namespace\":\"ns\",\"name\":\"web\"},\"spec\":"
    "{\"volumes\":[{\"name\":\"e\",\"emptyDir\":{}}]},\"status\":"
    "{\"phase\":\"Running\"}}";

static void put_vm(const char *name, int gen)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachine\","
             "\"metadata\":{\"namespace\":\"ns\",\"name\":\"%s\",\"labels\":"
             "{\"gen\":\"%d\"},\"managedFields\":[{\"manager\":\"kubectl\"}]},"
             "\"spec\":{\"runStrategy\":\"Halted\"}}", name, gen);
    kvg_fakeapi_put(fa, "kubevirt.io", "virtualmachines", buf);
}

static size_t count(kvg_kind k)
{
    kvg_view_begin(view);
    size_t n = kvg_view_count(view, k);
    kvg_view_end(view);
    return n;
}

static kvg_kind_state state(kvg_kind k)
{
    kvg_view_begin(view);
    kvg_kind_state s = kvg_view_state(view, k);
    kvg_view_end(view);
    return s;
}

static bool vm_exists(const char *name)
{
    kvg_view_begin(view);
    bool ok = kvg_view_get(view, KVG_KIND_VM, "ns", name) != NULL;
    kvg_view_end(view);
    return ok;
}

/* Poll cond for up to 10 s. */
#define EVENTUALLY(cond)                                                     \
    do {                                                                     \
        int _i;                                                              \
        for (_i = 0; _i < 1000 && !(cond); _i++)                             \
            usleep(10 * 1000);                                               \
        ck_assert_msg(cond, "timed out waiting for " #cond);                 \
    } while (0)

static void wait_synced(void)
{
    kvg_diag d;
    ck_assert_msg(kvg_informers_wait_synced(inf, 10000, &d) == KVG_OK, "%s",
                  d.msg);
}

START_TEST(initial_sync_and_absent_kinds)
{
    char name[32];
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "vm%02d", i);
        put_vm(name, 1);
    }
    kvg_fakeapi_put(fa, "", "persistentvolumes", "{\"metadata\":{\"name\":\"pv1\"}}");
    kvg_fakeapi_put(fa, "", "pods", POD_WITH_CLAIM);
    kvg_fakeapi_put(fa, "", "pods", POD_WITHOUT_CLAIM);
    start_all(60);
    wait_synced();
    ck_assert_int_eq(count(KVG_KIND_VM), 20);
    ck_assert_int_eq(count(KVG_KIND_PV), 1);
    ck_assert_int_eq(count(KVG_KIND_POD), 1); /* only claim users are kept */
    kvg_view_begin(view);
    ck_assert_ptr_nonnull(kvg_view_get(view, KVG_KIND_POD, "ns", "launcher"));
    kvg_view_end(view);
    ck_assert_int_eq(state(KVG_KIND_VM), KVG_KIND_SYNCED);
    ck_assert_int_eq(state(KVG_KIND_DATAVOLUME), KVG_KIND_ABSENT);
    ck_assert_int_eq(state(KVG_KIND_STORAGEPROFILE), KVG_KIND_ABSENT);
    ck_assert_int_eq(state(KVG_KIND_ZFSSNAPSHOT), KVG_KIND_ABSENT);
    ck_assert(kvg_view_synced(view));
    kvg_kube_resource r;
    ck_assert(kvg_informers_resource(inf, KVG_KIND_VMSNAPSHOT, &r));
    ck_assert_str_eq(r.version, "v1beta1");
    ck_assert_str_eq(r.resource, "virtualmachinesnapshots");
    ck_assert(!kvg_informers_resource(inf, KVG_KIND_DATAVOLUME, &r));
    /* 20 VMs in pages of 7 */
    ck_assert_int_eq(kvg_fakeapi_count_query(fa, "GET", "/apis/kubevirt.io/v1/"
                                             "virtualmachines", "limit=7"), 3);
    /* pruned on the way in */
    kvg_view_begin(view);
    const json_object *vm = kvg_view_get(view, KVG_KIND_VM, "ns", "vm03");
    ck_assert_ptr_nonnull(vm);
    ck_assert_ptr_null(kvg_json_path(vm, "metadata", "managedFields", NULL));
    kvg_view_end(view);
    /* pods are listed without terminated ones */
    ck_assert_int_eq(kvg_fakeapi_count_query(
        fa, "GET", "/api/v1/pods",
        "fieldSelector=status.phase!=Succeeded,status.phase!=Failed"), 2);

    kvg_buf m;
    kvg_buf_init(&m, 0);
    kvg_view_metrics_update(view);
    ck_assert_int_eq(kvg_metrics_render(&m), KVG_OK);
    ck_assert_msg(strstr(m.data, "kvguard_cache_objects{kind=\"VirtualMachine\"} 20"),
                  "%s", m.data);
    ck_assert_ptr_nonnull(strstr(m.data, "kvguard_cache_objects{kind=\"DataVolume\"} 0"));
    ck_assert_ptr_nonnull(strstr(m.data, "kvguard_cache_last_sync_seconds{kind=\"Pod\"}"));
    kvg_buf_free(&m);
}
END_TEST

START_TEST(absent_kind_appears_later)
{
    start_all(1);
    wait_synced();
    ck_assert_int_eq(state(KVG_KIND_DATAVOLUME), KVG_KIND_ABSENT);
    kvg_fakeapi_serve(fa, "cdi.kubevirt.io", "v1beta1", "datavolumes",
                      "DataVolume", true);
    kvg_fakeapi_put(fa, "cdi.kubevirt.io", "datavolumes",
                    "{\"metadata\":{\"namespace\":\"ns\",\"name\":\"dv1\"}}");
    EVENTUALLY(state(KVG_KIND_DATAVOLUME) == KVG_KIND_SYNCED);
    ck_assert_int_eq(count(KVG_KIND_DATAVOLUME), 1);
}
END_TEST

START_TEST(not_ready_until_listed)
{
    kvg_fakeapi_fail_query(fa, "GET", "/apis/kubevirt.io/v1/virtualmachines",
                           "limit=", 1000, 503, NULL, NULL);
    start_all(60);
    EVENTUALLY(state(KVG_KIND_PVC) == KVG_KIND_SYNCED);
    usleep(300 * 1000);
    ck_assert(!kvg_informers_synced(inf));
    ck_assert_int_eq(state(KVG_KIND_VM), KVG_KIND_UNSYNCED);
    kvg_diag d;
    ck_assert_int_eq(kvg_informers_wait_synced(inf, 100, &d), KVG_ETIMEOUT);
    ck_assert_msg(strstr(d.msg, "VirtualMachine") &&
                  !strstr(d.msg, "PersistentVolumeClaim"), "%s", d.msg);
    kvg_fakeapi_clear_faults(fa);
    wait_synced();
}
END_TEST

START_TEST(live_events)
{
    put_vm("a", 1);
    start_all(60);
    wait_synced();
    put_vm("b", 1);
    EVENTUALLY(vm_exists("b"));
    put_vm("a", 2);
    EVENTUALLY(({
        kvg_view_begin(view);
        const char *g = kvg_json_str(kvg_view_get(view, KVG_KIND_VM, "ns", "a"),
                                     "metadata", "labels", "gen", NULL);
        bool ok = g && strcmp(g, "2") == 0;
        kvg_view_end(view);
        ok;
    }));
    kvg_fakeapi_remove(fa, "kubevirt.io", "virtualmachines", "ns", "a");
    EVENTUALLY(!vm_exists("a"));
    ck_assert_int_eq(count(KVG_KIND_VM), 1);
    /* cluster-scoped delete */
    kvg_fakeapi_put(fa, "", "persistentvolumes", "{\"metadata\":{\"name\":\"pv9\"}}");
    EVENTUALLY(count(KVG_KIND_PV) == 1);
    kvg_fakeapi_remove(fa, "", "persistentvolumes", "", "pv9");
    EVENTUALLY(count(KVG_KIND_PV) == 0);
    /* pods: a claim user is kept, others are not */
    kvg_fakeapi_put(fa, "", "pods", POD_WITHOUT_CLAIM);
    kvg_fakeapi_put(fa, "", "pods", POD_WITH_CLAIM);
    EVENTUALLY(count(KVG_KIND_POD) == 1);
    kvg_fakeapi_remove(fa, "", "pods", "ns", "launcher");
    EVENTUALLY(count(KVG_KIND_POD) == 0);
}
END_TEST

START_TEST(resume_without_relist)
{
    put_vm("a", 1);
    start_all(60);
    wait_synced();
    const char *p = "/apis/kubevirt.io/v1/virtualmachines";
    int lists = kvg_fakeapi_count_query(fa, "GET", p, "limit=");
    long rv_before = kvg_fakeapi_rv(fa);
    put_vm("b", 1);
    EVENTUALLY(vm_exists("b"));
    /* the apiserver restarts: every stream ends */
    kvg_fakeapi_close_watches(fa);
    put_vm("c", 1); /* happens while no one watches */
    EVENTUALLY(vm_exists("c"));
    ck_assert_int_eq(kvg_fakeapi_count_query(fa, "GET", p, "limit="), lists);
    char *q = kvg_fakeapi_last(fa, "GET", p, KVG_FAKE_QUERY);
    char want[64];
    snprintf(want, sizeof want, "resourceVersion=%ld", rv_before + 1);
    ck_assert_msg(strstr(q, want) != NULL, "%s", q); /* b's version */
    free(q);
    ck_assert_int_eq(count(KVG_KIND_VM), 3);
}
END_TEST

START_TEST(bookmark_advances_resource_version)
{
    start_all(60);
    wait_synced();
    put_vm("x", 1);
    EVENTUALLY(vm_exists("x"));
    long bm = kvg_fakeapi_bookmark(fa, "kubevirt.io", "virtualmachines");
    char want[32], got[64];
    snprintf(want, sizeof want, "%ld", bm);
    EVENTUALLY(kvg_view_resource_version(view, KVG_KIND_VM, got, sizeof got) ==
                   KVG_OK && strcmp(got, want) == 0);
    kvg_fakeapi_close_watches(fa);
    const char *p = "/apis/kubevirt.io/v1/virtualmachines";
    char q_want[64];
    snprintf(q_want, sizeof q_want, "resourceVersion=%ld", bm);
    EVENTUALLY(kvg_fakeapi_count_query(fa, "GET", p, q_want) >= 1);
}
END_TEST

/* ---- relist consistency ------------------------------------------------------ */

typedef struct reader {
    atomic_bool *stop;
    long snapshots, mixed, saw_gen2;
} reader;

static int check_gen(const json_object *o, void *ud)
{
    int *gens = ud;
    const char *g = kvg_json_str(o, "metadata", "labels", "gen", NULL);
    gens[g && strcmp(g, "2") == 0 ? 1 : 0]++;
    return 0;
}

static void *read_loop(void *p)
{
    reader *r = p;
    while (!atomic_load(r->stop)) {
        int gens[2] = {0, 0};
        kvg_view_begin(view);
        kvg_view_each(view, KVG_KIND_VM, NULL, check_gen, gens);
        size_t n = kvg_view_count(view, KVG_KIND_VM);
        kvg_view_end(view);
        r->snapshots++;
        if ((gens[0] && gens[1]) || (size_t)(gens[0] + gens[1]) != n)
            r->mixed++;
        if (gens[1] == 50)
            r->saw_gen2++;
    }
    return NULL;
}

START_TEST(relist_after_410_is_atomic)
{
    char name[32];
    for (int i = 0; i < 50; i++) {
        snprintf(name, sizeof name, "vm%02d", i);
        put_vm(name, 1);
    }
    start_all(60);
    wait_synced();
    ck_assert_int_eq(count(KVG_KIND_VM), 50);
    const char *p = "/apis/kubevirt.io/v1/virtualmachines";
    int lists = kvg_fakeapi_count_query(fa, "GET", p, "limit=");

    atomic_bool stop = false;
    reader rd[3] = {{.stop = &stop}, {.stop = &stop}, {.stop = &stop}};
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, read_loop, &rd[i]);

    /* the informer is cut off while every VM changes and etcd compacts */
    kvg_fakeapi_fail_query(fa, "GET", p, "watch=true", 100000, 503, NULL, NULL);
    kvg_fakeapi_close_watches(fa);
    for (int i = 0; i < 50; i++) {
        snprintf(name, sizeof name, "vm%02d", i);
        put_vm(name, 2);
    }
    kvg_fakeapi_compact(fa);
    usleep(200 * 1000);
    kvg_fakeapi_clear_faults(fa);

    EVENTUALLY(rd[0].saw_gen2 > 0);
    usleep(100 * 1000);
    atomic_store(&stop, true);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        ck_assert_msg(rd[i].mixed == 0, "reader %d saw %ld mixed snapshots of %ld",
                      i, rd[i].mixed, rd[i].snapshots);
        ck_assert(rd[i].snapshots > 10);
    }
    /* a relist happened (8 pages of 7), not 50 watch events */
    ck_assert_int_eq(kvg_fakeapi_count_query(fa, "GET", p, "limit=") - lists, 8);
    ck_assert_int_eq(count(KVG_KIND_VM), 50);
    ck_assert_int_eq(state(KVG_KIND_VM), KVG_KIND_SYNCED);
}
END_TEST

START_TEST(stop_is_prompt)
{
    start_all(60);
    wait_synced();
    EVENTUALLY(kvg_fakeapi_open_watches(fa) >= 12);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    ck_assert_int_eq(kvg_informers_stop(inf), KVG_OK);
    inf = NULL;
    clock_gettime(CLOCK_MONOTONIC, &b);
    double took = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    ck_assert_msg(took < 3.0, "stop took %.2f s", took);
}
END_TEST

START_TEST(cluster_open_files_and_errors)
{
    kvg_config cfg;
    kvg_store *s = NULL;
    kvg_informers *i2 = NULL;
    kvg_diag d;
    ck_assert_int_eq(kvg_config_init(&cfg), KVG_OK);
    cfg.cluster_mode = KVG_CLUSTER_KUBE;
    free(cfg.kubeconfig);
    cfg.kubeconfig = strdup("/nonexistent/kubeconfig");
    ck_assert_int_eq(kvg_cluster_open(&cfg, &s, &i2, &d), KVG_ECONFIG);
    ck_assert_ptr_nonnull(strstr(d.msg, "kubeconfig /nonexistent/kubeconfig"));
    ck_assert_ptr_null(s);

    /* a kubeconfig pointing at the fake apiserver */
    char *dir = kvg_test_mkdtemp(), text[8192], path[512];
    kvg_kube_config kcfg;
    kvg_fakeapi_config(fa, &kcfg);
    kvg_buf ca;
    kvg_buf_init(&ca, 0);
    kvg_base64_encode(kcfg.ca.data, kcfg.ca.len, &ca);
    snprintf(text, sizeof text,
             "current-context: t\ncontexts: [{name: t, context: {cluster: f, "
             "user: u}}]\nclusters: [{name: f, cluster: {server: '%s', "
             "certificate-authority-data: %s}}]\nusers: [{name: u, user: "
             "{token: abc}}]\n", kcfg.server, ca.data);
    kvg_buf_free(&ca);
    kvg_kube_config_free(&kcfg);
    kvg_test_write_file(dir, "kc", text);
    snprintf(path, sizeof path, "%s/kc", dir);
    free(cfg.kubeconfig);
    cfg.kubeconfig = strdup(path);
    put_vm("opened", 1);
    ck_assert_msg(kvg_cluster_open(&cfg, &s, &i2, &d) == KVG_OK, "%s", d.msg);
    ck_assert_ptr_nonnull(i2);
    ck_assert_int_eq(kvg_informers_wait_synced(i2, 10000, &d), KVG_OK);
    const kvg_view *v = kvg_store_view(s);
    kvg_view_begin(v);
    ck_assert_ptr_nonnull(kvg_view_get(v, KVG_KIND_VM, "ns", "opened"));
    kvg_view_end(v);
    char *auth = kvg_fakeapi_last(fa, "GET", "/apis/kubevirt.io", KVG_FAKE_AUTH);
    ck_assert_str_eq(auth, "Bearer abc");
    free(auth);
    kvg_cluster_close(s, i2);

    /* no --kubeconfig outside a pod: the first file of $KUBECONFIG */
    char env[600];
    snprintf(env, sizeof env, "%s:/nonexistent/second", path);
    setenv("KUBECONFIG", env, 1);
    unsetenv("KUBERNETES_SERVICE_HOST");
    free(cfg.kubeconfig);
    cfg.kubeconfig = NULL;
    ck_assert_msg(kvg_cluster_open(&cfg, &s, &i2, &d) == KVG_OK, "%s", d.msg);
    ck_assert_int_eq(kvg_informers_wait_synced(i2, 10000, &d), KVG_OK);
    kvg_cluster_close(s, i2);
    unsetenv("KUBECONFIG");
    ck_assert_int_eq(kvg_cluster_open(&cfg, &s, &i2, &d), KVG_ECONFIG);
    ck_assert_msg(strstr(d.msg, "in-cluster") != NULL, "%s", d.msg);

    /* files mode */
    kvg_test_write_file(dir, "state/vm.yaml",
                        "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\n"
                        "metadata: {name: f1, namespace: ns}\nspec: {}\n");
    cfg.cluster_mode = KVG_CLUSTER_FILES;
    free(cfg.cluster_state_dir);
    snprintf(path, sizeof path, "%s/state", dir);
    cfg.cluster_state_dir = strdup(path);
    ck_assert_msg(kvg_cluster_open(&cfg, &s, &i2, &d) == KVG_OK, "%s", d.msg);
    ck_assert_ptr_null(i2);
    v = kvg_store_view(s);
    kvg_view_begin(v);
    ck_assert_ptr_nonnull(kvg_view_get(v, KVG_KIND_VM, "ns", "f1"));
    kvg_view_end(v);
    kvg_cluster_close(s, NULL);
    kvg_config_free(&cfg);
    kvg_test_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("informer");
    TCase *tc = tcase_create("informer");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, initial_sync_and_absent_kinds);
    tcase_add_test(tc, absent_kind_appears_later);
    tcase_add_test(tc, not_ready_until_listed);
    tcase_add_test(tc, live_events);
    tcase_add_test(tc, resume_without_relist);
    tcase_add_test(tc, bookmark_advances_resource_version);
    tcase_add_test(tc, relist_after_410_is_atomic);
    tcase_add_test(tc, stop_is_prompt);
    tcase_add_test(tc, cluster_open_files_and_errors);
    suite_add_tcase(s, tc);
    return kvg_test_run(s);
}
