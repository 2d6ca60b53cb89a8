/* Integration: the `kvguard certs` and `kvguard serve` command lines - exit
 * codes, messages, the caBundle on stdout, refusing bad TLS files, the
 * TLS 1.3-only setting and a busy port. */
#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/buf.h"
#include "kvguard/json.h"
#include "proc.h"
#include "run.h"
#include "testlib.h"
#include "tls_client.h"

static char *dir;

static void setup(void) { dir = kvg_test_mkdtemp(); }
static void teardown(void)
{
    kvg_test_rmtree(dir);
    free(dir);
}

/* Runs kvguard with the arguments (NULL-terminated); returns the exit code. */
static int kvguard(kvg_run_result *r, ...)
{
    const char *argv[24] = {KVG_BINARY};
    size_t n = 1;
    va_list ap;
    va_start(ap, r);
    for (const char *a; n < 23 && (a = va_arg(ap, const char *));)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    ck_assert_int_eq(kvg_run(argv, NULL, 0, 60, r), 0);
    return r->status;
}

#define KVG(r, ...) kvguard(r, __VA_ARGS__, (const char *)NULL)

START_TEST(certs_cli)
{
    char out[512];
    snprintf(out, sizeof out, "%s/c", dir);
    kvg_run_result r;
    ck_assert_int_eq(KVG(&r, "certs"), 2);
    ck_assert_ptr_nonnull(strstr(r.err, "usage: kvguard certs"));
    kvg_run_result_free(&r);
    ck_assert_int_eq(KVG(&r, "certs", "--help"), 0);
    ck_assert_ptr_nonnull(strstr(r.out, "--dns NAME"));
    kvg_run_result_free(&r);
    ck_assert_int_eq(KVG(&r, "certs", "--out", out), 2);
    ck_assert_ptr_nonnull(strstr(r.err, "--dns"));
    kvg_run_result_free(&r);

    ck_assert_int_eq(KVG(&r, "certs", "--out", out, "--dns", "kvguard.ns.svc",
                         "localhost", "--ip", "127.0.0.1", "--days", "30"), 0);
    /* stdout: exactly the caBundle, base64 of ca.crt */
    size_t len;
    char rel[600];
    snprintf(rel, sizeof rel, "%s/ca.crt", out);
    kvg_buf ca, dec;
    kvg_buf_init(&ca, 0);
    kvg_buf_init(&dec, 0);
    ck_assert_int_eq(kvg_buf_read_file(&ca, rel, NULL), KVG_OK);
    len = strlen(r.out);
    ck_assert(len > 1 && r.out[len - 1] == '\n');
    ck_assert_int_eq(kvg_base64_decode(r.out, len - 1, &dec), KVG_OK);
    ck_assert_uint_eq(dec.len, ca.len);
    ck_assert_int_eq(memcmp(dec.data, ca.data, ca.len), 0);
    kvg_buf_free(&ca);
    kvg_buf_free(&dec);
    kvg_run_result_free(&r);

    ck_assert_int_eq(KVG(&r, "certs", "--out", out, "--dns", "localhost"), 2);
    ck_assert_ptr_nonnull(strstr(r.err, "already exists"));
    ck_assert_ptr_nonnull(strstr(r.err, "--force"));
    ck_assert_str_eq(r.out, "");
    kvg_run_result_free(&r);
    ck_assert_int_eq(KVG(&r, "certs", "--out", out, "--dns=localhost", "--force"), 0);
    kvg_run_result_free(&r);

    ck_assert_int_eq(KVG(&r, "certs", "--out", out, "--dns", "bad_name", "--force"), 2);
    ck_assert_ptr_nonnull(strstr(r.err, "bad_name"));
    kvg_run_result_free(&r);
    ck_assert_int_eq(KVG(&r, "certs", "--out", out, "--dns", "a", "--ip", "1.2.3", "--force"), 2);
    ck_assert_ptr_nonnull(strstr(r.err, "--ip '1.2.3'"));
    kvg_run_result_free(&r);
    ck_assert_int_eq(KVG(&r, "certs", "--out", out, "--dns", "a", "--days", "0", "--force"), 2);
    ck_assert_ptr_nonnull(strstr(r.err, "--days"));
    kvg_run_result_free(&r);
    ck_assert_int_eq(KVG(&r, "certs", "--out", out, "--dns", "a", "--bogus"), 2);
    ck_assert_ptr_nonnull(strstr(r.err, "--bogus"));
    kvg_run_result_free(&r);
}
END_TEST

START_TEST(serve_refuses_bad_tls_files)
{
    ck_assert_int_eq(kvg_proc_make_certs(dir, "a"), 0);
    ck_assert_int_eq(kvg_proc_make_certs(dir, "b"), 0);
    char cert[512], key_b[512], state[512];
    snprintf(cert, sizeof cert, "%s/a/tls.crt", dir);
    snprintf(key_b, sizeof key_b, "%s/b/tls.key", dir);
    snprintf(state, sizeof state, "%s/state", dir);
    kvg_test_write_file(state, "empty.yaml", "");
    kvg_run_result r;
    ck_assert_int_eq(KVG(&r, "serve", "--bogus"), 2);
    ck_assert_ptr_nonnull(strstr(r.err, "unknown argument '--bogus'"));
    kvg_run_result_free(&r);
    ck_assert_int_eq(KVG(&r, "serve", "--listen", "127.0.0.1:0", "--cluster-state", state,
                         "--tls-cert", cert, "--tls-key", key_b), 1);
    ck_assert_ptr_nonnull(strstr(r.err, "does not match the certificate"));
    kvg_run_result_free(&r);
    ck_assert_int_eq(KVG(&r, "serve", "--listen", "127.0.0.1:0", "--cluster-state", state,
                         "--tls-cert", "/nonexistent/tls.crt", "--tls-key", key_b), 1);
    ck_assert_ptr_nonnull(strstr(r.err, "/nonexistent/tls.crt"));
    kvg_run_result_free(&r);
    ck_assert_int_eq(KVG(&r, "serve", "--listen", "127.0.0.1:0", "--cluster-state", state,
                         "--tls-cert", cert), 2);
    ck_assert_ptr_nonnull(strstr(r.err, "key"));
    kvg_run_result_free(&r);
}
END_TEST

START_TEST(tls13_only_and_busy_port)
{
    ck_assert_int_eq(kvg_proc_make_certs(dir, "c"), 0);
    char cert[512], key[512], ca[512];
    snprintf(ca, sizeof ca, "%s/c/ca.crt", dir);
    snprintf(cert, sizeof cert, "%s/c/tls.crt", dir);
    snprintf(key, sizeof key, "%s/c/tls.key", dir);
    kvg_proc srv;
    ck_assert_int_eq(kvg_proc_start_server(&srv, dir,
                                           "tls:\n  minVersion: \"1.3\"\n"
                                           "shutdownDelaySeconds: 0\n", cert, key), 0);
    kvg_tc c;
    kvg_tc_init(&c, srv.port, ca);
    kvg_tc_resp r;
    kvg_tc_req req = {.method = "GET", .path = "/healthz", .fresh = true,
                      .tls_min = CURL_SSLVERSION_TLSv1_2,
                      .tls_max = CURL_SSLVERSION_MAX_TLSv1_2};
    kvg_tc_do(&c, &req, &r);
    ck_assert_int_eq(r.code, 0);
    kvg_tc_resp_free(&r);
    req.tls_min = CURL_SSLVERSION_TLSv1_3;
    req.tls_max = 0;
    kvg_tc_do(&c, &req, &r);
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(r.tls_version, "TLSv1.3");
    kvg_tc_resp_free(&r);
    kvg_tc_free(&c);

    /* a second server on the same port fails with a clear message */
    char listen[32], state[512];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", srv.port);
    snprintf(state, sizeof state, "%s/state", dir);
    kvg_run_result rr;
    ck_assert_int_eq(KVG(&rr, "serve", "--listen", listen, "--cluster-state", state,
                         "--tls-cert", cert, "--tls-key", key), 1);
    ck_assert_ptr_nonnull(strstr(rr.err, "cannot listen on"));
    kvg_run_result_free(&rr);

    kvg_proc_signal(&srv, SIGTERM);
    ck_assert_int_eq(kvg_proc_wait_exit(&srv, 20000), 0);
}
END_TEST

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    Suite *s = suite_create("server_cli");
    TCase *tc = tcase_create("cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, certs_cli);
    tcase_add_test(tc, serve_refuses_bad_tls_files);
    tcase_add_test(tc, tls13_only_and_busy_port);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    /* the server started in a test must be that process's child */
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
