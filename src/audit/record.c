/* kvguard: the audit record of one admission decision (docs/audit.md, "Audit
 * trail"): one compact JSON line, the same keys every time (subResource and
 * annotations only when set). Declared in admission.h (kvg_audit_format),
 * called by kvg_admit(). */
#include <stdio.h>
#include <time.h>

#include "kvguard/admission.h"
#include "kvguard/json.h"

static kvg_err put(json_object *o, const char *key, json_object *v)
{
    if (!v || json_object_object_add(o, key, v)) {
        json_object_put(v);
        return KVG_ENOMEM;
    }
    return KVG_OK;
}

static kvg_err put_str(json_object *o, const char *key, const char *s)
{
    return put(o, key, json_object_new_string(s ? s : ""));
}

static kvg_err push(json_object *arr, json_object *v)
{
    if (!v || json_object_array_add(arr, v)) {
        json_object_put(v);
        return KVG_ENOMEM;
    }
    return KVG_OK;
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

static kvg_err audit_request(const kvg_request *q, json_object *rec)
{
    kvg_err e;
    json_object *groups = q->groups ? json_object_get((json_object *)q->groups)
                                    : json_object_new_array();
    if ((e = put_str(rec, "uid", q->uid)) ||
        (e = put_str(rec, "user", q->username)) ||
        (e = put(rec, "groups", groups)) ||
        (e = put_str(rec, "operation", kvg_operation_name(q->operation))) ||
        (e = put_str(rec, "group", q->group)) ||
        (e = put_str(rec, "version", q->version)) ||
        (e = put_str(rec, "kind", q->kind)) ||
        (e = put_str(rec, "resource", q->resource)) ||
        (e = put_str(rec, "namespace", q->namespace_)) ||
        (e = put_str(rec, "name", q->name)) ||
        (e = put(rec, "dryRun", json_object_new_boolean(q->dry_run))))
        return e;
    if (q->sub_resource && *q->sub_resource)
        return put_str(rec, "subResource", q->sub_resource);
    return KVG_OK;
}

static kvg_err audit_rules(const kvg_decision *dec, json_object *rec)
{
    json_object *arr = json_object_new_array();
    kvg_err e = put(rec, "rules", arr);
    for (size_t i = 0; !e && i < dec->n_results; i++) {
        const kvg_rule_result *rr = &dec->results[i];
        const kvg_rule_info *info = kvg_rule_info_get(rr->rule);
        json_object *o = json_object_new_object();
        if ((e = push(arr, o)) ||
            (e = put_str(o, "id", info ? info->name : "unknown")) ||
            (e = put_str(o, "action", kvg_action_name(rr->action))) ||
            (e = put_str(o, "outcome", kvg_outcome_name(rr->outcome))))
            break;
        if (rr->message && (rr->outcome == KVG_OUTCOME_FAIL ||
                            rr->outcome == KVG_OUTCOME_UNKNOWN))
            e = put_str(o, "message", rr->message);
    }
    return e;
}

/* Operations and paths only: values may be whole VM specs. */
static kvg_err audit_patch(const kvg_decision *dec, json_object *rec)
{
    json_object *arr = json_object_new_array();
    kvg_err e = put(rec, "patch", arr);
    size_t n = dec->patch && json_object_is_type(dec->patch, json_type_array)
                   ? json_object_array_length(dec->patch) : 0;
    /* always present (empty when nothing was patched): a stable record */
    for (size_t i = 0; !e && i < n; i++) {
        json_object *op = json_object_array_get_idx(dec->patch, i);
        json_object *o = json_object_new_object();
        if ((e = push(arr, o)) || (e = put_str(o, "op", kvg_json_str(op, "op", NULL))))
            break;
        e = put_str(o, "path", kvg_json_str(op, "path", NULL));
    }
    return e;
}

static kvg_err audit_decision(const kvg_decision *dec, bool mutate,
                              double seconds, json_object *rec)
{
    json_object *warn = json_object_new_array();
    char ms[32];
    kvg_err e;
    snprintf(ms, sizeof ms, "%.3f", seconds * 1000.0);
    if ((e = put_str(rec, "webhook", mutate ? "mutate" : "validate")) ||
        (e = put_str(rec, "decision", dec->allowed ? "allowed" : "denied")) ||
        (e = put(rec, "code", json_object_new_int(dec->allowed ? 200 : dec->code ? dec->code : 403))) ||
        (e = audit_rules(dec, rec)))
        return e;
    if ((e = put_str(rec, "message", dec->message)))
        return e;
    if ((e = put(rec, "warnings", warn)))
        return e;
    for (size_t i = 0; i < dec->n_warnings; i++)
        if ((e = push(warn, json_object_new_string(dec->warnings[i] ? dec->warnings[i] : ""))))
            return e;
    if ((e = audit_patch(dec, rec)))
        return e;
    if (dec->annotations &&
        (e = put(rec, "annotations", json_object_get(dec->annotations))))
        return e;
    return put(rec, "latency_ms", json_object_new_double_s(seconds * 1000.0, ms));
}

kvg_err kvg_audit_format(const kvg_review *r, const kvg_decision *dec,
                         bool mutate, double seconds, kvg_buf *out)
{
    json_object *rec;
    char ts[64];
    kvg_err e;
    if (!r || !dec || !out || !r->req.uid)
        return KVG_EINVAL;
    if (!(rec = json_object_new_object()))
        return KVG_ENOMEM;
    rfc3339_now(ts);
    e = put_str(rec, "time", ts);
    if (!e)
        e = put_str(rec, "event", "admission.decision");
    if (!e)
        e = audit_request(&r->req, rec);
    if (!e)
        e = audit_decision(dec, mutate, seconds, rec);
    if (!e)
        e = kvg_json_to_buf(rec, out);
    json_object_put(rec);
    return e;
}

