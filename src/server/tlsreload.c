/* kvguard: reloadable TLS credentials for the GnuTLS certificate callback.
 *
 * Every handshake asks kvg_tls_retrieve() for the credentials in force and
 * takes a reference that lives until its connection closes (GnuTLS keeps
 * pointing at the certificate and key it was handed for the session). A
 * watcher thread swaps in a new pair after validating it; the old pair is
 * freed when its last session drops it, so a rotation never breaks a
 * handshake in flight. */
#include "server/internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <gnutls/x509.h>

#include "kvguard/buf.h"
#include "kvguard/log.h"
#include "kvguard/metrics.h"

#define MAX_CHAIN 16
#define MAX_PEM_BYTES (1u << 20)
#define SESSION_BUCKETS 256

typedef struct creds {
    unsigned refs; /* under the store lock: 1 for "current" + 1 per session */
    gnutls_pcert_st pcerts[MAX_CHAIN];
    unsigned n_pcerts;
    gnutls_privkey_t key;
    double not_after; /* unix seconds */
    char serial[72];  /* hex */
} creds;

typedef struct file_sig {
    bool ok;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} file_sig;

typedef struct session_ref {
    struct session_ref *next;
    gnutls_session_t session;
    creds *c;
} session_ref;

struct kvg_tls_store {
    pthread_mutex_t lock; /* current, refs, sessions */
    creds *current;
    session_ref *sessions[SESSION_BUCKETS];

    char *cert_path, *key_path;
    file_sig cert_sig, key_sig; /* the files last tried (watcher only) */
    unsigned poll_ms;

    pthread_mutex_t wlock;
    pthread_cond_t wcond;
    bool stop, thread_started;
    pthread_t thread;
};

/* The GnuTLS callback has no closure: the store of the running server. */
static kvg_tls_store *g_store;
static pthread_mutex_t g_store_lock = PTHREAD_MUTEX_INITIALIZER;

static void creds_free(creds *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < c->n_pcerts; i++)
        gnutls_pcert_deinit(&c->pcerts[i]);
    if (c->key)
        gnutls_privkey_deinit(c->key);
    free(c);
}

/* Caller holds s->lock; returns the creds to free after unlocking, or NULL. */
static creds *creds_unref_locked(creds *c)
{
    return --c->refs == 0 ? c : NULL;
}

static kvg_err tls_fail(kvg_diag *d, int ret, const char *what)
{
    return kvg_diag_set(d, KVG_ETLS, "%s: %s", what, gnutls_strerror(ret));
}

static kvg_err pubkey_der(gnutls_pubkey_t pk, gnutls_datum_t *out)
{
    return gnutls_pubkey_export2(pk, GNUTLS_X509_FMT_DER, out) < 0 ? KVG_ETLS
                                                                   : KVG_OK;
}

/* The key must belong to the leaf certificate: compare the public keys. */
static kvg_err check_match(creds *c, kvg_diag *d)
{
    gnutls_pubkey_t pub = NULL;
    gnutls_datum_t a = {0}, b = {0};
    kvg_err err = KVG_ETLS;
    if (gnutls_pubkey_init(&pub) >= 0 &&
        gnutls_pubkey_import_privkey(pub, c->key, 0, 0) >= 0 &&
        !pubkey_der(pub, &a) && !pubkey_der(c->pcerts[0].pubkey, &b))
        err = a.size == b.size && !memcmp(a.data, b.data, a.size)
                  ? KVG_OK
                  : kvg_diag_set(d, KVG_ETLS,
                                 "the private key does not match the certificate");
    else
        kvg_diag_set(d, KVG_ETLS, "cannot extract the public keys to compare");
    gnutls_free(a.data);
    gnutls_free(b.data);
    if (pub)
        gnutls_pubkey_deinit(pub);
    return err;
}

static void read_leaf_info(creds *c)
{
    gnutls_x509_crt_t crt;
    if (gnutls_pcert_export_x509(&c->pcerts[0], &crt) < 0)
        return;
    c->not_after = (double)gnutls_x509_crt_get_expiration_time(crt);
    unsigned char raw[32];
    size_t n = sizeof raw;
    if (gnutls_x509_crt_get_serial(crt, raw, &n) >= 0)
        for (size_t i = 0; i < n && 2 * i + 2 < sizeof c->serial; i++)
            snprintf(c->serial + 2 * i, 3, "%02x", raw[i]);
    gnutls_x509_crt_deinit(crt);
}

static kvg_err parse_creds(const char *cert, size_t cert_len, const char *key,
                           size_t key_len, creds **out, kvg_diag *d)
{
    creds *c = calloc(1, sizeof *c);
    if (!c)
        return KVG_ENOMEM;
    gnutls_datum_t cd = {(unsigned char *)cert, (unsigned)cert_len};
    gnutls_datum_t kd = {(unsigned char *)key, (unsigned)key_len};
    unsigned n = MAX_CHAIN;
    int ret = gnutls_pcert_list_import_x509_raw(c->pcerts, &n, &cd,
                                                GNUTLS_X509_FMT_PEM, 0);
    kvg_err err = KVG_OK;
    if (ret < 0 || n == 0)
        err = tls_fail(d, ret < 0 ? ret : GNUTLS_E_NO_CERTIFICATE_FOUND,
                       "certificate");
    else
        c->n_pcerts = n;
    if (!err && (ret = gnutls_privkey_init(&c->key)) < 0)
        err = tls_fail(d, ret, "private key");
    if (!err && (ret = gnutls_privkey_import_x509_raw(
                     c->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0)
        err = tls_fail(d, ret, "private key");
    if (!err)
        err = check_match(c, d);
    if (err) {
        creds_free(c);
        return err;
    }
    read_leaf_info(c);
    c->refs = 1;
    *out = c;
    return KVG_OK;
}

kvg_err kvg_tls_check_pair(const char *cert_pem, size_t cert_len,
                           const char *key_pem, size_t key_len, kvg_diag *d)
{
    creds *c = NULL;
    kvg_err err = parse_creds(cert_pem, cert_len, key_pem, key_len, &c, d);
    creds_free(c);
    return err;
}

static kvg_err load_creds(const char *cert_path, const char *key_path,
                          creds **out, kvg_diag *d)
{
    kvg_buf cert, key;
    kvg_buf_init(&cert, MAX_PEM_BYTES);
    kvg_buf_init(&key, MAX_PEM_BYTES);
    kvg_err err = kvg_buf_read_file(&cert, cert_path, d);
    if (!err && !(err = kvg_buf_read_file(&key, key_path, d))) {
        err = parse_creds(cert.data ? cert.data : "", cert.len,
                          key.data ? key.data : "", key.len, out, d);
        if (err)
            kvg_diag_prefix(d, "%s + %s", cert_path, key_path);
    }
    kvg_buf_free(&cert);
    if (key.data) /* no copy of the private key left in freed memory */
        memset(key.data, 0, key.len);
    kvg_buf_free(&key);
    return err;
}

static void stat_sig(const char *path, file_sig *out)
{
    struct stat st;
    memset(out, 0, sizeof *out);
    if (stat(path, &st) != 0) /* follows the ..data symlinks of Secret volumes */
        return;
    out->ok = true;
    out->dev = st.st_dev;
    out->ino = st.st_ino;
    out->size = st.st_size;
    out->mtime = st.st_mtim;
}

static bool sig_eq(const file_sig *a, const file_sig *b)
{
    return a->ok == b->ok && a->dev == b->dev && a->ino == b->ino &&
           a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void publish_metrics(const creds *c)
{
    kvg_metrics_set("kvguard_tls_cert_not_after_seconds", "", c->not_after);
}

static void register_metrics(void)
{
    kvg_metrics_register("kvguard_tls_cert_not_after_seconds", KVG_METRIC_GAUGE,
                         "Expiry (unix seconds) of the serving certificate in use.",
                         NULL, 0);
    kvg_metrics_register("kvguard_tls_reload_total", KVG_METRIC_COUNTER,
                         "Certificate reloads after the files changed, by result.",
                         NULL, 0);
}

static void swap_in(kvg_tls_store *s, creds *c)
{
    pthread_mutex_lock(&s->lock);
    creds *old = s->current;
    s->current = c;
    creds *dead = old ? creds_unref_locked(old) : NULL;
    pthread_mutex_unlock(&s->lock);
    creds_free(dead);
    publish_metrics(c);
}

static void log_reload_ok(const kvg_tls_store *s, const creds *c)
{
    char kv[256];
    snprintf(kv, sizeof kv, "\"serial\":\"%s\",\"not_after\":%.0f", c->serial,
             c->not_after);
    kvg_logf_kv(KVG_LOG_INFO, "tls.reload", kv,
                "serving the new certificate from %s", s->cert_path);
    kvg_metrics_inc("kvguard_tls_reload_total", "result=\"success\"", 1);
}

static void reload_failed(const char *why)
{
    kvg_logf(KVG_LOG_ERROR, "tls.reload",
             "keeping the current certificate: %s", why);
    kvg_metrics_inc("kvguard_tls_reload_total", "result=\"error\"", 1);
}

/* Called by the watcher: reload when either file changed since last try. */
static void check_reload(kvg_tls_store *s)
{
    file_sig cs, ks;
    stat_sig(s->cert_path, &cs);
    stat_sig(s->key_path, &ks);
    if (sig_eq(&cs, &s->cert_sig) && sig_eq(&ks, &s->key_sig))
        return;
    s->cert_sig = cs;
    s->key_sig = ks;
    if (!cs.ok || !ks.ok) {
        char why[512];
        snprintf(why, sizeof why, "%s: %s", !cs.ok ? s->cert_path : s->key_path,
                 "missing or unreadable");
        reload_failed(why);
        return;
    }
    creds *c = NULL;
    kvg_diag d = {{0}};
    if (load_creds(s->cert_path, s->key_path, &c, &d)) {
        reload_failed(d.msg);
        return;
    }
    if (c->not_after > 0 && c->not_after < (double)time(NULL)) {
        creds_free(c);
        reload_failed("the new certificate has expired");
        return;
    }
    swap_in(s, c);
    log_reload_ok(s, c);
}

static void *watch_main(void *arg)
{
    kvg_tls_store *s = arg;
    pthread_mutex_lock(&s->wlock);
    while (!s->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += s->poll_ms / 1000;
        until.tv_nsec += (long)(s->poll_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!s->stop &&
               pthread_cond_timedwait(&s->wcond, &s->wlock, &until) != ETIMEDOUT)
            ;
        if (s->stop)
            break;
        pthread_mutex_unlock(&s->wlock);
        check_reload(s);
        pthread_mutex_lock(&s->wlock);
    }
    pthread_mutex_unlock(&s->wlock);
    return NULL;
}

static kvg_err init_sync(kvg_tls_store *s)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return KVG_ENOMEM;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&s->wcond, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return KVG_ENOMEM;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->wlock, NULL);
    return KVG_OK;
}

static kvg_err first_load(kvg_tls_store *s, kvg_diag *d)
{
    stat_sig(s->cert_path, &s->cert_sig);
    stat_sig(s->key_path, &s->key_sig);
    creds *c = NULL;
    kvg_err err = load_creds(s->cert_path, s->key_path, &c, d);
    if (err)
        return err;
    s->current = c;
    publish_metrics(c);
    if (c->not_after > 0 && c->not_after < (double)time(NULL))
        kvg_logf(KVG_LOG_WARN, "tls.expired",
                 "the serving certificate %s has expired", s->cert_path);
    return KVG_OK;
}

kvg_err kvg_tls_store_start(const char *cert_path, const char *key_path,
                            unsigned poll_ms, kvg_tls_store **out, kvg_diag *d)
{
    if (!cert_path || !*cert_path || !key_path || !*key_path)
        return kvg_diag_set(d, KVG_ECONFIG,
                            "tls: both a certificate and a key file are required");
    kvg_tls_store *s = calloc(1, sizeof *s);
    if (!s || init_sync(s)) {
        free(s);
        return KVG_ENOMEM;
    }
    s->poll_ms = poll_ms ? poll_ms : 1000;
    s->cert_path = strdup(cert_path);
    s->key_path = strdup(key_path);
    register_metrics();
    kvg_err err = !s->cert_path || !s->key_path ? KVG_ENOMEM : first_load(s, d);
    if (err)
        kvg_diag_prefix(d, "tls");
    pthread_mutex_lock(&g_store_lock);
    if (!err && g_store)
        err = kvg_diag_set(d, KVG_EINVAL, "tls: one server per process");
    if (!err)
        g_store = s;
    pthread_mutex_unlock(&g_store_lock);
    if (!err && pthread_create(&s->thread, NULL, watch_main, s) != 0)
        err = kvg_diag_set(d, KVG_ENOMEM, "tls: cannot start the watcher thread");
    s->thread_started = !err;
    if (err) {
        kvg_tls_store_free(s);
        return err;
    }
    *out = s;
    return KVG_OK;
}

void kvg_tls_store_free(kvg_tls_store *s)
{
    if (!s)
        return;
    if (s->thread_started) {
        pthread_mutex_lock(&s->wlock);
        s->stop = true;
        pthread_cond_signal(&s->wcond);
        pthread_mutex_unlock(&s->wlock);
        pthread_join(s->thread, NULL);
    }
    pthread_mutex_lock(&g_store_lock);
    if (g_store == s)
        g_store = NULL;
    pthread_mutex_unlock(&g_store_lock);
    /* The daemon is stopped: sessions left in the table are dead. */
    for (size_t i = 0; i < SESSION_BUCKETS; i++)
        for (session_ref *r = s->sessions[i], *n; r; r = n) {
            n = r->next;
            creds_free(creds_unref_locked(r->c));
            free(r);
        }
    if (s->current)
        creds_free(creds_unref_locked(s->current));
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->wlock);
    pthread_cond_destroy(&s->wcond);
    free(s->cert_path);
    free(s->key_path);
    free(s);
}

static size_t bucket_of(gnutls_session_t session)
{
    uintptr_t p = (uintptr_t)session;
    return (size_t)((p >> 4) ^ (p >> 12)) % SESSION_BUCKETS;
}

/* Detaches the session's reference; caller holds s->lock. */
static creds *drop_session_locked(kvg_tls_store *s, gnutls_session_t session)
{
    for (session_ref **pp = &s->sessions[bucket_of(session)]; *pp;
         pp = &(*pp)->next) {
        session_ref *r = *pp;
        if (r->session != session)
            continue;
        *pp = r->next;
        creds *dead = creds_unref_locked(r->c);
        free(r);
        return dead;
    }
    return NULL;
}

int kvg_tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn,
                     int nreqs, const gnutls_pk_algorithm_t *pk_algos,
                     int pk_algos_length, gnutls_pcert_st **pcert,
                     unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
    (void)req_ca_dn, (void)nreqs, (void)pk_algos, (void)pk_algos_length;
    session_ref *r = malloc(sizeof *r);
    pthread_mutex_lock(&g_store_lock);
    kvg_tls_store *s = g_store;
    if (!s || !r) {
        pthread_mutex_unlock(&g_store_lock);
        free(r);
        return -1;
    }
    pthread_mutex_lock(&s->lock);
    /* A renegotiation asks again: the session then holds the newer pair. */
    creds *dead = drop_session_locked(s, session);
    creds *c = s->current;
    c->refs++;
    r->session = session;
    r->c = c;
    r->next = s->sessions[bucket_of(session)];
    s->sessions[bucket_of(session)] = r;
    pthread_mutex_unlock(&s->lock);
    pthread_mutex_unlock(&g_store_lock);
    creds_free(dead);
    *pcert = c->pcerts;
    *pcert_length = c->n_pcerts;
    *privkey = c->key;
    return 0;
}

void kvg_tls_session_closed(gnutls_session_t session)
{
    pthread_mutex_lock(&g_store_lock);
    kvg_tls_store *s = g_store;
    creds *dead = NULL;
    if (s) {
        pthread_mutex_lock(&s->lock);
        dead = drop_session_locked(s, session);
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&g_store_lock);
    creds_free(dead);
}

void kvg_tls_store_serial(kvg_tls_store *s, char *out, size_t n)
{
    pthread_mutex_lock(&s->lock);
    snprintf(out, n, "%s", s->current ? s->current->serial : "");
    pthread_mutex_unlock(&s->lock);
}
