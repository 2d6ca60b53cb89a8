/* A small HTTPS server on 127.0.0.1 speaking enough of the Kubernetes API
 * for the client and informer tests: discovery, GET, LIST with limit and
 * continue, WATCH with bookmarks and 410, POST, PUT, PATCH (merge), DELETE
 * with preconditions, KubeVirt start/stop, and scripted faults. A test
 * double only: the e2e suite runs against a real kube-apiserver. */
#ifndef KVG_TEST_FAKEAPI_H
#define KVG_TEST_FAKEAPI_H

#include <stdbool.h>

#include "kvguard/kube.h"

/* Self-signed ECDSA P-256 certificate (CA:TRUE) for 127.0.0.1 and
 * localhost, valid one day. PEM strings to free(). Aborts on failure. */
void kvg_test_gen_cert(const char *cn, char **cert_pem, char **key_pem);

typedef struct kvg_fakeapi kvg_fakeapi;

/* Listens on 127.0.0.1:<random>; aborts the test on failure. */
kvg_fakeapi *kvg_fakeapi_start(void);
/* On a given port (0: random) with a given certificate and key (NULL: a
 * fresh one): for clients configured before the server exists. */
kvg_fakeapi *kvg_fakeapi_start_at(unsigned port, const char *cert_pem,
                                  const char *key_pem);
/* A loopback TCP port free right now. */
unsigned kvg_test_free_port(void);
void kvg_fakeapi_stop(kvg_fakeapi *f);
const char *kvg_fakeapi_url(const kvg_fakeapi *f);
/* A client configuration for it: its CA, bearer token "test-token". */
void kvg_fakeapi_config(const kvg_fakeapi *f, kvg_kube_config *out);

/* Serve a resource (discovery lists it; verbs work on it). The first
 * version registered for a group is its preferred version. */
void kvg_fakeapi_serve(kvg_fakeapi *f, const char *group, const char *version,
                       const char *resource, const char *kind,
                       bool namespaced);
/* Serve every tracked kind at its first version. */
void kvg_fakeapi_serve_kinds(kvg_fakeapi *f);

/* Create or replace an object (JSON text; namespace and name from its
 * metadata); assigns uid and resourceVersion; emits ADDED or MODIFIED.
 * Returns the new resourceVersion. */
long kvg_fakeapi_put(kvg_fakeapi *f, const char *group, const char *resource,
                     const char *json);
/* Delete; emits DELETED. Returns the new resourceVersion, 0 when missing. */
long kvg_fakeapi_remove(kvg_fakeapi *f, const char *group,
                        const char *resource, const char *ns,
                        const char *name);
/* Send a BOOKMARK at the current resourceVersion to watchers of resource
 * (bumps the version as the apiserver's progress notify does). */
long kvg_fakeapi_bookmark(kvg_fakeapi *f, const char *group,
                          const char *resource);
/* Idle watch streams send a blank line every second (so that vanished
 * clients are noticed); silent: they send nothing at all. */
void kvg_fakeapi_silent(kvg_fakeapi *f, bool silent);
/* Forget history: watches and continue tokens older than now get 410. */
void kvg_fakeapi_compact(kvg_fakeapi *f);
/* End every open watch stream now (as an apiserver restart would). */
void kvg_fakeapi_close_watches(kvg_fakeapi *f);
/* 410 on an old watch as 200 + ERROR event (false, the apiserver's way)
 * or as an HTTP 410 answer (true). */
void kvg_fakeapi_gone_as_http(kvg_fakeapi *f, bool http);
long kvg_fakeapi_rv(kvg_fakeapi *f);
/* TCP connections accepted so far. */
int kvg_fakeapi_connections(kvg_fakeapi *f);
int kvg_fakeapi_open_watches(kvg_fakeapi *f);

/* The next `times` requests with this method whose path starts with
 * path_prefix are answered with status, an optional Retry-After header and
 * body (NULL: a Status object). method NULL matches any. */
void kvg_fakeapi_fail(kvg_fakeapi *f, const char *method,
                      const char *path_prefix, int times, int status,
                      const char *retry_after, const char *body);

/* Same, only for requests whose query contains `query`. */
void kvg_fakeapi_fail_query(kvg_fakeapi *f, const char *method,
                            const char *path_prefix, const char *query,
                            int times, int status, const char *retry_after,
                            const char *body);
/* Forget every pending fault. */
void kvg_fakeapi_clear_faults(kvg_fakeapi *f);

/* Requests seen so far with method (NULL: any) and path prefix. */
int kvg_fakeapi_count(kvg_fakeapi *f, const char *method,
                      const char *path_prefix);

int kvg_fakeapi_count_query(kvg_fakeapi *f, const char *method,
                            const char *path_prefix, const char *query);

typedef enum kvg_fakeapi_field {
    KVG_FAKE_QUERY,   /* "k=v&k=v" (unescaped values) */
    KVG_FAKE_BODY,
    KVG_FAKE_CTYPE,   /* Content-Type */
    KVG_FAKE_AUTH,    /* Authorization */
    KVG_FAKE_PATH,
} kvg_fakeapi_field;

/* A copy (to free) of a field of the last matching request, or NULL. */
char *kvg_fakeapi_last(kvg_fakeapi *f, const char *method,
                       const char *path_prefix, kvg_fakeapi_field field);

#endif
