/* The HTTP engine of the Kubernetes client: handle pool, credentials,
 * timeouts, retries with backoff, Status decoding. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>

#include "kube/internal.h"
#include "kvguard/json.h"
#include "kvguard/log.h"

#define POOL_MAX 16
#define RESP_LIMIT (256u << 20)
#define TOKEN_MAX (64u * 1024)

struct kvg_kube_client {
    kvg_kube_config cfg;
    kvg_kube_tuning tune;
    pthread_mutex_t mu; /* pool and token */
    CURL *pool[POOL_MAX];
    size_t npool;
    char *token;        /* current bearer token (from cfg.token or the file) */
    struct stat tok_st; /* of token_file when last read */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static const kvg_kube_tuning default_tuning = {
    .connect_timeout_ms = 5000,
    .request_timeout_ms = 30000,
    .watch_low_speed_s = 120,
    .max_attempts = 5,
    .backoff_base_ms = 200,
    .backoff_max_ms = 5000,
    .retry_after_max_s = 30,
};

static kvg_err copy_buf(kvg_buf *dst, const kvg_buf *src)
{
    kvg_buf_init(dst, src->limit);
    return src->len ? kvg_buf_append(dst, src->data, src->len) : KVG_OK;
}

static kvg_err copy_config(kvg_kube_config *dst, const kvg_kube_config *src)
{
    kvg_kube_config_init(dst);
    dst->insecure = src->insecure;
#define DUP(f)                                                               \
    if (src->f && !(dst->f = strdup(src->f)))                                \
        return KVG_ENOMEM;
    DUP(source) DUP(server) DUP(token) DUP(token_file) DUP(namespace_)
#undef DUP
    if (copy_buf(&dst->ca, &src->ca) != KVG_OK ||
        copy_buf(&dst->client_cert, &src->client_cert) != KVG_OK ||
        copy_buf(&dst->client_key, &src->client_key) != KVG_OK)
        return KVG_ENOMEM;
    return KVG_OK;
}

kvg_err kvg_kube_client_new(const kvg_kube_config *cfg, kvg_kube_client **out,
                            kvg_diag *d)
{
    if (!cfg || !out || !cfg->server)
        return kvg_diag_set(d, KVG_EINVAL, "kube client: no server");
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return kvg_diag_set(d, KVG_EHTTP, "libcurl init: %s",
                            curl_easy_strerror(curl_init_rc));
    kvg_kube_client *c = calloc(1, sizeof *c);
    if (!c)
        return KVG_ENOMEM;
    pthread_mutex_init(&c->mu, NULL);
    c->tune = default_tuning;
    if (copy_config(&c->cfg, cfg) != KVG_OK ||
        (cfg->token && !(c->token = strdup(cfg->token)))) {
        kvg_kube_client_free(c);
        return KVG_ENOMEM;
    }
    if (!c->cfg.namespace_ && !(c->cfg.namespace_ = strdup("default"))) {
        kvg_kube_client_free(c);
        return KVG_ENOMEM;
    }
    *out = c;
    return KVG_OK;
}

void kvg_kube_client_free(kvg_kube_client *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->npool; i++)
        curl_easy_cleanup(c->pool[i]);
    kvg_kube_config_free(&c->cfg);
    free(c->token);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void kvg_kube_client_tune(kvg_kube_client *c, const kvg_kube_tuning *t)
{
    if (c && t)
        c->tune = *t;
}

const char *kvg_kube_client_namespace(const kvg_kube_client *c)
{
    return c ? c->cfg.namespace_ : NULL;
}

/* ---- handles -------------------------------------------------------------- */

/* A reset handle keeps its live connections, so borrowing from a pool gives
 * connection reuse without sharing one handle between threads. */
static CURL *handle_take(kvg_kube_client *c)
{
    CURL *h = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->npool > 0)
        h = c->pool[--c->npool];
    pthread_mutex_unlock(&c->mu);
    if (h)
        curl_easy_reset(h);
    else
        h = curl_easy_init();
    return h;
}

static void handle_give(kvg_kube_client *c, CURL *h)
{
    pthread_mutex_lock(&c->mu);
    if (c->npool < POOL_MAX) {
        c->pool[c->npool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (h)
        curl_easy_cleanup(h);
}

/* ---- credentials ---------------------------------------------------------- */

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
           a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Bound service-account tokens rotate (kubelet swaps the file about every
 * hour), so the file is re-read whenever it changed. A failed re-read keeps
 * the previous token: the old one is still valid for a while. */
static void token_refresh_locked(kvg_kube_client *c)
{
    struct stat st;
    if (!c->cfg.token_file || stat(c->cfg.token_file, &st) != 0)
        return;
    if (c->token && same_file(&st, &c->tok_st))
        return;
    kvg_buf b;
    kvg_diag d;
    kvg_buf_init(&b, TOKEN_MAX);
    if (kvg_buf_read_file(&b, c->cfg.token_file, &d) == KVG_OK && b.len) {
        while (b.len > 0 && strchr(" \t\r\n", b.data[b.len - 1]))
            b.data[--b.len] = '\0';
        free(c->token);
        c->token = kvg_buf_steal(&b, NULL);
        c->tok_st = st;
    } else {
        kvg_logf(KVG_LOG_WARN, "kube.token", "cannot re-read %s: %s",
                 c->cfg.token_file, d.msg);
    }
    kvg_buf_free(&b);
}

static struct curl_slist *auth_header(kvg_kube_client *c,
                                      struct curl_slist *l, bool *ok)
{
    char *hdr = NULL;
    pthread_mutex_lock(&c->mu);
    token_refresh_locked(c);
    if (c->token) {
        size_t n = strlen(c->token) + 32;
        if ((hdr = malloc(n)))
            snprintf(hdr, n, "Authorization: Bearer %s", c->token);
        else
            *ok = false;
    }
    pthread_mutex_unlock(&c->mu);
    if (!hdr)
        return l;
    struct curl_slist *n = curl_slist_append(l, hdr);
    /* don't leave the token in freed heap memory */
    memset(hdr, 0, strlen(hdr));
    free(hdr);
    if (!n)
        *ok = false;
    return n ? n : l;
}

/* ---- one attempt ---------------------------------------------------------- */

typedef struct xfer {
    CURL *h;
    const kvg_kube_req *req;
    const kvg_kube_call *call;
    kvg_buf body;          /* response body (error bodies of watches too) */
    long retry_after_s;    /* -1: none */
    bool delivered;        /* watch bytes went to the parser */
    kvg_err sink_err;      /* why a callback stopped the transfer */
    kvg_diag sink_diag;
} xfer;

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t n = size * nmemb;
    long code = 0;
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
    if (x->req->watch && code == 200) {
        x->delivered = true;
        x->sink_err = kvg_watch_parser_feed(x->req->parser, ptr, n,
                                            &x->sink_diag);
        return x->sink_err == KVG_OK ? n : 0;
    }
    x->sink_err = kvg_buf_append(&x->body, ptr, n);
    if (x->sink_err != KVG_OK)
        kvg_diag_set(&x->sink_diag, x->sink_err,
                     "response body exceeds %zu bytes", x->body.limit);
    return x->sink_err == KVG_OK ? n : 0;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    xfer *x = ud;
    size_t n = size * nitems;
    if (n > 5 && strncmp(buf, "HTTP/", 5) == 0)
        x->retry_after_s = -1; /* a new response (after 100, redirects) */
    else if (n > 12 && strncasecmp(buf, "Retry-After:", 12) == 0) {
        char tmp[32];
        size_t k = n - 12 < sizeof tmp - 1 ? n - 12 : sizeof tmp - 1;
        memcpy(tmp, buf + 12, k);
        tmp[k] = '\0';
        char *end;
        long v = strtol(tmp, &end, 10);
        /* HTTP-date values are left to the exponential backoff */
        if (end != tmp && v >= 0)
            x->retry_after_s = v;
    }
    return n;
}

static bool canceled(const kvg_kube_call *call)
{
    return call && call->cancel && atomic_load(call->cancel);
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un)
{
    xfer *x = ud;
    return canceled(x->call) ? 1 : 0;
}

static kvg_err set_tls(kvg_kube_client *c, CURL *h)
{
    CURLcode rc = CURLE_OK;
    struct curl_blob blob = {.flags = CURL_BLOB_NOCOPY};
    if (c->cfg.ca.len) {
        blob.data = c->cfg.ca.data;
        blob.len = c->cfg.ca.len;
        rc |= curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (c->cfg.client_cert.len) {
        blob.data = c->cfg.client_cert.data;
        blob.len = c->cfg.client_cert.len;
        rc |= curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &blob);
        rc |= curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
        blob.data = c->cfg.client_key.data;
        blob.len = c->cfg.client_key.len;
        rc |= curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &blob);
        rc |= curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (c->cfg.insecure) {
        rc |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        rc |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    rc |= curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    return rc == CURLE_OK ? KVG_OK : KVG_ETLS;
}

static kvg_err set_method(CURL *h, const kvg_kube_req *req)
{
    CURLcode rc = CURLE_OK;
    if (strcmp(req->method, "GET") == 0)
        return curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) ? KVG_EHTTP : KVG_OK;
    rc |= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    if (req->body) {
        rc |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                               (curl_off_t)req->body_len);
        rc |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
    }
    return rc == CURLE_OK ? KVG_OK : KVG_EHTTP;
}

static kvg_err set_options(kvg_kube_client *c, xfer *x, const char *url,
                           struct curl_slist *hdrs, char *errbuf)
{
    CURL *h = x->h;
    CURLcode rc = CURLE_OK;
    const kvg_kube_tuning *t = &c->tune;
    rc |= curl_easy_setopt(h, CURLOPT_URL, url);
    rc |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    rc |= curl_easy_setopt(h, CURLOPT_USERAGENT, "kvguard/" KVG_VERSION);
    rc |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    rc |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    rc |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    rc |= curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    rc |= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    rc |= curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    rc |= curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    rc |= curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    rc |= curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
    rc |= curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    rc |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, t->connect_timeout_ms);
    /* a dead peer behind a silent watch is found by keepalive probes */
    rc |= curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    rc |= curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
    rc |= curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 10L);
    rc |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (x->req->watch) {
        long total = (x->req->watch_timeout_s + 30) * 1000L;
        rc |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total);
        rc |= curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        rc |= curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, t->watch_low_speed_s);
    } else {
        rc |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, t->request_timeout_ms);
    }
    if (rc != CURLE_OK)
        return KVG_EHTTP;
    kvg_err e = set_tls(c, h);
    return e == KVG_OK ? set_method(h, x->req) : e;
}

static struct curl_slist *build_headers(kvg_kube_client *c,
                                        const kvg_kube_req *req, bool *ok)
{
    struct curl_slist *l = NULL, *n;
    char ct[128];
    *ok = true;
    const char *fixed[] = {"Accept: application/json", "Expect:", NULL};
    for (size_t i = 0; fixed[i]; i++) {
        if (!(n = curl_slist_append(l, fixed[i]))) {
            *ok = false;
            return l;
        }
        l = n;
    }
    if (req->ctype) {
        snprintf(ct, sizeof ct, "Content-Type: %s", req->ctype);
        if (!(n = curl_slist_append(l, ct))) {
            *ok = false;
            return l;
        }
        l = n;
    }
    return auth_header(c, l, ok);
}

/* Transport errors that are worth another try of an idempotent call. */
static bool transient(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

/* Failures where the request certainly never reached the server. */
static bool not_sent(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST;
}

static kvg_err curl_err(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return KVG_ETIMEOUT;
    case CURLE_ABORTED_BY_CALLBACK:
        return KVG_ECANCELED;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
        return KVG_ETLS;
    default:
        return KVG_EHTTP;
    }
}

/* ---- status ---------------------------------------------------------------- */

kvg_err kvg_kube_err_of_status(int code, const char *reason)
{
    if (code == 404)
        return KVG_ENOTFOUND;
    if (code == 409)
        return reason && strcmp(reason, "AlreadyExists") == 0 ? KVG_EEXIST
                                                              : KVG_ECONFLICT;
    if (code == 410 || (reason && (strcmp(reason, "Expired") == 0 ||
                                   strcmp(reason, "Gone") == 0)))
        return KVG_EGONE;
    return KVG_EAPI;
}

static void copy_text(char *dst, size_t n, const char *src, size_t len)
{
    size_t k = 0;
    for (size_t i = 0; i < len && k + 1 < n; i++)
        dst[k++] = (src[i] == '\n' || src[i] == '\r' || src[i] == '\t')
                       ? ' ' : src[i];
    dst[k] = '\0';
    while (k > 0 && dst[k - 1] == ' ')
        dst[--k] = '\0';
}

void kvg_kube_status_decode(int code, const char *body, size_t len,
                            kvg_kube_status *st)
{
    json_object *o = NULL;
    memset(st, 0, sizeof *st);
    st->code = code;
    if (body && len && kvg_json_parse(body, len, 0, &o, NULL) == KVG_OK &&
        kvg_json_str_eq(o, "kind", "Status")) {
        const char *s;
        int64_t c = kvg_json_int(0, o, "code", NULL);
        if (c > 0)
            st->code = (int)c;
        if ((s = kvg_json_str(o, "reason", NULL)))
            copy_text(st->reason, sizeof st->reason, s, strlen(s));
        if ((s = kvg_json_str(o, "message", NULL)))
            copy_text(st->message, sizeof st->message, s, strlen(s));
    } else if (body && len) {
        copy_text(st->message, sizeof st->message, body, len);
    }
    json_object_put(o);
    if (!st->reason[0]) {
        const char *r = code == 404 ? "NotFound" : code == 409 ? "Conflict"
                      : code == 410 ? "Gone" : code == 429 ? "TooManyRequests"
                      : code == 401 ? "Unauthorized" : code == 403 ? "Forbidden"
                      : code >= 500 ? "InternalError" : "";
        snprintf(st->reason, sizeof st->reason, "%s", r);
    }
}

/* ---- retries --------------------------------------------------------------- */

static uint64_t jitter_rand(void)
{
    static _Thread_local uint64_t s;
    if (!s) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)(uintptr_t)&s ^
            (uint64_t)ts.tv_sec;
        s |= 1;
    }
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

/* Exponential backoff with "equal jitter": half fixed, half random, so
 * clients restarted together spread out but still wait a minimum. */
static long backoff_ms(const kvg_kube_tuning *t, int attempt)
{
    long d = t->backoff_base_ms;
    for (int i = 1; i < attempt && d < t->backoff_max_ms; i++)
        d *= 2;
    if (d > t->backoff_max_ms)
        d = t->backoff_max_ms;
    long half = d / 2;
    return half + (long)(jitter_rand() % (uint64_t)(half + 1));
}

/* Sleep that a cancel flag interrupts; false when canceled. */
static bool nap(long ms, const kvg_kube_call *call)
{
    while (ms > 0) {
        if (canceled(call))
            return false;
        long step = ms < 50 ? ms : 50;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
    return !canceled(call);
}

typedef enum verdict { DONE, RETRY } verdict;

static verdict judge(const kvg_kube_client *c, const kvg_kube_req *req,
                     const xfer *x, CURLcode rc, long code, int attempt)
{
    if (attempt >= c->tune.max_attempts || canceled(x->call))
        return DONE;
    if (req->watch &&
        (x->delivered || (rc == CURLE_OPERATION_TIMEDOUT && code == 200)))
        return DONE; /* the caller resumes from the last resourceVersion */
    if (rc != CURLE_OK) {
        if (x->sink_err != KVG_OK)
            return DONE;
        return (not_sent(rc) || (req->idempotent && transient(rc))) ? RETRY
                                                                    : DONE;
    }
    /* 429 comes from the apiserver's flow control before any handler ran:
     * nothing was applied, so even a POST may be sent again. */
    if (code == 429)
        return RETRY;
    if (code >= 500 && req->idempotent)
        return RETRY;
    return DONE;
}

static long wait_ms(const kvg_kube_client *c, const xfer *x, int attempt)
{
    if (x->retry_after_s > 0) {
        long s = x->retry_after_s < c->tune.retry_after_max_s
                     ? x->retry_after_s : c->tune.retry_after_max_s;
        return s * 1000L;
    }
    return backoff_ms(&c->tune, attempt);
}

static kvg_err finish(kvg_kube_client *c, const kvg_kube_req *req, xfer *x,
                      CURLcode rc, long code, const char *errbuf,
                      const kvg_kube_call *call, kvg_diag *d)
{
    if (rc != CURLE_OK) {
        if (x->sink_err != KVG_OK) {
            if (d)
                *d = x->sink_diag;
            return x->sink_err;
        }
        if (rc == CURLE_ABORTED_BY_CALLBACK)
            return kvg_diag_set(d, KVG_ECANCELED, "%s %s: canceled",
                                req->method, req->path);
        /* A watch silent for the low-speed time (no event, no bookmark) or
         * kept open past its timeout ends like one the server closed: the
         * caller resumes; a dead server then fails to connect. */
        if (req->watch && rc == CURLE_OPERATION_TIMEDOUT && code == 200) {
            kvg_logf(KVG_LOG_DEBUG, "kube.watch", "%s: %s, resuming",
                     req->path, errbuf[0] ? errbuf : "timed out");
            return KVG_OK;
        }
        return kvg_diag_set(d, curl_err(rc), "%s %s%s: %s", req->method,
                            c->cfg.server, req->path,
                            errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
    if (code >= 200 && code < 300)
        return KVG_OK;
    kvg_kube_status st;
    kvg_kube_status_decode((int)code, x->body.data, x->body.len, &st);
    if (call && call->status)
        *call->status = st;
    return kvg_diag_set(d, kvg_kube_err_of_status(st.code, st.reason),
                        "%s %s: %d %s: %s", req->method, req->path, st.code,
                        st.reason, st.message[0] ? st.message : "(no message)");
}

kvg_err kvg_kube_do(kvg_kube_client *c, const kvg_kube_req *req,
                    kvg_buf *resp, const kvg_kube_call *call, kvg_diag *d)
{
    size_t n = strlen(c->cfg.server) + strlen(req->path) + 1;
    char *url = malloc(n);
    char errbuf[CURL_ERROR_SIZE];
    kvg_err e = KVG_OK;
    if (!url)
        return KVG_ENOMEM;
    snprintf(url, n, "%s%s", c->cfg.server, req->path);
    if (call && call->status)
        memset(call->status, 0, sizeof *call->status);
    for (int attempt = 1;; attempt++) {
        bool ok;
        xfer x = {.req = req, .call = call, .retry_after_s = -1};
        kvg_buf_init(&x.body, RESP_LIMIT);
        struct curl_slist *hdrs = build_headers(c, req, &ok);
        x.h = handle_take(c);
        errbuf[0] = '\0';
        if (!ok || !x.h)
            e = KVG_ENOMEM;
        else
            e = set_options(c, &x, url, hdrs, errbuf);
        CURLcode rc = CURLE_OK;
        long code = 0;
        if (e == KVG_OK) {
            rc = curl_easy_perform(x.h);
            curl_easy_getinfo(x.h, CURLINFO_RESPONSE_CODE, &code);
        }
        if (x.h)
            handle_give(c, x.h);
        curl_slist_free_all(hdrs);
        if (e != KVG_OK) {
            kvg_buf_free(&x.body);
            kvg_diag_set(d, e, "%s %s: cannot set up the request", req->method,
                         req->path);
            break;
        }
        if (judge(c, req, &x, rc, code, attempt) == RETRY) {
            long ms = wait_ms(c, &x, attempt);
            kvg_logf(KVG_LOG_DEBUG, "kube.retry", "%s %s: %s, retry %d in %ld ms",
                     req->method, req->path,
                     rc ? curl_easy_strerror(rc) : "server error", attempt, ms);
            kvg_buf_free(&x.body);
            if (!nap(ms, call)) {
                e = kvg_diag_set(d, KVG_ECANCELED, "%s %s: canceled",
                                 req->method, req->path);
                break;
            }
            continue;
        }
        e = finish(c, req, &x, rc, code, errbuf, call, d);
        if (e == KVG_OK && resp) {
            kvg_buf_free(resp);
            *resp = x.body;
        } else {
            kvg_buf_free(&x.body);
        }
        break;
    }
    free(url);
    return e;
}

/* ---- paths ----------------------------------------------------------------- */

/* Names go into the URL path verbatim: refuse what would change its meaning. */
static bool valid_segment(const char *s)
{
    if (!s || !*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    return strpbrk(s, "/?#% \t\r\n") == NULL;
}

kvg_err kvg_kube_path(kvg_buf *b, const kvg_kube_resource *r, const char *ns,
                      const char *name, const char *sub, kvg_diag *d)
{
    kvg_err e;
    if (!r || !r->resource || !r->version[0])
        return kvg_diag_set(d, KVG_EINVAL, "kube: no resource");
    if (ns && *ns && !valid_segment(ns))
        return kvg_diag_set(d, KVG_EINVAL, "kube: invalid namespace \"%s\"", ns);
    if (name && !valid_segment(name))
        return kvg_diag_set(d, KVG_EINVAL, "kube: invalid name \"%s\"", name);
    if (sub && !valid_segment(sub))
        return kvg_diag_set(d, KVG_EINVAL, "kube: invalid subresource \"%s\"",
                            sub);
    if (!r->group || !*r->group)
        e = kvg_buf_printf(b, "/api/%s", r->version);
    else
        e = kvg_buf_printf(b, "/apis/%s/%s", r->group, r->version);
    if (e == KVG_OK && r->namespaced && ns && *ns)
        e = kvg_buf_printf(b, "/namespaces/%s", ns);
    if (e == KVG_OK)
        e = kvg_buf_printf(b, "/%s", r->resource);
    if (e == KVG_OK && name)
        e = kvg_buf_printf(b, "/%s", name);
    if (e == KVG_OK && sub)
        e = kvg_buf_printf(b, "/%s", sub);
    return e;
}

kvg_err kvg_kube_query(kvg_buf *b, const char *key, const char *value)
{
    char *esc = curl_easy_escape(NULL, value, 0);
    if (!esc)
        return KVG_ENOMEM;
    bool first = !b->data || !memchr(b->data, '?', b->len);
    kvg_err e = kvg_buf_printf(b, "%c%s=%s", first ? '?' : '&', key, esc);
    curl_free(esc);
    return e;
}
