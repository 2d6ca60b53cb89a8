/* Integration: certificate rotation without restart. The certificate lives in
 * a directory laid out like a Kubernetes Secret volume (tls.crt ->
 * ..data/tls.crt, ..data -> ..<timestamp>/) and is swapped the way the kubelet
 * does it, while a client loop keeps handshaking. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "run.h"
#include "testlib.h"
#include "tls_client.h"

static char *dir;
static char bundle[512]; /* every CA used in this test */
static kvg_proc srv;

static void path(char *out, size_t n, const char *rel)
{
    snprintf(out, n, "%s/%s", dir, rel);
}

static void append_file(const char *to, const char *from)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cat '%s' >> '%s'", from, to);
    ck_assert_int_eq(system(cmd), 0);
}

/* Publishes dir/src/{tls.crt,tls.key} as a new Secret volume version. */
static void publish(const char *version, const char *src_cert, const char *src_key)
{
    char vdir[600], cmd[2400], data_tmp[600], data[600];
    snprintf(vdir, sizeof vdir, "%s/secret/..%s", dir, version);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s' '%s/tls.crt' && cp '%s' '%s/tls.key'",
             vdir, src_cert, vdir, src_key, vdir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(data_tmp, sizeof data_tmp, "%s/secret/..data_tmp", dir);
    snprintf(data, sizeof data, "%s/secret/..data", dir);
    unlink(data_tmp);
    char target[64];
    snprintf(target, sizeof target, "..%s", version);
    ck_assert_int_eq(symlink(target, data_tmp), 0);
    ck_assert_int_eq(rename(data_tmp, data), 0); /* atomic, as the kubelet */
}

static void make_rsa_set(void)
{
    /* RSA CA + RSA leaf from the openssl CLI (as another issuer would). */
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && mkdir -p rsa && cd rsa && "
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt "
             "-days 2 -subj /CN=rsa-test-ca -addext basicConstraints=critical,CA:TRUE "
             "-addext keyUsage=critical,keyCertSign 2>/dev/null && "
             "openssl req -newkey rsa:2048 -nodes -keyout tls.key -out tls.csr "
             "-subj /CN=localhost 2>/dev/null && "
             "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > ext && "
             "openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "-days 2 -extfile ext -out tls.crt 2>/dev/null",
             dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void start(void)
{
    dir = kvg_test_mkdtemp();
    ck_assert_int_eq(kvg_proc_make_certs(dir, "a"), 0);
    ck_assert_int_eq(kvg_proc_make_certs(dir, "b"), 0);
    make_rsa_set();
    path(bundle, sizeof bundle, "bundle.crt");
    char f[600];
    const char *cas[] = {"a/ca.crt", "b/ca.crt", "rsa/ca.crt"};
    for (int i = 0; i < 3; i++) {
        path(f, sizeof f, cas[i]);
        append_file(bundle, f);
    }
    char cert[600], key[600];
    path(cert, sizeof cert, "a/tls.crt");
    path(key, sizeof key, "a/tls.key");
    publish("2026_11_21_a", cert, key);
    char link_cert[600], link_key[600];
    path(link_cert, sizeof link_cert, "secret/tls.crt");
    path(link_key, sizeof link_key, "secret/tls.key");
    ck_assert_int_eq(symlink("..data/tls.crt", link_cert), 0);
    ck_assert_int_eq(symlink("..data/tls.key", link_key), 0);
    ck_assert_int_eq(kvg_proc_start_server(&srv, dir, "shutdownDelaySeconds: 0\n",
                                           link_cert, link_key), 0);
}

static void stop(void)
{
    kvg_proc_signal(&srv, SIGTERM);
    int rc = kvg_proc_wait_exit(&srv, 20000);
    if (rc != 0)
        kvg_proc_dump_log(&srv);
    ck_assert_int_eq(rc, 0);
    kvg_test_rmtree(dir);
    free(dir);
}

static void served_serial(char *out, size_t n)
{
    kvg_tc c;
    kvg_tc_init(&c, srv.port, bundle);
    kvg_tc_resp r;
    kvg_tc_req req = {.method = "GET", .path = "/healthz", .fresh = true};
    kvg_tc_do(&c, &req, &r);
    ck_assert_msg(r.code == 200, "healthz: %s", curl_easy_strerror(r.curl_err));
    snprintf(out, n, "%s", r.serial);
    kvg_tc_resp_free(&r);
    kvg_tc_free(&c);
}

static void file_serial(const char *rel, char *out, size_t n)
{
    char p[600];
    path(p, sizeof p, rel);
    ck_assert(kvg_tc_file_serial(p, out, n));
}

/* Polls until the served certificate is want (the watcher polls every 1 s). */
static bool wait_serial(const char *want, int timeout_ms)
{
    char got[128];
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        served_serial(got, sizeof got);
        if (!strcmp(got, want))
            return true;
        usleep(100 * 1000);
    }
    return false;
}

static void expect_log(const char *needle)
{
    char *line = kvg_proc_wait_log(&srv, needle, 5000);
    if (!line)
        kvg_proc_dump_log(&srv);
    ck_assert_msg(line != NULL, "no log line with '%s'", needle);
    free(line);
}

typedef struct loop {
    atomic_bool stop;
    atomic_int ok, failed;
    CURLcode last_err;
} loop;

/* New connection per request: every request is a handshake. */
static void *client_loop(void *arg)
{
    loop *l = arg;
    kvg_tc c;
    kvg_tc_init(&c, srv.port, bundle);
    while (!atomic_load(&l->stop)) {
        kvg_tc_resp r;
        kvg_tc_req req = {.method = "GET", .path = "/healthz", .fresh = true};
        kvg_tc_do(&c, &req, &r);
        if (r.code == 200) {
            atomic_fetch_add(&l->ok, 1);
        } else {
            l->last_err = r.curl_err;
            atomic_fetch_add(&l->failed, 1);
        }
        kvg_tc_resp_free(&r);
    }
    kvg_tc_free(&c);
    return NULL;
}

START_TEST(rotation_under_load_then_garbage_then_rsa)
{
    char a[128], b[128], rsa[128], got[128];
    file_serial("a/tls.crt", a, sizeof a);
    file_serial("b/tls.crt", b, sizeof b);
    file_serial("rsa/tls.crt", rsa, sizeof rsa);
    served_serial(got, sizeof got);
    ck_assert_str_eq(got, a);

    /* A keep-alive connection opened on the old pair outlives the swap. */
    kvg_tc keep;
    kvg_tc_init(&keep, srv.port, bundle);
    kvg_tc_resp r;
    kvg_tc_get(&keep, "/healthz", &r);
    ck_assert_int_eq(r.code, 200);
    kvg_tc_resp_free(&r);

    static loop l;
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, client_loop, &l), 0);
    usleep(300 * 1000);
    char cert[600], key[600];
    path(cert, sizeof cert, "b/tls.crt");
    path(key, sizeof key, "b/tls.key");
    publish("2026_11_21_b", cert, key);
    bool rotated = wait_serial(b, 5000);
    usleep(300 * 1000);
    atomic_store(&l.stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("rotation: %d handshakes during the swap, %d failed\n",
           atomic_load(&l.ok), atomic_load(&l.failed));
    ck_assert_msg(rotated, "the new certificate was not served within 5 s");
    ck_assert_msg(atomic_load(&l.failed) == 0, "%d failed requests (%s)",
                  atomic_load(&l.failed), curl_easy_strerror(l.last_err));
    ck_assert_int_gt(atomic_load(&l.ok), 10);

    kvg_tc_get(&keep, "/healthz", &r);
    ck_assert_int_eq(r.code, 200);
    ck_assert_int_eq(r.num_connects, 0); /* same connection, old credentials */
    kvg_tc_resp_free(&r);
    kvg_tc_free(&keep);

    /* Garbage certificate: rejected, B stays. */
    char garbage[600];
    path(garbage, sizeof garbage, "garbage.crt");
    kvg_test_write_file(dir, "garbage.crt", "-----BEGIN CERTIFICATE-----\nnot base64\n");
    publish("2026_11_21_c", garbage, key);
    expect_log("keeping the current certificate");
    served_serial(got, sizeof got);
    ck_assert_str_eq(got, b);

    /* Mismatched pair (A's certificate, B's key): rejected too. */
    path(cert, sizeof cert, "a/tls.crt");
    publish("2026_11_21_d", cert, key);
    expect_log("does not match");
    served_serial(got, sizeof got);
    ck_assert_str_eq(got, b);

    /* An RSA pair from another issuer is taken. */
    path(cert, sizeof cert, "rsa/tls.crt");
    path(key, sizeof key, "rsa/tls.key");
    publish("2026_11_21_e", cert, key);
    ck_assert_msg(wait_serial(rsa, 5000), "the RSA certificate was not served");

    kvg_tc m;
    kvg_tc_init(&m, srv.port, bundle);
    kvg_tc_get(&m, "/metrics", &r);
    ck_assert_ptr_nonnull(strstr(r.body, "kvguard_tls_reload_total{result=\"success\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "kvguard_tls_reload_total{result=\"error\"} 2\n"));
    kvg_tc_resp_free(&r);
    kvg_tc_free(&m);
}
END_TEST

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    Suite *s = suite_create("server_rotation");
    TCase *tc = tcase_create("rotation");
    tcase_add_unchecked_fixture(tc, start, stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, rotation_under_load_then_garbage_then_rsa);
    suite_add_tcase(s, tc);
    int rc = kvg_test_run(s);
    curl_global_cleanup();
    return rc;
}
