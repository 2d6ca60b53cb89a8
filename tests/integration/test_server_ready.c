/* Integration (in-process): the kvg_server API - port 0, /readyz following
 * the cluster view's sync state and the shutdown request, one server per
 * process, the graceful sequence returning KVG_OK. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/certs.h"
#include "kvguard/config.h"
#include "kvguard/log.h"
#include "kvguard/server.h"
#include "kvguard/view.h"
#include "testlib.h"
#include "tls_client.h"

static long get(int port, const char *ca, const char *path, char *body, size_t n)
{
    kvg_tc c;
    kvg_tc_init(&c, port, ca);
    kvg_tc_resp r;
    kvg_tc_get(&c, path, &r);
    long code = r.code;
    if (body)
        snprintf(body, n, "%s", r.body);
    kvg_tc_resp_free(&r);
    kvg_tc_free(&c);
    return code;
}

START_TEST(readyz_follows_sync_and_shutdown)
{
    char *dir = kvg_test_mkdtemp();
    const char *dns[] = {"localhost"}, *ips[] = {"127.0.0.1"};
    kvg_certs_opts o = {.out_dir = dir, .dns = dns, .n_dns = 1, .ips = ips, .n_ips = 1};
    kvg_diag d = {{0}};
    ck_assert_int_eq(kvg_certs_generate(&o, NULL, &d), KVG_OK);
    char ca[600], cert[600], key[600];
    snprintf(ca, sizeof ca, "%s/ca.crt", dir);
    snprintf(cert, sizeof cert, "%s/tls.crt", dir);
    snprintf(key, sizeof key, "%s/tls.key", dir);

    kvg_config cfg;
    ck_assert_int_eq(kvg_config_init(&cfg), KVG_OK);
    free(cfg.listen);
    free(cfg.tls_cert);
    free(cfg.tls_key);
    cfg.listen = strdup("127.0.0.1:0");
    cfg.tls_cert = strdup(cert);
    cfg.tls_key = strdup(key);
    cfg.shutdown_delay_s = 1;
    cfg.drain_timeout_s = 2;
    kvg_store *store = NULL;
    ck_assert_int_eq(kvg_store_new(&store), KVG_OK); /* every kind unsynced */

    kvg_server *srv = NULL;
    ck_assert_int_eq(kvg_server_start(&cfg, &cfg.policy, kvg_store_view(store), &srv, &d),
                     KVG_OK);
    int port = kvg_server_port(srv);
    ck_assert_int_gt(port, 0);
    char body[256];
    ck_assert_int_eq(get(port, ca, "/healthz", body, sizeof body), 200);
    ck_assert_int_eq(get(port, ca, "/readyz", body, sizeof body), 503);
    ck_assert_ptr_nonnull(strstr(body, "not synced"));
    ck_assert(!kvg_server_ready(srv));
    for (int k = 0; k < KVG_KIND_COUNT; k++)
        kvg_store_set_state(store, (kvg_kind)k,
                            k % 2 ? KVG_KIND_SYNCED : KVG_KIND_ABSENT);
    ck_assert_int_eq(get(port, ca, "/readyz", body, sizeof body), 200);
    ck_assert(kvg_server_ready(srv));

    /* a 2 MiB review (curl sends "Expect: 100-continue" above 1 MiB) is read
     * whole under the default 7 MiB cap */
    {
        static const char rv[] =
            "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
            "\"request\":{\"uid\":\"big-1\",\"kind\":{\"group\":\"\",\"version\":\"v1\","
            "\"kind\":\"Namespace\"},\"operation\":\"CREATE\",\"name\":\"x\"}}";
        size_t pad = 2u << 20;
        char *big = malloc(pad + sizeof rv);
        memset(big, ' ', pad);
        memcpy(big + pad, rv, sizeof rv);
        kvg_tc c;
        kvg_tc_init(&c, port, ca);
        kvg_tc_resp r;
        kvg_tc_post_json(&c, "/validate", big, &r);
        ck_assert_msg(r.code == 200, "%ld %s", r.code, r.body);
        ck_assert_ptr_nonnull(strstr(r.body, "\"uid\":\"big-1\""));
        kvg_tc_resp_free(&r);
        kvg_tc_free(&c);
        free(big);
    }

    /* a second server in the same process is refused clearly */
    kvg_server *other = NULL;
    ck_assert_int_ne(kvg_server_start(&cfg, &cfg.policy, kvg_store_view(store), &other, &d),
                     KVG_OK);
    ck_assert_ptr_nonnull(strstr(d.msg, "one server per process"));
    ck_assert_ptr_null(other);

    kvg_server_request_shutdown(srv);
    ck_assert_int_eq(get(port, ca, "/readyz", body, sizeof body), 503);
    ck_assert_ptr_nonnull(strstr(body, "shutting down"));
    ck_assert_int_eq(get(port, ca, "/healthz", body, sizeof body), 200);
    ck_assert_int_eq(kvg_server_wait(srv), KVG_OK);
    ck_assert_int_eq(get(port, ca, "/healthz", NULL, 0), 0);
    kvg_server_free(srv);

    kvg_store_free(store);
    kvg_config_free(&cfg);
    kvg_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(bad_settings_are_refused)
{
    kvg_config cfg;
    kvg_diag d = {{0}};
    ck_assert_int_eq(kvg_config_init(&cfg), KVG_OK);
    kvg_store *store = NULL;
    ck_assert_int_eq(kvg_store_new(&store), KVG_OK);
    kvg_server *srv = NULL;
    free(cfg.tls_min_version);
    cfg.tls_min_version = strdup("1.0");
    ck_assert_int_eq(kvg_server_start(&cfg, &cfg.policy, kvg_store_view(store), &srv, &d),
                     KVG_ECONFIG);
    ck_assert_ptr_nonnull(strstr(d.msg, "1.0"));
    free(cfg.tls_min_version);
    cfg.tls_min_version = strdup("1.2");
    ck_assert_int_eq(kvg_server_start(&cfg, &cfg.policy, kvg_store_view(store), &srv, &d),
                     KVG_ECONFIG); /* no certificate configured */
    ck_assert_ptr_nonnull(strstr(d.msg, "certificate"));
    ck_assert_int_eq(kvg_server_start(NULL, NULL, NULL, &srv, &d), KVG_EINVAL);
    ck_assert_ptr_null(srv);
    kvg_store_free(store);
    kvg_config_free(&cfg);
}
END_TEST

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    kvg_log_set_level(KVG_LOG_WARN);
    Suite *s = suite_create("server_ready");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, readyz_follows_sync_and_shutdown);
    tcase_add_test(tc, bad_settings_are_refused);
    suite_add_tcase(s, tc);
    int rc = kvg_test_run(s);
    curl_global_cleanup();
    return rc;
}
