/* kvg_policy_decide(): the one entry point of the policy engine, and the
 * kvg_ctx_* functions the per-kind deciders report through.
 *
 * Pure: no I/O, no globals, no clock, no logging. Allocation failures are
 * remembered in ctx.err and returned; nothing else fails. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/internal.h"
#include "policy/patch.h"

/* Admission warnings longer than this are cut (the apiserver truncates
 * warnings anyway; kubectl prints each on one line). */
#define KVG_WARNING_MAX 119
#define KVG_MSG_MAX 2048

/* ---- decision ------------------------------------------------------------- */

void kvg_decision_init(kvg_decision *d)
{
    if (!d)
        return;
    memset(d, 0, sizeof *d);
    d->allowed = true;
    d->code = 200;
    kvg_buf_init(&d->explain, 1 << 20);
}

void kvg_decision_free(kvg_decision *d)
{
    if (!d)
        return;
    free(d->reason);
    free(d->message);
    for (size_t i = 0; i < d->n_warnings; i++)
        free(d->warnings[i]);
    free(d->warnings);
    json_object_put(d->causes);
    json_object_put(d->patch);
    for (size_t i = 0; i < d->n_results; i++)
        free(d->results[i].message);
    free(d->results);
    json_object_put(d->annotations);
    kvg_buf_free(&d->explain);
    kvg_decision_init(d);
}

/* ---- small helpers -------------------------------------------------------- */

static void oom(kvg_ctx *c)
{
    if (!c->err)
        c->err = KVG_ENOMEM;
}

static char *dup_or_oom(kvg_ctx *c, const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p)
        oom(c);
    return p;
}

/* Cut s to at most max bytes without splitting a UTF-8 sequence, ending
 * with "..." when cut. */
static void cut_utf8(char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return;
    n = max - 3;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    memcpy(s + n, "...", 4);
}

const char *kvg_json_type_name(json_type t)
{
    switch (t) {
    case json_type_null: return "null";
    case json_type_boolean: return "boolean";
    case json_type_double: return "number";
    case json_type_int: return "integer";
    case json_type_object: return "object";
    case json_type_array: return "array";
    case json_type_string: return "string";
    }
    return "value";
}

kvg_field_state kvg_field_get(const json_object *root, const char *dotted,
                              json_type want, json_object **out, char *bad,
                              size_t bad_len)
{
    const json_object *cur = root;
    const char *p = dotted;
    if (out)
        *out = NULL;
    if (bad && bad_len)
        bad[0] = '\0';
    while (cur && *p) {
        char seg[128];
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        json_object *next = NULL;
        if (!json_object_is_type(cur, json_type_object)) {
            if (bad && bad_len)
                snprintf(bad, bad_len, "%.*s", (int)(p - dotted - 1), dotted);
            return KVG_FIELD_WRONG_TYPE;
        }
        if (n >= sizeof seg)
            return KVG_FIELD_MISSING;
        memcpy(seg, p, n);
        seg[n] = '\0';
        if (!json_object_object_get_ex(cur, seg, &next) || !next)
            return KVG_FIELD_MISSING; /* absent or JSON null */
        cur = next;
        p = dot ? dot + 1 : p + n;
    }
    if (!cur)
        return KVG_FIELD_MISSING;
    if (!json_object_is_type(cur, want) &&
        !(want == json_type_double && json_object_is_type(cur, json_type_int))) {
        if (bad && bad_len)
            snprintf(bad, bad_len, "%s", dotted);
        return KVG_FIELD_WRONG_TYPE;
    }
    if (out)
        *out = (json_object *)cur;
    return KVG_FIELD_OK;
}

const char *kvg_ctx_objname(const kvg_ctx *c, char *buf, size_t len)
{
    const char *ns = c->req->namespace_ ? c->req->namespace_ : "";
    const char *name = c->req->name;
    if (!name || !*name)
        name = kvg_json_str(c->req->object, "metadata", "name", NULL);
    if (name && *name) {
        snprintf(buf, len, "%s/%s", ns, name);
    } else {
        const char *gen = kvg_json_str(c->req->object, "metadata",
                                       "generateName", NULL);
        snprintf(buf, len, "%s/%s*", ns, gen ? gen : "");
    }
    return buf;
}

/* ---- explain -------------------------------------------------------------- */

static void explain_v(kvg_ctx *c, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void explain_v(kvg_ctx *c, const char *fmt, va_list ap)
{
    if (!c->opts->explain)
        return;
    if (kvg_buf_vprintf(&c->out->explain, fmt, ap) ||
        kvg_buf_puts(&c->out->explain, "\n")) {
        /* The explanation has a size limit; a huge one is cut, not fatal. */
        return;
    }
}

void kvg_ctx_explain(kvg_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    explain_v(c, fmt, ap);
    va_end(ap);
}

/* ---- warnings, annotations, causes ---------------------------------------- */

static void add_warning(kvg_ctx *c, char *text)
{
    cut_utf8(text, KVG_WARNING_MAX);
    for (size_t i = 0; i < c->out->n_warnings; i++)
        if (!strcmp(c->out->warnings[i], text))
            return;
    if (c->out->n_warnings == c->cap_warnings) {
        size_t cap = c->cap_warnings ? c->cap_warnings * 2 : 4;
        char **w = realloc(c->out->warnings, cap * sizeof *w);
        if (!w) {
            oom(c);
            return;
        }
        c->out->warnings = w;
        c->cap_warnings = cap;
    }
    char *s = dup_or_oom(c, text);
    if (s)
        c->out->warnings[c->out->n_warnings++] = s;
}

void kvg_ctx_warn(kvg_ctx *c, const char *fmt, ...)
{
    char text[KVG_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    add_warning(c, text);
    kvg_ctx_explain(c, "  warning: %s", text);
}

void kvg_ctx_annotate(kvg_ctx *c, const char *key, const char *value)
{
    if (!key)
        return;
    if (!c->out->annotations && !(c->out->annotations = json_object_new_object())) {
        oom(c);
        return;
    }
    if (kvg_json_set_str(c->out->annotations, key, value ? value : ""))
        oom(c);
}

void kvg_ctx_cause(kvg_ctx *c, const char *type, const char *field,
                   const char *message)
{
    json_object *cause;
    if (!c->pending && !(c->pending = json_object_new_array())) {
        oom(c);
        return;
    }
    cause = json_object_new_object();
    if (kvg_json_set_str(cause, "reason", type ? type : "FieldValueInvalid") ||
        kvg_json_set_str(cause, "message", message ? message : "") ||
        kvg_json_set_str(cause, "field", field ? field : "")) {
        json_object_put(cause);
        oom(c);
        return;
    }
    if (kvg_json_push(c->pending, cause))
        oom(c);
}

void kvg_ctx_invalid(kvg_ctx *c, const char *field, const char *message)
{
    kvg_ctx_cause(c, "FieldValueInvalid", field, message);
}

/* ---- rules ---------------------------------------------------------------- */

bool kvg_ctx_enabled(const kvg_ctx *c, kvg_rule_id id)
{
    const kvg_rule_info *ri = kvg_rule_info_get(id);
    if (!ri || kvg_policy_action(c->cfg, id) == KVG_ACTION_OFF)
        return false;
    return !ri->needs_lookup || c->lookups;
}

static void add_result(kvg_ctx *c, kvg_rule_id id, kvg_action a, kvg_outcome o,
                       const char *msg)
{
    kvg_rule_result *r;
    if (c->out->n_results == c->cap_results) {
        size_t cap = c->cap_results ? c->cap_results * 2 : 8;
        r = realloc(c->out->results, cap * sizeof *r);
        if (!r) {
            oom(c);
            return;
        }
        c->out->results = r;
        c->cap_results = cap;
    }
    r = &c->out->results[c->out->n_results];
    r->rule = id;
    r->action = a;
    r->outcome = o;
    r->message = NULL;
    /* Keep what explains a failure always, the rest only when explaining
     * (the hot path stays allocation-light). */
    if (msg && *msg &&
        (o == KVG_OUTCOME_FAIL || o == KVG_OUTCOME_UNKNOWN || c->opts->explain)) {
        if (!(r->message = dup_or_oom(c, msg)))
            return;
    }
    c->out->n_results++;
}

static void set_denial(kvg_ctx *c, int code, const char *reason,
                       const char *message)
{
    c->denied = true;
    c->out->allowed = false;
    c->out->code = code;
    free(c->out->reason);
    free(c->out->message);
    c->out->reason = dup_or_oom(c, reason);
    c->out->message = dup_or_oom(c, message);
}

static void deny(kvg_ctx *c, const kvg_rule_info *ri, const char *msg)
{
    char text[KVG_MSG_MAX + 64];
    if (c->denied)
        return; /* the first enforced failure is the message */
    snprintf(text, sizeof text, "%s: %s", ri->name, msg);
    if (c->pending && json_object_array_length(c->pending) > 0) {
        set_denial(c, 422, "Invalid", text);
        c->out->causes = c->pending;
        c->pending = NULL;
    } else {
        set_denial(c, 403, "Forbidden", text);
    }
}

static kvg_action rule_v(kvg_ctx *c, kvg_rule_id id, kvg_outcome o,
                         bool strict, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
static kvg_action rule_v(kvg_ctx *c, kvg_rule_id id, kvg_outcome o,
                         bool strict, const char *fmt, va_list ap)
{
    const kvg_rule_info *ri = kvg_rule_info_get(id);
    kvg_action a = kvg_policy_action(c->cfg, id);
    kvg_action eff = a;
    char msg[KVG_MSG_MAX];
    if (!ri)
        return KVG_ACTION_OFF;
    if (fmt)
        vsnprintf(msg, sizeof msg, fmt, ap);
    else
        msg[0] = '\0';
    if (a == KVG_ACTION_OFF)
        o = KVG_OUTCOME_SKIP;
    if (o == KVG_OUTCOME_UNKNOWN && !strict && eff == KVG_ACTION_ENFORCE)
        eff = KVG_ACTION_WARN; /* only rules refusing data loss deny on unknown */
    add_result(c, id, a, o, msg);
    if (o == KVG_OUTCOME_FAIL || o == KVG_OUTCOME_UNKNOWN) {
        char text[KVG_MSG_MAX + 64];
        switch (eff) {
        case KVG_ACTION_ENFORCE:
            deny(c, ri, msg);
            break;
        case KVG_ACTION_WARN:
            snprintf(text, sizeof text, "%s: %s", ri->name, msg);
            add_warning(c, text);
            break;
        case KVG_ACTION_AUDIT:
            kvg_ctx_annotate(c, ri->name, msg);
            break;
        default:
            break;
        }
    }
    kvg_ctx_explain(c, "rule %s [%s]: %s%s%s", ri->name, kvg_action_name(a),
                    kvg_outcome_name(o), *msg ? ": " : "", msg);
    json_object_put(c->pending); /* causes of a rule that did not deny */
    c->pending = NULL;
    return a;
}

kvg_action kvg_ctx_rule(kvg_ctx *c, kvg_rule_id id, kvg_outcome o,
                        const char *fmt, ...)
{
    va_list ap;
    kvg_action a;
    va_start(ap, fmt);
    a = rule_v(c, id, o, false, fmt, ap);
    va_end(ap);
    return a;
}

kvg_action kvg_ctx_rule_strict(kvg_ctx *c, kvg_rule_id id, kvg_outcome o,
                               const char *fmt, ...)
{
    va_list ap;
    kvg_action a;
    va_start(ap, fmt);
    a = rule_v(c, id, o, true, fmt, ap);
    va_end(ap);
    return a;
}

void kvg_ctx_skip(kvg_ctx *c, kvg_rule_id id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)rule_v(c, id, KVG_OUTCOME_SKIP, false, fmt, ap);
    va_end(ap);
}

bool kvg_ctx_should_run(kvg_ctx *c, kvg_rule_id id)
{
    if (kvg_ctx_enabled(c, id))
        return true;
    if (kvg_policy_action(c->cfg, id) == KVG_ACTION_OFF)
        kvg_ctx_skip(c, id, "off");
    else
        kvg_ctx_skip(c, id, "cluster state unavailable");
    return false;
}

/* ---- patches -------------------------------------------------------------- */

static bool ensure_patch(kvg_ctx *c)
{
    if (!c->out->patch && !(c->out->patch = json_object_new_array())) {
        oom(c);
        return false;
    }
    return true;
}

/* A patch array that stayed empty means "no patch". */
static void drop_empty_patch(kvg_ctx *c)
{
    if (c->out->patch && json_object_array_length(c->out->patch) == 0) {
        json_object_put(c->out->patch);
        c->out->patch = NULL;
    }
}

void kvg_ctx_patch(kvg_ctx *c, const char *op, const char *path,
                   json_object *value)
{
    /* A NULL op, path or value is an operation whose building ran out of
     * memory (test_alloc_failure): kvg_patch_op says so. */
    if (!ensure_patch(c)) {
        json_object_put(value);
        return;
    }
    if (kvg_patch_op(c->out->patch, op, path, value)) {
        oom(c);
        return;
    }
    kvg_ctx_explain(c, "  patch: %s %s", op, path);
}

void kvg_ctx_patch_ops(kvg_ctx *c, kvg_err built, const json_object *ops)
{
    size_t n = json_object_array_length(ops);
    if (built != KVG_OK) { /* a smaller patch would be a wrong answer */
        if (!c->err)
            c->err = built;
        return;
    }
    if (c->err || n == 0 || !ensure_patch(c))
        return;
    for (size_t i = 0; i < n; i++) {
        json_object *op = json_object_array_get_idx(ops, i);
        if (kvg_json_push(c->out->patch, json_object_get(op))) {
            oom(c);
            return;
        }
        kvg_ctx_explain(c, "  patch: %s %s", kvg_json_str(op, "op", NULL),
                        kvg_json_str(op, "path", NULL));
    }
}

void kvg_ctx_patch_annotation(kvg_ctx *c, const char *key, const char *value)
{
    size_t before;
    if (!ensure_patch(c))
        return;
    before = json_object_array_length(c->out->patch);
    if (kvg_patch_set_annotation(c->out->patch, c->req->object, key, value))
        oom(c);
    if (json_object_array_length(c->out->patch) > before)
        kvg_ctx_explain(c, "  patch: annotation %s=%s", key, value);
    else
        kvg_ctx_explain(c, "  annotation %s already set: no patch", key);
    drop_empty_patch(c);
}

/* ---- the decision --------------------------------------------------------- */

typedef void (*decider_fn)(kvg_ctx *c);

static decider_fn pick_decider(const kvg_request *r)
{
    if (!r->group || !r->kind)
        return NULL;
    if (!strcmp(r->group, "snapshot.kubevirt.io")) {
        if (!strcmp(r->kind, "VirtualMachineSnapshot"))
            return kvg_decide_snapshot;
        if (!strcmp(r->kind, "VirtualMachineRestore"))
            return kvg_decide_restore;
    } else if (!strcmp(r->group, "clone.kubevirt.io")) {
        if (!strcmp(r->kind, "VirtualMachineClone"))
            return kvg_decide_clone;
    } else if (!strcmp(r->group, "cdi.kubevirt.io")) {
        if (!strcmp(r->kind, "DataVolume"))
            return kvg_decide_datavolume;
    }
    return NULL;
}

static bool excluded(const kvg_policy_config *cfg, const char *ns)
{
    if (!cfg->excluded_namespaces || !ns)
        return false;
    for (char **p = cfg->excluded_namespaces; *p; p++)
        if (!strcmp(*p, ns))
            return true;
    return false;
}

/* The view is not synced: SPEC §3 onClusterStateUnavailable. Deny (default),
 * or skip the rules that need lookups and say so in a warning. */
static void cluster_unavailable(kvg_ctx *c)
{
    char kinds[800];
    kvg_action a = kvg_policy_action(c->cfg, KVG_RULE_CLUSTER_STATE);
    /* the kinds not listed yet, and the stale ones with their last contact */
    kvg_view_describe_unsynced(c->view, kinds, sizeof kinds);
    const char *yet = strstr(kinds, "cache stale") ? "" : " yet";
    if (a == KVG_ACTION_OFF) {
        kvg_ctx_skip(c, KVG_RULE_CLUSTER_STATE, "off: deciding on a partial view (%s not synced)", kinds);
        return; /* the operator asked for it: decide on what is there */
    }
    c->lookups = false;
    if (c->opts->mutate) {
        /* Mutations that need lookups are skipped; validation reports. */
        kvg_ctx_skip(c, KVG_RULE_CLUSTER_STATE,
                     "not synced (%s): mutations that need lookups skipped", kinds);
        return;
    }
    if (a == KVG_ACTION_ENFORCE)
        kvg_ctx_rule(c, KVG_RULE_CLUSTER_STATE, KVG_OUTCOME_FAIL,
                     "cluster state not synced%s (%s): kvguard cannot verify "
                     "this request; retry shortly, or set "
                     "onClusterStateUnavailable: allow", yet, kinds);
    else
        kvg_ctx_rule(c, KVG_RULE_CLUSTER_STATE, KVG_OUTCOME_FAIL,
                     "cluster state not synced (%s): checks skipped", kinds);
}

static void bad_request(kvg_ctx *c, const char *msg)
{
    set_denial(c, 400, "BadRequest", msg);
    kvg_ctx_explain(c, "bad request: %s", msg);
}

static void explain_header(kvg_ctx *c)
{
    const kvg_request *r = c->req;
    char name[320];
    if (!c->opts->explain)
        return;
    kvg_ctx_explain(c, "request: %s %s/%s %s %s%s%s",
                    kvg_operation_name(r->operation), r->group ? r->group : "",
                    r->version ? r->version : "", r->kind ? r->kind : "",
                    r->object ? kvg_ctx_objname(c, name, sizeof name)
                              : (r->name ? r->name : ""),
                    c->opts->mutate ? " (mutate)" : "",
                    r->dry_run ? " (dryRun: decided like the real request)" : "");
}

static void explain_footer(kvg_ctx *c)
{
    kvg_decision *d = c->out;
    if (!c->opts->explain)
        return;
    if (d->allowed)
        kvg_ctx_explain(c, "decision: allowed (%zu warning%s%s)", d->n_warnings,
                        d->n_warnings == 1 ? "" : "s",
                        d->patch ? ", with patch" : "");
    else
        kvg_ctx_explain(c, "decision: denied %d %s: %s", d->code,
                        d->reason ? d->reason : "", d->message ? d->message : "");
}

static void decide(kvg_ctx *c)
{
    const kvg_request *r = c->req;
    decider_fn fn;
    if (r->operation == KVG_OP_DELETE || r->operation == KVG_OP_CONNECT) {
        kvg_ctx_explain(c, "%s is not checked", kvg_operation_name(r->operation));
        return;
    }
    if (!(fn = pick_decider(r))) {
        kvg_ctx_explain(c, "kind not handled by kvguard: allowed");
        return;
    }
    if (excluded(c->cfg, r->namespace_)) {
        kvg_ctx_annotate(c, "excluded-namespace", r->namespace_);
        kvg_ctx_explain(c, "namespace %s is excluded: allowed without checks",
                        r->namespace_);
        return;
    }
    if (!r->object || !json_object_is_type(r->object, json_type_object)) {
        bad_request(c, "request.object is missing or not a JSON object");
        return;
    }
    if (r->operation == KVG_OP_UPDATE &&
        (!r->old_object || !json_object_is_type(r->old_object, json_type_object))) {
        bad_request(c, "UPDATE without request.oldObject");
        return;
    }
    kvg_view_begin(c->view);
    /* Only CREATE needs lookups: UPDATE checks immutability alone (status
     * updates of KubeVirt's controllers must never be blocked). */
    if (r->operation == KVG_OP_CREATE && !kvg_view_synced(c->view))
        cluster_unavailable(c);
    if (!c->denied)
        fn(c);
    kvg_view_end(c->view);
}

kvg_err kvg_policy_decide(const kvg_policy_config *cfg, const kvg_view *view,
                          const kvg_request *req, const kvg_decide_opts *opts,
                          kvg_decision *out)
{
    static const kvg_decide_opts no_opts;
    kvg_ctx c;
    if (!cfg || !view || !req || !out)
        return KVG_EINVAL;
    kvg_decision_init(out);
    memset(&c, 0, sizeof c);
    c.cfg = cfg;
    c.view = view;
    c.req = req;
    c.opts = opts ? opts : &no_opts;
    c.out = out;
    c.lookups = true;
    explain_header(&c);
    unsigned long failed = kvg_view_failed_lookups();
    decide(&c);
    json_object_put(c.pending);
    explain_footer(&c);
    /* an object the view could not materialize looked missing: the decision
     * rests on a fact that is not true */
    if (!c.err && kvg_view_failed_lookups() != failed)
        c.err = KVG_ENOMEM;
    if (c.err) {
        kvg_err e = c.err;
        kvg_decision_free(out);
        return e;
    }
    return KVG_OK;
}

void kvg_ctx_immutable(kvg_ctx *c, kvg_rule_id id)
{
    json_object *now = NULL, *was = NULL;
    char name[320];
    if (!kvg_ctx_should_run(c, id))
        return;
    json_object_object_get_ex(c->req->object, "spec", &now);
    json_object_object_get_ex(c->req->old_object, "spec", &was);
    /* The request objects belong to the decoded review, not to the shared
     * view, so comparing them (json-c wants non-const) is safe. */
    if (json_object_equal(now, was)) {
        kvg_ctx_rule(c, id, KVG_OUTCOME_PASS, "spec unchanged");
        return;
    }
    kvg_ctx_invalid(c, "spec", "spec in immutable after creation");
    kvg_ctx_rule(c, id, KVG_OUTCOME_FAIL,
                 "%s %s: spec is immutable after creation; delete it and "
                 "create a new one instead", c->req->kind,
                 kvg_ctx_objname(c, name, sizeof name));
}
