/* Integration: the real `kvguard serve` over TLS with libcurl as a verifying
 * client - endpoints, every error code, AdmissionReview v1/v1beta1, keep-alive,
 * concurrent clients, TLS versions, metrics. */
#include <check.h>
#include <json-c/json.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proc.h"
#include "testlib.h"
#include "tls_client.h"

static char *dir;
static char ca[512];
static kvg_proc srv;

#define MAX_BODY 65536

static void start(void)
{
    dir = kvg_test_mkdtemp();
    ck_assert_int_eq(kvg_proc_make_certs(dir, "certs"), 0);
    ck_assert_int_eq(kvg_proc_make_certs(dir, "other"), 0); /* an unrelated CA */
    char cert[512], key[512];
    snprintf(ca, sizeof ca, "%s/certs/ca.crt", dir);
    snprintf(cert, sizeof cert, "%s/certs/tls.crt", dir);
    snprintf(key, sizeof key, "%s/certs/tls.key", dir);
    char cfg[256];
    snprintf(cfg, sizeof cfg, "maxBodyBytes: %d\nworkers: 2\nshutdownDelaySeconds: 0\n",
             MAX_BODY);
    ck_assert_int_eq(kvg_proc_start_server(&srv, dir, cfg, cert, key), 0);
}

static void stop(void)
{
    kvg_proc_signal(&srv, SIGTERM);
    int rc = kvg_proc_wait_exit(&srv, 20000);
    if (rc != 0 || getenv("KVG_DUMP"))
        kvg_proc_dump_log(&srv);
    ck_assert_int_eq(rc, 0); /* also: no sanitizer report at exit */
    kvg_test_rmtree(dir);
    free(dir);
}

static const char review_v1[] =
    "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
    "\"request\":{\"uid\":\"%s\","
    "\"kind\":{\"group\":\"snapshot.kubevirt.io\",\"version\":\"v1beta1\",\"kind\":\"VirtualMachineSnapshot\"},"
    "\"resource\":{\"group\":\"snapshot.kubevirt.io\",\"version\":\"v1beta1\",\"resource\":\"virtualmachinesnapshots\"},"
    "\"namespace\":\"default\",\"name\":\"snap1\",\"operation\":\"CREATE\","
    "\"userInfo\":{\"username\":\"alice\"},"
    "\"object\":{\"apiVersion\":\"snapshot.kubevirt.io/v1beta1\",\"kind\":\"VirtualMachineSnapshot\","
    "\"metadata\":{\"name\":\"snap1\",\"namespace\":\"default\"},"
    "\"spec\":{\"source\":{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":\"vm1\"}}}}}";

static char *review(const char *api_version, const char *uid)
{
    char *s = malloc(sizeof review_v1 + 128);
    snprintf(s, sizeof review_v1 + 128, review_v1, uid);
    if (strcmp(api_version, "admission.k8s.io/v1")) {
        char *v = strstr(s, "admission.k8s.io/v1");
        char *out = malloc(strlen(s) + 16);
        sprintf(out, "%.*s%s%s", (int)(v - s), s, api_version,
                v + strlen("admission.k8s.io/v1"));
        free(s);
        s = out;
    }
    return s;
}

static kvg_tc client(void)
{
    kvg_tc c;
    kvg_tc_init(&c, srv.port, ca);
    return c;
}

START_TEST(health_ready_metrics)
{
    kvg_tc c = client();
    kvg_tc_resp r;
    kvg_tc_get(&c, "/healthz", &r);
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(r.body, "ok\n");
    kvg_tc_resp_free(&r);
    kvg_tc_get(&c, "/readyz", &r);
    ck_assert_int_eq(r.code, 200);
    kvg_tc_resp_free(&r);
    kvg_tc_get(&c, "/metrics", &r);
    ck_assert_int_eq(r.code, 200);
    ck_assert_ptr_nonnull(strstr(r.content_type, "text/plain; version=0.0.4"));
    ck_assert_ptr_nonnull(strstr(r.body, "kvguard_http_requests_total{path=\"/healthz\",code=\"200\"}"));
    ck_assert_ptr_nonnull(strstr(r.body, "# TYPE kvguard_admission_duration_seconds histogram"));
    const char *gauge = strstr(r.body, "\nkvguard_in_flight_requests ");
    ck_assert_ptr_nonnull(gauge);
    long in_flight = strtol(gauge + strlen("\nkvguard_in_flight_requests "), NULL, 10);
    ck_assert_msg(in_flight >= 1 && in_flight <= 2, "in flight: %ld", in_flight); /* this one */
    ck_assert_ptr_nonnull(strstr(r.body, "kvguard_tls_cert_not_after_seconds 1"));
    ck_assert_ptr_nonnull(strstr(r.body, "kvguard_cache_objects{kind=\"VirtualMachine\"} 1\n"));
    const char *sync = strstr(r.body, "kvguard_cache_last_sync_seconds{kind=\"StorageClass\"} ");
    ck_assert_ptr_nonnull(sync);
    double age = (double)time(NULL) - strtod(strchr(sync, '}') + 2, NULL);
    ck_assert_msg(age > -2 && age < 60, "cache synced %.1f s ago", age);
    kvg_tc_resp_free(&r);
    kvg_tc_free(&c);
}
END_TEST

static void assert_json_error(const kvg_tc_resp *r, long code)
{
    ck_assert_int_eq(r->code, code);
    ck_assert_str_eq(r->content_type, "application/json");
    json_object *o = json_tokener_parse(r->body);
    ck_assert_msg(o != NULL, "not JSON: %s", r->body);
    json_object *c = NULL, *e = NULL;
    ck_assert(json_object_object_get_ex(o, "code", &c) && json_object_get_int(c) == code);
    ck_assert(json_object_object_get_ex(o, "error", &e) && json_object_get_string_len(e) > 0);
    json_object_put(o);
}

START_TEST(unknown_path_404_wrong_method_405)
{
    kvg_tc c = client();
    kvg_tc_resp r;
    kvg_tc_get(&c, "/nope", &r);
    assert_json_error(&r, 404);
    kvg_tc_resp_free(&r);
    kvg_tc_get(&c, "/validate", &r);
    assert_json_error(&r, 405);
    ck_assert_str_eq(r.allow, "POST");
    kvg_tc_resp_free(&r);
    kvg_tc_post_json(&c, "/healthz", "{}", &r);
    assert_json_error(&r, 405);
    ck_assert_str_eq(r.allow, "GET");
    kvg_tc_resp_free(&r);
    kvg_tc_req req = {.method = "DELETE", .path = "/mutate"};
    kvg_tc_do(&c, &req, &r);
    assert_json_error(&r, 405);
    ck_assert_str_eq(r.allow, "POST");
    kvg_tc_resp_free(&r);
    kvg_tc_free(&c);
}
END_TEST

START_TEST(content_type_415)
{
    kvg_tc c = client();
    kvg_tc_resp r;
    char *body = review("admission.k8s.io/v1", "ct-1");
    const char *bad[] = {"text/plain", "application/jsonx", "application/yaml", NULL};
    for (int i = 0; i < 4; i++) {
        kvg_tc_req req = {.method = "POST", .path = "/validate", .content_type = bad[i],
                          .body = body, .len = strlen(body)};
        kvg_tc_do(&c, &req, &r);
        assert_json_error(&r, 415);
        kvg_tc_resp_free(&r);
    }
    kvg_tc_req ok = {.method = "POST", .path = "/validate",
                     .content_type = "Application/JSON; charset=utf-8",
                     .body = body, .len = strlen(body)};
    kvg_tc_do(&c, &ok, &r);
    ck_assert_int_eq(r.code, 200);
    kvg_tc_resp_free(&r);
    free(body);
    kvg_tc_free(&c);
}
END_TEST

/* Feeds a body of spaces and counts what curl managed to send. */
typedef struct feeder {
    size_t sent, limit;
    bool pause;      /* stop sending (and wait for the answer) at pause_at */
    size_t pause_at;
} feeder;

static size_t feed(char *buf, size_t size, size_t n, void *ud)
{
    feeder *f = ud;
    size_t want = size * n;
    if (f->pause && f->sent >= f->pause_at)
        return CURL_READFUNC_PAUSE; /* a client that waits for the answer */
    if (want > f->limit - f->sent)
        want = f->limit - f->sent;
    memset(buf, ' ', want);
    f->sent += want;
    return want;
}

/* A paused upload never ends on its own: stop once the answer is in. */
static int stop_when_answered(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                              curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    long code = 0;
    curl_easy_getinfo((CURL *)ud, CURLINFO_RESPONSE_CODE, &code);
    return code != 0;
}

static size_t sink(char *d, size_t size, size_t n, void *ud)
{
    (void)d, (void)ud;
    return size * n;
}

static long post_stream(kvg_tc *c, long declared, bool expect, feeder *f, CURLcode *err)
{
    CURL *h = c->curl;
    char url[128];
    snprintf(url, sizeof url, "%s/validate", c->base);
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_RESOLVE, c->resolve);
    curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, feed);
    curl_easy_setopt(h, CURLOPT_READDATA, f);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    if (f->pause) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, stop_when_answered);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, h);
    }
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (declared >= 0)
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)declared);
    else
        hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
    hdrs = curl_slist_append(hdrs, expect ? "Expect: 100-continue" : "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    *err = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hdrs);
    return code;
}

START_TEST(body_over_cap_413_without_reading)
{
    kvg_tc c = client();
    CURLcode err;
    /* Declared too big, Expect: 100-continue: refused before any body byte. */
    feeder f = {0, 64u << 20, false, 0};
    long code = post_stream(&c, 64l << 20, true, &f, &err);
    ck_assert_int_eq(code, 413);
    ck_assert_uint_eq(f.sent, 0);
    /* No Expect: answered from the headers alone while the client waits.
     * (A client that keeps sending may see a reset instead: libmicrohttpd
     * closes without draining what it did not read.) */
    kvg_tc_free(&c);
    c = client();
    f = (feeder){0, 64u << 20, true, 0};
    code = post_stream(&c, 64l << 20, false, &f, &err);
    ck_assert_msg(code == 413, "code %ld curl %s", code, curl_easy_strerror(err));
    ck_assert_uint_eq(f.sent, 0);
    /* Chunked (no length): cut off once the stream passes the cap. */
    kvg_tc_free(&c);
    c = client();
    f = (feeder){0, 2 * MAX_BODY, false, 0};
    code = post_stream(&c, -1, false, &f, &err);
    ck_assert_msg(code == 413, "code %ld curl %s", code, curl_easy_strerror(err));
    /* Exactly at the cap is still read (and then rejected as bad JSON). */
    kvg_tc_free(&c);
    c = client();
    f = (feeder){0, MAX_BODY, false, 0};
    code = post_stream(&c, MAX_BODY, false, &f, &err);
    ck_assert_int_eq(code, 400);
    kvg_tc_free(&c);
    /* The server is fine afterwards. */
    c = client();
    kvg_tc_resp r;
    kvg_tc_get(&c, "/healthz", &r);
    ck_assert_int_eq(r.code, 200);
    kvg_tc_resp_free(&r);
    kvg_tc_free(&c);
}
END_TEST

START_TEST(malformed_reviews_400)
{
    const char *bad[] = {
        "", "{bad", "[]", "null", "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{}}",
        "{\"apiVersion\":\"v9\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"x\"}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":7}}",
        "{\"a\":\"\xff\xfe\"", NULL};
    kvg_tc c = client();
    for (int i = 0; bad[i]; i++) {
        kvg_tc_resp r;
        kvg_tc_post_json(&c, i % 2 ? "/validate" : "/mutate", bad[i], &r);
        ck_assert_msg(r.code == 400, "case %d: %ld %s", i, r.code, r.body);
        assert_json_error(&r, 400);
        kvg_tc_resp_free(&r);
    }
    kvg_tc_free(&c);
}
END_TEST

static void check_review(const char *api_version, const char *path)
{
    kvg_tc c = client();
    char uid[64];
    snprintf(uid, sizeof uid, "uid-%s-%s", path + 1, strrchr(api_version, '/') + 1);
    char *body = review(api_version, uid);
    kvg_tc_resp r;
    kvg_tc_post_json(&c, path, body, &r);
    ck_assert_msg(r.code == 200, "%ld %s", r.code, r.body);
    ck_assert_str_eq(r.content_type, "application/json");
    json_object *o = json_tokener_parse(r.body), *v;
    ck_assert_ptr_nonnull(o);
    ck_assert(json_object_object_get_ex(o, "apiVersion", &v));
    ck_assert_str_eq(json_object_get_string(v), api_version);
    ck_assert(json_object_object_get_ex(o, "kind", &v));
    ck_assert_str_eq(json_object_get_string(v), "AdmissionReview");
    json_object *resp;
    ck_assert(json_object_object_get_ex(o, "response", &resp));
    ck_assert(json_object_object_get_ex(resp, "uid", &v));
    ck_assert_str_eq(json_object_get_string(v), uid);
    ck_assert(json_object_object_get_ex(resp, "allowed", &v));
    ck_assert(json_object_is_type(v, json_type_boolean));
    json_object_put(o);
    kvg_tc_resp_free(&r);
    free(body);
    kvg_tc_free(&c);
}

START_TEST(review_v1_and_v1beta1)
{
    check_review("admission.k8s.io/v1", "/validate");
    check_review("admission.k8s.io/v1beta1", "/validate");
    check_review("admission.k8s.io/v1", "/mutate");
    check_review("admission.k8s.io/v1beta1", "/mutate");
    kvg_tc c = client();
    kvg_tc_resp r;
    kvg_tc_get(&c, "/metrics", &r);
    ck_assert_ptr_nonnull(strstr(r.body, "kvguard_admission_requests_total{webhook=\"mutate\","
                                         "kind=\"VirtualMachineSnapshot\",operation=\"CREATE\""));
    ck_assert_ptr_nonnull(strstr(r.body, "kvguard_admission_duration_seconds_bucket{webhook="
                                         "\"validate\",kind=\"VirtualMachineSnapshot\","
                                         "operation=\"CREATE\",le=\"0.005\"}"));
    /* per rule: its labels, in this order, and the in-flight gauge (set at
     * scrape time: this request, and maybe the one before it, whose
     * completion callback may still be running on a worker) */
    ck_assert_ptr_nonnull(strstr(r.body, "kvguard_admission_rule_results_total{webhook="
                                         "\"validate\",rule=\"snapshot-source-ref\","
                                         "action=\"enforce\",outcome=\""));
    const char *gauge = strstr(r.body, "\nkvguard_in_flight_requests ");
    ck_assert_ptr_nonnull(gauge);
    long in_flight = strtol(gauge + strlen("\nkvguard_in_flight_requests "), NULL, 10);
    ck_assert_msg(in_flight >= 1 && in_flight <= 2, "in flight: %ld", in_flight);
    kvg_tc_resp_free(&r);
    kvg_tc_free(&c);
}
END_TEST

START_TEST(keep_alive_reuses_connection)
{
    kvg_tc c = client();
    char *body = review("admission.k8s.io/v1", "ka");
    kvg_tc_resp r;
    kvg_tc_post_json(&c, "/validate", body, &r);
    ck_assert_int_eq(r.code, 200);
    ck_assert_int_eq(r.num_connects, 1);
    kvg_tc_resp_free(&r);
    for (int i = 0; i < 5; i++) {
        kvg_tc_post_json(&c, "/validate", body, &r);
        ck_assert_int_eq(r.code, 200);
        ck_assert_int_eq(r.num_connects, 0);
        kvg_tc_resp_free(&r);
    }
    /* error answers keep the connection too */
    kvg_tc_get(&c, "/nope", &r);
    ck_assert_int_eq(r.code, 404);
    kvg_tc_resp_free(&r);
    kvg_tc_post_json(&c, "/validate", "{bad", &r);
    ck_assert_int_eq(r.code, 400);
    kvg_tc_resp_free(&r);
    kvg_tc_post_json(&c, "/validate", body, &r);
    ck_assert_int_eq(r.code, 200);
    ck_assert_int_eq(r.num_connects, 0);
    kvg_tc_resp_free(&r);
    free(body);
    kvg_tc_free(&c);
}
END_TEST

START_TEST(tls_versions)
{
    kvg_tc c = client();
    kvg_tc_resp r;
    kvg_tc_req req = {.method = "GET", .path = "/healthz", .fresh = true,
                      .tls_min = CURL_SSLVERSION_TLSv1_1,
                      .tls_max = CURL_SSLVERSION_MAX_TLSv1_1};
    kvg_tc_do(&c, &req, &r);
    ck_assert_int_eq(r.code, 0);
    ck_assert_int_ne(r.curl_err, CURLE_OK);
    kvg_tc_resp_free(&r);
    req.tls_min = CURL_SSLVERSION_TLSv1_2;
    req.tls_max = CURL_SSLVERSION_MAX_TLSv1_2;
    kvg_tc_do(&c, &req, &r);
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(r.tls_version, "TLSv1.2");
    kvg_tc_resp_free(&r);
    req.tls_min = 0; /* defaults: 1.3 is preferred */
    req.tls_max = 0;
    kvg_tc_do(&c, &req, &r);
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(r.tls_version, "TLSv1.3");
    kvg_tc_resp_free(&r);
    /* a client that does not trust the CA is refused */
    kvg_tc bad;
    char other_ca[600];
    snprintf(other_ca, sizeof other_ca, "%s/other/ca.crt", dir);
    kvg_tc_init(&bad, srv.port, other_ca);
    kvg_tc_get(&bad, "/healthz", &r);
    ck_assert_int_eq(r.code, 0);
    ck_assert_int_eq(r.curl_err, CURLE_PEER_FAILED_VERIFICATION);
    kvg_tc_resp_free(&r);
    kvg_tc_free(&bad);
    kvg_tc_free(&c);
}
END_TEST

#define THREADS 8
#define PER_THREAD 200

typedef struct worker {
    int ok, failed;
    double lat[PER_THREAD];
} worker;

static void *run_worker(void *arg)
{
    worker *w = arg;
    kvg_tc c = client();
    char uid[32];
    snprintf(uid, sizeof uid, "w%p", arg);
    char *body = review("admission.k8s.io/v1", uid);
    for (int i = 0; i < PER_THREAD; i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        kvg_tc_resp r;
        kvg_tc_post_json(&c, i % 2 ? "/validate" : "/mutate", body, &r);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        w->lat[i] = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        if (r.code == 200 && strstr(r.body, uid))
            w->ok++;
        else
            w->failed++;
        kvg_tc_resp_free(&r);
    }
    free(body);
    kvg_tc_free(&c);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

START_TEST(concurrent_clients)
{
    static worker w[THREADS];
    pthread_t t[THREADS];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, run_worker, &w[i]), 0);
    int ok = 0, failed = 0;
    static double all[THREADS * PER_THREAD];
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
        failed += w[i].failed;
        memcpy(all + i * PER_THREAD, w[i].lat, sizeof w[i].lat);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    qsort(all, THREADS * PER_THREAD, sizeof all[0], cmp_double);
    printf("concurrent: %d clients x %d keep-alive requests: %.0f req/s, p50 %.2f ms, "
           "p99 %.2f ms (informational)\n", THREADS, PER_THREAD, ok / secs,
           all[THREADS * PER_THREAD / 2] * 1e3, all[THREADS * PER_THREAD * 99 / 100] * 1e3);
    ck_assert_int_eq(failed, 0);
    ck_assert_int_eq(ok, THREADS * PER_THREAD);
}
END_TEST

/* One client, one keep-alive connection, back to back (informational). */
START_TEST(sequential_keepalive_loop)
{
    enum { N = 2000 };
    static double lat[N];
    kvg_tc c = client();
    char *body = review("admission.k8s.io/v1", "loop");
    struct timespec t0, t1, a, b;
    int ok = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < N; i++) {
        kvg_tc_resp r;
        clock_gettime(CLOCK_MONOTONIC, &a);
        kvg_tc_post_json(&c, "/validate", body, &r);
        clock_gettime(CLOCK_MONOTONIC, &b);
        lat[i] = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
        ok += r.code == 200 && (i == 0 || r.num_connects == 0);
        kvg_tc_resp_free(&r);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    qsort(lat, N, sizeof lat[0], cmp_double);
    printf("sequential: 1 client, %d keep-alive requests: %.0f req/s, p50 %.3f ms, "
           "p99 %.3f ms (informational)\n", N, N / secs, lat[N / 2] * 1e3,
           lat[N * 99 / 100] * 1e3);
    ck_assert_int_eq(ok, N);
    free(body);
    kvg_tc_free(&c);
}
END_TEST

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    Suite *s = suite_create("server");
    TCase *tc = tcase_create("endpoints");
    tcase_add_unchecked_fixture(tc, start, stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, health_ready_metrics);
    tcase_add_test(tc, unknown_path_404_wrong_method_405);
    tcase_add_test(tc, content_type_415);
    tcase_add_test(tc, body_over_cap_413_without_reading);
    tcase_add_test(tc, malformed_reviews_400);
    tcase_add_test(tc, review_v1_and_v1beta1);
    tcase_add_test(tc, keep_alive_reuses_connection);
    tcase_add_test(tc, tls_versions);
    tcase_add_test(tc, concurrent_clients);
    tcase_add_test(tc, sequential_keepalive_loop);
    suite_add_tcase(s, tc);
    int rc = kvg_test_run(s);
    curl_global_cleanup();
    return rc;
}
