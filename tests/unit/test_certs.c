/* Unit tests of certificate generation (src/server/certgen.c), the TLS pair
 * check of the reloader, worker sizing and the TLS priorities. */
#include <check.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "kvguard/buf.h"
#include "kvguard/certs.h"
#include "kvguard/json.h"
#include "kvguard/server.h"
#include "server/internal.h"
#include "testlib.h"

static char *dir;

static void setup(void) { dir = kvg_test_mkdtemp(); }
static void teardown(void)
{
    kvg_test_rmtree(dir);
    free(dir);
}

static const char *const dns[] = {"kvguard.kvguard-system.svc", "localhost"};
static const char *const ips[] = {"127.0.0.1", "::1"};

static kvg_err gen(const char *out, bool force, kvg_buf *bundle, kvg_diag *d)
{
    kvg_certs_opts o = {.out_dir = out, .dns = dns, .n_dns = 2, .ips = ips,
                        .n_ips = 2, .days = 10, .force = force};
    return kvg_certs_generate(&o, bundle, d);
}

static char *slurp(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    kvg_buf b;
    kvg_buf_init(&b, 0);
    ck_assert_int_eq(kvg_buf_read_file(&b, path, NULL), KVG_OK);
    return kvg_buf_steal(&b, len);
}

static X509 *load_cert(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(x);
    return x;
}

static EVP_PKEY *load_key(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tls.key", dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(k);
    return k;
}

static int verify(X509 *ca, X509 *leaf)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_add_cert(st, ca);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, st, leaf, NULL);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
    int ok = X509_verify_cert(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    return ok;
}

START_TEST(generated_pair_is_valid)
{
    kvg_buf bundle;
    kvg_buf_init(&bundle, 0);
    kvg_diag d = {{0}};
    ck_assert_int_eq(gen(dir, false, &bundle, &d), KVG_OK);

    X509 *ca = load_cert("ca.crt"), *leaf = load_cert("tls.crt");
    EVP_PKEY *key = load_key();
    /* CA: CA:TRUE and keyCertSign; leaf: not a CA, serverAuth */
    ck_assert_int_eq(X509_check_ca(ca), 1);
    ck_assert(X509_get_key_usage(ca) & KU_KEY_CERT_SIGN);
    ck_assert_int_eq(X509_check_ca(leaf), 0);
    ck_assert(X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER);
    ck_assert_int_eq(X509_check_purpose(leaf, X509_PURPOSE_SSL_SERVER, 0), 1);
    /* SANs */
    ck_assert_int_eq(X509_check_host(leaf, "kvguard.kvguard-system.svc", 0, 0, NULL), 1);
    ck_assert_int_eq(X509_check_host(leaf, "localhost", 0, 0, NULL), 1);
    ck_assert_int_eq(X509_check_host(leaf, "evil.example.com", 0, 0, NULL), 0);
    ck_assert_int_eq(X509_check_ip_asc(leaf, "127.0.0.1", 0), 1);
    ck_assert_int_eq(X509_check_ip_asc(leaf, "::1", 0), 1);
    ck_assert_int_eq(X509_check_ip_asc(leaf, "10.0.0.1", 0), 0);
    /* ECDSA P-256, key matches, CA signs the leaf */
    char group[64];
    size_t glen;
    ck_assert(EVP_PKEY_get_group_name(key, group, sizeof group, &glen));
    ck_assert_str_eq(group, "prime256v1");
    ck_assert_int_eq(X509_check_private_key(leaf, key), 1);
    ck_assert_int_eq(verify(ca, leaf), 1);
    /* validity: the days asked for */
    int days, secs;
    ck_assert(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(leaf)));
    ck_assert(days >= 9 && days <= 10);

    /* key file 0600; caBundle = base64(ca.crt) */
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/tls.key", dir);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    size_t ca_len;
    char *ca_pem = slurp("ca.crt", &ca_len);
    kvg_buf dec;
    kvg_buf_init(&dec, 0);
    ck_assert_int_eq(kvg_base64_decode(bundle.data, bundle.len, &dec), KVG_OK);
    ck_assert_uint_eq(dec.len, ca_len);
    ck_assert_int_eq(memcmp(dec.data, ca_pem, ca_len), 0);

    free(ca_pem);
    kvg_buf_free(&dec);
    kvg_buf_free(&bundle);
    X509_free(ca);
    X509_free(leaf);
    EVP_PKEY_free(key);
}
END_TEST

START_TEST(refuses_overwrite_without_force)
{
    kvg_diag d = {{0}};
    ck_assert_int_eq(gen(dir, false, NULL, &d), KVG_OK);
    size_t n1;
    char *before = slurp("tls.crt", &n1);
    ck_assert_int_eq(gen(dir, false, NULL, &d), KVG_EEXIST);
    ck_assert_ptr_nonnull(strstr(d.msg, "ca.crt"));
    ck_assert_ptr_nonnull(strstr(d.msg, "--force"));
    size_t n2;
    char *same = slurp("tls.crt", &n2);
    ck_assert(n1 == n2 && !memcmp(before, same, n1));
    ck_assert_int_eq(gen(dir, true, NULL, &d), KVG_OK);
    size_t n3;
    char *after = slurp("tls.crt", &n3);
    ck_assert(n1 != n3 || memcmp(before, after, n1));
    /* no temporary files left behind */
    char path[512];
    snprintf(path, sizeof path, "ls -A %s | grep -c '^\\.' >/dev/null", dir);
    ck_assert_int_ne(system(path), 0);
    free(before);
    free(same);
    free(after);
}
END_TEST

START_TEST(bad_options_are_named)
{
    kvg_diag d = {{0}};
    kvg_certs_opts o = {.out_dir = dir};
    ck_assert_int_eq(kvg_certs_generate(&o, NULL, &d), KVG_EINVAL);
    ck_assert_ptr_nonnull(strstr(d.msg, "--dns"));
    const char *bad_dns[] = {"bad_name.svc"};
    o.dns = bad_dns;
    o.n_dns = 1;
    ck_assert_int_eq(kvg_certs_generate(&o, NULL, &d), KVG_EINVAL);
    ck_assert_ptr_nonnull(strstr(d.msg, "bad_name"));
    const char *inject[] = {"a.svc,IP:1.2.3.4"};
    o.dns = inject;
    ck_assert_int_eq(kvg_certs_generate(&o, NULL, &d), KVG_EINVAL);
    const char *bad_ip[] = {"300.1.1.1"};
    o.dns = dns;
    o.ips = bad_ip;
    o.n_ips = 1;
    ck_assert_int_eq(kvg_certs_generate(&o, NULL, &d), KVG_EINVAL);
    ck_assert_ptr_nonnull(strstr(d.msg, "300.1.1.1"));
    o.n_ips = 0;
    o.days = KVG_CERTS_MAX_DAYS + 1;
    ck_assert_int_eq(kvg_certs_generate(&o, NULL, &d), KVG_EINVAL);
    ck_assert_ptr_nonnull(strstr(d.msg, "--days"));
    o.days = 1;
    o.out_dir = "/nonexistent-kvguard/x";
    ck_assert_int_eq(kvg_certs_generate(&o, NULL, &d), KVG_EIO);
    ck_assert_ptr_nonnull(strstr(d.msg, "/nonexistent-kvguard/x"));
    ck_assert(kvg_certs_dns_name_ok("*.example.com", NULL));
    ck_assert(!kvg_certs_dns_name_ok("a.*.example.com", NULL));
    ck_assert(!kvg_certs_dns_name_ok("-a.example.com", NULL));
    ck_assert(!kvg_certs_dns_name_ok("a..b", NULL));
}
END_TEST

START_TEST(pair_check_detects_mismatch)
{
    kvg_diag d = {{0}};
    ck_assert_int_eq(gen(dir, false, NULL, &d), KVG_OK);
    size_t cl, kl;
    char *cert = slurp("tls.crt", &cl), *key = slurp("tls.key", &kl);
    ck_assert_int_eq(kvg_tls_check_pair(cert, cl, key, kl, &d), KVG_OK);
    ck_assert_int_eq(gen(dir, true, NULL, &d), KVG_OK);
    size_t kl2;
    char *other_key = slurp("tls.key", &kl2);
    ck_assert_int_eq(kvg_tls_check_pair(cert, cl, other_key, kl2, &d), KVG_ETLS);
    ck_assert_ptr_nonnull(strstr(d.msg, "does not match"));
    ck_assert_int_eq(kvg_tls_check_pair("garbage", 7, key, kl, &d), KVG_ETLS);
    ck_assert_ptr_nonnull(strstr(d.msg, "certificate"));
    ck_assert_int_eq(kvg_tls_check_pair(cert, cl, "garbage", 7, &d), KVG_ETLS);
    ck_assert_ptr_nonnull(strstr(d.msg, "private key"));
    free(cert);
    free(key);
    free(other_key);
}
END_TEST

START_TEST(workers_follow_cgroup_quota)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned cpus = online > 0 ? (unsigned)online : 1;
    ck_assert_uint_eq(kvg_server_default_workers(dir), cpus); /* no cgroup files */
    kvg_test_write_file(dir, "cpu.max", "50000 100000\n");
    ck_assert_uint_eq(kvg_server_default_workers(dir), 1);
    kvg_test_write_file(dir, "cpu.max", "max 100000\n");
    ck_assert_uint_eq(kvg_server_default_workers(dir), cpus);
    kvg_test_write_file(dir, "cpu.max", "150000 100000\n"); /* 1.5 CPUs -> 2 */
    ck_assert_uint_eq(kvg_server_default_workers(dir), cpus < 2 ? cpus : 2);
    char v1[512];
    snprintf(v1, sizeof v1, "%s/v1", dir);
    kvg_test_write_file(v1, "cpu,cpuacct/cpu.cfs_quota_us", "100000\n");
    kvg_test_write_file(v1, "cpu,cpuacct/cpu.cfs_period_us", "100000\n");
    ck_assert_uint_eq(kvg_server_default_workers(v1), 1);
    kvg_test_write_file(v1, "cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
    ck_assert_uint_eq(kvg_server_default_workers(v1), cpus);
}
END_TEST

START_TEST(tls_priorities)
{
    const char *p = NULL;
    kvg_diag d = {{0}};
    ck_assert_int_eq(kvg_server_tls_priorities("1.2", &p, &d), KVG_OK);
    ck_assert_ptr_nonnull(strstr(p, "+VERS-TLS1.2"));
    ck_assert_ptr_nonnull(strstr(p, "+VERS-TLS1.3"));
    ck_assert_int_eq(kvg_server_tls_priorities(NULL, &p, &d), KVG_OK);
    ck_assert_ptr_nonnull(strstr(p, "+VERS-TLS1.2"));
    ck_assert_int_eq(kvg_server_tls_priorities("1.3", &p, &d), KVG_OK);
    ck_assert_ptr_null(strstr(p, "TLS1.2"));
    ck_assert_int_eq(kvg_server_tls_priorities("1.1", &p, &d), KVG_ECONFIG);
    ck_assert_ptr_nonnull(strstr(d.msg, "1.1"));
}
END_TEST

/* ---- the reloadable credential store (refcounts) ---------------------- */

static void copy_pair(const char *from, const char *to)
{
    char cmd[2048];
    /* temp + rename, as kubelet and kvguard certs do */
    snprintf(cmd, sizeof cmd,
             "cp %s/tls.crt %s/.c && cp %s/tls.key %s/.k && "
             "mv %s/.k %s/tls.key && mv %s/.c %s/tls.crt",
             from, to, from, to, to, to, to, to);
    ck_assert_int_eq(system(cmd), 0);
}

static void openssl_serial(const char *sub, char *out, size_t n)
{
    char rel[600];
    snprintf(rel, sizeof rel, "%s/tls.crt", sub);
    FILE *f = fopen(rel, "r");
    ck_assert_ptr_nonnull(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(x), NULL);
    char *hex = BN_bn2hex(bn);
    snprintf(out, n, "%s", hex);
    for (char *p = out; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(x);
}

static bool wait_store_serial(kvg_tls_store *st, const char *want)
{
    char got[128];
    for (int i = 0; i < 300; i++) {
        kvg_tls_store_serial(st, got, sizeof got);
        if (!strcmp(got, want))
            return true;
        usleep(10 * 1000);
    }
    return false;
}

START_TEST(store_keeps_old_pair_for_open_sessions)
{
    char a[600], b[600], live[600], cert[700], key[700];
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    snprintf(live, sizeof live, "%s/live", dir);
    ck_assert_int_eq(gen(a, false, NULL, NULL), KVG_OK);
    ck_assert_int_eq(gen(b, false, NULL, NULL), KVG_OK);
    ck_assert_int_eq(mkdir(live, 0755), 0);
    copy_pair(a, live);
    snprintf(cert, sizeof cert, "%s/tls.crt", live);
    snprintf(key, sizeof key, "%s/tls.key", live);
    char sa[128], sb[128];
    openssl_serial(a, sa, sizeof sa);
    openssl_serial(b, sb, sizeof sb);

    kvg_tls_store *st = NULL;
    kvg_diag d = {{0}};
    ck_assert_int_eq(kvg_tls_store_start(cert, key, 20, &st, &d), KVG_OK);
    ck_assert(wait_store_serial(st, sa));

    /* a handshake on A ... */
    gnutls_session_t s1 = (gnutls_session_t)(uintptr_t)0x1000;
    gnutls_pcert_st *p1 = NULL;
    unsigned n1 = 0;
    gnutls_privkey_t k1 = NULL;
    ck_assert_int_eq(kvg_tls_retrieve(s1, NULL, 0, NULL, 0, &p1, &n1, &k1), 0);
    ck_assert_uint_eq(n1, 1);
    unsigned char *der = malloc(p1->cert.size);
    memcpy(der, p1->cert.data, p1->cert.size);
    size_t der_len = p1->cert.size;

    /* ... while the files rotate to B */
    copy_pair(b, live);
    ck_assert_msg(wait_store_serial(st, sb), "rotation not picked up");
    /* A is still intact for s1 (ASan would flag a use after free) */
    ck_assert_uint_eq(p1->cert.size, der_len);
    ck_assert_int_eq(memcmp(p1->cert.data, der, der_len), 0);
    /* new handshakes get B */
    gnutls_session_t s2 = (gnutls_session_t)(uintptr_t)0x2000;
    gnutls_pcert_st *p2 = NULL;
    unsigned n2 = 0;
    gnutls_privkey_t k2 = NULL;
    ck_assert_int_eq(kvg_tls_retrieve(s2, NULL, 0, NULL, 0, &p2, &n2, &k2), 0);
    ck_assert_ptr_ne(p2, p1);
    ck_assert(p2->cert.size != der_len || memcmp(p2->cert.data, der, der_len));
    kvg_tls_session_closed(s1); /* last user of A: freed now (LSan checks) */
    kvg_tls_session_closed(s1); /* unknown session: no-op */

    /* garbage is refused, B stays */
    kvg_test_write_file(live, "tls.crt", "-----BEGIN CERTIFICATE-----\ngarbage\n");
    usleep(200 * 1000);
    char got[128];
    kvg_tls_store_serial(st, got, sizeof got);
    ck_assert_str_eq(got, sb);
    free(der);
    /* s2 is still open: the store frees what sessions hold too */
    kvg_tls_store_free(st);
}
END_TEST

START_TEST(store_start_errors_name_the_file)
{
    kvg_tls_store *st = NULL;
    kvg_diag d = {{0}};
    ck_assert_int_eq(kvg_tls_store_start("/nonexistent/tls.crt", "/nonexistent/tls.key",
                                         0, &st, &d), KVG_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(d.msg, "/nonexistent/tls.crt"));
    ck_assert_int_eq(kvg_tls_store_start("", "x", 0, &st, &d), KVG_ECONFIG);
    ck_assert_ptr_null(st);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("certs");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, generated_pair_is_valid);
    tcase_add_test(tc, refuses_overwrite_without_force);
    tcase_add_test(tc, bad_options_are_named);
    tcase_add_test(tc, pair_check_detects_mismatch);
    tcase_add_test(tc, workers_follow_cgroup_quota);
    tcase_add_test(tc, tls_priorities);
    tcase_add_test(tc, store_keeps_old_pair_for_open_sessions);
    tcase_add_test(tc, store_start_errors_name_the_file);
    suite_add_tcase(s, tc);
    return kvg_test_run(s);
}
