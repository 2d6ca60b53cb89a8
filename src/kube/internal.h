/* kvguard kube client internals shared by client.c and verbs.c. */
#ifndef KVG_KUBE_INTERNAL_H
#define KVG_KUBE_INTERNAL_H

#include "kvguard/kube.h"

/* One HTTP exchange, retried by kvg_kube_do() as its flags allow. */
typedef struct kvg_kube_req {
    const char *method;       /* "GET", "POST", ... */
    const char *path;         /* path and query, appended to the server URL */
    const char *ctype;        /* request body content type, or NULL */
    const char *body;         /* request body, or NULL */
    size_t body_len;
    bool idempotent;          /* retry on 5xx, 429 and transport errors */
    bool watch;               /* long-lived stream into parser */
    long watch_timeout_s;     /* the server-side timeoutSeconds */
    kvg_watch_parser *parser; /* watch only */
} kvg_kube_req;

/* Performs req; on 2xx fills resp (may be NULL) with the body. On >= 400
 * returns the mapped error with call->status filled and diag set. */
kvg_err kvg_kube_do(kvg_kube_client *c, const kvg_kube_req *req,
                    kvg_buf *resp, const kvg_kube_call *call, kvg_diag *d);

/* "/api/v1[/namespaces/NS]/RES[/NAME[/SUB]]" or "/apis/G/V/..." into b. */
kvg_err kvg_kube_path(kvg_buf *b, const kvg_kube_resource *r, const char *ns,
                      const char *name, const char *sub, kvg_diag *d);
/* Appends "&key=escaped(value)" (or "?" for the first parameter). */
kvg_err kvg_kube_query(kvg_buf *b, const char *key, const char *value);

#endif
