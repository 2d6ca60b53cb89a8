/* kvguard: CA + serving certificate generation with OpenSSL 3 (EVP APIs). */
#include "kvguard/certs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "kvguard/json.h"

/* Backdate notBefore so that nodes with a slightly late clock accept it. */
#define CLOCK_SKEW_S (5 * 60)

static const char *const out_files[] = {"ca.crt", "tls.crt", "tls.key"};

static kvg_err ssl_fail(kvg_diag *d, const char *what)
{
    char reason[256] = "unknown OpenSSL error";
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, reason, sizeof reason);
    ERR_clear_error();
    return kvg_diag_set(d, KVG_ETLS, "%s: %s", what, reason);
}

static bool label_ok(const char *s, size_t n, bool first)
{
    if (first && n == 1 && s[0] == '*')
        return true; /* wildcard, left-most label only */
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

bool kvg_certs_dns_name_ok(const char *name, kvg_diag *d)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > 253) {
        kvg_diag_set(d, KVG_EINVAL, "DNS name '%s': must be 1 to 253 characters",
                     name ? name : "");
        return false;
    }
    const char *p = name;
    for (bool first = true;; first = false) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!label_ok(p, n, first)) {
            kvg_diag_set(d, KVG_EINVAL,
                         "DNS name '%s': label '%.*s' is not a valid DNS label "
                         "(letters, digits, '-', at most 63; '*' only first)",
                         name, (int)n, p);
            return false;
        }
        if (!dot)
            return true;
        p = dot + 1;
    }
}

static kvg_err check_opts(const kvg_certs_opts *o, kvg_diag *d)
{
    if (!o || !o->out_dir || !*o->out_dir)
        return kvg_diag_set(d, KVG_EINVAL, "--out: an output directory is required");
    if (o->n_dns == 0 && o->n_ips == 0)
        return kvg_diag_set(d, KVG_EINVAL,
                            "--dns: at least one DNS name (or --ip) is required");
    if (o->days > KVG_CERTS_MAX_DAYS)
        return kvg_diag_set(d, KVG_EINVAL, "--days %u: at most %u", o->days,
                            KVG_CERTS_MAX_DAYS);
    for (size_t i = 0; i < o->n_dns; i++)
        if (!kvg_certs_dns_name_ok(o->dns[i], d)) {
            kvg_diag_prefix(d, "--dns");
            return KVG_EINVAL;
        }
    for (size_t i = 0; i < o->n_ips; i++) {
        ASN1_OCTET_STRING *ip = a2i_IPADDRESS(o->ips[i]);
        if (!ip)
            return kvg_diag_set(d, KVG_EINVAL,
                                "--ip '%s': not an IPv4 or IPv6 address", o->ips[i]);
        ASN1_OCTET_STRING_free(ip);
    }
    return KVG_OK;
}

static EVP_PKEY *new_p256_key(void)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/* 159 random bits: positive, and unique enough that a rotated certificate
 * never repeats a serial (tests compare serials to see a rotation). */
static int set_random_serial(X509 *x)
{
    unsigned char raw[20];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return 0;
    raw[0] &= 0x7f;
    raw[0] |= 0x40;
    BIGNUM *bn = BN_bin2bn(raw, sizeof raw, NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return 0;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

static int set_name(X509 *x, const char *cn, X509 *issuer)
{
    X509_NAME *n = X509_get_subject_name(x);
    if (!X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
                                    (const unsigned char *)"kvguard", -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
                                    (const unsigned char *)cn, -1, -1, 0))
        return 0;
    return X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
}

/* Common skeleton: version 3, serial, validity, subject/issuer, public key. */
static X509 *new_cert(EVP_PKEY *key, const char *cn, X509 *issuer, unsigned days)
{
    X509 *x = X509_new();
    if (!x || !X509_set_version(x, X509_VERSION_3) || !set_random_serial(x) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -CLOCK_SKEW_S) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) ||
        !set_name(x, cn, issuer) || !X509_set_pubkey(x, key)) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static X509 *make_ca(EVP_PKEY *key, unsigned days)
{
    X509 *x = new_cert(key, "kvguard-webhook-ca", NULL, days);
    if (!x || !add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
        !add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature") ||
        !add_ext(x, x, NID_subject_key_identifier, "hash") ||
        !add_ext(x, x, NID_authority_key_identifier, "keyid:always") ||
        !X509_sign(x, key, EVP_sha256())) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int push_name(GENERAL_NAMES *gens, int type, void *value)
{
    GENERAL_NAME *g = GENERAL_NAME_new();
    if (!g)
        return 0;
    GENERAL_NAME_set0_value(g, type, value);
    if (!sk_GENERAL_NAME_push(gens, g)) {
        GENERAL_NAME_free(g);
        return 0;
    }
    return 1;
}

/* SANs are built as structures, not as a config string, so that no input
 * can inject extra names through ',' or ':'. Inputs are validated already. */
static int add_sans(X509 *x, const kvg_certs_opts *o)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    int ok = gens != NULL;
    for (size_t i = 0; ok && i < o->n_dns; i++) {
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();
        ok = s && ASN1_STRING_set(s, o->dns[i], -1) && push_name(gens, GEN_DNS, s);
        if (!ok)
            ASN1_IA5STRING_free(s);
    }
    for (size_t i = 0; ok && i < o->n_ips; i++) {
        ASN1_OCTET_STRING *ip = a2i_IPADDRESS(o->ips[i]);
        ok = ip && push_name(gens, GEN_IPADD, ip);
        if (!ok)
            ASN1_OCTET_STRING_free(ip);
    }
    ok = ok && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0) == 1;
    GENERAL_NAMES_free(gens);
    return ok;
}

static X509 *make_leaf(EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key,
                       const kvg_certs_opts *o, unsigned days)
{
    /* CN is informational (clients match SANs) and limited to 64 bytes. */
    const char *cn = o->n_dns ? o->dns[0] : o->ips[0];
    if (strlen(cn) > 64)
        cn = "kvguard-webhook";
    X509 *x = new_cert(key, cn, ca, days);
    if (!x || !add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") ||
        !add_ext(x, ca, NID_key_usage, "critical,digitalSignature") ||
        !add_ext(x, ca, NID_ext_key_usage, "serverAuth") ||
        !add_ext(x, ca, NID_subject_key_identifier, "hash") ||
        !add_ext(x, ca, NID_authority_key_identifier, "keyid:always") ||
        !add_sans(x, o) || !X509_sign(x, ca_key, EVP_sha256())) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static kvg_err bio_to_buf(BIO *bio, kvg_buf *out)
{
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    return n > 0 ? kvg_buf_append(out, data, (size_t)n) : KVG_ETLS;
}

static kvg_err pem_cert(X509 *x, kvg_buf *out)
{
    BIO *bio = BIO_new(BIO_s_mem());
    kvg_err err = bio && PEM_write_bio_X509(bio, x) ? bio_to_buf(bio, out) : KVG_ETLS;
    BIO_free(bio);
    return err;
}

static kvg_err pem_key(EVP_PKEY *k, kvg_buf *out)
{
    BIO *bio = BIO_new(BIO_s_mem());
    kvg_err err = bio && PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL)
                      ? bio_to_buf(bio, out)
                      : KVG_ETLS;
    BIO_free(bio);
    return err;
}

static kvg_err write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return KVG_EIO;
        p += w;
        n -= (size_t)w;
    }
    return KVG_OK;
}

/* temp file in the same directory + fsync + rename: readers see the old
 * file or the new one, never a truncated one, and the key is 0600 from its
 * first byte on (fchmod before any write). */
static kvg_err write_file(const char *dir, const char *name, const kvg_buf *b,
                          mode_t mode, kvg_diag *d)
{
    char path[4096], tmp[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path ||
        snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name) >= (int)sizeof tmp)
        return kvg_diag_set(d, KVG_EINVAL, "--out '%s': path too long", dir);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return kvg_diag_set(d, KVG_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    kvg_err err = fchmod(fd, mode) == 0 ? write_all(fd, b->data, b->len) : KVG_EIO;
    if (!err && fsync(fd) != 0)
        err = KVG_EIO;
    int saved = errno;
    if (close(fd) != 0 && !err)
        err = KVG_EIO, saved = errno;
    if (!err && rename(tmp, path) != 0)
        err = KVG_EIO, saved = errno;
    if (err) {
        unlink(tmp);
        return kvg_diag_set(d, err, "%s: cannot write: %s", path, strerror(saved));
    }
    return KVG_OK;
}

static kvg_err prepare_dir(const kvg_certs_opts *o, kvg_diag *d)
{
    struct stat st;
    if (mkdir(o->out_dir, 0755) != 0 && errno != EEXIST)
        return kvg_diag_set(d, KVG_EIO, "--out '%s': cannot create directory: %s",
                            o->out_dir, strerror(errno));
    if (stat(o->out_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return kvg_diag_set(d, KVG_EINVAL, "--out '%s': not a directory", o->out_dir);
    for (size_t i = 0; !o->force && i < 3; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", o->out_dir, out_files[i]);
        if (lstat(path, &st) == 0)
            return kvg_diag_set(d, KVG_EEXIST,
                                "%s already exists; pass --force to overwrite", path);
    }
    return KVG_OK;
}

typedef struct material {
    EVP_PKEY *ca_key, *key;
    X509 *ca, *leaf;
    kvg_buf ca_pem, leaf_pem, key_pem;
} material;

static kvg_err make_material(const kvg_certs_opts *o, material *m, kvg_diag *d)
{
    unsigned days = o->days ? o->days : 365;
    if (!(m->ca_key = new_p256_key()) || !(m->key = new_p256_key()))
        return ssl_fail(d, "generating a P-256 key");
    if (!(m->ca = make_ca(m->ca_key, days)))
        return ssl_fail(d, "building the CA certificate");
    if (!(m->leaf = make_leaf(m->key, m->ca, m->ca_key, o, days)))
        return ssl_fail(d, "building the serving certificate");
    if (pem_cert(m->ca, &m->ca_pem) || pem_cert(m->leaf, &m->leaf_pem) ||
        pem_key(m->key, &m->key_pem))
        return ssl_fail(d, "encoding PEM");
    return KVG_OK;
}

static void free_material(material *m)
{
    EVP_PKEY_free(m->ca_key);
    EVP_PKEY_free(m->key);
    X509_free(m->ca);
    X509_free(m->leaf);
    kvg_buf_free(&m->ca_pem);
    kvg_buf_free(&m->leaf_pem);
    /* The key must not linger in freed heap memory. */
    if (m->key_pem.data)
        OPENSSL_cleanse(m->key_pem.data, m->key_pem.len);
    kvg_buf_free(&m->key_pem);
}

kvg_err kvg_certs_generate(const kvg_certs_opts *o, kvg_buf *ca_bundle,
                           kvg_diag *d)
{
    kvg_err err = check_opts(o, d);
    if (err)
        return err;
    material m = {0};
    kvg_buf_init(&m.ca_pem, 0);
    kvg_buf_init(&m.leaf_pem, 0);
    kvg_buf_init(&m.key_pem, 0);
    err = prepare_dir(o, d);
    if (!err)
        err = make_material(o, &m, d);
    /* Key before certificate: a watcher seeing the new cert with the old key
     * rejects the pair and retries; it never serves a mismatched pair. */
    if (!err)
        err = write_file(o->out_dir, "ca.crt", &m.ca_pem, 0644, d);
    if (!err)
        err = write_file(o->out_dir, "tls.key", &m.key_pem, 0600, d);
    if (!err)
        err = write_file(o->out_dir, "tls.crt", &m.leaf_pem, 0644, d);
    if (!err && ca_bundle && kvg_base64_encode(m.ca_pem.data, m.ca_pem.len, ca_bundle))
        err = kvg_diag_set(d, KVG_ENOMEM, "encoding the caBundle");
    free_material(&m);
    return err;
}
