/* kvguard: kvg_admit(), the one path from request bytes to response bytes
 * (server and `kvguard review`). The audit record of each decision is
 * formatted by src/audit/record.c and written through the audit sink. */
#include <stdarg.h>
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

/* The strings up to a NULL, joined into out (cut to its size): snprintf's
 * format parsing, for every rule of every request, cost more than the
 * metric update itself. */
static void join(char *out, size_t size, ...)
{
    va_list ap;
    size_t at = 0;
    va_start(ap, size);
    for (const char *s; (s = va_arg(ap, const char *));) {
        size_t n = strlen(s);
        if (n > size - 1 - at)
            n = size - 1 - at;
        memcpy(out + at, s, n);
        at += n;
    }
    va_end(ap);
    out[at] = '\0';
}

static void remember_request(const kvg_request *q, kvg_admit_result *res)
{
    join(res->kind, sizeof res->kind, q->kind ? q->kind : "", (char *)NULL);
    join(res->operation, sizeof res->operation, kvg_operation_name(q->operation),
         (char *)NULL);
}

static void write_audit(const kvg_review *rv, const kvg_decision *dec,
                        bool mutate, double seconds, kvg_audit_sink *sink)
{
    kvg_buf line;
    kvg_buf_init(&line, 0);
    /* a record is ~1.5 KB: one allocation instead of doublings */
    (void)kvg_buf_reserve(&line, 4096);
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
 * so that the series count stays rules x outcomes x actions. The server
 * registers the metric once (kvg_server_start), not each request here. */
static void count_rules(const kvg_decision *dec, bool mutate)
{
    for (size_t i = 0; i < dec->n_results; i++) {
        const kvg_rule_result *r = &dec->results[i];
        if (r->outcome == KVG_OUTCOME_SKIP)
            continue;
        char labels[192];
        join(labels, sizeof labels, "webhook=\"", mutate ? "mutate" : "validate",
             "\",rule=\"", kvg_rule_info_get(r->rule)->name, "\",action=\"",
             kvg_action_name(r->action), "\",outcome=\"", kvg_outcome_name(r->outcome),
             "\"", (char *)NULL);
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
