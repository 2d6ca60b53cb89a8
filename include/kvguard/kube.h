/* kvguard: Kubernetes API client over libcurl (OpenSSL backend).
 *
 * Endpoint and credentials come from a kubeconfig file or from the pod's
 * service account (in-cluster). Verbs: GET, LIST (paginated), WATCH
 * (newline-delimited JSON events), CREATE, PATCH, UPDATE, DELETE with
 * preconditions, subresources, VirtualMachine start/stop.
 *
 * Thread-safety: one client is shared by every thread; each call borrows an
 * easy handle from a pool (connections are kept alive inside the handles).
 *
 * Errors: transport failures map to KVG_EHTTP / KVG_ETLS / KVG_ETIMEOUT /
 * KVG_ECANCELED; answers >= 400 are decoded from the apiserver's Status object
 * into kvg_kube_status and mapped by code: 404 KVG_ENOTFOUND, 409 KVG_ECONFLICT
 * (KVG_EEXIST when the reason is AlreadyExists), 410 KVG_EGONE, others
 * KVG_EAPI. The diag says "METHOD PATH: CODE Reason: message". */
#ifndef KVGUARD_KUBE_H
#define KVGUARD_KUBE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "kvguard/buf.h"
#include "kvguard/error.h"
#include "kvguard/view.h"

/* ---- configuration -------------------------------------------------------- */

typedef struct kvg_kube_config {
    char *source;      /* "kubeconfig /path" or "in-cluster" (for messages) */
    char *server;      /* "https://host:port[/prefix]", no trailing slash */
    kvg_buf ca;        /* PEM bundle; len 0: the system trust store */
    kvg_buf client_cert, client_key; /* PEM; len 0: none */
    char *token;       /* static bearer token or NULL */
    char *token_file;  /* bearer token re-read when the file changes, or NULL */
    bool insecure;     /* insecure-skip-tls-verify */
    char *namespace_;  /* the context's or service account's; "default" */
} kvg_kube_config;

void kvg_kube_config_init(kvg_kube_config *c);
void kvg_kube_config_free(kvg_kube_config *c);

/* Load a kubeconfig file. context NULL: the file's current-context. Paths in
 * the file are relative to its directory. Errors name the file and field:
 * "kubeconfig /x: users[admin].user: client-key-data is not valid base64". */
kvg_err kvg_kubeconfig_load(const char *path, const char *context,
                            kvg_kube_config *out, kvg_diag *d);
/* Same from text; `path` names the file and anchors relative paths. */
kvg_err kvg_kubeconfig_parse(const char *text, size_t len, const char *path,
                             const char *context, kvg_kube_config *out,
                             kvg_diag *d);

#define KVG_KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* In-cluster: KUBERNETES_SERVICE_HOST/PORT and sa_dir/{token,ca.crt,namespace}
 * (sa_dir NULL: KVG_KUBE_SA_DIR). */
kvg_err kvg_kube_incluster(const char *sa_dir, kvg_kube_config *out,
                           kvg_diag *d);

/* ---- client ------------------------------------------------------------------ */

typedef struct kvg_kube_client kvg_kube_client;

typedef struct kvg_kube_tuning {
    long connect_timeout_ms;   /* 5000 */
    long request_timeout_ms;   /* 30000 (not watches) */
    long watch_low_speed_s;    /* 120: a watch silent this long is dropped */
    int max_attempts;          /* 5, retried verbs only */
    long backoff_base_ms;      /* 200, doubled per attempt, full jitter */
    long backoff_max_ms;       /* 5000 */
    long retry_after_max_s;    /* 30: Retry-After is honoured up to this */
} kvg_kube_tuning;

/* Copies cfg. */
kvg_err kvg_kube_client_new(const kvg_kube_config *cfg, kvg_kube_client **out,
                            kvg_diag *d);
void kvg_kube_client_free(kvg_kube_client *c);
void kvg_kube_client_tune(kvg_kube_client *c, const kvg_kube_tuning *t);
const char *kvg_kube_client_namespace(const kvg_kube_client *c);

/* The apiserver's Status object of a failed call (code 0: no answer). */
typedef struct kvg_kube_status {
    int code;          /* HTTP status */
    char reason[64];   /* "NotFound", "Conflict", "Expired", ... */
    char message[512];
} kvg_kube_status;

/* A resource collection: group "" is the core group (/api/v1). */
typedef struct kvg_kube_resource {
    const char *group;
    char version[32];
    const char *resource; /* plural, "virtualmachines" */
    bool namespaced;
} kvg_kube_resource;

/* The resource of a tracked kind at `version` (NULL: the kind's first). */
kvg_err kvg_kube_resource_of(kvg_kind kind, const char *version,
                             kvg_kube_resource *out);

/* Discovery: whether the apiserver serves the kind, and at which version (the
 * server's preferred version of the group when the kind lists it, else the
 * kind's first version the group serves). *served false and KVG_OK when the
 * group or the resource is not served (CRD not installed). */
kvg_err kvg_kube_discover(kvg_kube_client *c, kvg_kind kind, bool *served,
                          kvg_kube_resource *out, kvg_kube_status *st,
                          kvg_diag *d);

/* Options common to calls; every field optional. */
typedef struct kvg_kube_call {
    const atomic_bool *cancel; /* set to true to abort the call (~1 s) */
    kvg_kube_status *status;   /* filled on API errors */
} kvg_kube_call;

/* GET one object (*out owned by the caller). */
kvg_err kvg_kube_get(kvg_kube_client *c, const kvg_kube_resource *r,
                     const char *ns, const char *name, json_object **out,
                     const kvg_kube_call *call, kvg_diag *d);

typedef struct kvg_kube_list_opts {
    const char *label_selector, *field_selector; /* NULL: none */
    long limit;                                  /* page size; 0: 500 */
} kvg_kube_list_opts;

/* Called once per listed item; takes ownership of item. Non-OK stops. */
typedef kvg_err (*kvg_kube_item_fn)(json_object *item, void *ud);

/* LIST every page (limit/continue); ns NULL: all namespaces. *rv (owned by
 * the caller, may be NULL) gets the list's resourceVersion. */
kvg_err kvg_kube_list_each(kvg_kube_client *c, const kvg_kube_resource *r,
                           const char *ns, const kvg_kube_list_opts *o,
                           kvg_kube_item_fn fn, void *ud, char **rv,
                           const kvg_kube_call *call, kvg_diag *d);
/* Same, collecting the items into a new json array *items. */
kvg_err kvg_kube_list(kvg_kube_client *c, const kvg_kube_resource *r,
                      const char *ns, const kvg_kube_list_opts *o,
                      json_object **items, char **rv,
                      const kvg_kube_call *call, kvg_diag *d);

/* POST obj (borrowed) into the collection; *out (may be NULL) the created
 * object. Retried only when the connection could not be made. */
kvg_err kvg_kube_create(kvg_kube_client *c, const kvg_kube_resource *r,
                        const char *ns, json_object *obj, json_object **out,
                        const kvg_kube_call *call, kvg_diag *d);

typedef enum kvg_patch_type {
    KVG_PATCH_MERGE, /* application/merge-patch+json */
    KVG_PATCH_JSON,  /* application/json-patch+json */
} kvg_patch_type;

/* PATCH name (subresource NULL or "status"); patch is JSON text. */
kvg_err kvg_kube_patch(kvg_kube_client *c, const kvg_kube_resource *r,
                       const char *ns, const char *name,
                       const char *subresource, kvg_patch_type type,
                       const char *patch, json_object **out,
                       const kvg_kube_call *call, kvg_diag *d);

/* PUT obj (borrowed) as name (subresource NULL or "status"). */
kvg_err kvg_kube_update(kvg_kube_client *c, const kvg_kube_resource *r,
                        const char *ns, const char *name,
                        const char *subresource, json_object *obj,
                        json_object **out, const kvg_kube_call *call,
                        kvg_diag *d);

typedef struct kvg_kube_delete_opts {
    const char *uid;              /* precondition, or NULL */
    const char *resource_version; /* precondition, or NULL */
    const char *propagation;      /* "Background", "Foreground", "Orphan" or NULL */
} kvg_kube_delete_opts;

/* DELETE name. Retried like a GET only when a precondition (uid or
 * resourceVersion) makes it safe; a retried delete that had been applied
 * answers KVG_ENOTFOUND. */
kvg_err kvg_kube_delete(kvg_kube_client *c, const kvg_kube_resource *r,
                        const char *ns, const char *name,
                        const kvg_kube_delete_opts *o,
                        const kvg_kube_call *call, kvg_diag *d);

/* KubeVirt VirtualMachine start / stop (subresources.kubevirt.io/v1, PUT). */
kvg_err kvg_kube_vm_start(kvg_kube_client *c, const char *ns, const char *name,
                          const kvg_kube_call *call, kvg_diag *d);
kvg_err kvg_kube_vm_stop(kvg_kube_client *c, const char *ns, const char *name,
                         const kvg_kube_call *call, kvg_diag *d);

/* ---- watch ------------------------------------------------------------------- */

typedef enum kvg_watch_type {
    KVG_WATCH_ADDED,
    KVG_WATCH_MODIFIED,
    KVG_WATCH_DELETED,
    KVG_WATCH_BOOKMARK,
} kvg_watch_type;

const char *kvg_watch_type_name(kvg_watch_type t);

typedef struct kvg_watch_event {
    kvg_watch_type type;
    json_object *object; /* ownership passes to the callback */
} kvg_watch_event;

/* Non-OK stops the watch and is returned by the watch call. */
typedef kvg_err (*kvg_watch_fn)(kvg_watch_event *ev, void *ud);

/* Incremental parser of a watch stream (one JSON event per line), fed with
 * arbitrary chunks. ERROR events end the stream: KVG_EGONE for code 410
 * (resourceVersion too old), KVG_EAPI otherwise, with `status` filled. */
typedef struct kvg_watch_parser {
    kvg_buf line;
    size_t max_line;
    unsigned long lineno;
    kvg_watch_fn fn;
    void *ud;
    kvg_kube_status status;
    kvg_err err; /* sticky: once failed, feeding fails the same way */
} kvg_watch_parser;

#define KVG_WATCH_MAX_LINE (16u << 20)

/* max_line 0: KVG_WATCH_MAX_LINE. */
void kvg_watch_parser_init(kvg_watch_parser *p, size_t max_line,
                           kvg_watch_fn fn, void *ud);
kvg_err kvg_watch_parser_feed(kvg_watch_parser *p, const char *data,
                              size_t len, kvg_diag *d);
/* End of stream: KVG_EIO when it stops inside an event. */
kvg_err kvg_watch_parser_finish(kvg_watch_parser *p, kvg_diag *d);
void kvg_watch_parser_free(kvg_watch_parser *p);

typedef struct kvg_kube_watch_opts {
    const char *resource_version; /* resume point; NULL or "": from now */
    long timeout_s;               /* server-side timeoutSeconds; 0: 300 */
    const char *label_selector, *field_selector;
} kvg_kube_watch_opts;

/* WATCH with allowWatchBookmarks=true until the server ends the stream
 * (KVG_OK: resume from the last resourceVersion seen), an ERROR event or
 * 410 (KVG_EGONE: relist), the callback fails, or call->cancel is set
 * (KVG_ECANCELED). Connecting is retried like a GET; a stream that has
 * delivered events is not. */
kvg_err kvg_kube_watch(kvg_kube_client *c, const kvg_kube_resource *r,
                       const char *ns, const kvg_kube_watch_opts *o,
                       kvg_watch_fn fn, void *ud, const kvg_kube_call *call,
                       kvg_diag *d);

/* ---- raw ---------------------------------------------------------------------- */

/* Map an HTTP status and Status reason to an error code. */
kvg_err kvg_kube_err_of_status(int code, const char *reason);
/* Decode a Status body (or any text) into st. */
void kvg_kube_status_decode(int code, const char *body, size_t len,
                            kvg_kube_status *st);

#endif
