/* Integration: graceful shutdown of the real `kvguard serve`. SIGTERM turns
 * /readyz false at once, the server keeps answering for the delay, then stops
 * accepting, lets the request in flight finish and exits 0; a request stuck
 * past the drain deadline does not keep it from exiting. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "testlib.h"
#include "tls_client.h"

static const char body[] =
    "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
    "\"request\":{\"uid\":\"in-flight-1\","
    "\"kind\":{\"group\":\"kubevirt.io\",\"version\":\"v1\",\"kind\":\"VirtualMachine\"},"
    "\"resource\":{\"group\":\"kubevirt.io\",\"version\":\"v1\",\"resource\":\"virtualmachines\"},"
    "\"namespace\":\"default\",\"name\":\"vm1\",\"operation\":\"CREATE\","
    "\"userInfo\":{\"username\":\"alice\"},"
    "\"object\":{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachine\","
    "\"metadata\":{\"name\":\"vm1\",\"namespace\":\"default\"},\"spec\":{}}}}";

typedef struct slow {
    int port;
    const char *ca;
    size_t sent;
    atomic_bool half_sent, release;
    long code;
    CURLcode err;
    char connection[32];
    char *resp;
} slow;

/* Sends half of the body, then holds the request open until released. */
static size_t slow_feed(char *buf, size_t size, size_t n, void *ud)
{
    slow *s = ud;
    size_t half = sizeof body / 2, total = sizeof body - 1;
    if (s->sent >= half && !atomic_load(&s->release)) {
        atomic_store(&s->half_sent, true);
        while (!atomic_load(&s->release))
            usleep(10 * 1000);
    }
    size_t end = s->sent < half ? half : total;
    size_t want = end - s->sent < size * n ? end - s->sent : size * n;
    memcpy(buf, body + s->sent, want);
    s->sent += want;
    return want;
}

static size_t slow_body(char *d, size_t size, size_t n, void *ud)
{
    slow *s = ud;
    size_t old = s->resp ? strlen(s->resp) : 0;
    s->resp = realloc(s->resp, old + size * n + 1);
    memcpy(s->resp + old, d, size * n);
    s->resp[old + size * n] = '\0';
    return size * n;
}

static size_t slow_header(char *line, size_t size, size_t n, void *ud)
{
    slow *s = ud;
    if (!strncasecmp(line, "Connection: ", 12)) {
        snprintf(s->connection, sizeof s->connection, "%.*s", (int)(size * n - 12),
                 line + 12);
        s->connection[strcspn(s->connection, "\r\n")] = '\0';
    }
    return size * n;
}

static void *slow_request(void *arg)
{
    slow *s = arg;
    CURL *h = curl_easy_init();
    char url[64], resolve[64];
    snprintf(url, sizeof url, "https://localhost:%d/validate", s->port);
    snprintf(resolve, sizeof resolve, "localhost:%d:127.0.0.1", s->port);
    struct curl_slist *res = curl_slist_append(NULL, resolve);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_RESOLVE, res);
    curl_easy_setopt(h, CURLOPT_CAINFO, s->ca);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(sizeof body - 1));
    curl_easy_setopt(h, CURLOPT_READFUNCTION, slow_feed);
    curl_easy_setopt(h, CURLOPT_READDATA, s);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, slow_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, slow_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    s->err = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &s->code);
    curl_slist_free_all(hdrs);
    curl_slist_free_all(res);
    curl_easy_cleanup(h);
    return NULL;
}

static char *dir;
static char ca[512];
static kvg_proc srv;

static void start_server(const char *config)
{
    dir = kvg_test_mkdtemp();
    ck_assert_int_eq(kvg_proc_make_certs(dir, "certs"), 0);
    char cert[512], key[512];
    snprintf(ca, sizeof ca, "%s/certs/ca.crt", dir);
    snprintf(cert, sizeof cert, "%s/certs/tls.crt", dir);
    snprintf(key, sizeof key, "%s/certs/tls.key", dir);
    ck_assert_int_eq(kvg_proc_start_server(&srv, dir, config, cert, key), 0);
}

static void cleanup(void)
{
    kvg_proc_kill(&srv);
    kvg_test_rmtree(dir);
    free(dir);
}

static long get(const char *path, CURLcode *err)
{
    kvg_tc c;
    kvg_tc_init(&c, srv.port, ca);
    kvg_tc_resp r;
    kvg_tc_req req = {.method = "GET", .path = path, .fresh = true};
    kvg_tc_do(&c, &req, &r);
    long code = r.code;
    if (err)
        *err = r.curl_err;
    kvg_tc_resp_free(&r);
    kvg_tc_free(&c);
    return code;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(sigterm_drains_in_flight_and_exits_0)
{
    start_server("shutdownDelaySeconds: 2\ndrainTimeoutSeconds: 10\n");
    ck_assert_int_eq(get("/readyz", NULL), 200);
    static slow s;
    s.port = srv.port;
    s.ca = ca;
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, slow_request, &s), 0);
    while (!atomic_load(&s.half_sent))
        usleep(10 * 1000);
    usleep(200 * 1000);

    double t0 = now_s();
    ck_assert_int_eq(kvg_proc_signal(&srv, SIGTERM), 0);
    free(kvg_proc_wait_log(&srv, "\"event\":\"server.shutdown\"", 5000));
    /* at once: not ready, but still answering (the delay) */
    ck_assert_int_eq(get("/readyz", NULL), 503);
    ck_assert_int_eq(get("/healthz", NULL), 200);
    ck_assert(now_s() - t0 < 1.5);
    /* after the delay: no new connections */
    char *line = kvg_proc_wait_log(&srv, "\"event\":\"server.drain\"", 10000);
    ck_assert_ptr_nonnull(line);
    ck_assert_ptr_nonnull(strstr(line, "draining 1 in-flight"));
    free(line);
    ck_assert(now_s() - t0 >= 1.9);
    CURLcode err;
    ck_assert_int_eq(get("/healthz", &err), 0);
    ck_assert_int_eq(err, CURLE_COULDNT_CONNECT);
    /* the request in flight completes, then the process exits 0 */
    atomic_store(&s.release, true);
    pthread_join(t, NULL);
    ck_assert_msg(s.code == 200, "in-flight request: %ld %s", s.code,
                  curl_easy_strerror(s.err));
    ck_assert_ptr_nonnull(strstr(s.resp, "\"uid\":\"in-flight-1\""));
    ck_assert_str_eq(s.connection, "close");
    int rc = kvg_proc_wait_exit(&srv, 10000);
    if (rc != 0)
        kvg_proc_dump_log(&srv);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(kvg_proc_count_log(&srv, "\"event\":\"server.stopped\""), 1);
    free(s.resp);
    cleanup();
}
END_TEST

START_TEST(sigint_stuck_request_hits_drain_deadline)
{
    start_server("shutdownDelaySeconds: 0\ndrainTimeoutSeconds: 1\n");
    static slow s;
    s.port = srv.port;
    s.ca = ca;
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, slow_request, &s), 0);
    while (!atomic_load(&s.half_sent))
        usleep(10 * 1000);
    usleep(200 * 1000);
    double t0 = now_s();
    ck_assert_int_eq(kvg_proc_signal(&srv, SIGINT), 0);
    int rc = kvg_proc_wait_exit(&srv, 10000);
    double took = now_s() - t0;
    if (rc != 0)
        kvg_proc_dump_log(&srv);
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(took >= 0.9 && took < 4, "exit took %.2f s", took);
    ck_assert_int_eq(kvg_proc_count_log(&srv, "still in flight at the deadline"), 1);
    atomic_store(&s.release, true);
    pthread_join(t, NULL);
    ck_assert_int_ne(s.code, 200);
    free(s.resp);
    cleanup();
}
END_TEST

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    Suite *su = suite_create("server_shutdown");
    TCase *tc = tcase_create("shutdown");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sigterm_drains_in_flight_and_exits_0);
    tcase_add_test(tc, sigint_stuck_request_hits_drain_deadline);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    /* The server must be our child to collect its exit status. */
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
