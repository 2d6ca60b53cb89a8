/* kvguard: the admission codec (AdmissionReview admission.k8s.io/v1 and
 * v1beta1) and kvg_admit(), the single path from request bytes to response
 * bytes shared by the HTTP server and `kvguard review`. */
#ifndef KVGUARD_ADMISSION_H
#define KVGUARD_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "kvguard/buf.h"
#include "kvguard/error.h"
#include "kvguard/policy.h"
#include "kvguard/view.h"

typedef struct kvg_review {
    json_object *root;       /* the parsed AdmissionReview (owned) */
    char api_version[32];    /* "admission.k8s.io/v1" or ".../v1beta1" */
    kvg_request req;         /* pointers into root */
} kvg_review;

/* Decode JSON text. Errors (KVG_EPARSE) say what is missing or malformed:
 * not JSON, not an AdmissionReview, unsupported apiVersion, no request,
 * no uid, wrong field types. */
kvg_err kvg_review_decode(const char *body, size_t len, kvg_review *out,
                          kvg_diag *d);
/* Decode JSON or YAML (for `kvguard review FILE`). */
kvg_err kvg_review_decode_any(const char *text, size_t len, const char *name,
                              kvg_review *out, kvg_diag *d);
void kvg_review_free(kvg_review *r);

/* Encode the response AdmissionReview (same apiVersion as the request, its
 * uid, allowed, status{code,message,reason,details.causes}, warnings,
 * patchType JSONPatch + base64 patch, auditAnnotations). Appends to out. */
kvg_err kvg_review_encode(const kvg_review *r, const kvg_decision *dec,
                          kvg_buf *out);

/* JSON error body for HTTP 4xx answers: {"error":"...","code":400} */
kvg_err kvg_admission_error_body(int code, const char *msg, kvg_buf *out);

typedef struct kvg_admit_result {
    int http_status;     /* 200, or 400 for malformed reviews */
    bool allowed;
    double seconds;      /* decision latency (monotonic) */
    /* Copied from the request (empty when it could not be decoded) so the
     * server can label metrics after the review is freed. */
    char kind[64];       /* request.kind.kind, e.g. "VirtualMachineSnapshot" */
    char operation[16];  /* "CREATE", "UPDATE", "DELETE", "CONNECT" */
} kvg_admit_result;

/* body -> decode -> policy -> encode -> audit record. On malformed input,
 * returns KVG_EPARSE with out holding a JSON error body and http_status 400.
 * `audit` false suppresses the audit record (tests, fuzzing). */
typedef struct kvg_audit_sink kvg_audit_sink; /* kvguard/audit.h */

typedef struct kvg_admit_opts {
    bool mutate;
    bool explain;
    bool audit;
    /* With explain: the engine's explanation is appended here (may be NULL). */
    kvg_buf *explain_out;
    /* With audit: where the record goes (kvg_audit_sink_open, never blocks);
     * NULL writes it to stderr synchronously through the log writer. */
    kvg_audit_sink *audit_sink;
} kvg_admit_opts;

kvg_err kvg_admit(const kvg_policy_config *cfg, const kvg_view *view,
                  const char *body, size_t len, const kvg_admit_opts *opts,
                  kvg_buf *out, kvg_admit_result *res, kvg_diag *d);

/* One JSON audit line for a decision (SPEC §8, issue 8 fields). Appends to out
 * without a newline. */
kvg_err kvg_audit_format(const kvg_review *r, const kvg_decision *dec,
                         bool mutate, double seconds, kvg_buf *out);

#endif
