/* kvguard: kvg_admit(), the one path from request bytes to response bytes
 * (server and `kvguard review`), and the audit record of each decision. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kvguard/admission.h"
#include "kvguard/metrics.h"
#include "kvguard/audit.h"
#include "kvguard/json.h"
#include "kvguard/log.h"

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- audit record ---------------------------------------------------------- */

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

/* ---- kvg_admit ------------------------------------------------------------- */

static kvg_err fail(kvg_admit_result *res, int status, kvg_err err,
                    const char *msg, kvg_buf *out)
{
    res->http_status = status;
    res->allowed = false;
    kvg_buf_reset(out);
    /* Even the error body may not fit (tiny out limit, ENOMEM): the status
     * code still tells the server what to answer. */
    (void)kvg_admission_error_body(status, msg, out);
    return err;
}

static void remember_request(const kvg_request *q, kvg_admit_result *res)
{
    snprintf(res->kind, sizeof res->kind, "%s", q->kind ? q->kind : "");
    snprintf(res->operation, sizeof res->operation, "%s",
             kvg_operation_name(q->operation));
}

static void write_audit(const kvg_review *rv, const kvg_decision *dec,
                        bool mutate, double seconds, kvg_audit_sink *sink)
{
    kvg_buf line;
    kvg_buf_init(&line, 0);
    if (kvg_audit_format(rv, dec, mutate, seconds, &line) == KVG_OK) {
        /* a full sink drops and counts the record itself */
        if (sink)
            (void)kvg_audit_sink_write(sink, line.data, line.len);
        else
            kvg_log_raw_line(line.data, line.len);
    }
    else
        kvg_logf(KVG_LOG_ERROR, "audit.format", "cannot format the audit "
                 "record of %s", rv->req.uid);
    kvg_buf_free(&line);
}

/* Rule outcomes as metrics (SPEC §8: totals by rule), skipped rules left out
 * so that the series count stays rules x outcomes x actions. */
static void count_rules(const kvg_decision *dec, bool mutate)
{
    kvg_metrics_register("kvguard_admission_rule_results_total", KVG_METRIC_COUNTER,
                         "Rule evaluations by webhook, rule, action in force and "
                         "outcome.", NULL, 0);
    for (size_t i = 0; i < dec->n_results; i++) {
        const kvg_rule_result *r = &dec->results[i];
        if (r->outcome == KVG_OUTCOME_SKIP)
            continue;
        char labels[192];
        snprintf(labels, sizeof labels,
                 "webhook=\"%s\",rule=\"%s\",action=\"%s\",outcome=\"%s\"",
                 mutate ? "mutate" : "validate", kvg_rule_info_get(r->rule)->name,
                 kvg_action_name(r->action), kvg_outcome_name(r->outcome));
        kvg_metrics_inc("kvguard_admission_rule_results_total", labels, 1);
    }
}

static kvg_err decide_and_encode(const kvg_policy_config *cfg,
                                 const kvg_view *view, const kvg_review *rv,
                                 const kvg_admit_opts *o, double t0,
                                 kvg_buf *out, kvg_admit_result *res,
                                 kvg_diag *d)
{
    kvg_decide_opts dopts = {.mutate = o->mutate, .explain = o->explain};
    kvg_decision dec;
    kvg_err e;
    kvg_decision_init(&dec);
    e = kvg_policy_decide(cfg, view, &rv->req, &dopts, &dec);
    if (e) {
        kvg_diag_set(d, e, "policy engine failed: %s", kvg_strerror(e));
        e = fail(res, 500, e, d->msg, out);
        goto done;
    }
    if ((e = kvg_review_encode(rv, &dec, out))) {
        kvg_diag_set(d, e, "cannot encode the response: %s", kvg_strerror(e));
        e = fail(res, 500, e, d->msg, out);
        goto done;
    }
    res->seconds = now_mono() - t0;
    res->allowed = dec.allowed;
    count_rules(&dec, o->mutate);
    res->http_status = 200;
    if (o->explain && o->explain_out && dec.explain.len)
        (void)kvg_buf_append(o->explain_out, dec.explain.data, dec.explain.len);
    if (o->audit)
        write_audit(rv, &dec, o->mutate, res->seconds, o->audit_sink);
done:
    kvg_decision_free(&dec);
    return e;
}

kvg_err kvg_admit(const kvg_policy_config *cfg, const kvg_view *view,
                  const char *body, size_t len, const kvg_admit_opts *opts,
                  kvg_buf *out, kvg_admit_result *res, kvg_diag *d)
{
    const kvg_admit_opts none = {0};
    const kvg_admit_opts *o = opts ? opts : &none;
    double t0 = now_mono();
    kvg_diag local;
    kvg_review rv;
    kvg_err e;
    if (!cfg || !out || !res)
        return KVG_EINVAL;
    memset(res, 0, sizeof *res);
    if (!d)
        d = &local;
    d->msg[0] = '\0';
    e = kvg_review_decode(body, len, &rv, d);
    if (e) {
        res->seconds = now_mono() - t0;
        return fail(res, e == KVG_ENOMEM ? 500 : 400, e, d->msg, out);
    }
    remember_request(&rv.req, res);
    e = decide_and_encode(cfg, view, &rv, o, t0, out, res, d);
    kvg_review_free(&rv);
    return e;
}
