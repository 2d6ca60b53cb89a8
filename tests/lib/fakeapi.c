/* Fake Kubernetes API server for tests (see fakeapi.h). libmicrohttpd over
 * TLS, one thread per connection so that watch streams may block. Every
 * piece of state sits under one mutex; watchers wait on a condition. */
#include "fakeapi.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "kvguard/json.h"

#define DIE(...)                                                             \
    do {                                                                     \
        fprintf(stderr, "fakeapi: " __VA_ARGS__);                            \
        fputc('\n', stderr);                                                 \
        abort();                                                             \
    } while (0)

/* ---- certificate ----------------------------------------------------------- */

static char *bio_text(BIO *b)
{
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *s = malloc((size_t)n + 1);
    if (!s)
        DIE("oom");
    memcpy(s, p, (size_t)n);
    s[n] = '\0';
    return s;
}

static void add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext || !X509_add_ext(x, ext, -1))
        DIE("extension %d", nid);
    X509_EXTENSION_free(ext);
}

void kvg_test_gen_cert(const char *cn, char **cert_pem, char **key_pem)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    if (!key || !x)
        DIE("keygen");
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(time(NULL) & 0x7fffffff));
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    add_ext(x, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, NID_key_usage, "critical,digitalSignature,keyCertSign");
    add_ext(x, NID_ext_key_usage, "serverAuth,clientAuth");
    add_ext(x, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    if (!X509_sign(x, key, EVP_sha256()))
        DIE("sign");
    BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
    if (!PEM_write_bio_X509(cb, x) ||
        !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL))
        DIE("pem");
    *cert_pem = bio_text(cb);
    *key_pem = bio_text(kb);
    BIO_free(cb);
    BIO_free(kb);
    X509_free(x);
    EVP_PKEY_free(key);
}

/* ---- state ------------------------------------------------------------------ */

typedef struct res {
    char group[128], version[32], resource[128], kind[128];
    bool namespaced;
} res;

typedef struct obj {
    char *gr; /* "group/resource" */
    char *ns, *name;
    json_object *o;
} obj;

typedef struct event {
    long rv;
    char *gr, *ns;
    char *line; /* the whole watch line, '\n' included */
} event;

typedef struct fault {
    char *method, *prefix, *query, *retry_after, *body;
    int times, status;
} fault;

typedef struct logent {
    char *method, *path, *query, *body, *ctype, *auth;
} logent;

#define VEC(T)                                                               \
    struct {                                                                 \
        T *v;                                                                \
        size_t n, cap;                                                       \
    }

#define PUSH(vec, item)                                                      \
    do {                                                                     \
        if ((vec).n == (vec).cap) {                                          \
            (vec).cap = (vec).cap ? (vec).cap * 2 : 16;                      \
            (vec).v = realloc((vec).v, (vec).cap * sizeof *(vec).v);         \
            if (!(vec).v)                                                    \
                DIE("oom");                                                  \
        }                                                                    \
        (vec).v[(vec).n++] = (item);                                         \
    } while (0)

struct kvg_fakeapi {
    struct MHD_Daemon *d;
    char url[64];
    char *cert, *key;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    VEC(res) res;
    VEC(obj) objs;
    VEC(event) events;
    VEC(fault) faults;
    VEC(logent) log;
    long rv, compact_rv, uid_seq;
    int close_gen, connections;
    /* atomic, not under mu: MHD frees a watch response (watch_free) inside
     * MHD_queue_response when the daemon is stopping, and do_watch holds mu
     * there */
    atomic_int open_watches;
    bool gone_http, stopping, silent;
};

static char *xdup(const char *s)
{
    char *r = strdup(s ? s : "");
    if (!r)
        DIE("oom");
    return r;
}

static char *gr_of(const char *group, const char *resource)
{
    char buf[300];
    snprintf(buf, sizeof buf, "%s/%s", group, resource);
    return xdup(buf);
}

static const res *find_res(kvg_fakeapi *f, const char *group,
                           const char *version, const char *resource)
{
    for (size_t i = 0; i < f->res.n; i++) {
        res *r = &f->res.v[i];
        if (strcmp(r->group, group) == 0 && strcmp(r->resource, resource) == 0 &&
            (!version || strcmp(r->version, version) == 0))
            return r;
    }
    return NULL;
}

static obj *find_obj(kvg_fakeapi *f, const char *gr, const char *ns,
                     const char *name)
{
    for (size_t i = 0; i < f->objs.n; i++) {
        obj *o = &f->objs.v[i];
        if (strcmp(o->gr, gr) == 0 && strcmp(o->ns, ns ? ns : "") == 0 &&
            strcmp(o->name, name) == 0)
            return o;
    }
    return NULL;
}

static void set_str(json_object *o, const char *key, const char *val)
{
    json_object_object_add(o, key, json_object_new_string(val));
}

static json_object *meta_of(json_object *o)
{
    json_object *m = NULL;
    if (!json_object_object_get_ex(o, "metadata", &m) || !m) {
        m = json_object_new_object();
        json_object_object_add(o, "metadata", m);
    }
    return m;
}

static void stamp_rv(json_object *o, long rv)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", rv);
    set_str(meta_of(o), "resourceVersion", buf);
}

/* Record an event; o is borrowed and serialized now. */
static void emit(kvg_fakeapi *f, const char *type, const char *gr,
                 const char *ns, json_object *o)
{
    json_object *ev = json_object_new_object();
    set_str(ev, "type", type);
    json_object_object_add(ev, "object", json_object_get(o));
    const char *txt = json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN);
    size_t n = strlen(txt);
    event e = {.rv = f->rv, .gr = xdup(gr), .ns = xdup(ns)};
    e.line = malloc(n + 2);
    if (!e.line)
        DIE("oom");
    memcpy(e.line, txt, n);
    e.line[n] = '\n';
    e.line[n + 1] = '\0';
    json_object_put(ev);
    PUSH(f->events, e);
    pthread_cond_broadcast(&f->cond);
}

/* Store o (owned) as gr/ns/name; caller holds the lock. */
static long store_locked(kvg_fakeapi *f, const char *gr, json_object *o)
{
    json_object *m = meta_of(o);
    const char *ns = kvg_json_str(m, "namespace", NULL);
    const char *name = kvg_json_str(m, "name", NULL);
    if (!name)
        DIE("object without metadata.name");
    if (!kvg_json_str(m, "uid", NULL)) {
        char uid[64];
        snprintf(uid, sizeof uid, "uid-%ld", ++f->uid_seq);
        set_str(m, "uid", uid);
    }
    stamp_rv(o, ++f->rv);
    obj *old = find_obj(f, gr, ns, name);
    if (old) {
        json_object_put(old->o);
        old->o = o;
        emit(f, "MODIFIED", gr, ns, o);
    } else {
        obj n = {.gr = xdup(gr), .ns = xdup(ns), .name = xdup(name), .o = o};
        PUSH(f->objs, n);
        emit(f, "ADDED", gr, ns, o);
    }
    return f->rv;
}

static long remove_locked(kvg_fakeapi *f, const char *gr, const char *ns,
                          const char *name)
{
    obj *o = find_obj(f, gr, ns, name);
    if (!o)
        return 0;
    stamp_rv(o->o, ++f->rv);
    emit(f, "DELETED", gr, ns, o->o);
    json_object_put(o->o);
    free(o->gr);
    free(o->ns);
    free(o->name);
    size_t i = (size_t)(o - f->objs.v);
    memmove(o, o + 1, (f->objs.n - i - 1) * sizeof *o);
    f->objs.n--;
    return f->rv;
}

/* ---- public state API -------------------------------------------------------- */

void kvg_fakeapi_serve(kvg_fakeapi *f, const char *group, const char *version,
                       const char *resource, const char *kind, bool namespaced)
{
    res r = {.namespaced = namespaced};
    snprintf(r.group, sizeof r.group, "%s", group);
    snprintf(r.version, sizeof r.version, "%s", version);
    snprintf(r.resource, sizeof r.resource, "%s", resource);
    snprintf(r.kind, sizeof r.kind, "%s", kind);
    pthread_mutex_lock(&f->mu);
    PUSH(f->res, r);
    pthread_mutex_unlock(&f->mu);
}

void kvg_fakeapi_serve_kinds(kvg_fakeapi *f)
{
    for (int k = 0; k < KVG_KIND_COUNT; k++) {
        const kvg_kind_info *ki = kvg_kind_info_get((kvg_kind)k);
        kvg_fakeapi_serve(f, ki->group, ki->versions[0], ki->resource,
                          ki->name, ki->namespaced);
    }
}

long kvg_fakeapi_put(kvg_fakeapi *f, const char *group, const char *resource,
                     const char *json)
{
    json_object *o = json_tokener_parse(json);
    if (!o)
        DIE("bad JSON: %s", json);
    char *gr = gr_of(group, resource);
    pthread_mutex_lock(&f->mu);
    long rv = store_locked(f, gr, o);
    pthread_mutex_unlock(&f->mu);
    free(gr);
    return rv;
}

long kvg_fakeapi_remove(kvg_fakeapi *f, const char *group,
                        const char *resource, const char *ns, const char *name)
{
    char *gr = gr_of(group, resource);
    pthread_mutex_lock(&f->mu);
    long rv = remove_locked(f, gr, ns, name);
    pthread_mutex_unlock(&f->mu);
    free(gr);
    return rv;
}

long kvg_fakeapi_bookmark(kvg_fakeapi *f, const char *group,
                          const char *resource)
{
    char *gr = gr_of(group, resource);
    pthread_mutex_lock(&f->mu);
    f->rv++;
    json_object *o = json_object_new_object();
    stamp_rv(o, f->rv);
    emit(f, "BOOKMARK", gr, "", o);
    json_object_put(o);
    long rv = f->rv;
    pthread_mutex_unlock(&f->mu);
    free(gr);
    return rv;
}

void kvg_fakeapi_silent(kvg_fakeapi *f, bool silent)
{
    pthread_mutex_lock(&f->mu);
    f->silent = silent;
    pthread_mutex_unlock(&f->mu);
}

void kvg_fakeapi_compact(kvg_fakeapi *f)
{
    pthread_mutex_lock(&f->mu);
    f->compact_rv = f->rv;
    pthread_mutex_unlock(&f->mu);
}

void kvg_fakeapi_close_watches(kvg_fakeapi *f)
{
    pthread_mutex_lock(&f->mu);
    f->close_gen++;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
}

void kvg_fakeapi_gone_as_http(kvg_fakeapi *f, bool http)
{
    pthread_mutex_lock(&f->mu);
    f->gone_http = http;
    pthread_mutex_unlock(&f->mu);
}

long kvg_fakeapi_rv(kvg_fakeapi *f)
{
    pthread_mutex_lock(&f->mu);
    long rv = f->rv;
    pthread_mutex_unlock(&f->mu);
    return rv;
}

int kvg_fakeapi_open_watches(kvg_fakeapi *f)
{
    return atomic_load(&f->open_watches);
}

void kvg_fakeapi_fail_query(kvg_fakeapi *f, const char *method,
                            const char *path_prefix, const char *query,
                            int times, int status, const char *retry_after,
                            const char *body)
{
    fault ft = {.method = method ? xdup(method) : NULL,
                .prefix = xdup(path_prefix),
                .query = query ? xdup(query) : NULL,
                .retry_after = retry_after ? xdup(retry_after) : NULL,
                .body = body ? xdup(body) : NULL,
                .times = times, .status = status};
    pthread_mutex_lock(&f->mu);
    PUSH(f->faults, ft);
    pthread_mutex_unlock(&f->mu);
}

void kvg_fakeapi_fail(kvg_fakeapi *f, const char *method,
                      const char *path_prefix, int times, int status,
                      const char *retry_after, const char *body)
{
    kvg_fakeapi_fail_query(f, method, path_prefix, NULL, times, status,
                           retry_after, body);
}

void kvg_fakeapi_clear_faults(kvg_fakeapi *f)
{
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->faults.n; i++)
        f->faults.v[i].times = 0;
    pthread_mutex_unlock(&f->mu);
}

static bool log_match(const logent *l, const char *method, const char *prefix)
{
    return (!method || strcmp(l->method, method) == 0) &&
           strncmp(l->path, prefix, strlen(prefix)) == 0;
}

int kvg_fakeapi_count_query(kvg_fakeapi *f, const char *method,
                            const char *path_prefix, const char *query)
{
    int n = 0;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->log.n; i++)
        n += log_match(&f->log.v[i], method, path_prefix) &&
             (!query || strstr(f->log.v[i].query, query));
    pthread_mutex_unlock(&f->mu);
    return n;
}

int kvg_fakeapi_count(kvg_fakeapi *f, const char *method,
                      const char *path_prefix)
{
    return kvg_fakeapi_count_query(f, method, path_prefix, NULL);
}

char *kvg_fakeapi_last(kvg_fakeapi *f, const char *method,
                       const char *path_prefix, kvg_fakeapi_field field)
{
    char *r = NULL;
    pthread_mutex_lock(&f->mu);
    for (size_t i = f->log.n; i-- > 0;) {
        logent *l = &f->log.v[i];
        if (!log_match(l, method, path_prefix))
            continue;
        const char *s = field == KVG_FAKE_QUERY ? l->query
                      : field == KVG_FAKE_BODY ? l->body
                      : field == KVG_FAKE_CTYPE ? l->ctype
                      : field == KVG_FAKE_AUTH ? l->auth : l->path;
        r = xdup(s);
        break;
    }
    pthread_mutex_unlock(&f->mu);
    return r;
}

/* ---- HTTP ------------------------------------------------------------------- */

typedef struct conn {
    char *body;
    size_t len;
} conn;

static enum MHD_Result respond(struct MHD_Connection *c, int status,
                               const char *body, const char *retry_after)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (retry_after)
        MHD_add_response_header(r, "Retry-After", retry_after);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result respond_json(struct MHD_Connection *c, int status,
                                    json_object *o)
{
    enum MHD_Result r = respond(
        c, status, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
        NULL);
    json_object_put(o);
    return r;
}

static json_object *status_obj(int code, const char *reason, const char *msg)
{
    json_object *o = json_object_new_object();
    set_str(o, "kind", "Status");
    set_str(o, "apiVersion", "v1");
    json_object_object_add(o, "metadata", json_object_new_object());
    set_str(o, "status", code < 300 ? "Success" : "Failure");
    set_str(o, "message", msg);
    set_str(o, "reason", reason);
    json_object_object_add(o, "code", json_object_new_int(code));
    return o;
}

static enum MHD_Result respond_status(struct MHD_Connection *c, int code,
                                      const char *reason, const char *msg)
{
    return respond_json(c, code, status_obj(code, reason, msg));
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind,
                               const char *key, const char *value)
{
    char **q = cls;
    size_t n = (*q ? strlen(*q) : 0) + strlen(key) + (value ? strlen(value) : 0) + 3;
    char *s = malloc(n);
    if (!s)
        DIE("oom");
    snprintf(s, n, "%s%s%s=%s", *q ? *q : "", *q ? "&" : "", key,
             value ? value : "");
    free(*q);
    *q = s;
    return MHD_YES;
}

static const char *hdr(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static const char *arg(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

static void log_request(kvg_fakeapi *f, struct MHD_Connection *c,
                        const char *method, const char *url, const conn *cn)
{
    logent l = {.method = xdup(method), .path = xdup(url),
                .body = xdup(cn->body), .ctype = xdup(hdr(c, "Content-Type")),
                .auth = xdup(hdr(c, "Authorization"))};
    char *q = NULL;
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &q);
    l.query = q ? q : xdup("");
    PUSH(f->log, l);
}

/* Caller holds the lock. */
static fault *take_fault(kvg_fakeapi *f, const char *method, const char *url,
                         const char *query)
{
    for (size_t i = 0; i < f->faults.n; i++) {
        fault *ft = &f->faults.v[i];
        if (ft->times > 0 && (!ft->method || strcmp(ft->method, method) == 0) &&
            strncmp(url, ft->prefix, strlen(ft->prefix)) == 0 &&
            (!ft->query || strstr(query, ft->query))) {
            ft->times--;
            return ft;
        }
    }
    return NULL;
}

/* ---- discovery ----------------------------------------------------------------- */

static json_object *resource_list(kvg_fakeapi *f, const char *group,
                                  const char *version)
{
    json_object *o = json_object_new_object(), *arr = json_object_new_array();
    char gv[200];
    snprintf(gv, sizeof gv, "%s%s%s", group, *group ? "/" : "", version);
    set_str(o, "kind", "APIResourceList");
    set_str(o, "groupVersion", gv);
    for (size_t i = 0; i < f->res.n; i++) {
        res *r = &f->res.v[i];
        if (strcmp(r->group, group) != 0 || strcmp(r->version, version) != 0)
            continue;
        json_object *e = json_object_new_object();
        set_str(e, "name", r->resource);
        set_str(e, "kind", r->kind);
        json_object_object_add(e, "namespaced", json_object_new_boolean(r->namespaced));
        json_object_array_add(arr, e);
    }
    json_object_object_add(o, "resources", arr);
    return o;
}

static json_object *group_obj(kvg_fakeapi *f, const char *group)
{
    json_object *g = NULL, *vs = NULL;
    for (size_t i = 0; i < f->res.n; i++) {
        res *r = &f->res.v[i];
        if (strcmp(r->group, group) != 0)
            continue;
        char gv[200];
        snprintf(gv, sizeof gv, "%s/%s", group, r->version);
        if (!g) {
            g = json_object_new_object();
            vs = json_object_new_array();
            set_str(g, "kind", "APIGroup");
            set_str(g, "name", group);
            json_object_object_add(g, "versions", vs);
            json_object *pv = json_object_new_object();
            set_str(pv, "groupVersion", gv);
            set_str(pv, "version", r->version);
            json_object_object_add(g, "preferredVersion", pv);
        }
        bool dup = false;
        for (size_t k = 0; k < json_object_array_length(vs); k++)
            dup |= kvg_json_str_eq(json_object_array_get_idx(vs, k), "version",
                                   r->version);
        if (!dup) {
            json_object *v = json_object_new_object();
            set_str(v, "groupVersion", gv);
            set_str(v, "version", r->version);
            json_object_array_add(vs, v);
        }
    }
    return g;
}

/* ---- list and watch ----------------------------------------------------------- */

static bool obj_in(const obj *o, const char *gr, const char *ns)
{
    return strcmp(o->gr, gr) == 0 && (!ns || strcmp(o->ns, ns) == 0);
}

static enum MHD_Result do_list(kvg_fakeapi *f, struct MHD_Connection *c,
                               const res *r, const char *gr, const char *ns)
{
    long limit = arg(c, "limit") ? atol(arg(c, "limit")) : 0;
    const char *cont = arg(c, "continue");
    long start = 0, list_rv = f->rv;
    if (cont && *cont) {
        if (sscanf(cont, "%ld:%ld", &start, &list_rv) != 2)
            return respond_status(c, 400, "BadRequest", "invalid continue token");
        if (list_rv < f->compact_rv)
            return respond_status(c, 410, "Expired",
                                  "The provided continue parameter is too old "
                                  "to display a consistent list result.");
    }
    json_object *items = json_object_new_array();
    long idx = 0, next = 0;
    for (size_t i = 0; i < f->objs.n; i++) {
        if (!obj_in(&f->objs.v[i], gr, ns))
            continue;
        if (idx++ < start)
            continue;
        if (limit > 0 && (long)json_object_array_length(items) >= limit) {
            next = idx - 1;
            break;
        }
        json_object_array_add(items, json_object_get(f->objs.v[i].o));
    }
    json_object *o = json_object_new_object(), *m = json_object_new_object();
    char kind[160], buf[64];
    snprintf(kind, sizeof kind, "%sList", r->kind);
    set_str(o, "kind", kind);
    snprintf(buf, sizeof buf, "%ld", list_rv);
    set_str(m, "resourceVersion", buf);
    if (next) {
        snprintf(buf, sizeof buf, "%ld:%ld", next, list_rv);
        set_str(m, "continue", buf);
    }
    json_object_object_add(o, "metadata", m);
    json_object_object_add(o, "items", items);
    return respond_json(c, 200, o);
}

typedef struct watcher {
    kvg_fakeapi *f;
    char *gr, *ns;    /* ns NULL: all */
    size_t next;      /* index into f->events */
    int close_gen;
    time_t deadline;
    char *pending;
    size_t plen, poff;
    bool end_after_pending;
    int idle_ticks;
} watcher;

static void pend(watcher *w, const char *line)
{
    size_t n = strlen(line);
    char *p = realloc(w->pending, w->plen + n + 1);
    if (!p)
        DIE("oom");
    memcpy(p + w->plen, line, n + 1);
    w->pending = p;
    w->plen += n;
}

static bool watch_done_locked(watcher *w)
{
    kvg_fakeapi *f = w->f;
    return f->stopping || w->close_gen != f->close_gen ||
           time(NULL) >= w->deadline;
}

static ssize_t watch_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    watcher *w = cls;
    kvg_fakeapi *f = w->f;
    pthread_mutex_lock(&f->mu);
    while (w->poff == w->plen) {
        if (w->plen)
            w->idle_ticks = 0;
        free(w->pending);
        w->pending = NULL;
        w->plen = w->poff = 0;
        if (w->end_after_pending || watch_done_locked(w)) {
            pthread_mutex_unlock(&f->mu);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        for (; w->next < f->events.n && w->poff == w->plen; w->next++) {
            event *e = &f->events.v[w->next];
            bool bookmark = strstr(e->line, "\"BOOKMARK\"") != NULL;
            if (strcmp(e->gr, w->gr) == 0 &&
                (!w->ns || bookmark || strcmp(e->ns, w->ns) == 0))
                pend(w, e->line);
        }
        if (w->plen > 0)
            break;
        /* an idle stream sends a blank line each second, which the client
         * ignores, so that a vanished client is noticed (write fails) */
        if (!f->silent && ++w->idle_ticks >= 10) {
            w->idle_ticks = 0;
            pend(w, "\n");
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&f->cond, &f->mu, &ts);
    }
    pthread_mutex_unlock(&f->mu);
    size_t n = w->plen - w->poff < max ? w->plen - w->poff : max;
    memcpy(buf, w->pending + w->poff, n);
    w->poff += n;
    return (ssize_t)n;
}

static void watch_free(void *cls)
{
    watcher *w = cls;
    atomic_fetch_sub(&w->f->open_watches, 1);
    free(w->gr);
    free(w->ns);
    free(w->pending);
    free(w);
}

static enum MHD_Result do_watch(kvg_fakeapi *f, struct MHD_Connection *c,
                                const char *gr, const char *ns)
{
    const char *rvs = arg(c, "resourceVersion");
    const char *tmo = arg(c, "timeoutSeconds");
    long from = rvs && *rvs ? atol(rvs) : -1;
    bool gone = from > 0 && from < f->compact_rv;
    if (gone && f->gone_http)
        return respond_status(c, 410, "Expired", "too old resource version");
    watcher *w = calloc(1, sizeof *w);
    if (!w)
        DIE("oom");
    w->f = f;
    w->gr = xdup(gr);
    w->ns = ns ? xdup(ns) : NULL;
    w->close_gen = f->close_gen;
    w->deadline = time(NULL) + (tmo ? atol(tmo) : 300);
    if (gone) {
        char line[512];
        snprintf(line, sizeof line,
                 "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
                 "\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                 "\"message\":\"too old resource version: %ld (%ld)\","
                 "\"reason\":\"Expired\",\"code\":410}}\n",
                 from, f->compact_rv);
        pend(w, line);
        w->end_after_pending = true;
    } else if (from <= 0) {
        /* no resourceVersion: synthetic ADDED for what exists, then live */
        for (size_t i = 0; i < f->objs.n; i++) {
            if (!obj_in(&f->objs.v[i], gr, ns))
                continue;
            json_object *ev = json_object_new_object();
            set_str(ev, "type", "ADDED");
            json_object_object_add(ev, "object", json_object_get(f->objs.v[i].o));
            pend(w, json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN));
            pend(w, "\n");
            json_object_put(ev);
        }
        w->next = f->events.n;
    } else {
        while (w->next < f->events.n && f->events.v[w->next].rv <= from)
            w->next++;
    }
    atomic_fetch_add(&f->open_watches, 1);
    struct MHD_Response *r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 4096, watch_read, w, watch_free);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- writes ---------------------------------------------------------------- */

static void merge_patch(json_object *target, json_object *patch)
{
    json_object_object_foreach(patch, key, val)
    {
        json_object *cur = NULL;
        json_object_object_get_ex(target, key, &cur);
        if (!val)
            json_object_object_del(target, key);
        else if (json_object_is_type(val, json_type_object) && cur &&
                 json_object_is_type(cur, json_type_object))
            merge_patch(cur, val);
        else
            json_object_object_add(target, key, json_object_get(val));
    }
}

static enum MHD_Result not_found(struct MHD_Connection *c, const res *r,
                                 const char *name)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s%s%s \"%s\" not found", r->resource,
             *r->group ? "." : "", r->group, name);
    return respond_status(c, 404, "NotFound", msg);
}

static enum MHD_Result do_delete(kvg_fakeapi *f, struct MHD_Connection *c,
                                 const res *r, const char *gr, const char *ns,
                                 const char *name, const char *body)
{
    obj *o = find_obj(f, gr, ns, name);
    if (!o)
        return not_found(c, r, name);
    json_object *opts = body && *body ? json_tokener_parse(body) : NULL;
    const char *puid = kvg_json_str(opts, "preconditions", "uid", NULL);
    const char *prv = kvg_json_str(opts, "preconditions", "resourceVersion", NULL);
    const char *uid = kvg_json_str(o->o, "metadata", "uid", NULL);
    const char *rv = kvg_json_str(o->o, "metadata", "resourceVersion", NULL);
    char msg[512] = "";
    if (puid && strcmp(puid, uid) != 0)
        snprintf(msg, sizeof msg, "Precondition failed: UID in precondition: "
                 "%s, UID in object meta: %s", puid, uid);
    else if (prv && strcmp(prv, rv) != 0)
        snprintf(msg, sizeof msg, "Precondition failed: ResourceVersion in "
                 "precondition: %s, ResourceVersion in object meta: %s", prv, rv);
    json_object_put(opts);
    if (msg[0])
        return respond_status(c, 409, "Conflict", msg);
    json_object *copy = json_object_get(o->o);
    remove_locked(f, gr, ns, name);
    return respond_json(c, 200, copy);
}

static enum MHD_Result do_write(kvg_fakeapi *f, struct MHD_Connection *c,
                                const char *method, const res *r,
                                const char *gr, const char *ns,
                                const char *name, const char *sub,
                                const char *body)
{
    json_object *in = body && *body ? json_tokener_parse(body) : NULL;
    if (strcmp(method, "POST") == 0) {
        if (!in || !json_object_is_type(in, json_type_object)) {
            json_object_put(in);
            return respond_status(c, 400, "BadRequest", "body is not an object");
        }
        json_object *m = meta_of(in);
        const char *nm = kvg_json_str(m, "name", NULL);
        if (!nm) {
            json_object_put(in);
            return respond_status(c, 422, "Invalid", "metadata.name: Required value");
        }
        if (find_obj(f, gr, ns, nm)) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s \"%s\" already exists", r->resource, nm);
            json_object_put(in);
            return respond_status(c, 409, "AlreadyExists", msg);
        }
        if (ns)
            set_str(m, "namespace", ns);
        store_locked(f, gr, in);
        return respond_json(c, 201, json_object_get(in));
    }
    obj *o = find_obj(f, gr, ns, name);
    if (!o) {
        json_object_put(in);
        return not_found(c, r, name);
    }
    if (strcmp(method, "PATCH") == 0) {
        const char *ct = hdr(c, "Content-Type");
        if (ct && strcmp(ct, "application/merge-patch+json") == 0 && in)
            merge_patch(o->o, in);
        json_object_put(in);
        /* json-patch is recorded, not applied: the tests check what was sent */
    } else { /* PUT */
        if (!in) {
            return respond_status(c, 400, "BadRequest", "body is not JSON");
        }
        const char *want = kvg_json_str(in, "metadata", "resourceVersion", NULL);
        const char *have = kvg_json_str(o->o, "metadata", "resourceVersion", NULL);
        if (want && strcmp(want, have) != 0) {
            json_object_put(in);
            return respond_status(c, 409, "Conflict", "the object has been "
                                  "modified; please apply your changes to the "
                                  "latest version and try again");
        }
        if (sub && strcmp(sub, "status") == 0) {
            json_object *st = NULL;
            if (json_object_object_get_ex(in, "status", &st))
                json_object_object_add(o->o, "status", json_object_get(st));
            json_object_put(in);
        } else {
            json_object *m = meta_of(in);
            set_str(m, "uid", kvg_json_str(o->o, "metadata", "uid", NULL));
            if (ns)
                set_str(m, "namespace", ns);
            json_object_put(o->o);
            o->o = in;
        }
    }
    json_object *cur = json_object_get(o->o);
    store_locked(f, gr, cur);
    return respond_json(c, 200, json_object_get(cur));
}

/* ---- routing ------------------------------------------------------------------ */

typedef struct route {
    char *segs[12];
    int n;
    char *buf;
} route;

static void split(route *rt, const char *url)
{
    rt->buf = xdup(url);
    rt->n = 0;
    for (char *save = NULL, *s = strtok_r(rt->buf, "/", &save); s && rt->n < 12;
         s = strtok_r(NULL, "/", &save))
        rt->segs[rt->n++] = s;
}

static enum MHD_Result do_discovery(kvg_fakeapi *f, struct MHD_Connection *c,
                                    route *rt)
{
    if (rt->n == 1 && strcmp(rt->segs[0], "api") == 0)
        return respond(c, 200, "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"]}",
                       NULL);
    if (rt->n == 2 && strcmp(rt->segs[0], "api") == 0)
        return respond_json(c, 200, resource_list(f, "", rt->segs[1]));
    if (rt->n == 1) {
        json_object *o = json_object_new_object(), *gs = json_object_new_array();
        set_str(o, "kind", "APIGroupList");
        for (size_t i = 0; i < f->res.n; i++) {
            const char *g = f->res.v[i].group;
            bool dup = false;
            for (size_t k = 0; k < i; k++)
                dup |= strcmp(f->res.v[k].group, g) == 0;
            if (*g && !dup)
                json_object_array_add(gs, group_obj(f, g));
        }
        json_object_object_add(o, "groups", gs);
        return respond_json(c, 200, o);
    }
    if (rt->n == 2) {
        json_object *g = group_obj(f, rt->segs[1]);
        if (!g)
            return respond_status(c, 404, "NotFound", "the server could not "
                                  "find the requested resource");
        return respond_json(c, 200, g);
    }
    bool any = false;
    for (size_t i = 0; i < f->res.n; i++)
        any |= strcmp(f->res.v[i].group, rt->segs[1]) == 0 &&
               strcmp(f->res.v[i].version, rt->segs[2]) == 0;
    if (!any)
        return respond_status(c, 404, "NotFound", "the server could not "
                              "find the requested resource");
    return respond_json(c, 200, resource_list(f, rt->segs[1], rt->segs[2]));
}

static enum MHD_Result dispatch(kvg_fakeapi *f, struct MHD_Connection *c,
                                const char *method, route *rt,
                                const char *body)
{
    bool core = rt->n >= 1 && strcmp(rt->segs[0], "api") == 0;
    bool apis = rt->n >= 1 && strcmp(rt->segs[0], "apis") == 0;
    int base = core ? 2 : 3;
    if ((!core && !apis) || rt->n < base - 1)
        return respond_status(c, 404, "NotFound", "no such path");
    if (rt->n <= base)
        return do_discovery(f, c, rt);
    const char *group = core ? "" : rt->segs[1];
    const char *version = rt->segs[base - 1];
    int i = base;
    const char *ns = NULL;
    if (strcmp(rt->segs[i], "namespaces") == 0 && rt->n >= i + 3) {
        ns = rt->segs[i + 1];
        i += 2;
    }
    const char *resource = rt->segs[i];
    const char *name = rt->n > i + 1 ? rt->segs[i + 1] : NULL;
    const char *sub = rt->n > i + 2 ? rt->segs[i + 2] : NULL;
    if (strcmp(group, "subresources.kubevirt.io") == 0 && sub &&
        strcmp(method, "PUT") == 0)
        return respond(c, 202, "", NULL);
    const res *r = find_res(f, group, version, resource);
    if (!r)
        return respond_status(c, 404, "NotFound", "the server could not find "
                              "the requested resource");
    char *gr = gr_of(group, resource);
    enum MHD_Result ret;
    const char *watch = arg(c, "watch");
    if (!name && strcmp(method, "GET") == 0 && watch &&
        (strcmp(watch, "true") == 0 || strcmp(watch, "1") == 0))
        ret = do_watch(f, c, gr, ns);
    else if (!name && strcmp(method, "GET") == 0)
        ret = do_list(f, c, r, gr, ns);
    else if (strcmp(method, "GET") == 0) {
        obj *o = find_obj(f, gr, ns, name);
        ret = o ? respond_json(c, 200, json_object_get(o->o))
                : not_found(c, r, name);
    } else if (strcmp(method, "DELETE") == 0 && name)
        ret = do_delete(f, c, r, gr, ns, name, body);
    else if (strcmp(method, "POST") == 0 || name)
        ret = do_write(f, c, method, r, gr, ns, name, sub, body);
    else
        ret = respond_status(c, 405, "MethodNotAllowed", "not allowed");
    free(gr);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    kvg_fakeapi *f = cls;
    conn *cn = *con_cls;
    if (!cn) {
        if (!(cn = calloc(1, sizeof *cn)))
            return MHD_NO;
        *con_cls = cn;
        return MHD_YES;
    }
    if (*upload_size) {
        char *b = realloc(cn->body, cn->len + *upload_size + 1);
        if (!b)
            return MHD_NO;
        memcpy(b + cn->len, upload, *upload_size);
        cn->body = b;
        cn->len += *upload_size;
        cn->body[cn->len] = '\0';
        *upload_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&f->mu);
    log_request(f, c, method, url, cn);
    enum MHD_Result ret;
    fault *ft = take_fault(f, method, url, f->log.v[f->log.n - 1].query);
    if (ft) {
        char msg[64];
        snprintf(msg, sizeof msg, "injected fault %d", ft->status);
        if (ft->body)
            ret = respond(c, ft->status, ft->body, ft->retry_after);
        else {
            json_object *s = status_obj(ft->status, ft->status == 429
                                        ? "TooManyRequests" : "InternalError",
                                        msg);
            ret = respond(c, ft->status,
                          json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN),
                          ft->retry_after);
            json_object_put(s);
        }
    } else {
        route rt;
        split(&rt, url);
        ret = dispatch(f, c, method, &rt, cn->body);
        free(rt.buf);
    }
    pthread_mutex_unlock(&f->mu);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    conn *cn = *con_cls;
    if (cn) {
        free(cn->body);
        free(cn);
        *con_cls = NULL;
    }
}

unsigned kvg_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        DIE("no free port");
    close(fd);
    return ntohs(sa.sin_port);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    kvg_fakeapi *f = cls;
    if (code != MHD_CONNECTION_NOTIFY_STARTED)
        return;
    pthread_mutex_lock(&f->mu);
    f->connections++;
    pthread_mutex_unlock(&f->mu);
}

int kvg_fakeapi_connections(kvg_fakeapi *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->connections;
    pthread_mutex_unlock(&f->mu);
    return n;
}

kvg_fakeapi *kvg_fakeapi_start(void)
{
    return kvg_fakeapi_start_at(0, NULL, NULL);
}

kvg_fakeapi *kvg_fakeapi_start_at(unsigned port, const char *cert,
                                  const char *key)
{
    kvg_fakeapi *f = calloc(1, sizeof *f);
    if (!f)
        DIE("oom");
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cond, NULL);
    f->rv = 100;
    if (cert && key) {
        f->cert = xdup(cert);
        f->key = xdup(key);
    } else {
        kvg_test_gen_cert("fakeapi", &f->cert, &f->key);
    }
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    f->d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
            MHD_USE_TLS,
        0, NULL, NULL, handler, f, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_HTTPS_MEM_KEY, f->key, MHD_OPTION_HTTPS_MEM_CERT, f->cert,
        MHD_OPTION_NOTIFY_COMPLETED, completed, f,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, f,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
    if (!f->d)
        DIE("cannot start the HTTPS server");
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(f->url, sizeof f->url, "https://127.0.0.1:%u",
             (unsigned)di->port);
    return f;
}

void kvg_fakeapi_stop(kvg_fakeapi *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->stopping = true;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
    MHD_stop_daemon(f->d);
    for (size_t i = 0; i < f->objs.n; i++) {
        json_object_put(f->objs.v[i].o);
        free(f->objs.v[i].gr);
        free(f->objs.v[i].ns);
        free(f->objs.v[i].name);
    }
    for (size_t i = 0; i < f->events.n; i++) {
        free(f->events.v[i].gr);
        free(f->events.v[i].ns);
        free(f->events.v[i].line);
    }
    for (size_t i = 0; i < f->faults.n; i++) {
        fault *ft = &f->faults.v[i];
        free(ft->method);
        free(ft->prefix);
        free(ft->query);
        free(ft->retry_after);
        free(ft->body);
    }
    for (size_t i = 0; i < f->log.n; i++) {
        logent *l = &f->log.v[i];
        free(l->method);
        free(l->path);
        free(l->query);
        free(l->body);
        free(l->ctype);
        free(l->auth);
    }
    free(f->objs.v);
    free(f->events.v);
    free(f->faults.v);
    free(f->log.v);
    free(f->res.v);
    free(f->cert);
    free(f->key);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cond);
    free(f);
}

const char *kvg_fakeapi_url(const kvg_fakeapi *f)
{
    return f->url;
}

void kvg_fakeapi_config(const kvg_fakeapi *f, kvg_kube_config *out)
{
    kvg_kube_config_init(out);
    out->source = xdup("fakeapi");
    out->server = xdup(f->url);
    out->token = xdup("test-token");
    out->namespace_ = xdup("default");
    if (kvg_buf_puts(&out->ca, f->cert) != KVG_OK)
        DIE("oom");
}
