/* The Kubernetes client against the fake apiserver (tests/lib/fakeapi.c):
 * verbs, pagination, retries and their limits, typed Status errors, watch,
 * discovery, token rotation, TLS. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fakeapi.h"
#include "kvguard/json.h"
#include "kvguard/kube.h"
#include "testlib.h"

static kvg_fakeapi *fa;
static kvg_kube_client *kc;

static const kvg_kube_tuning fast = {
    .connect_timeout_ms = 2000, .request_timeout_ms = 10000,
    .watch_low_speed_s = 30, .max_attempts = 4, .backoff_base_ms = 10,
    .backoff_max_ms = 40, .retry_after_max_s = 3,
};

static void setup(void)
{
    kvg_kube_config cfg;
    kvg_diag d;
    fa = kvg_fakeapi_start();
    kvg_fakeapi_serve_kinds(fa);
    kvg_fakeapi_config(fa, &cfg);
    ck_assert_int_eq(kvg_kube_client_new(&cfg, &kc, &d), KVG_OK);
    kvg_kube_config_free(&cfg);
    kvg_kube_client_tune(kc, &fast);
}

static void teardown(void)
{
    kvg_kube_client_free(kc);
    kvg_fakeapi_stop(fa);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void put_pod(const char *ns, const char *name)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":"
             "{\"namespace\":\"%s\",\"name\":\"%s\"},\"status\":{\"phase\":"
             "\"Running\"}}", ns, name);
    kvg_fakeapi_put(fa, "", "pods", buf);
}

static void put_vm(const char *ns, const char *name)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachine\","
             "\"metadata\":{\"namespace\":\"%s\",\"name\":\"%s\"},\"spec\":"
             "{\"runStrategy\":\"Halted\"}}", ns, name);
    kvg_fakeapi_put(fa, "kubevirt.io", "virtualmachines", buf);
}

static kvg_kube_resource res_of(kvg_kind k)
{
    kvg_kube_resource r;
    ck_assert_int_eq(kvg_kube_resource_of(k, NULL, &r), KVG_OK);
    return r;
}

static bool has(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

/* ---- get and errors --------------------------------------------------------------- */

START_TEST(get_and_not_found)
{
    kvg_kube_resource r = res_of(KVG_KIND_VM);
    json_object *o = NULL;
    kvg_kube_status st;
    kvg_kube_call call = {.status = &st};
    kvg_diag d;
    put_vm("ns1", "vm1");
    ck_assert_int_eq(kvg_kube_get(kc, &r, "ns1", "vm1", &o, &call, &d), KVG_OK);
    ck_assert_str_eq(kvg_json_str(o, "metadata", "name", NULL), "vm1");
    json_object_put(o);
    char *auth = kvg_fakeapi_last(fa, "GET", "/apis/kubevirt.io/v1/namespaces/"
                                  "ns1/virtualmachines/vm1", KVG_FAKE_AUTH);
    ck_assert_str_eq(auth, "Bearer test-token");
    free(auth);

    ck_assert_int_eq(kvg_kube_get(kc, &r, "ns1", "nope", &o, &call, &d),
                     KVG_ENOTFOUND);
    ck_assert_int_eq(st.code, 404);
    ck_assert_str_eq(st.reason, "NotFound");
    ck_assert_str_eq(st.message, "virtualmachines.kubevirt.io \"nope\" not found");
    ck_assert_str_eq(d.msg, "GET /apis/kubevirt.io/v1/namespaces/ns1/"
                     "virtualmachines/nope: 404 NotFound: "
                     "virtualmachines.kubevirt.io \"nope\" not found");
    /* a 404 is an answer, not a failure: no retry */
    ck_assert_int_eq(kvg_fakeapi_count(fa, "GET", "/apis/kubevirt.io/v1/"
                                       "namespaces/ns1/virtualmachines/nope"), 1);
    /* names cannot smuggle path or query */
    ck_assert_int_eq(kvg_kube_get(kc, &r, "ns1", "a/../b", &o, NULL, &d),
                     KVG_EINVAL);
    ck_assert_int_eq(kvg_kube_get(kc, &r, "ns1", "x?watch=1", &o, NULL, &d),
                     KVG_EINVAL);
}
END_TEST

START_TEST(non_json_error_body)
{
    kvg_kube_resource r = res_of(KVG_KIND_PV);
    kvg_kube_status st;
    kvg_kube_call call = {.status = &st};
    kvg_diag d;
    json_object *o = NULL;
    kvg_fakeapi_fail(fa, "GET", "/api/v1/persistentvolumes/pv1", 1, 403, NULL,
                     "forbidden: no RBAC\n");
    ck_assert_int_eq(kvg_kube_get(kc, &r, NULL, "pv1", &o, &call, &d), KVG_EAPI);
    ck_assert_int_eq(st.code, 403);
    ck_assert_str_eq(st.reason, "Forbidden");
    ck_assert_str_eq(st.message, "forbidden: no RBAC");
}
END_TEST

/* ---- list ----------------------------------------------------------------------- */

typedef struct listed {
    int n;
    char names[64][32];
    bool compact_after_first;
} listed;

static kvg_err on_item(json_object *item, void *ud)
{
    listed *l = ud;
    const char *name = kvg_json_str(item, "metadata", "name", NULL);
    if (l->n < 64)
        snprintf(l->names[l->n], sizeof l->names[0], "%s", name ? name : "?");
    l->n++;
    json_object_put(item);
    if (l->compact_after_first && l->n == 1) {
        put_pod("zz", "late"); /* history moves on ... */
        kvg_fakeapi_compact(fa); /* ... and is compacted */
    }
    return KVG_OK;
}

START_TEST(list_paginates)
{
    kvg_kube_resource r = res_of(KVG_KIND_POD);
    kvg_kube_list_opts o = {.limit = 3, .field_selector = "status.phase!=Failed",
                            .label_selector = "app in (a,b)"};
    kvg_diag d;
    char name[16], *rv = NULL;
    for (int i = 0; i < 7; i++) {
        snprintf(name, sizeof name, "p%d", i);
        put_pod("a", name);
    }
    put_pod("b", "q0");
    put_pod("b", "q1");
    long want_rv = kvg_fakeapi_rv(fa);
    listed l = {0};
    ck_assert_int_eq(kvg_kube_list_each(kc, &r, NULL, &o, on_item, &l, &rv,
                                        NULL, &d), KVG_OK);
    ck_assert_int_eq(l.n, 9);
    ck_assert_str_eq(l.names[0], "p0");
    ck_assert_str_eq(l.names[8], "q1");
    ck_assert_int_eq(atol(rv), want_rv);
    free(rv);
    ck_assert_int_eq(kvg_fakeapi_count(fa, "GET", "/api/v1/pods"), 3);
    char *q = kvg_fakeapi_last(fa, "GET", "/api/v1/pods", KVG_FAKE_QUERY);
    ck_assert_msg(has(q, "limit=3") && has(q, "continue=") &&
                  has(q, "fieldSelector=status.phase!=Failed") &&
                  has(q, "labelSelector=app in (a,b)"), "%s", q);
    free(q);

    /* one namespace, collected into an array */
    json_object *items = NULL;
    ck_assert_int_eq(kvg_kube_list(kc, &r, "b", NULL, &items, NULL, NULL, &d),
                     KVG_OK);
    ck_assert_int_eq(json_object_array_length(items), 2);
    json_object_put(items);
    q = kvg_fakeapi_last(fa, "GET", "/api/v1/namespaces/b/pods", KVG_FAKE_QUERY);
    ck_assert_str_eq(q, "limit=500");
    free(q);
}
END_TEST

START_TEST(list_continue_expired)
{
    kvg_kube_resource r = res_of(KVG_KIND_POD);
    kvg_kube_list_opts o = {.limit = 2};
    kvg_diag d;
    kvg_kube_status st;
    kvg_kube_call call = {.status = &st};
    char *rv = (char *)"sentinel";
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", i);
        put_pod("a", name);
    }
    listed l = {.compact_after_first = true};
    ck_assert_int_eq(kvg_kube_list_each(kc, &r, "a", &o, on_item, &l, &rv,
                                        &call, &d), KVG_EGONE);
    ck_assert_ptr_null(rv);
    ck_assert_int_eq(st.code, 410);
    ck_assert_str_eq(st.reason, "Expired");
}
END_TEST

/* ---- retries ------------------------------------------------------------------------ */

START_TEST(retry_503_with_retry_after)
{
    kvg_kube_resource r = res_of(KVG_KIND_PV);
    kvg_diag d;
    json_object *items = NULL;
    kvg_fakeapi_put(fa, "", "persistentvolumes",
                    "{\"metadata\":{\"name\":\"pv1\"}}");
    kvg_fakeapi_fail(fa, "GET", "/api/v1/persistentvolumes", 2, 503, "1", NULL);
    double t0 = now_s();
    ck_assert_int_eq(kvg_kube_list(kc, &r, NULL, NULL, &items, NULL, NULL, &d),
                     KVG_OK);
    double took = now_s() - t0;
    ck_assert_int_eq(json_object_array_length(items), 1);
    json_object_put(items);
    ck_assert_int_eq(kvg_fakeapi_count(fa, "GET", "/api/v1/persistentvolumes"), 3);
    /* Retry-After: 1 twice, not the 10-40 ms backoff */
    ck_assert_msg(took >= 1.9 && took < 6, "took %.2f s", took);
}
END_TEST

START_TEST(retry_backoff_then_give_up)
{
    kvg_kube_resource r = res_of(KVG_KIND_PV);
    kvg_diag d;
    kvg_kube_status st;
    kvg_kube_call call = {.status = &st};
    json_object *o = NULL;
    kvg_fakeapi_fail(fa, "GET", "/api/v1/persistentvolumes/x", 100, 500, NULL,
                     NULL);
    double t0 = now_s();
    ck_assert_int_eq(kvg_kube_get(kc, &r, NULL, "x", &o, &call, &d), KVG_EAPI);
    ck_assert_int_eq(kvg_fakeapi_count(fa, "GET", "/api/v1/persistentvolumes/x"),
                     fast.max_attempts);
    ck_assert_int_eq(st.code, 500);
    ck_assert_str_eq(st.message, "injected fault 500");
    ck_assert(now_s() - t0 < 2);
}
END_TEST

START_TEST(no_retry_of_post_on_5xx)
{
    kvg_kube_resource r = res_of(KVG_KIND_VMCLONE);
    kvg_diag d;
    json_object *obj = json_tokener_parse(
        "{\"apiVersion\":\"clone.kubevirt.io/v1beta1\",\"kind\":"
        "\"VirtualMachineClone\",\"metadata\":{\"name\":\"c1\"}}");
    const char *coll = "/apis/clone.kubevirt.io/v1beta1/namespaces/ns/"
                       "virtualmachineclones";
    kvg_fakeapi_fail(fa, "POST", coll, 1, 500, NULL, NULL);
    ck_assert_int_eq(kvg_kube_create(kc, &r, "ns", obj, NULL, NULL, &d), KVG_EAPI);
    ck_assert_int_eq(kvg_fakeapi_count(fa, "POST", coll), 1);
    kvg_fakeapi_fail(fa, "POST", coll, 1, 503, "0", NULL);
    ck_assert_int_eq(kvg_kube_create(kc, &r, "ns", obj, NULL, NULL, &d), KVG_EAPI);
    ck_assert_int_eq(kvg_fakeapi_count(fa, "POST", coll), 2);
    /* PATCH neither */
    kvg_fakeapi_fail(fa, "PATCH", coll, 1, 502, NULL, NULL);
    ck_assert_int_eq(kvg_kube_patch(kc, &r, "ns", "c1", NULL, KVG_PATCH_MERGE,
                                    "{}", NULL, NULL, &d), KVG_EAPI);
    ck_assert_int_eq(kvg_fakeapi_count(fa, "PATCH", coll), 1);
    /* 429 is flow control: nothing was applied, so a POST may go again */
    kvg_fakeapi_fail(fa, "POST", coll, 1, 429, "0", NULL);
    json_object *out = NULL;
    ck_assert_int_eq(kvg_kube_create(kc, &r, "ns", obj, &out, NULL, &d), KVG_OK);
    ck_assert_int_eq(kvg_fakeapi_count(fa, "POST", coll), 4);
    ck_assert_str_eq(kvg_json_str(out, "metadata", "namespace", NULL), "ns");
    ck_assert_ptr_nonnull(kvg_json_str(out, "metadata", "uid", NULL));
    json_object_put(out);
    /* the borrowed object is untouched */
    ck_assert_ptr_null(kvg_json_str(obj, "metadata", "namespace", NULL));
    /* creating it again: typed AlreadyExists */
    kvg_kube_status st;
    kvg_kube_call call = {.status = &st};
    ck_assert_int_eq(kvg_kube_create(kc, &r, "ns", obj, NULL, &call, &d),
                     KVG_EEXIST);
    ck_assert_str_eq(st.reason, "AlreadyExists");
    ck_assert_int_eq(st.code, 409);
    json_object_put(obj);
}
END_TEST

START_TEST(connection_refused)
{
    kvg_kube_config cfg;
    kvg_kube_client *c2;
    kvg_diag d;
    json_object *o = NULL;
    kvg_kube_resource r = res_of(KVG_KIND_PV);
    kvg_fakeapi_config(fa, &cfg);
    free(cfg.server);
    cfg.server = strdup("https://127.0.0.1:1"); /* nothing listens on port 1 */
    ck_assert_int_eq(kvg_kube_client_new(&cfg, &c2, &d), KVG_OK);
    kvg_kube_client_tune(c2, &fast);
    ck_assert_int_eq(kvg_kube_get(c2, &r, NULL, "x", &o, NULL, &d), KVG_EHTTP);
    ck_assert_msg(has(d.msg, "https://127.0.0.1:1/api/v1/persistentvolumes/x"),
                  "%s", d.msg);
    kvg_kube_client_free(c2);
    kvg_kube_config_free(&cfg);
}
END_TEST

/* A call that could not even connect was never applied: even a PUT to
 * VirtualMachine start is sent again once the server is up. */
typedef struct late {
    unsigned port;
    char *cert, *key;
    kvg_fakeapi *f;
} late;

static void *start_late(void *p)
{
    late *l = p;
    usleep(300 * 1000);
    l->f = kvg_fakeapi_start_at(l->port, l->cert, l->key);
    return NULL;
}

START_TEST(refused_then_up)
{
    late l = {.port = kvg_test_free_port()};
    kvg_kube_config cfg;
    kvg_kube_client *c2;
    kvg_diag d;
    char url[64];
    kvg_test_gen_cert("late", &l.cert, &l.key);
    kvg_kube_config_init(&cfg);
    snprintf(url, sizeof url, "https://127.0.0.1:%u", l.port);
    cfg.server = strdup(url);
    kvg_buf_puts(&cfg.ca, l.cert);
    ck_assert_int_eq(kvg_kube_client_new(&cfg, &c2, &d), KVG_OK);
    kvg_kube_config_free(&cfg);
    kvg_kube_tuning t = fast;
    t.max_attempts = 30;
    t.backoff_base_ms = 50;
    t.backoff_max_ms = 100;
    kvg_kube_client_tune(c2, &t);
    pthread_t th;
    pthread_create(&th, NULL, start_late, &l);
    ck_assert_msg(kvg_kube_vm_start(c2, "ns", "vm1", NULL, &d) == KVG_OK, "%s",
                  d.msg);
    pthread_join(th, NULL);
    ck_assert_int_eq(kvg_fakeapi_count(l.f, "PUT", "/apis/subresources.kubevirt.io/"
                                       "v1/namespaces/ns/virtualmachines/vm1/start"),
                     1);
    kvg_kube_client_free(c2);
    kvg_fakeapi_stop(l.f);
    free(l.cert);
    free(l.key);
}
END_TEST

/* ---- writes ------------------------------------------------------------------------- */

START_TEST(patch_update_delete)
{
    kvg_kube_resource r = res_of(KVG_KIND_VM);
    kvg_diag d;
    kvg_kube_status st;
    kvg_kube_call call = {.status = &st};
    json_object *o = NULL;
    const char *path = "/apis/kubevirt.io/v1/namespaces/ns/virtualmachines/vm1";
    put_vm("ns", "vm1");

    ck_assert_int_eq(kvg_kube_patch(kc, &r, "ns", "vm1", NULL, KVG_PATCH_MERGE,
                                    "{\"metadata\":{\"labels\":{\"a\":\"b\"}}}",
                                    &o, NULL, &d), KVG_OK);
    ck_assert_str_eq(kvg_json_str(o, "metadata", "labels", "a", NULL), "b");
    json_object_put(o);
    char *ct = kvg_fakeapi_last(fa, "PATCH", path, KVG_FAKE_CTYPE);
    ck_assert_str_eq(ct, "application/merge-patch+json");
    free(ct);

    const char *jp = "[{\"op\":\"add\",\"path\":\"/metadata/annotations\","
                     "\"value\":{}}]";
    ck_assert_int_eq(kvg_kube_patch(kc, &r, "ns", "vm1", "status",
                                    KVG_PATCH_JSON, jp, NULL, NULL, &d), KVG_OK);
    char sp[256];
    snprintf(sp, sizeof sp, "%s/status", path);
    ct = kvg_fakeapi_last(fa, "PATCH", sp, KVG_FAKE_CTYPE);
    char *body = kvg_fakeapi_last(fa, "PATCH", sp, KVG_FAKE_BODY);
    ck_assert_str_eq(ct, "application/json-patch+json");
    ck_assert_str_eq(body, jp);
    free(ct);
    free(body);

    /* PUT status */
    ck_assert_int_eq(kvg_kube_get(kc, &r, "ns", "vm1", &o, NULL, &d), KVG_OK);
    json_object_object_add(o, "status", json_tokener_parse("{\"ready\":true}"));
    json_object *upd = NULL;
    ck_assert_int_eq(kvg_kube_update(kc, &r, "ns", "vm1", "status", o, &upd,
                                     NULL, &d), KVG_OK);
    ck_assert(kvg_json_bool(false, upd, "status", "ready", NULL));
    /* a stale resourceVersion: Conflict */
    ck_assert_int_eq(kvg_kube_update(kc, &r, "ns", "vm1", NULL, o, NULL, &call,
                                     &d), KVG_ECONFLICT);
    ck_assert_str_eq(st.reason, "Conflict");
    json_object_put(o);

    const char *uid = kvg_json_str(upd, "metadata", "uid", NULL);
    kvg_kube_delete_opts bad = {.uid = "someone-else", .propagation = "Foreground"};
    ck_assert_int_eq(kvg_kube_delete(kc, &r, "ns", "vm1", &bad, &call, &d),
                     KVG_ECONFLICT);
    ck_assert_msg(has(st.message, "Precondition failed: UID in precondition: "
                      "someone-else"), "%s", st.message);
    kvg_kube_delete_opts good = {.uid = uid, .propagation = "Background",
                                 .resource_version = kvg_json_str(
                                     upd, "metadata", "resourceVersion", NULL)};
    ck_assert_int_eq(kvg_kube_delete(kc, &r, "ns", "vm1", &good, NULL, &d),
                     KVG_OK);
    body = kvg_fakeapi_last(fa, "DELETE", path, KVG_FAKE_BODY);
    json_object *b = json_tokener_parse(body);
    ck_assert_str_eq(kvg_json_str(b, "kind", NULL), "DeleteOptions");
    ck_assert_str_eq(kvg_json_str(b, "preconditions", "uid", NULL), uid);
    ck_assert_str_eq(kvg_json_str(b, "propagationPolicy", NULL), "Background");
    json_object_put(b);
    free(body);
    json_object_put(upd);
    ck_assert_int_eq(kvg_kube_get(kc, &r, "ns", "vm1", &o, NULL, &d),
                     KVG_ENOTFOUND);
}
END_TEST

START_TEST(delete_retry_only_with_precondition)
{
    kvg_kube_resource r = res_of(KVG_KIND_PVC);
    kvg_diag d;
    const char *path = "/api/v1/namespaces/ns/persistentvolumeclaims/c";
    kvg_fakeapi_put(fa, "", "persistentvolumeclaims",
                    "{\"metadata\":{\"namespace\":\"ns\",\"name\":\"c\","
                    "\"uid\":\"u-1\"}}");
    kvg_fakeapi_fail(fa, "DELETE", path, 1, 503, NULL, NULL);
    ck_assert_int_eq(kvg_kube_delete(kc, &r, "ns", "c", NULL, NULL, &d), KVG_EAPI);
    ck_assert_int_eq(kvg_fakeapi_count(fa, "DELETE", path), 1);
    kvg_fakeapi_fail(fa, "DELETE", path, 1, 503, NULL, NULL);
    kvg_kube_delete_opts o = {.uid = "u-1"};
    ck_assert_int_eq(kvg_kube_delete(kc, &r, "ns", "c", &o, NULL, &d), KVG_OK);
    ck_assert_int_eq(kvg_fakeapi_count(fa, "DELETE", path), 3);
    /* a resourceVersion precondition is as good */
    long rv = kvg_fakeapi_put(fa, "", "persistentvolumeclaims",
                              "{\"metadata\":{\"namespace\":\"ns\",\"name\":\"c\"}}");
    char rvs[32];
    snprintf(rvs, sizeof rvs, "%ld", rv);
    kvg_fakeapi_fail(fa, "DELETE", path, 1, 503, NULL, NULL);
    kvg_kube_delete_opts o2 = {.resource_version = rvs};
    ck_assert_int_eq(kvg_kube_delete(kc, &r, "ns", "c", &o2, NULL, &d), KVG_OK);
    ck_assert_int_eq(kvg_fakeapi_count(fa, "DELETE", path), 5);
}
END_TEST

START_TEST(vm_start_stop)
{
    kvg_diag d;
    const char *base = "/apis/subresources.kubevirt.io/v1/namespaces/ns/"
                       "virtualmachines/vm1/";
    char p[256];
    ck_assert_int_eq(kvg_kube_vm_start(kc, "ns", "vm1", NULL, &d), KVG_OK);
    snprintf(p, sizeof p, "%sstart", base);
    ck_assert_int_eq(kvg_fakeapi_count(fa, "PUT", p), 1);
    kvg_fakeapi_fail(fa, "PUT", base, 1, 500, NULL, NULL);
    ck_assert_int_eq(kvg_kube_vm_stop(kc, "ns", "vm1", NULL, &d), KVG_EAPI);
    snprintf(p, sizeof p, "%sstop", base);
    ck_assert_int_eq(kvg_fakeapi_count(fa, "PUT", p), 1); /* not retried */
    ck_assert_int_eq(kvg_kube_vm_stop(kc, "ns", "vm1", NULL, &d), KVG_OK);
}
END_TEST

/* ---- watch ------------------------------------------------------------------------- */

typedef struct wlog {
    char log[2048];
    int n, stop_at, close_at;
    atomic_bool cancel;
} wlog;

static kvg_err on_event(kvg_watch_event *ev, void *ud)
{
    wlog *w = ud;
    const char *name = kvg_json_str(ev->object, "metadata", "name", NULL);
    size_t l = strlen(w->log);
    snprintf(w->log + l, sizeof w->log - l, "%s %s;",
             kvg_watch_type_name(ev->type), name ? name : "-");
    json_object_put(ev->object);
    w->n++;
    if (w->n == w->close_at)
        kvg_fakeapi_close_watches(fa);
    if (w->n == w->stop_at)
        atomic_store(&w->cancel, true);
    return KVG_OK;
}

START_TEST(watch_events_and_bookmarks)
{
    kvg_kube_resource r = res_of(KVG_KIND_POD);
    kvg_diag d;
    put_pod("a", "before");
    long from = kvg_fakeapi_rv(fa);
    char rvs[32];
    snprintf(rvs, sizeof rvs, "%ld", from);
    put_pod("a", "p1");
    put_pod("b", "other-ns");
    kvg_fakeapi_bookmark(fa, "", "pods");
    kvg_fakeapi_remove(fa, "", "pods", "a", "p1");
    wlog w = {.stop_at = 3};
    kvg_kube_call call = {.cancel = &w.cancel};
    kvg_kube_watch_opts o = {.resource_version = rvs, .timeout_s = 30};
    double t0 = now_s();
    ck_assert_int_eq(kvg_kube_watch(kc, &r, "a", &o, on_event, &w, &call, &d),
                     KVG_ECANCELED);
    ck_assert(now_s() - t0 < 5);
    ck_assert_str_eq(w.log, "ADDED p1;BOOKMARK -;DELETED p1;");
    char *q = kvg_fakeapi_last(fa, "GET", "/api/v1/namespaces/a/pods",
                               KVG_FAKE_QUERY);
    ck_assert_msg(has(q, "watch=true") && has(q, "allowWatchBookmarks=true") &&
                  has(q, "timeoutSeconds=30"), "%s", q);
    char want[64];
    snprintf(want, sizeof want, "resourceVersion=%ld", from);
    ck_assert_msg(has(q, want), "%s", q);
    free(q);
}
END_TEST

START_TEST(watch_server_timeout_and_close)
{
    kvg_kube_resource r = res_of(KVG_KIND_POD);
    kvg_diag d;
    char rvs[32];
    snprintf(rvs, sizeof rvs, "%ld", kvg_fakeapi_rv(fa));
    put_pod("a", "p1");
    wlog w = {0};
    kvg_kube_watch_opts o = {.resource_version = rvs, .timeout_s = 1};
    /* the server ends the stream at timeoutSeconds: OK, resume later */
    ck_assert_int_eq(kvg_kube_watch(kc, &r, NULL, &o, on_event, &w, NULL, &d),
                     KVG_OK);
    ck_assert_str_eq(w.log, "ADDED p1;");
    /* the server drops the stream (restart) after the first event */
    wlog w2 = {.close_at = 1};
    o.timeout_s = 60;
    double t0 = now_s();
    ck_assert_int_eq(kvg_kube_watch(kc, &r, NULL, &o, on_event, &w2, NULL, &d),
                     KVG_OK);
    ck_assert(now_s() - t0 < 5);
    ck_assert_str_eq(w2.log, "ADDED p1;");
}
END_TEST

START_TEST(watch_gone)
{
    kvg_kube_resource r = res_of(KVG_KIND_POD);
    kvg_diag d;
    kvg_kube_status st;
    kvg_kube_call call = {.status = &st};
    char rvs[32];
    snprintf(rvs, sizeof rvs, "%ld", kvg_fakeapi_rv(fa));
    put_pod("a", "p1");
    kvg_fakeapi_compact(fa);
    kvg_kube_watch_opts o = {.resource_version = rvs, .timeout_s = 30};
    wlog w = {0};
    /* the apiserver's way: 200 and an ERROR event with code 410 */
    ck_assert_int_eq(kvg_kube_watch(kc, &r, NULL, &o, on_event, &w, &call, &d),
                     KVG_EGONE);
    ck_assert_int_eq(st.code, 410);
    ck_assert_str_eq(st.reason, "Expired");
    ck_assert_msg(has(d.msg, "too old resource version"), "%s", d.msg);
    ck_assert_int_eq(w.n, 0);
    /* or a plain HTTP 410 */
    kvg_fakeapi_gone_as_http(fa, true);
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(kvg_kube_watch(kc, &r, NULL, &o, on_event, &w, &call, &d),
                     KVG_EGONE);
    ck_assert_int_eq(st.code, 410);
}
END_TEST

START_TEST(watch_connect_retried)
{
    kvg_kube_resource r = res_of(KVG_KIND_POD);
    kvg_diag d;
    char rvs[32];
    snprintf(rvs, sizeof rvs, "%ld", kvg_fakeapi_rv(fa));
    put_pod("a", "p1");
    kvg_fakeapi_fail(fa, "GET", "/api/v1/pods", 2, 503, NULL, NULL);
    wlog w = {.stop_at = 1};
    kvg_kube_call call = {.cancel = &w.cancel};
    kvg_kube_watch_opts o = {.resource_version = rvs, .timeout_s = 30};
    ck_assert_int_eq(kvg_kube_watch(kc, &r, NULL, &o, on_event, &w, &call, &d),
                     KVG_ECANCELED);
    ck_assert_str_eq(w.log, "ADDED p1;");
    ck_assert_int_eq(kvg_fakeapi_count(fa, "GET", "/api/v1/pods"), 3);
}
END_TEST

/* No event and no bookmark for the low-speed time: the stream is dropped
 * and reported as ended (resume), not as an error. */
START_TEST(watch_silent_stream_ends)
{
    kvg_kube_resource r = res_of(KVG_KIND_POD);
    kvg_diag d;
    kvg_kube_tuning t = fast;
    t.watch_low_speed_s = 2;
    kvg_kube_client_tune(kc, &t);
    kvg_fakeapi_silent(fa, true);
    wlog w = {0};
    char rvs[32];
    snprintf(rvs, sizeof rvs, "%ld", kvg_fakeapi_rv(fa));
    kvg_kube_watch_opts o = {.resource_version = rvs, .timeout_s = 60};
    double t0 = now_s();
    ck_assert_msg(kvg_kube_watch(kc, &r, NULL, &o, on_event, &w, NULL, &d) ==
                  KVG_OK, "%s", d.msg);
    double took = now_s() - t0;
    ck_assert_msg(took >= 1.5 && took < 10, "took %.2f", took);
    ck_assert_int_eq(kvg_fakeapi_count(fa, "GET", "/api/v1/pods"), 1);
}
END_TEST

static void *cancel_later(void *p)
{
    usleep(300 * 1000);
    atomic_store((atomic_bool *)p, true);
    return NULL;
}

START_TEST(watch_cancel_while_idle)
{
    kvg_kube_resource r = res_of(KVG_KIND_POD);
    kvg_diag d;
    wlog w = {0};
    kvg_kube_call call = {.cancel = &w.cancel};
    kvg_kube_watch_opts o = {.resource_version = "100", .timeout_s = 60};
    pthread_t t;
    pthread_create(&t, NULL, cancel_later, &w.cancel);
    double t0 = now_s();
    ck_assert_int_eq(kvg_kube_watch(kc, &r, NULL, &o, on_event, &w, &call, &d),
                     KVG_ECANCELED);
    pthread_join(t, NULL);
    ck_assert_msg(now_s() - t0 < 3, "took %.2f", now_s() - t0);
}
END_TEST

/* ---- discovery ----------------------------------------------------------------------- */

START_TEST(discovery)
{
    kvg_fakeapi *f2 = kvg_fakeapi_start();
    kvg_kube_config cfg;
    kvg_kube_client *c2;
    kvg_diag d;
    kvg_kube_resource r;
    bool served;
    kvg_fakeapi_serve(f2, "kubevirt.io", "v1", "virtualmachines",
                      "VirtualMachine", true);
    kvg_fakeapi_serve(f2, "kubevirt.io", "v1alpha3", "virtualmachines",
                      "VirtualMachine", true);
    kvg_fakeapi_serve(f2, "zfs.openebs.io", "v1", "zfsvolumes", "ZFSVolume", true);
    /* a group preferring a version the kind table does not know */
    kvg_fakeapi_serve(f2, "snapshot.kubevirt.io", "v2", "virtualmachinesnapshots",
                      "VirtualMachineSnapshot", true);
    kvg_fakeapi_serve(f2, "snapshot.kubevirt.io", "v1alpha1",
                      "virtualmachinesnapshots", "VirtualMachineSnapshot", true);
    kvg_fakeapi_serve(f2, "", "v1", "pods", "Pod", true);
    kvg_fakeapi_config(f2, &cfg);
    ck_assert_int_eq(kvg_kube_client_new(&cfg, &c2, &d), KVG_OK);
    kvg_kube_config_free(&cfg);

    ck_assert_int_eq(kvg_kube_discover(c2, KVG_KIND_VM, &served, &r, NULL, &d),
                     KVG_OK);
    ck_assert(served);
    ck_assert_str_eq(r.version, "v1");
    ck_assert_str_eq(r.resource, "virtualmachines");
    ck_assert_int_eq(kvg_kube_discover(c2, KVG_KIND_VMSNAPSHOT, &served, &r,
                                       NULL, &d), KVG_OK);
    ck_assert(served);
    ck_assert_str_eq(r.version, "v1alpha1");
    ck_assert_int_eq(kvg_kube_discover(c2, KVG_KIND_POD, &served, &r, NULL, &d),
                     KVG_OK);
    ck_assert(served);
    ck_assert_str_eq(r.group, "");
    /* group served, resource not: absent */
    ck_assert_int_eq(kvg_kube_discover(c2, KVG_KIND_ZFSSNAPSHOT, &served, &r,
                                       NULL, &d), KVG_OK);
    ck_assert(!served);
    /* group not served at all (no CDI): absent, not an error */
    ck_assert_int_eq(kvg_kube_discover(c2, KVG_KIND_DATAVOLUME, &served, &r,
                                       NULL, &d), KVG_OK);
    ck_assert(!served);
    ck_assert_int_eq(kvg_kube_discover(c2, KVG_KIND_PV, &served, &r, NULL, &d),
                     KVG_OK);
    ck_assert(!served);
    /* discovery failing is an error, not absence */
    kvg_fakeapi_fail(f2, "GET", "/apis/cdi.kubevirt.io", 100, 503, NULL, NULL);
    kvg_kube_tuning t = fast;
    t.max_attempts = 2;
    kvg_kube_client_tune(c2, &t);
    ck_assert_int_eq(kvg_kube_discover(c2, KVG_KIND_DATAVOLUME, &served, &r,
                                       NULL, &d), KVG_EAPI);
    kvg_kube_client_free(c2);
    kvg_fakeapi_stop(f2);
}
END_TEST

/* ---- credentials and TLS ------------------------------------------------------------ */

START_TEST(token_file_rotation)
{
    char *dir = kvg_test_mkdtemp(), path[512], tmp[512];
    kvg_kube_config cfg;
    kvg_kube_client *c2;
    kvg_diag d;
    json_object *o = NULL;
    kvg_kube_resource r = res_of(KVG_KIND_PV);
    kvg_test_write_file(dir, "token", "first-token\n");
    snprintf(path, sizeof path, "%s/token", dir);
    kvg_fakeapi_config(fa, &cfg);
    free(cfg.token);
    cfg.token = NULL;
    cfg.token_file = strdup(path);
    ck_assert_int_eq(kvg_kube_client_new(&cfg, &c2, &d), KVG_OK);
    kvg_kube_config_free(&cfg);
    kvg_kube_get(c2, &r, NULL, "x", &o, NULL, &d);
    char *auth = kvg_fakeapi_last(fa, "GET", "/api/v1/persistentvolumes/x",
                                  KVG_FAKE_AUTH);
    ck_assert_str_eq(auth, "Bearer first-token");
    free(auth);
    /* kubelet swaps the file atomically */
    kvg_test_write_file(dir, "token.new", "second-token");
    snprintf(tmp, sizeof tmp, "%s/token.new", dir);
    ck_assert_int_eq(rename(tmp, path), 0);
    kvg_kube_get(c2, &r, NULL, "x", &o, NULL, &d);
    auth = kvg_fakeapi_last(fa, "GET", "/api/v1/persistentvolumes/x",
                            KVG_FAKE_AUTH);
    ck_assert_str_eq(auth, "Bearer second-token");
    free(auth);
    kvg_kube_client_free(c2);
    kvg_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(tls_verification)
{
    kvg_kube_config cfg;
    kvg_kube_client *c2;
    kvg_diag d;
    json_object *o = NULL;
    kvg_kube_resource r = res_of(KVG_KIND_PV);
    char *cert, *key;
    kvg_test_gen_cert("stranger", &cert, &key);
    kvg_fakeapi_config(fa, &cfg);
    kvg_buf_reset(&cfg.ca);
    kvg_buf_puts(&cfg.ca, cert);
    ck_assert_int_eq(kvg_kube_client_new(&cfg, &c2, &d), KVG_OK);
    kvg_kube_client_tune(c2, &fast);
    ck_assert_int_eq(kvg_kube_get(c2, &r, NULL, "x", &o, NULL, &d), KVG_ETLS);
    ck_assert_int_eq(kvg_fakeapi_count(fa, NULL, "/"), 0);
    kvg_kube_client_free(c2);
    /* insecure-skip-tls-verify */
    cfg.insecure = true;
    ck_assert_int_eq(kvg_kube_client_new(&cfg, &c2, &d), KVG_OK);
    ck_assert_int_eq(kvg_kube_get(c2, &r, NULL, "x", &o, NULL, &d),
                     KVG_ENOTFOUND);
    kvg_kube_client_free(c2);
    kvg_kube_config_free(&cfg);
    free(cert);
    free(key);
}
END_TEST

/* Sequential calls reuse one kept-alive connection (one TLS handshake). */
START_TEST(connection_reuse)
{
    kvg_kube_resource r = res_of(KVG_KIND_VM);
    kvg_diag d;
    put_vm("ns", "vm1");
    int before = kvg_fakeapi_connections(fa);
    for (int i = 0; i < 10; i++) {
        json_object *o = NULL;
        ck_assert_int_eq(kvg_kube_get(kc, &r, "ns", "vm1", &o, NULL, &d), KVG_OK);
        json_object_put(o);
    }
    ck_assert_int_le(kvg_fakeapi_connections(fa) - before, 1);
}
END_TEST

/* Threads share one client: connections come from the pool. */
typedef struct par {
    int ok;
} par;

static void *worker(void *p)
{
    par *x = p;
    kvg_kube_resource r = res_of(KVG_KIND_VM);
    for (int i = 0; i < 20; i++) {
        json_object *o = NULL;
        kvg_diag d;
        if (kvg_kube_get(kc, &r, "ns", "shared", &o, NULL, &d) == KVG_OK)
            x->ok++;
        json_object_put(o);
    }
    return NULL;
}

START_TEST(concurrent_calls)
{
    put_vm("ns", "shared");
    pthread_t t[4];
    par p[4] = {{0}};
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, worker, &p[i]);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(p[i].ok, 20);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kube_client");
    TCase *tc = tcase_create("client");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, get_and_not_found);
    tcase_add_test(tc, non_json_error_body);
    tcase_add_test(tc, list_paginates);
    tcase_add_test(tc, list_continue_expired);
    tcase_add_test(tc, retry_503_with_retry_after);
    tcase_add_test(tc, retry_backoff_then_give_up);
    tcase_add_test(tc, no_retry_of_post_on_5xx);
    tcase_add_test(tc, connection_refused);
    tcase_add_test(tc, refused_then_up);
    tcase_add_test(tc, patch_update_delete);
    tcase_add_test(tc, delete_retry_only_with_precondition);
    tcase_add_test(tc, vm_start_stop);
    tcase_add_test(tc, watch_events_and_bookmarks);
    tcase_add_test(tc, watch_server_timeout_and_close);
    tcase_add_test(tc, watch_gone);
    tcase_add_test(tc, watch_connect_retried);
    tcase_add_test(tc, watch_cancel_while_idle);
    tcase_add_test(tc, watch_silent_stream_ends);
    tcase_add_test(tc, discovery);
    tcase_add_test(tc, token_file_rotation);
    tcase_add_test(tc, tls_verification);
    tcase_add_test(tc, concurrent_calls);
    tcase_add_test(tc, connection_reuse);
    suite_add_tcase(s, tc);
    return kvg_test_run(s);
}
