/* kvguard: the audit record of one admission decision (docs/audit.md, "Audit
 * trail"): one compact JSON line, the same keys every time (subResource and
 * annotations only when set). Declared in admission.h (kvg_audit_format),
 * called by kvg_admit(). */
#include <stdio.h>
#include <time.h>

#include "kvguard/admission.h"
#include "kvguard/json.h"

#define CHAIN KVG_BUF_CHAIN

static kvg_err put_bool(kvg_buf *b, const char *prefix, bool v)
{
    kvg_err e = kvg_buf_puts(b, prefix);
    return e ? e : kvg_buf_puts(b, v ? "true" : "false");
}

/* RFC 3339 UTC with milliseconds, as the log lines. */
static void rfc3339_now(char out[64])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L);
}

/* The strings of an array the decoder checked (request.userInfo.groups). */
static kvg_err put_strings(kvg_buf *b, const char *prefix, const json_object *arr)
{
    size_t n = arr ? json_object_array_length(arr) : 0;
    kvg_err e = kvg_buf_puts(b, prefix);
    for (size_t i = 0; !e && i < n; i++)
        e = kvg_buf_json_field(b, i ? "," : "",
                               kvg_json_as_str(json_object_array_get_idx(arr, i)));
    return e ? e : kvg_buf_puts(b, "]");
}

static kvg_err audit_request(const kvg_request *q, kvg_buf *b)
{
    kvg_err e = KVG_OK;
    CHAIN(e, kvg_buf_json_field(b, ",\"uid\":", q->uid));
    CHAIN(e, kvg_buf_json_field(b, ",\"user\":", q->username));
    CHAIN(e, put_strings(b, ",\"groups\":[", q->groups));
    CHAIN(e, kvg_buf_json_field(b, ",\"operation\":",
                                kvg_operation_name(q->operation)));
    CHAIN(e, kvg_buf_json_field(b, ",\"group\":", q->group));
    CHAIN(e, kvg_buf_json_field(b, ",\"version\":", q->version));
    CHAIN(e, kvg_buf_json_field(b, ",\"kind\":", q->kind));
    CHAIN(e, kvg_buf_json_field(b, ",\"resource\":", q->resource));
    CHAIN(e, kvg_buf_json_field(b, ",\"namespace\":", q->namespace_));
    CHAIN(e, kvg_buf_json_field(b, ",\"name\":", q->name));
    CHAIN(e, put_bool(b, ",\"dryRun\":", q->dry_run));
    if (q->sub_resource && *q->sub_resource)
        CHAIN(e, kvg_buf_json_field(b, ",\"subResource\":", q->sub_resource));
    return e;
}

static kvg_err audit_rules(const kvg_decision *dec, kvg_buf *b)
{
    kvg_err e = kvg_buf_puts(b, ",\"rules\":[");
    for (size_t i = 0; !e && i < dec->n_results; i++) {
        const kvg_rule_result *rr = &dec->results[i];
        const kvg_rule_info *info = kvg_rule_info_get(rr->rule);
        CHAIN(e, kvg_buf_json_field(b, i ? ",{\"id\":" : "{\"id\":",
                                    info ? info->name : "unknown"));
        CHAIN(e, kvg_buf_json_field(b, ",\"action\":", kvg_action_name(rr->action)));
        CHAIN(e, kvg_buf_json_field(b, ",\"outcome\":",
                                    kvg_outcome_name(rr->outcome)));
        if (rr->message && (rr->outcome == KVG_OUTCOME_FAIL ||
                            rr->outcome == KVG_OUTCOME_UNKNOWN))
            CHAIN(e, kvg_buf_json_field(b, ",\"message\":", rr->message));
        CHAIN(e, kvg_buf_puts(b, "}"));
    }
    return e ? e : kvg_buf_puts(b, "]");
}

/* Operations and paths only: values may be whole VM specs. */
static kvg_err audit_patch(const kvg_decision *dec, kvg_buf *b)
{
    size_t n = dec->patch && json_object_is_type(dec->patch, json_type_array)
                   ? json_object_array_length(dec->patch) : 0;
    /* always present (empty when nothing was patched): a stable record */
    kvg_err e = kvg_buf_puts(b, ",\"patch\":[");
    for (size_t i = 0; !e && i < n; i++) {
        json_object *op = json_object_array_get_idx(dec->patch, i);
        CHAIN(e, kvg_buf_json_field(b, i ? ",{\"op\":" : "{\"op\":",
                                    kvg_json_str(op, "op", NULL)));
        CHAIN(e, kvg_buf_json_field(b, ",\"path\":", kvg_json_str(op, "path", NULL)));
        CHAIN(e, kvg_buf_puts(b, "}"));
    }
    return e ? e : kvg_buf_puts(b, "]");
}

static kvg_err audit_decision(const kvg_decision *dec, bool mutate,
                              double seconds, kvg_buf *b)
{
    kvg_err e = KVG_OK;
    CHAIN(e, kvg_buf_json_field(b, ",\"webhook\":", mutate ? "mutate" : "validate"));
    CHAIN(e, kvg_buf_json_field(b, ",\"decision\":",
                                dec->allowed ? "allowed" : "denied"));
    CHAIN(e, kvg_buf_printf(b, ",\"code\":%d",
                            dec->allowed ? 200 : dec->code ? dec->code : 403));
    CHAIN(e, audit_rules(dec, b));
    CHAIN(e, kvg_buf_json_field(b, ",\"message\":", dec->message));
    CHAIN(e, kvg_buf_puts(b, ",\"warnings\":["));
    for (size_t i = 0; i < dec->n_warnings; i++)
        CHAIN(e, kvg_buf_json_field(b, i ? "," : "", dec->warnings[i]));
    CHAIN(e, kvg_buf_puts(b, "]"));
    CHAIN(e, audit_patch(dec, b));
    /* the decision's own tree (string values): json-c writes it */
    if (dec->annotations) {
        CHAIN(e, kvg_buf_puts(b, ",\"annotations\":"));
        CHAIN(e, kvg_json_to_buf(dec->annotations, b));
    }
    CHAIN(e, kvg_buf_printf(b, ",\"latency_ms\":%.3f}", seconds * 1000.0));
    return e;
}

/* Written directly rather than as a json-c tree (which cost more than the
 * policy decision itself); kvg_buf_json_str escapes as json-c does, so the
 * line is the same byte for byte. */
kvg_err kvg_audit_format(const kvg_review *r, const kvg_decision *dec,
                         bool mutate, double seconds, kvg_buf *out)
{
    char ts[64];
    kvg_err e = KVG_OK;
    size_t start;
    if (!r || !dec || !out || !r->req.uid)
        return KVG_EINVAL;
    start = out->len;
    rfc3339_now(ts);
    CHAIN(e, kvg_buf_json_field(out, "{\"time\":", ts));
    CHAIN(e, kvg_buf_puts(out, ",\"event\":\"admission.decision\""));
    CHAIN(e, audit_request(&r->req, out));
    CHAIN(e, audit_decision(dec, mutate, seconds, out));
    if (e)
        kvg_buf_truncate(out, start); /* appends nothing when it fails */
    return e;
}
