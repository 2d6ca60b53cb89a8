/* kvguard: the TLS admission webhook server on libmicrohttpd (GnuTLS).
 *
 * Threads: a pool of MHD workers (epoll, one per CPU of the quota) answers
 * requests; the TLS store's watcher re-reads the certificate; the caller's
 * thread runs kvg_server_wait() for the graceful shutdown sequence. */
#include "kvguard/server.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "kvguard/admission.h"
#include "kvguard/audit.h"
#include "kvguard/heap.h"
#include "kvguard/log.h"
#include "kvguard/metrics.h"
#include "server/internal.h"

#define DEFAULT_MAX_BODY (7u << 20)
#define DEFAULT_IDLE_TIMEOUT_S 120
#define TRIM_EVERY_MS 10000
/* A client streaming a chunked body past the cap is read and discarded up
 * to this multiple of the cap, then disconnected. */
#define DISCARD_FACTOR 4
/* libmicrohttpd's default connection limit (FD_SETSIZE - 4 = 1020, split
 * over the workers) let ~1,000 idle or slowloris clients lock new clients
 * (the apiserver) out until the idle timeout (tests/integration/
 * test_hostile.c). An idle TLS connection costs ~22 KiB, so this bounds
 * that memory to ~90 MiB. */
#define CONNECTION_LIMIT 4096u
/* Body buffers are allocated up front from Content-Length up to this. */
#define PRESIZE_MAX ((size_t)256 << 10)

typedef enum route {
    ROUTE_UNKNOWN,
    ROUTE_VALIDATE,
    ROUTE_MUTATE,
    ROUTE_HEALTHZ,
    ROUTE_READYZ,
    ROUTE_METRICS,
    ROUTE_BASELINE,
} route;

static const struct {
    const char *path, *method;
    route id;
} routes[] = {
    {"/validate", "POST", ROUTE_VALIDATE}, {"/mutate", "POST", ROUTE_MUTATE},
    {"/healthz", "GET", ROUTE_HEALTHZ},    {"/readyz", "GET", ROUTE_READYZ},
    {"/metrics", "GET", ROUTE_METRICS},
    {"/baseline", "POST", ROUTE_BASELINE}, /* only with the benchmark aid on */
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

/* The benchmark aid (kvg_server_set_bench_baseline): off unless asked for. */
static atomic_bool g_bench_baseline;

/* What POST /baseline answers, whatever the body: the transport's cost alone. */
static const char BASELINE_BODY[] =
    "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
    "\"response\":{\"uid\":\"\",\"allowed\":true}}";

struct kvg_server {
    const kvg_config *cfg;
    const kvg_policy_config *policy;
    const kvg_view *view;
    struct MHD_Daemon *mhd;
    kvg_tls_store *tls;
    kvg_audit_sink *audit; /* decisions are queued here, written by its thread */
    size_t max_body;
    uint16_t port;
    MHD_socket listen_fd;
    int wake[2]; /* shutdown pipe: written from signal handlers */
    atomic_bool shutting_down, quiesced;
    atomic_int in_flight;
    char start_error[512]; /* last libmicrohttpd message while starting */
    atomic_bool starting;
};

typedef struct request {
    size_t route; /* index into routes, or N_ROUTES */
    struct timespec t0;
    kvg_buf body;
    size_t discarded;
    bool method_ok, too_big, answered;
} request;

static double elapsed_s(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) +
           (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static double mono_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* ---- responses ------------------------------------------------------------ */

static void count_http(const request *r, unsigned code)
{
    char labels[96];
    const char *path = r->route < N_ROUTES ? routes[r->route].path : "other";
    snprintf(labels, sizeof labels, "path=\"%s\",code=\"%u\"", path, code);
    kvg_metrics_inc("kvguard_http_requests_total", labels, 1);
}

/* Queues body (taken: freed by libmicrohttpd) as the answer. */
static enum MHD_Result respond(kvg_server *s, struct MHD_Connection *c,
                               request *r, unsigned code, const char *ctype,
                               kvg_buf *body, bool close_conn)
{
    size_t len = 0;
    char *data = kvg_buf_steal(body, &len);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, data ? data : "", data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    /* Once quiesced, keep-alive clients must reconnect to another replica. */
    if (close_conn || atomic_load(&s->quiesced))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED && r->route < N_ROUTES)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
                                routes[r->route].method);
    enum MHD_Result ret = MHD_queue_response(c, code, resp);
    MHD_destroy_response(resp);
    if (ret == MHD_YES) {
        r->answered = true;
        count_http(r, code);
    }
    return ret;
}

static enum MHD_Result respond_text(kvg_server *s, struct MHD_Connection *c,
                                    request *r, unsigned code, const char *text)
{
    kvg_buf b;
    kvg_buf_init(&b, 0);
    if (kvg_buf_printf(&b, "%s\n", text)) {
        kvg_buf_free(&b);
        return MHD_NO;
    }
    return respond(s, c, r, code, "text/plain; charset=utf-8", &b, false);
}

static enum MHD_Result respond_error(kvg_server *s, struct MHD_Connection *c,
                                     request *r, unsigned code, bool close_conn,
                                     const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static enum MHD_Result respond_error(kvg_server *s, struct MHD_Connection *c,
                                     request *r, unsigned code, bool close_conn,
                                     const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kvg_buf b;
    kvg_buf_init(&b, 0);
    if (kvg_admission_error_body((int)code, msg, &b)) {
        kvg_buf_free(&b);
        return MHD_NO;
    }
    return respond(s, c, r, code, "application/json", &b, close_conn);
}

/* ---- GET endpoints -------------------------------------------------------- */

static enum MHD_Result serve_metrics(kvg_server *s, struct MHD_Connection *c,
                                     request *r)
{
    kvg_view_metrics_update(s->view);
    /* set here rather than counted up and down by every request (two more
     * takes of the metrics lock per request) */
    kvg_metrics_set("kvguard_in_flight_requests", "", atomic_load(&s->in_flight));
    kvg_buf b;
    kvg_buf_init(&b, 0);
    if (kvg_metrics_render(&b)) {
        kvg_buf_free(&b);
        return respond_text(s, c, r, MHD_HTTP_INTERNAL_SERVER_ERROR,
                            "cannot render metrics");
    }
    return respond(s, c, r, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                   &b, false);
}

static enum MHD_Result serve_readyz(kvg_server *s, struct MHD_Connection *c,
                                    request *r)
{
    if (atomic_load(&s->shutting_down))
        return respond_text(s, c, r, MHD_HTTP_SERVICE_UNAVAILABLE,
                            "not ready: shutting down");
    if (!kvg_view_synced(s->view)) {
        /* starting, or stale since the apiserver was lost: say which */
        char why[800], text[900];
        kvg_view_describe_unsynced(s->view, why, sizeof why);
        snprintf(text, sizeof text, "not ready: cluster view not synced (%s)",
                 why);
        return respond_text(s, c, r, MHD_HTTP_SERVICE_UNAVAILABLE, text);
    }
    return respond_text(s, c, r, MHD_HTTP_OK, "ok");
}

/* ---- admission ------------------------------------------------------------ */

static bool is_json_type(const char *ct)
{
    static const char want[] = "application/json";
    if (!ct)
        return false;
    ct += strspn(ct, " \t");
    if (strncasecmp(ct, want, sizeof want - 1))
        return false;
    ct += sizeof want - 1;
    ct += strspn(ct, " \t");
    return *ct == '\0' || *ct == ';';
}

/* Checks made on the headers alone, before any body byte is read. */
static enum MHD_Result check_admission_headers(kvg_server *s,
                                               struct MHD_Connection *c,
                                               request *r)
{
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!is_json_type(ct))
        return respond_error(s, c, r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, true,
                             "Content-Type must be application/json, got '%s'",
                             ct ? ct : "(none)");
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    char *end;
    unsigned long long n = cl ? strtoull(cl, &end, 10) : 0;
    if (cl && *cl && !*end && n > s->max_body)
        return respond_error(s, c, r, MHD_HTTP_CONTENT_TOO_LARGE, true,
                             "request body of %llu bytes exceeds the limit of %zu",
                             n, s->max_body);
    /* the body in one allocation, not ~10 doublings and copies for 200 KB;
     * capped, so that a client announcing a large body it never sends
     * holds little (a failure only means the buffer grows as it goes) */
    if (cl && *cl && !*end && n > 0)
        (void)kvg_buf_reserve(&r->body, n < PRESIZE_MAX ? (size_t)n : PRESIZE_MAX);
    return MHD_YES;
}

/* A label value as is when it needs no escape (the usual case: no
 * allocation on the request path), else escaped into esc. */
static const char *label_value(const char *v, kvg_buf *esc)
{
    if (!strpbrk(v, "\\\"\n"))
        return v;
    kvg_buf_init(esc, 256);
    if (kvg_metrics_label_escape(v, esc) || !esc->data)
        return "";
    return esc->data;
}

static void count_admission(const request *r, const kvg_admit_result *res,
                            double seconds)
{
    const char *webhook = r->route < N_ROUTES && routes[r->route].id == ROUTE_MUTATE
                              ? "mutate" : "validate";
    kvg_buf kind = {0}, op = {0};
    char labels[512];
    const char *k = label_value(res->kind[0] ? res->kind : "unknown", &kind);
    const char *o = label_value(res->operation[0] ? res->operation : "unknown", &op);
    int n = snprintf(labels, sizeof labels, "webhook=\"%s\",kind=\"%s\",operation=\"%s\"",
                     webhook, k, o);
    /* kind is at most 63 bytes, escaped 126: labels always fit */
    kvg_metrics_observe("kvguard_admission_duration_seconds", labels, seconds);
    snprintf(labels + n, sizeof labels - (size_t)n, ",decision=\"%s\"",
             res->allowed ? "allowed" : "denied");
    kvg_metrics_inc("kvguard_admission_requests_total", labels, 1);
    kvg_buf_free(&kind);
    kvg_buf_free(&op);
}

static enum MHD_Result serve_admission(kvg_server *s, struct MHD_Connection *c,
                                       request *r)
{
    if (r->too_big)
        return respond_error(s, c, r, MHD_HTTP_CONTENT_TOO_LARGE, true,
                             "request body exceeds the limit of %zu bytes",
                             s->max_body);
    kvg_admit_opts opts = {.mutate = routes[r->route].id == ROUTE_MUTATE,
                           .explain = false, .audit = true,
                           .audit_sink = s->audit};
    kvg_admit_result res;
    memset(&res, 0, sizeof res);
    kvg_buf out;
    kvg_buf_init(&out, 0);
    kvg_diag d = {{0}};
    kvg_err err = kvg_admit(s->policy, s->view, r->body.data ? r->body.data : "",
                            r->body.len, &opts, &out, &res, &d);
    if (err && err != KVG_EPARSE) {
        kvg_buf_free(&out);
        kvg_logf(KVG_LOG_ERROR, "admission.error", "%s: %s", kvg_err_name(err),
                 d.msg[0] ? d.msg : kvg_strerror(err));
        return respond_error(s, c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, false,
                             "internal error: %s", kvg_strerror(err));
    }
    if (err && out.len == 0) {
        kvg_buf_free(&out);
        return respond_error(s, c, r, MHD_HTTP_BAD_REQUEST, false, "%s",
                             d.msg[0] ? d.msg : "malformed AdmissionReview");
    }
    unsigned code = err ? MHD_HTTP_BAD_REQUEST
                        : (res.http_status ? (unsigned)res.http_status : MHD_HTTP_OK);
    if (!err && code == MHD_HTTP_OK)
        count_admission(r, &res, elapsed_s(&r->t0));
    return respond(s, c, r, code, "application/json", &out, false);
}

/* The baseline is read like an admission request (same header checks, same
 * body buffering), so that only decoding and policy differ. */
static bool is_admission(const request *r)
{
    return r->route < N_ROUTES && (routes[r->route].id == ROUTE_VALIDATE ||
                                   routes[r->route].id == ROUTE_MUTATE ||
                                   routes[r->route].id == ROUTE_BASELINE);
}

static enum MHD_Result serve_baseline(kvg_server *s, struct MHD_Connection *c,
                                      request *r)
{
    if (r->too_big)
        return respond_error(s, c, r, MHD_HTTP_CONTENT_TOO_LARGE, true,
                             "request body exceeds the limit of %zu bytes",
                             s->max_body);
    kvg_buf b;
    kvg_buf_init(&b, 0);
    if (kvg_buf_append(&b, BASELINE_BODY, sizeof BASELINE_BODY - 1)) {
        kvg_buf_free(&b);
        return MHD_NO;
    }
    return respond(s, c, r, MHD_HTTP_OK, "application/json", &b, false);
}

/* Body bytes: kept up to the cap (admission only), then counted and dropped. */
static enum MHD_Result take_body(kvg_server *s, request *r, const char *data,
                                 size_t n)
{
    bool keep = r->method_ok && is_admission(r);
    if (keep && !r->too_big && kvg_buf_append(&r->body, data, n) == KVG_OK)
        return MHD_YES;
    if (!r->too_big) {
        r->too_big = true;
        r->discarded = r->body.len;
        kvg_buf_free(&r->body);
    }
    r->discarded += n;
    return r->discarded / DISCARD_FACTOR > s->max_body ? MHD_NO : MHD_YES;
}

/* ---- dispatch ------------------------------------------------------------- */

static size_t find_route(const char *url)
{
    for (size_t i = 0; i < N_ROUTES; i++)
        if (!strcmp(url, routes[i].path) &&
            (routes[i].id != ROUTE_BASELINE || atomic_load(&g_bench_baseline)))
            return i;
    return N_ROUTES;
}

/* First call, headers only. Admission requests with a bad Content-Type or an
 * oversized Content-Length are refused here, before any body byte is read
 * (the connection then closes). Everything else is answered once the
 * request is complete: answering earlier makes libmicrohttpd close the
 * connection, which would defeat keep-alive. */
static enum MHD_Result begin(kvg_server *s, struct MHD_Connection *c,
                             request *r, const char *url, const char *method)
{
    r->route = find_route(url);
    r->method_ok = r->route < N_ROUTES && !strcmp(method, routes[r->route].method);
    if (r->method_ok && is_admission(r))
        return check_admission_headers(s, c, r);
    return MHD_YES;
}

/* Last call: the whole request is in. */
static enum MHD_Result finish(kvg_server *s, struct MHD_Connection *c,
                              request *r, const char *url, const char *method)
{
    if (r->route == N_ROUTES)
        return respond_error(s, c, r, MHD_HTTP_NOT_FOUND, false,
                             "no such endpoint: %s", url);
    if (!r->method_ok)
        return respond_error(s, c, r, MHD_HTTP_METHOD_NOT_ALLOWED, false,
                             "method %s not allowed on %s (use %s)", method,
                             url, routes[r->route].method);
    switch (routes[r->route].id) {
    case ROUTE_HEALTHZ:
        return respond_text(s, c, r, MHD_HTTP_OK, "ok");
    case ROUTE_READYZ:
        return serve_readyz(s, c, r);
    case ROUTE_METRICS:
        return serve_metrics(s, c, r);
    case ROUTE_BASELINE:
        return serve_baseline(s, c, r);
    default:
        return serve_admission(s, c, r);
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    kvg_server *s = cls;
    request *r = *con_cls;
    if (!r) {
        if (!(r = calloc(1, sizeof *r)))
            return MHD_NO;
        clock_gettime(CLOCK_MONOTONIC, &r->t0);
        kvg_buf_init(&r->body, s->max_body);
        *con_cls = r;
        atomic_fetch_add(&s->in_flight, 1);
        return begin(s, c, r, url, method);
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        return r->answered ? MHD_YES : take_body(s, r, upload_data, n);
    }
    return r->answered ? MHD_YES : finish(s, c, r, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c, (void)toe;
    kvg_server *s = cls;
    request *r = *con_cls;
    if (!r)
        return;
    kvg_buf_free(&r->body);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

static void on_connection(void *cls, struct MHD_Connection *c,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)cls, (void)socket_context;
    if (code != MHD_CONNECTION_NOTIFY_CLOSED)
        return;
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (info && info->tls_session)
        kvg_tls_session_closed((gnutls_session_t)info->tls_session);
}

__attribute__((format(printf, 2, 0))) static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    kvg_server *s = cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\r\n")] = '\0';
    if (atomic_load(&s->starting))
        snprintf(s->start_error, sizeof s->start_error, "%s", msg);
    /* Mostly misbehaving clients (failed handshakes): debug, not noise. */
    kvg_logf(KVG_LOG_DEBUG, "http.mhd", "%s", msg);
}

/* ---- start / stop --------------------------------------------------------- */

static kvg_err parse_listen(const char *listen, struct sockaddr_storage *ss,
                            socklen_t *ss_len, kvg_diag *d)
{
    char host[256];
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    if (!colon || (size_t)(colon - listen) >= sizeof host)
        return kvg_diag_set(d, KVG_ECONFIG, "listen '%s': expected HOST:PORT",
                            listen ? listen : "");
    const char *h = listen;
    size_t hl = (size_t)(colon - listen);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']')
        h++, hl -= 2;
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535)
        return kvg_diag_set(d, KVG_ECONFIG, "listen '%s': bad port", listen);
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(hl ? host : NULL, colon + 1, &hints, &ai);
    if (rc != 0 || !ai)
        return kvg_diag_set(d, KVG_ECONFIG, "listen '%s': %s", listen,
                            gai_strerror(rc));
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *ss_len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return KVG_OK;
}

static void register_metrics(void)
{
    kvg_metrics_register("kvguard_admission_requests_total", KVG_METRIC_COUNTER,
                         "Admission decisions by webhook, kind, operation and decision.",
                         NULL, 0);
    kvg_metrics_register("kvguard_admission_duration_seconds", KVG_METRIC_HISTOGRAM,
                         "Admission handling latency (apiserver webhook buckets).",
                         kvg_metrics_webhook_buckets, kvg_metrics_webhook_buckets_n);
    kvg_metrics_register("kvguard_admission_rule_results_total", KVG_METRIC_COUNTER,
                         "Rule evaluations by webhook, rule, action in force and "
                         "outcome.", NULL, 0);
    kvg_metrics_register("kvguard_http_requests_total", KVG_METRIC_COUNTER,
                         "HTTP requests by path and status code.", NULL, 0);
    kvg_metrics_register("kvguard_in_flight_requests", KVG_METRIC_GAUGE,
                         "HTTP requests being served.", NULL, 0);
    kvg_metrics_set("kvguard_in_flight_requests", "", 0);
}

static kvg_err check_priorities(const char *prio, kvg_diag *d)
{
    gnutls_priority_t p;
    const char *where = NULL;
    int ret = gnutls_priority_init(&p, prio, &where);
    if (ret < 0)
        return kvg_diag_set(d, KVG_ETLS, "TLS priorities rejected at '%s': %s",
                            where ? where : "?", gnutls_strerror(ret));
    gnutls_priority_deinit(p);
    return KVG_OK;
}

/* CONNECTION_LIMIT, as far as the descriptor limit allows (raised to its
 * hard limit if need be); some descriptors stay for files and the API. */
static unsigned connection_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1000;
    rlim_t want = CONNECTION_LIMIT + 128;
    if (rl.rlim_cur < want && rl.rlim_cur != RLIM_INFINITY) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want
                                                                         : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
        return CONNECTION_LIMIT;
    return rl.rlim_cur > 256 ? (unsigned)rl.rlim_cur - 128 : 128;
}

static kvg_err start_mhd(kvg_server *s, const char *prio, kvg_diag *d)
{
    struct sockaddr_storage ss;
    socklen_t ss_len;
    kvg_err err = parse_listen(s->cfg->listen, &ss, &ss_len, d);
    if (err)
        return err;
    unsigned workers = s->cfg->workers ? s->cfg->workers
                                       : kvg_server_default_workers(NULL);
    unsigned idle = s->cfg->idle_timeout_s ? s->cfg->idle_timeout_s
                                           : DEFAULT_IDLE_TIMEOUT_S;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                     MHD_USE_TLS | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    atomic_store(&s->starting, true);
    s->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s,
        /* first, so that no message goes to libmicrohttpd's own logger */
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_HTTPS_PRIORITIES, prio,
        MHD_OPTION_HTTPS_CERT_CALLBACK, kvg_tls_retrieve,
        MHD_OPTION_THREAD_POOL_SIZE, workers > 1 ? workers : 0u,
        MHD_OPTION_CONNECTION_TIMEOUT, idle,
        MHD_OPTION_CONNECTION_LIMIT, connection_limit(),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_END);
    atomic_store(&s->starting, false);
    if (!s->mhd)
        return kvg_diag_set(d, KVG_EIO, "cannot listen on %s: %s", s->cfg->listen,
                            s->start_error[0] ? s->start_error
                                              : "libmicrohttpd failed to start");
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    char kv[160];
    snprintf(kv, sizeof kv, "\"port\":%u,\"workers\":%u,\"idle_timeout_s\":%u",
             (unsigned)s->port, workers, idle);
    kvg_logf_kv(KVG_LOG_INFO, "server.listening", kv, "listening on %s (TLS)",
                s->cfg->listen);
    return KVG_OK;
}

static kvg_err make_pipe(int fds[2])
{
    if (pipe(fds) != 0)
        return KVG_EIO;
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
    }
    return KVG_OK;
}

kvg_err kvg_server_start(const kvg_config *cfg, const kvg_policy_config *policy,
                         const kvg_view *view, kvg_server **out, kvg_diag *d)
{
    if (!cfg || !policy || !view || !out)
        return kvg_diag_set(d, KVG_EINVAL, "kvg_server_start: NULL argument");
    const char *prio;
    kvg_err err = kvg_server_tls_priorities(cfg->tls_min_version, &prio, d);
    if (err || (err = check_priorities(prio, d)))
        return err;
    kvg_server *s = calloc(1, sizeof *s);
    if (!s)
        return KVG_ENOMEM;
    s->cfg = cfg;
    s->policy = policy;
    s->view = view;
    s->max_body = cfg->max_body_bytes ? cfg->max_body_bytes : DEFAULT_MAX_BODY;
    s->listen_fd = MHD_INVALID_SOCKET;
    s->wake[0] = s->wake[1] = -1;
    register_metrics();
    err = make_pipe(s->wake);
    if (err)
        kvg_diag_set(d, err, "cannot create the shutdown pipe: %s", strerror(errno));
    if (!err)
        err = kvg_audit_sink_open(cfg, &s->audit, d);
    if (!err)
        err = kvg_tls_store_start(cfg->tls_cert, cfg->tls_key, 1000, &s->tls, d);
    if (!err)
        err = start_mhd(s, prio, d);
    if (err) {
        kvg_server_free(s);
        return err;
    }
    *out = s;
    return KVG_OK;
}

void kvg_server_request_shutdown(kvg_server *s)
{
    if (!s)
        return;
    atomic_store(&s->shutting_down, true);
    int saved = errno; /* may run in a signal handler */
    if (s->wake[1] >= 0 && write(s->wake[1], "x", 1) < 0) {
        /* pipe full: a wake-up is pending anyway */
    }
    errno = saved;
}

/* Waits for a shutdown request, at most timeout_ms (-1: forever). */
static bool wait_wake(kvg_server *s, int timeout_ms)
{
    struct pollfd p = {.fd = s->wake[0], .events = POLLIN};
    int rc;
    do
        rc = poll(&p, 1, timeout_ms);
    while (rc < 0 && errno == EINTR);
    char drain[64];
    while (rc > 0 && read(s->wake[0], drain, sizeof drain) > 0)
        ;
    return rc > 0;
}

static bool drain(kvg_server *s, unsigned timeout_s)
{
    double deadline = mono_now() + timeout_s;
    while (atomic_load(&s->in_flight) > 0 && mono_now() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(&s->in_flight) == 0;
}

kvg_err kvg_server_wait(kvg_server *s)
{
    if (!s || !s->mhd)
        return KVG_EINVAL;
    /* Idle moments give back what bursts of large reviews on many
     * connections left free (c=256 with 200 KB bodies: 99 -> 30 MiB). */
    while (!atomic_load(&s->shutting_down))
        if (!wait_wake(s, TRIM_EVERY_MS) && atomic_load(&s->in_flight) == 0)
            kvg_heap_trim();
    unsigned delay = s->cfg->shutdown_delay_s;
    kvg_logf(KVG_LOG_INFO, "server.shutdown",
             "readiness is false; still answering for %us", delay);
    /* A second signal skips the rest of the delay. */
    if (delay)
        wait_wake(s, (int)(delay * 1000));
    s->listen_fd = MHD_quiesce_daemon(s->mhd);
    /* Quiescing only stops accepting: the kernel would still complete
     * handshakes into the backlog and leave those clients hanging. shutdown()
     * makes new connections fail fast (refused) so they go elsewhere; the fd
     * itself is closed only after MHD_stop_daemon, as libmicrohttpd asks. */
    if (s->listen_fd != MHD_INVALID_SOCKET)
        shutdown(s->listen_fd, SHUT_RDWR);
    atomic_store(&s->quiesced, true);
    kvg_logf(KVG_LOG_INFO, "server.drain",
             "stopped accepting; draining %d in-flight requests within %us",
             atomic_load(&s->in_flight), s->cfg->drain_timeout_s);
    bool drained = drain(s, s->cfg->drain_timeout_s);
    if (!drained)
        kvg_logf(KVG_LOG_WARN, "server.drain",
                 "%d requests still in flight at the deadline; closing them",
                 atomic_load(&s->in_flight));
    MHD_stop_daemon(s->mhd);
    s->mhd = NULL;
    if (s->listen_fd != MHD_INVALID_SOCKET)
        close(s->listen_fd);
    s->listen_fd = MHD_INVALID_SOCKET;
    kvg_logf(KVG_LOG_INFO, "server.stopped", "server stopped");
    return drained ? KVG_OK : KVG_ETIMEOUT;
}

void kvg_server_free(kvg_server *s)
{
    if (!s)
        return;
    if (s->mhd)
        MHD_stop_daemon(s->mhd);
    if (s->listen_fd != MHD_INVALID_SOCKET)
        close(s->listen_fd);
    /* After the daemon: no handshake can reach the credentials any more,
     * and no request can queue an audit record (close writes what is queued). */
    kvg_tls_store_free(s->tls);
    kvg_audit_sink_close(s->audit);
    for (int i = 0; i < 2; i++)
        if (s->wake[i] >= 0)
            close(s->wake[i]);
    free(s);
}

uint16_t kvg_server_port(const kvg_server *s) { return s ? s->port : 0; }

void kvg_server_set_bench_baseline(bool on) { atomic_store(&g_bench_baseline, on); }

bool kvg_server_ready(const kvg_server *s)
{
    return s && !atomic_load(&s->shutting_down) && kvg_view_synced(s->view);
}
