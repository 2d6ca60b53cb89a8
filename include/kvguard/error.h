/* kvguard: error codes and diagnostics.
 *
 * Every function that can fail returns a kvg_err. Where the caller needs to
 * know *what* was wrong (file, line, field), the function also takes a
 * kvg_diag *, which may be NULL. */
#ifndef KVGUARD_ERROR_H
#define KVGUARD_ERROR_H

#include <stddef.h>

#define KVG_ERRNO_MAP(XX)                                                    \
    XX(OK, "success")                                                        \
    XX(ENOMEM, "out of memory")                                              \
    XX(EINVAL, "invalid argument")                                           \
    XX(EPARSE, "malformed input")                                            \
    XX(ETOOBIG, "input exceeds size limit")                                  \
    XX(EIO, "input/output error")                                            \
    XX(ENOTFOUND, "not found")                                               \
    XX(EEXIST, "already exists")                                             \
    XX(ECONFIG, "invalid configuration")                                     \
    XX(ETLS, "TLS or certificate error")                                     \
    XX(EHTTP, "HTTP transport error")                                        \
    XX(EAPI, "Kubernetes API error")                                         \
    XX(EGONE, "resource version expired")                                    \
    XX(ECONFLICT, "conflict")                                                \
    XX(ETIMEOUT, "timed out")                                                \
    XX(EUNAVAIL, "not available")                                            \
    XX(EUNSUPPORTED, "not supported")                                        \
    XX(ECANCELED, "canceled")

typedef enum kvg_err {
#define KVG_ERR_ENUM(name, s) KVG_##name,
    KVG_ERRNO_MAP(KVG_ERR_ENUM)
#undef KVG_ERR_ENUM
    KVG_ERR_COUNT
} kvg_err;

/* Short, static description of an error code. Never NULL. */
const char *kvg_strerror(kvg_err err);
/* The code's symbolic name, e.g. "EPARSE". Never NULL. */
const char *kvg_err_name(kvg_err err);

#define KVG_DIAG_MAX 1024

/* Human-readable detail of the last failure: "file.yaml:12: key 'foo': ...". */
typedef struct kvg_diag {
    char msg[KVG_DIAG_MAX];
} kvg_diag;

/* printf into d->msg (no-op when d is NULL); returns err so that callers can
 * write `return kvg_diag_set(d, KVG_EPARSE, "...")`. */
kvg_err kvg_diag_set(kvg_diag *d, kvg_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepend "prefix: " to an existing message (adds context on the way up). */
void kvg_diag_prefix(kvg_diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
