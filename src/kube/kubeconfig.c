/* Kubeconfig and in-cluster service-account configuration.
 *
 * Follows client-go's clientcmd semantics where kvguard needs them: the
 * explicit context wins over current-context, file references are relative
 * to the kubeconfig's directory, *-data fields are base64 PEM, a field and
 * its -data twin may not both be set. Credential plugins (exec,
 * auth-provider) are refused with a clear message rather than ignored. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "kvguard/json.h"
#include "kvguard/kube.h"

#define KUBECONFIG_MAX (4u << 20)
#define PEM_MAX (1u << 20)

void kvg_kube_config_init(kvg_kube_config *c)
{
    memset(c, 0, sizeof *c);
    kvg_buf_init(&c->ca, PEM_MAX);
    kvg_buf_init(&c->client_cert, PEM_MAX);
    kvg_buf_init(&c->client_key, PEM_MAX);
}

void kvg_kube_config_free(kvg_kube_config *c)
{
    if (!c)
        return;
    free(c->source);
    free(c->server);
    kvg_buf_free(&c->ca);
    kvg_buf_free(&c->client_cert);
    kvg_buf_free(&c->client_key);
    free(c->token);
    free(c->token_file);
    free(c->namespace_);
    memset(c, 0, sizeof *c);
}

/* Parsing context: every error is "kubeconfig PATH: WHERE: what". */
typedef struct kcfg {
    const char *path;
    char dir[4096];
    kvg_kube_config *out;
    kvg_diag *d;
} kcfg;

static kvg_err kfail(const kcfg *k, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static kvg_err kfail(const kcfg *k, const char *where, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (where && *where)
        return kvg_diag_set(k->d, KVG_ECONFIG, "kubeconfig %s: %s: %s",
                            k->path, where, what);
    return kvg_diag_set(k->d, KVG_ECONFIG, "kubeconfig %s: %s", k->path,
                        what);
}

/* Optional string field: NULL when absent; error when present but not a
 * string (a number or a map where a path is expected). */
static kvg_err opt_str(const kcfg *k, const json_object *o, const char *key,
                       const char *where, const char **out)
{
    json_object *v = NULL;
    *out = NULL;
    if (!o || !json_object_object_get_ex(o, key, &v) || !v)
        return KVG_OK;
    if (!json_object_is_type(v, json_type_string))
        return kfail(k, where, "%s must be a string", key);
    *out = json_object_get_string(v);
    if (!**out)
        *out = NULL;
    return KVG_OK;
}

/* Find the entry `name` in the list `list` (clusters, users, contexts) and
 * return its `inner` map (cluster, user, context). */
static kvg_err find_named(const kcfg *k, const json_object *root,
                          const char *list, const char *inner,
                          const char *name, const json_object **out)
{
    json_object *arr = NULL;
    if (!json_object_object_get_ex(root, list, &arr) || !arr ||
        !json_object_is_type(arr, json_type_array))
        return kfail(k, NULL, "%s: no %s list, but %s \"%s\" is needed",
                     list, list, inner, name);
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        const char *ename = kvg_json_str(e, "name", NULL);
        if (!ename || strcmp(ename, name) != 0)
            continue;
        json_object *m = NULL;
        if (!json_object_object_get_ex(e, inner, &m) || !m ||
            !json_object_is_type(m, json_type_object))
            return kfail(k, NULL, "%s[%s]: %s is missing or not a map", list,
                         name, inner);
        *out = m;
        return KVG_OK;
    }
    return kfail(k, NULL, "%s: no entry named \"%s\"", list, name);
}

static void resolve_path(const kcfg *k, const char *p, char *out, size_t n)
{
    if (p[0] == '/' || !k->dir[0])
        snprintf(out, n, "%s", p);
    else
        snprintf(out, n, "%s/%s", k->dir, p);
}

/* Read a referenced file (CA, certificate, key) into b. */
static kvg_err read_ref(const kcfg *k, const char *where, const char *field,
                        const char *p, kvg_buf *b)
{
    char full[4096 + 256];
    kvg_diag fd;
    resolve_path(k, p, full, sizeof full);
    kvg_buf_reset(b);
    if (kvg_buf_read_file(b, full, &fd) != KVG_OK)
        return kfail(k, where, "%s: cannot read %s", field, fd.msg);
    if (b->len == 0)
        return kfail(k, where, "%s: file %s is empty", field, full);
    return KVG_OK;
}

static kvg_err decode_data(const kcfg *k, const char *where, const char *field,
                           const char *text, kvg_buf *b)
{
    kvg_buf_reset(b);
    if (kvg_base64_decode(text, strlen(text), b) != KVG_OK)
        return kfail(k, where, "%s is not valid base64", field);
    if (b->len == 0)
        return kfail(k, where, "%s is empty", field);
    return KVG_OK;
}

typedef enum pem_kind { PEM_CERTS, PEM_KEY } pem_kind;

/* Check the PEM now: a bad certificate found at the first TLS handshake
 * would be reported far from the field that holds it. */
static bool pem_valid(const kvg_buf *b, pem_kind kind)
{
    BIO *bio = BIO_new_mem_buf(b->data, (int)b->len);
    bool ok = false;
    if (!bio)
        return false;
    if (kind == PEM_KEY) {
        EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        ok = key != NULL;
        EVP_PKEY_free(key);
    } else {
        X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        ok = x != NULL;
        X509_free(x);
    }
    BIO_free(bio);
    ERR_clear_error();
    return ok;
}

static bool key_matches(const kvg_buf *cert, const kvg_buf *key)
{
    BIO *cb = BIO_new_mem_buf(cert->data, (int)cert->len);
    BIO *kb = BIO_new_mem_buf(key->data, (int)key->len);
    X509 *x = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *k = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    bool ok = x && k && X509_check_private_key(x, k) == 1;
    X509_free(x);
    EVP_PKEY_free(k);
    BIO_free(cb);
    BIO_free(kb);
    ERR_clear_error();
    return ok;
}

/* A PEM item given either inline (-data) or as a file, never both. */
static kvg_err pem_field(const kcfg *k, const json_object *m,
                         const char *where, const char *file_key,
                         const char *data_key, pem_kind kind, kvg_buf *b,
                         bool *set)
{
    const char *file, *data;
    kvg_err e;
    *set = false;
    if ((e = opt_str(k, m, file_key, where, &file)) != KVG_OK ||
        (e = opt_str(k, m, data_key, where, &data)) != KVG_OK)
        return e;
    if (file && data)
        return kfail(k, where, "%s and %s are both set; set only one",
                     data_key, file_key);
    if (data)
        e = decode_data(k, where, data_key, data, b);
    else if (file)
        e = read_ref(k, where, file_key, file, b);
    else
        return KVG_OK;
    if (e == KVG_OK && !pem_valid(b, kind))
        return kfail(k, where, "%s does not hold a PEM %s",
                     data ? data_key : file_key,
                     kind == PEM_KEY ? "private key" : "certificate");
    *set = e == KVG_OK;
    return e;
}

static kvg_err bool_field(const kcfg *k, const json_object *m,
                          const char *where, const char *key, bool *out)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(m, key, &v) || !v)
        return KVG_OK;
    if (!json_object_is_type(v, json_type_boolean))
        return kfail(k, where, "%s must be true or false", key);
    *out = json_object_get_boolean(v);
    return KVG_OK;
}

static kvg_err parse_cluster(const kcfg *k, const json_object *m,
                             const char *name)
{
    char where[300];
    const char *server, *sni;
    bool set;
    kvg_err e;
    snprintf(where, sizeof where, "clusters[%s].cluster", name);
    if ((e = opt_str(k, m, "server", where, &server)) != KVG_OK)
        return e;
    if (!server)
        return kfail(k, where, "server is missing");
    if (strncmp(server, "https://", 8) != 0 &&
        strncmp(server, "http://", 7) != 0)
        return kfail(k, where, "server \"%s\" is not an http(s):// URL",
                     server);
    if ((e = opt_str(k, m, "tls-server-name", where, &sni)) != KVG_OK)
        return e;
    if (sni)
        return kfail(k, where, "tls-server-name is not supported");
    k->out->server = strdup(server);
    if (!k->out->server)
        return KVG_ENOMEM;
    size_t n = strlen(k->out->server);
    while (n > 0 && k->out->server[n - 1] == '/')
        k->out->server[--n] = '\0';
    if ((e = bool_field(k, m, where, "insecure-skip-tls-verify",
                        &k->out->insecure)) != KVG_OK)
        return e;
    return pem_field(k, m, where, "certificate-authority",
                     "certificate-authority-data", PEM_CERTS, &k->out->ca,
                     &set);
}

static kvg_err parse_user(const kcfg *k, const json_object *m,
                          const char *name)
{
    char where[300];
    const char *token, *token_file, *user;
    bool cert, key;
    kvg_err e;
    snprintf(where, sizeof where, "users[%s].user", name);
    if (kvg_json_path(m, "exec", NULL))
        return kfail(k, where, "exec credential plugins are not supported; "
                     "use a token, tokenFile or client certificate");
    if (kvg_json_path(m, "auth-provider", NULL))
        return kfail(k, where, "auth-provider is not supported; use a token, "
                     "tokenFile or client certificate");
    if ((e = opt_str(k, m, "username", where, &user)) != KVG_OK)
        return e;
    if (user)
        return kfail(k, where, "basic authentication (username) is not "
                     "supported");
    if ((e = pem_field(k, m, where, "client-certificate",
                       "client-certificate-data", PEM_CERTS, &k->out->client_cert,
                       &cert)) != KVG_OK ||
        (e = pem_field(k, m, where, "client-key", "client-key-data",
                       PEM_KEY, &k->out->client_key, &key)) != KVG_OK)
        return e;
    if (cert != key)
        return kfail(k, where, "%s is set without %s",
                     cert ? "client-certificate" : "client-key",
                     cert ? "client-key" : "client-certificate");
    if (cert && !key_matches(&k->out->client_cert, &k->out->client_key))
        return kfail(k, where, "client-key does not match "
                     "client-certificate");
    if ((e = opt_str(k, m, "token", where, &token)) != KVG_OK ||
        (e = opt_str(k, m, "tokenFile", where, &token_file)) != KVG_OK)
        return e;
    /* client-go: a static token wins over tokenFile. */
    if (token) {
        k->out->token = strdup(token);
        return k->out->token ? KVG_OK : KVG_ENOMEM;
    }
    if (token_file) {
        char full[4096 + 256];
        kvg_buf t;
        kvg_diag fd;
        resolve_path(k, token_file, full, sizeof full);
        kvg_buf_init(&t, 64 * 1024);
        e = kvg_buf_read_file(&t, full, &fd);
        kvg_buf_free(&t);
        if (e != KVG_OK)
            return kfail(k, where, "tokenFile: cannot read %s",
                         fd.msg);
        k->out->token_file = strdup(full);
        return k->out->token_file ? KVG_OK : KVG_ENOMEM;
    }
    return KVG_OK;
}

static kvg_err parse_root(kcfg *k, const json_object *root,
                          const char *context)
{
    const char *ctx_name = context, *cluster, *user, *ns;
    const json_object *ctx, *cm, *um;
    char where[300];
    kvg_err e;
    if (!root || !json_object_is_type(root, json_type_object))
        return kfail(k, NULL, "not a kubeconfig (expected a map)");
    if (!ctx_name || !*ctx_name) {
        if ((e = opt_str(k, root, "current-context", "", &ctx_name)) != KVG_OK)
            return e;
        if (!ctx_name)
            return kfail(k, NULL, "current-context is not set and no context "
                         "was given (--context)");
    }
    if ((e = find_named(k, root, "contexts", "context", ctx_name, &ctx)) != KVG_OK)
        return e;
    snprintf(where, sizeof where, "contexts[%s].context", ctx_name);
    if ((e = opt_str(k, ctx, "cluster", where, &cluster)) != KVG_OK ||
        (e = opt_str(k, ctx, "user", where, &user)) != KVG_OK ||
        (e = opt_str(k, ctx, "namespace", where, &ns)) != KVG_OK)
        return e;
    if (!cluster)
        return kfail(k, where, "cluster is missing");
    if ((e = find_named(k, root, "clusters", "cluster", cluster, &cm)) != KVG_OK ||
        (e = parse_cluster(k, cm, cluster)) != KVG_OK)
        return e;
    if (user) {
        if ((e = find_named(k, root, "users", "user", user, &um)) != KVG_OK ||
            (e = parse_user(k, um, user)) != KVG_OK)
            return e;
    }
    k->out->namespace_ = strdup(ns ? ns : "default");
    return k->out->namespace_ ? KVG_OK : KVG_ENOMEM;
}

kvg_err kvg_kubeconfig_parse(const char *text, size_t len, const char *path,
                             const char *context, kvg_kube_config *out,
                             kvg_diag *d)
{
    kcfg k = {.path = path ? path : "<kubeconfig>", .out = out, .d = d};
    kvg_yaml_docs docs = {0};
    kvg_diag yd;
    kvg_err e;
    if (!text || !out)
        return kvg_diag_set(d, KVG_EINVAL, "kubeconfig: no input");
    kvg_kube_config_init(out);
    if (path) {
        const char *slash = strrchr(path, '/');
        if (slash)
            snprintf(k.dir, sizeof k.dir, "%.*s",
                     (int)(slash == path ? 1 : slash - path), path);
    }
    if (kvg_yaml_parse(text, len, k.path, &docs, &yd) != KVG_OK) {
        e = kvg_diag_set(d, KVG_ECONFIG, "kubeconfig %s", yd.msg);
        goto out;
    }
    if (docs.count == 0 || !docs.docs[0].obj) {
        e = kfail(&k, NULL, "the file is empty");
        goto out;
    }
    e = parse_root(&k, docs.docs[0].obj, context);
    if (e == KVG_OK) {
        size_t n = strlen(k.path) + 16;
        out->source = malloc(n);
        if (!out->source)
            e = KVG_ENOMEM;
        else
            snprintf(out->source, n, "kubeconfig %s", k.path);
    }
out:
    kvg_yaml_docs_free(&docs);
    if (e != KVG_OK)
        kvg_kube_config_free(out);
    return e;
}

kvg_err kvg_kubeconfig_load(const char *path, const char *context,
                            kvg_kube_config *out, kvg_diag *d)
{
    kvg_buf b;
    kvg_diag fd;
    kvg_err e;
    if (!path || !out)
        return kvg_diag_set(d, KVG_EINVAL, "kubeconfig: no path");
    kvg_buf_init(&b, KUBECONFIG_MAX);
    e = kvg_buf_read_file(&b, path, &fd);
    if (e != KVG_OK) {
        kvg_buf_free(&b);
        return kvg_diag_set(d, KVG_ECONFIG, "kubeconfig %s: %s", path, fd.msg);
    }
    e = kvg_kubeconfig_parse(b.data ? b.data : "", b.len, path, context, out,
                             d);
    kvg_buf_free(&b);
    return e;
}

/* ---- in-cluster ------------------------------------------------------------ */

static kvg_err read_trimmed(const char *path, char **out, kvg_diag *d)
{
    kvg_buf b;
    kvg_err e;
    kvg_buf_init(&b, 64 * 1024);
    if ((e = kvg_buf_read_file(&b, path, d)) != KVG_OK) {
        kvg_buf_free(&b);
        return e;
    }
    while (b.len > 0 && strchr(" \t\r\n", b.data[b.len - 1]))
        b.data[--b.len] = '\0';
    *out = kvg_buf_steal(&b, NULL);
    if (!*out)
        *out = strdup("");
    return *out ? KVG_OK : KVG_ENOMEM;
}

kvg_err kvg_kube_incluster(const char *sa_dir, kvg_kube_config *out,
                           kvg_diag *d)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    char path[4096], *ns = NULL;
    kvg_diag fd;
    kvg_err e;
    if (!out)
        return KVG_EINVAL;
    kvg_kube_config_init(out);
    if (!sa_dir)
        sa_dir = KVG_KUBE_SA_DIR;
    if (!host || !*host || !port || !*port)
        return kvg_diag_set(d, KVG_ECONFIG,
                            "in-cluster: KUBERNETES_SERVICE_HOST and "
                            "KUBERNETES_SERVICE_PORT are not set (not running "
                            "in a pod? use --kubeconfig)");
    size_t n = strlen(host) + strlen(port) + 16;
    out->server = malloc(n);
    out->source = strdup("in-cluster");
    if (!out->server || !out->source) {
        e = KVG_ENOMEM;
        goto fail;
    }
    /* An IPv6 service address needs brackets in a URL. */
    snprintf(out->server, n, strchr(host, ':') ? "https://[%s]:%s"
                                              : "https://%s:%s", host, port);
    snprintf(path, sizeof path, "%s/token", sa_dir);
    char *tok = NULL;
    if ((e = read_trimmed(path, &tok, &fd)) != KVG_OK) {
        e = kvg_diag_set(d, KVG_ECONFIG, "in-cluster: service account token: "
                         "%s", fd.msg);
        goto fail;
    }
    free(tok);
    if (!(out->token_file = strdup(path))) {
        e = KVG_ENOMEM;
        goto fail;
    }
    snprintf(path, sizeof path, "%s/ca.crt", sa_dir);
    if (kvg_buf_read_file(&out->ca, path, &fd) != KVG_OK) {
        e = kvg_diag_set(d, KVG_ECONFIG, "in-cluster: service account CA: %s",
                         fd.msg);
        goto fail;
    }
    snprintf(path, sizeof path, "%s/namespace", sa_dir);
    if (read_trimmed(path, &ns, &fd) != KVG_OK || !*ns) {
        free(ns);
        ns = strdup("default");
    }
    if (!(out->namespace_ = ns)) {
        e = KVG_ENOMEM;
        goto fail;
    }
    return KVG_OK;
fail:
    kvg_kube_config_free(out);
    return e;
}
