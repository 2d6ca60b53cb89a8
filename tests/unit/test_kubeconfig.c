/* Kubeconfig and in-cluster configuration: every field form, contexts,
 * relative paths, and the exact error messages. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakeapi.h"
#include "kvguard/json.h"
#include "kvguard/kube.h"
#include "testlib.h"

static char *cert_pem, *key_pem, *other_key_pem;
static char *cert_b64, *key_b64;
static char *dir; /* temp dir with sub/ holding the kubeconfig */

static char *b64(const char *s)
{
    kvg_buf b;
    kvg_buf_init(&b, 0);
    ck_assert_int_eq(kvg_base64_encode(s, strlen(s), &b), KVG_OK);
    return kvg_buf_steal(&b, NULL);
}

static void setup(void)
{
    char *c2;
    kvg_test_gen_cert("kvguard-test", &cert_pem, &key_pem);
    kvg_test_gen_cert("other", &c2, &other_key_pem);
    free(c2);
    cert_b64 = b64(cert_pem);
    key_b64 = b64(key_pem);
    dir = kvg_test_mkdtemp();
    kvg_test_write_file(dir, "sub/ca.crt", cert_pem);
    kvg_test_write_file(dir, "sub/client.crt", cert_pem);
    kvg_test_write_file(dir, "sub/client.key", key_pem);
    kvg_test_write_file(dir, "sub/other.key", other_key_pem);
    kvg_test_write_file(dir, "certs/ca.crt", cert_pem);
    kvg_test_write_file(dir, "sub/token", "file-token\n");
    kvg_test_write_file(dir, "sub/empty", "");
    kvg_test_write_file(dir, "sub/junk.crt", "-----BEGIN CERTIFICATE-----\nzz\n");
}

static void teardown(void)
{
    kvg_test_rmtree(dir);
    free(dir);
    free(cert_pem);
    free(key_pem);
    free(other_key_pem);
    free(cert_b64);
    free(key_b64);
}

/* Writes text as DIR/sub/config and loads it. */
static kvg_err load(const char *text, const char *context, kvg_kube_config *c,
                    kvg_diag *d, char *path, size_t n)
{
    kvg_test_write_file(dir, "sub/config", text);
    snprintf(path, n, "%s/sub/config", dir);
    return kvg_kubeconfig_load(path, context, c, d);
}

#define HEAD                                                                 \
    "apiVersion: v1\nkind: Config\n"

static const char *BASIC =
    HEAD
    "current-context: dev\n"
    "contexts:\n"
    "- name: dev\n  context: {cluster: kind, user: alice, namespace: team-a}\n"
    "- name: prod\n  context: {cluster: big, user: bob}\n"
    "clusters:\n"
    "- name: kind\n  cluster:\n    server: https://127.0.0.1:6443/\n"
    "    insecure-skip-tls-verify: true\n"
    "- name: big\n  cluster:\n    server: https://api.example.com:443\n"
    "    certificate-authority: ca.crt\n"
    "users:\n"
    "- name: alice\n  user:\n    token: abc.def\n    tokenFile: token\n"
    "- name: bob\n  user:\n    tokenFile: token\n";

START_TEST(current_context_token)
{
    kvg_kube_config c;
    kvg_diag d;
    char path[512];
    ck_assert_int_eq(load(BASIC, NULL, &c, &d, path, sizeof path), KVG_OK);
    ck_assert_str_eq(c.server, "https://127.0.0.1:6443"); /* slash dropped */
    ck_assert(c.insecure);
    ck_assert_str_eq(c.token, "abc.def"); /* a token wins over tokenFile */
    ck_assert_ptr_null(c.token_file);
    ck_assert_str_eq(c.namespace_, "team-a");
    ck_assert_uint_eq(c.ca.len, 0);
    ck_assert_ptr_nonnull(strstr(c.source, path));
    kvg_kube_config_free(&c);
}
END_TEST

START_TEST(explicit_context_relative_files)
{
    kvg_kube_config c;
    kvg_diag d;
    char path[512], want[600];
    ck_assert_int_eq(load(BASIC, "prod", &c, &d, path, sizeof path), KVG_OK);
    ck_assert_str_eq(c.server, "https://api.example.com:443");
    ck_assert(!c.insecure);
    ck_assert_ptr_null(c.token);
    snprintf(want, sizeof want, "%s/sub/token", dir);
    ck_assert_str_eq(c.token_file, want); /* relative to the kubeconfig */
    ck_assert_str_eq(c.namespace_, "default");
    ck_assert_str_eq(c.ca.data, cert_pem);
    kvg_kube_config_free(&c);
}
END_TEST

START_TEST(data_fields)
{
    char text[8192];
    snprintf(text, sizeof text,
             HEAD "current-context: c\n"
             "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
             "clusters: [{name: k, cluster: {server: 'https://h:1', "
             "certificate-authority-data: %s}}]\n"
             "users: [{name: u, user: {client-certificate-data: %s, "
             "client-key-data: %s}}]\n",
             cert_b64, cert_b64, key_b64);
    kvg_kube_config c;
    kvg_diag d;
    char path[512];
    ck_assert_msg(load(text, NULL, &c, &d, path, sizeof path) == KVG_OK, "%s",
                  d.msg);
    ck_assert_str_eq(c.ca.data, cert_pem);
    ck_assert_str_eq(c.client_cert.data, cert_pem);
    ck_assert_str_eq(c.client_key.data, key_pem);
    ck_assert_ptr_null(c.token);
    kvg_kube_config_free(&c);
}
END_TEST

START_TEST(file_fields_relative_and_absolute)
{
    char text[4096];
    snprintf(text, sizeof text,
             HEAD "current-context: c\n"
             "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
             "clusters: [{name: k, cluster: {server: 'https://h:1', "
             "certificate-authority: ../certs/ca.crt}}]\n"
             "users: [{name: u, user: {client-certificate: %s/sub/client.crt, "
             "client-key: client.key}}]\n", dir);
    kvg_kube_config c;
    kvg_diag d;
    char path[512];
    ck_assert_msg(load(text, NULL, &c, &d, path, sizeof path) == KVG_OK, "%s",
                  d.msg);
    ck_assert_str_eq(c.ca.data, cert_pem);
    ck_assert_str_eq(c.client_cert.data, cert_pem);
    ck_assert_str_eq(c.client_key.data, key_pem);
    kvg_kube_config_free(&c);
}
END_TEST

START_TEST(no_user_is_anonymous)
{
    const char *text = HEAD "current-context: c\n"
                       "contexts: [{name: c, context: {cluster: k}}]\n"
                       "clusters: [{name: k, cluster: {server: 'http://h:8080'}}]\n";
    kvg_kube_config c;
    kvg_diag d;
    ck_assert_int_eq(kvg_kubeconfig_parse(text, strlen(text), "/etc/kc", NULL,
                                          &c, &d), KVG_OK);
    ck_assert_str_eq(c.server, "http://h:8080");
    ck_assert_ptr_null(c.token);
    ck_assert_ptr_null(c.token_file);
    kvg_kube_config_free(&c);
}
END_TEST

/* Each case: users/clusters fragment -> exact message after "kubeconfig P: ". */
typedef struct bad {
    const char *cluster; /* the cluster map (flow style) */
    const char *user;    /* the user map, or NULL for no users list */
    const char *want;
} bad;

START_TEST(field_errors)
{
    char junk_b64[] = "bm90IGEgY2VydA=="; /* "not a cert" */
    char both[1024], mismatch[8192], notpem[1024], keyonly[4096];
    snprintf(both, sizeof both,
             "{server: 'https://h', certificate-authority: ca.crt, "
             "certificate-authority-data: %s}", junk_b64);
    snprintf(notpem, sizeof notpem,
             "{server: 'https://h', certificate-authority-data: %s}", junk_b64);
    snprintf(mismatch, sizeof mismatch,
             "{client-certificate: client.crt, client-key: other.key}");
    snprintf(keyonly, sizeof keyonly, "{client-key-data: %s}", key_b64);
    bad cases[] = {
        {"{insecure-skip-tls-verify: true}", NULL,
         "clusters[k].cluster: server is missing"},
        {"{server: 'ftp://h'}", NULL,
         "clusters[k].cluster: server \"ftp://h\" is not an http(s):// URL"},
        {"{server: 42}", NULL, "clusters[k].cluster: server must be a string"},
        {"{server: 'https://h', insecure-skip-tls-verify: yes-please}", NULL,
         "clusters[k].cluster: insecure-skip-tls-verify must be true or false"},
        {"{server: 'https://h', certificate-authority-data: '@@@'}", NULL,
         "clusters[k].cluster: certificate-authority-data is not valid base64"},
        {notpem, NULL, "clusters[k].cluster: certificate-authority-data does "
                       "not hold a PEM certificate"},
        {"{server: 'https://h', certificate-authority: junk.crt}", NULL,
         "clusters[k].cluster: certificate-authority does not hold a PEM "
         "certificate"},
        {"{server: 'https://h', certificate-authority: empty}", NULL,
         "clusters[k].cluster: certificate-authority: file DIR/sub/empty is "
         "empty"},
        {"{server: 'https://h', certificate-authority: nope.crt}", NULL,
         "clusters[k].cluster: certificate-authority: cannot read "
         "DIR/sub/nope.crt: No such file or directory"},
        {both, NULL, "clusters[k].cluster: certificate-authority-data and "
                     "certificate-authority are both set; set only one"},
        {"{server: 'https://h', tls-server-name: api}", NULL,
         "clusters[k].cluster: tls-server-name is not supported"},
        {"{server: 'https://h'}", "{client-key-data: 'not base64!'}",
         "users[u].user: client-key-data is not valid base64"},
        {"{server: 'https://h'}", "{client-certificate: client.crt}",
         "users[u].user: client-certificate is set without client-key"},
        {"{server: 'https://h'}", keyonly,
         "users[u].user: client-key is set without client-certificate"},
        {"{server: 'https://h'}", mismatch,
         "users[u].user: client-key does not match client-certificate"},
        {"{server: 'https://h'}", "{client-certificate: client.key, "
                                 "client-key: client.key}",
         "users[u].user: client-certificate does not hold a PEM certificate"},
        {"{server: 'https://h'}", "{tokenFile: missing-token}",
         "users[u].user: tokenFile: cannot read DIR/sub/missing-token: No such "
         "file or directory"},
        {"{server: 'https://h'}", "{token: [a, b]}",
         "users[u].user: token must be a string"},
        {"{server: 'https://h'}", "{exec: {command: aws}}",
         "users[u].user: exec credential plugins are not supported; use a "
         "token, tokenFile or client certificate"},
        {"{server: 'https://h'}", "{auth-provider: {name: oidc}}",
         "users[u].user: auth-provider is not supported; use a token, "
         "tokenFile or client certificate"},
        {"{server: 'https://h'}", "{username: admin, password: x}",
         "users[u].user: basic authentication (username) is not supported"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[16384], path[512], want[2048], *p;
        snprintf(text, sizeof text,
                 HEAD "current-context: c\n"
                 "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                 "clusters: [{name: k, cluster: %s}]\n"
                 "users: [{name: u, user: %s}]\n",
                 cases[i].cluster, cases[i].user ? cases[i].user : "{}");
        kvg_kube_config c;
        kvg_diag d;
        ck_assert_int_eq(load(text, NULL, &c, &d, path, sizeof path),
                         KVG_ECONFIG);
        snprintf(want, sizeof want, "kubeconfig %s: %s", path, cases[i].want);
        while ((p = strstr(want, "DIR"))) { /* expand the temp dir */
            char tmp[2048];
            snprintf(tmp, sizeof tmp, "%.*s%s%s", (int)(p - want), want, dir,
                     p + 3);
            snprintf(want, sizeof want, "%s", tmp);
        }
        ck_assert_msg(strcmp(d.msg, want) == 0, "case %zu:\n got %s\nwant %s",
                      i, d.msg, want);
    }
}
END_TEST

START_TEST(context_errors)
{
    struct { const char *text, *context, *want; } cases[] = {
        {HEAD "clusters: []\n", NULL,
         "current-context is not set and no context was given (--context)"},
        {HEAD "current-context: x\n", NULL,
         "contexts: no contexts list, but context \"x\" is needed"},
        {HEAD "current-context: x\ncontexts: [{name: y, context: {cluster: k}}]\n",
         NULL, "contexts: no entry named \"x\""},
        {HEAD "current-context: y\ncontexts: [{name: y, context: {cluster: k}}]\n",
         "z", "contexts: no entry named \"z\""},
        {HEAD "current-context: y\ncontexts: [{name: y}]\n", NULL,
         "contexts[y]: context is missing or not a map"},
        {HEAD "current-context: y\ncontexts: [{name: y, context: {user: u}}]\n",
         NULL, "contexts[y].context: cluster is missing"},
        {HEAD "current-context: y\ncontexts: [{name: y, context: {cluster: k}}]\n"
              "clusters: [{name: j, cluster: {server: 'https://h'}}]\n",
         NULL, "clusters: no entry named \"k\""},
        {HEAD "current-context: y\ncontexts: [{name: y, context: {cluster: k, "
              "user: u}}]\nclusters: [{name: k, cluster: {server: 'https://h'}}]\n",
         NULL, "users: no users list, but user \"u\" is needed"},
        {HEAD "current-context: y\ncontexts: [{name: y, context: {cluster: k, "
              "user: u}}]\nclusters: [{name: k, cluster: {server: 'https://h'}}]\n"
              "users: [{name: u, user: token}]\n",
         NULL, "users[u]: user is missing or not a map"},
        {"- just\n- a list\n", NULL, "not a kubeconfig (expected a map)"},
        {"", NULL, "the file is empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kvg_kube_config c;
        kvg_diag d;
        char want[1024];
        ck_assert_int_eq(kvg_kubeconfig_parse(cases[i].text,
                                              strlen(cases[i].text), "/x",
                                              cases[i].context, &c, &d),
                         KVG_ECONFIG);
        snprintf(want, sizeof want, "kubeconfig /x: %s", cases[i].want);
        ck_assert_msg(strcmp(d.msg, want) == 0, "case %zu:\n got %s\nwant %s",
                      i, d.msg, want);
    }
}
END_TEST

START_TEST(syntax_and_missing_file)
{
    kvg_kube_config c;
    kvg_diag d;
    const char *text = "clusters: [unterminated\n";
    ck_assert_int_eq(kvg_kubeconfig_parse(text, strlen(text), "/x/kc", NULL,
                                          &c, &d), KVG_ECONFIG);
    ck_assert_msg(strncmp(d.msg, "kubeconfig /x/kc:", 17) == 0, "%s", d.msg);
    ck_assert_int_eq(kvg_kubeconfig_load("/nonexistent/kc", NULL, &c, &d),
                     KVG_ECONFIG);
    ck_assert_str_eq(d.msg, "kubeconfig /nonexistent/kc: /nonexistent/kc: No "
                            "such file or directory");
}
END_TEST

/* ---- in-cluster ---------------------------------------------------------------- */

START_TEST(incluster)
{
    char sa[512];
    snprintf(sa, sizeof sa, "%s/sa", dir);
    kvg_test_write_file(dir, "sa/token", "tok-1\n");
    kvg_test_write_file(dir, "sa/ca.crt", cert_pem);
    kvg_test_write_file(dir, "sa/namespace", "kvguard-system\n");
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    kvg_kube_config c;
    kvg_diag d;
    ck_assert_msg(kvg_kube_incluster(sa, &c, &d) == KVG_OK, "%s", d.msg);
    ck_assert_str_eq(c.server, "https://10.96.0.1:443");
    ck_assert_str_eq(c.namespace_, "kvguard-system");
    ck_assert_ptr_nonnull(strstr(c.token_file, "/sa/token"));
    ck_assert_ptr_null(c.token); /* always read from the file: it rotates */
    ck_assert_str_eq(c.ca.data, cert_pem);
    kvg_kube_config_free(&c);

    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    ck_assert_int_eq(kvg_kube_incluster(sa, &c, &d), KVG_OK);
    ck_assert_str_eq(c.server, "https://[fd00::1]:443");
    kvg_kube_config_free(&c);

    unsetenv("KUBERNETES_SERVICE_HOST");
    ck_assert_int_eq(kvg_kube_incluster(sa, &c, &d), KVG_ECONFIG);
    ck_assert_ptr_nonnull(strstr(d.msg, "KUBERNETES_SERVICE_HOST"));

    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    char nosa[600];
    snprintf(nosa, sizeof nosa, "%s/none", dir);
    ck_assert_int_eq(kvg_kube_incluster(nosa, &c, &d), KVG_ECONFIG);
    ck_assert_msg(strstr(d.msg, "in-cluster: service account token: ") &&
                      strstr(d.msg, "none/token"), "%s", d.msg);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kubeconfig");
    TCase *tc = tcase_create("kubeconfig");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, current_context_token);
    tcase_add_test(tc, explicit_context_relative_files);
    tcase_add_test(tc, data_fields);
    tcase_add_test(tc, file_fields_relative_and_absolute);
    tcase_add_test(tc, no_user_is_anonymous);
    tcase_add_test(tc, field_errors);
    tcase_add_test(tc, context_errors);
    tcase_add_test(tc, syntax_and_missing_file);
    tcase_add_test(tc, incluster);
    suite_add_tcase(s, tc);
    return kvg_test_run(s);
}
