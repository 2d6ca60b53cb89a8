/* kvguard audit: renderings of the report document built by report.c:
 * a table for a 100-column terminal, the stable JSON and PolicyReports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvguard/audit.h"
#include "kvguard/json.h"

#define WIDTH 100
#define CATEGORY "KubeVirt data protection"

static const char *s_or(const json_object *o, const char *key, const char *def)
{
    const char *s = kvg_json_str(o, key, NULL);
    return s && *s ? s : def;
}

static size_t arr_len(const json_object *a)
{
    return a && json_object_is_type(a, json_type_array)
               ? json_object_array_length(a) : 0;
}

static const json_object *arr_at(const json_object *a, size_t i)
{
    return json_object_array_get_idx(a, i);
}

/* ---- table ------------------------------------------------------------------ */

/* A cell of exactly w columns: cut with '~' when longer. */
static void cell(kvg_buf *out, const char *s, int w)
{
    int n = (int)strlen(s);
    if (n > w)
        kvg_buf_printf(out, "%.*s~", w - 1, s);
    else
        kvg_buf_printf(out, "%-*s", w, s);
}

/* Words of text, wrapped at WIDTH, every line starting with indent spaces;
 * a word longer than a line is cut rather than overflowing. */
static void wrap(kvg_buf *out, int indent, const char *first, const char *text)
{
    int col = indent, room = WIDTH - indent;
    kvg_buf_printf(out, "%*s%s", indent, "", first);
    col += (int)strlen(first);
    while (*text) {
        const char *w = text;
        int n;
        while (*w == ' ')
            w++;
        if (!*w)
            break;
        n = (int)strcspn(w, " ");
        if (n > room)
            n = room;
        if (col > indent && col + 1 + n > WIDTH) {
            kvg_buf_printf(out, "\n%*s", indent + 2, "");
            col = indent + 2;
            if (n > WIDTH - col)
                n = WIDTH - col;
        } else if (col > indent) {
            kvg_buf_puts(out, " ");
            col++;
        }
        kvg_buf_append(out, w, (size_t)n);
        col += n;
        text = w + n;
    }
    kvg_buf_puts(out, "\n");
}

static const char *clone_cell(const json_object *c, char *buf, size_t len)
{
    const char *strat = s_or(c, "strategy", "?");
    snprintf(buf, len, "%s (%s)",
             kvg_json_bool(false, c, "allowed", NULL) ? "allowed" : "REFUSED",
             strat);
    return buf;
}

static void vm_row(kvg_buf *out, const json_object *vm)
{
    char name[300], cl[64];
    const json_object *snap = kvg_json_path(vm, "snapshot", NULL);
    snprintf(name, sizeof name, "%s/%s", s_or(vm, "namespace", ""),
             s_or(vm, "name", ""));
    cell(out, name, 40);
    kvg_buf_puts(out, " ");
    cell(out, kvg_json_str(vm, "power", "state", NULL) ? kvg_json_str(vm, "power", "state", NULL) : "?", 8);
    kvg_buf_puts(out, " ");
    cell(out, kvg_json_bool(false, snap, "allowed", NULL) ? "allowed" : "REFUSED", 9);
    kvg_buf_puts(out, " ");
    cell(out, kvg_json_str(vm, "restore", "now", NULL) ? kvg_json_str(vm, "restore", "now", NULL) : "?", 9);
    kvg_buf_puts(out, " ");
    kvg_buf_printf(out, "%s\n", clone_cell(kvg_json_path(vm, "clone", NULL), cl, sizeof cl));
}

static const char *class_cell(const json_object *v, char *buf, size_t len)
{
    const char *vsc = kvg_json_str(v, "volumeSnapshotClass", NULL);
    if (vsc && *vsc)
        return vsc;
    snprintf(buf, len, "(%s)", s_or(v, "snapshot", "unknown"));
    return buf;
}

static void volumes(kvg_buf *out, const json_object *vols)
{
    if (!arr_len(vols)) {
        kvg_buf_puts(out, "  no PVC, DataVolume or memoryDump volumes\n");
        return;
    }
    kvg_buf_puts(out, "  VOLUME       CLAIM              STORAGECLASS      PROVISIONER"
                      "          SNAPSHOTCLASS     RST CLN\n");
    for (size_t i = 0; i < arr_len(vols); i++) {
        const json_object *v = arr_at(vols, i);
        char cls[64];
        kvg_buf_puts(out, "  ");
        cell(out, s_or(v, "name", "-"), 12);
        kvg_buf_puts(out, " ");
        cell(out, s_or(v, "claim", "-"), 18);
        kvg_buf_puts(out, " ");
        cell(out, s_or(v, "storageClass", "-"), 17);
        kvg_buf_puts(out, " ");
        cell(out, s_or(v, "provisioner", "-"), 20);
        kvg_buf_puts(out, " ");
        cell(out, class_cell(v, cls, sizeof cls), 17);
        kvg_buf_printf(out, " %-3.3s %.3s\n", s_or(v, "restore", "?"),
                       s_or(v, "clone", "?"));
    }
}

/* Rules that failed or could not be verified, then warnings. */
static void findings(kvg_buf *out, int indent, const json_object *dec)
{
    const json_object *rules = kvg_json_path(dec, "rules", NULL);
    const json_object *warns = kvg_json_path(dec, "warnings", NULL);
    char head[160];
    size_t shown_n = 0;
    const char *shown[64];
    for (size_t i = 0; i < arr_len(rules); i++) {
        const json_object *r = arr_at(rules, i);
        const char *oc = s_or(r, "outcome", "");
        if (strcmp(oc, "fail") && strcmp(oc, "unknown"))
            continue;
        /* an unverifiable check beyond KubeVirt's own only warns */
        bool warned = !strcmp(s_or(r, "action", ""), "enforce") &&
                      !strcmp(s_or(r, "effect", ""), "warn");
        snprintf(head, sizeof head, "%s %s (%s):", oc, s_or(r, "id", "?"),
                 warned ? "enforce, only warned" : s_or(r, "action", "?"));
        wrap(out, indent, head, s_or(r, "message", ""));
        if (shown_n < 64)
            shown[shown_n++] = s_or(r, "id", "?");
    }
    for (size_t i = 0; i < arr_len(warns); i++) {
        const char *w = kvg_json_as_str(arr_at(warns, i));
        bool dup = false;
        /* a warn rule's warning repeats the rule's message: "<id>: ..." */
        for (size_t k = 0; w && k < shown_n && !dup; k++)
            dup = !strncmp(w, shown[k], strlen(shown[k])) && w[strlen(shown[k])] == ':';
        if (!dup)
            wrap(out, indent, "warning:", w ? w : "");
    }
}

static void vm_detail(kvg_buf *out, const json_object *vm)
{
    const json_object *snap = kvg_json_path(vm, "snapshot", NULL);
    const json_object *cl = kvg_json_path(vm, "clone", NULL);
    const json_object *bl = kvg_json_array(vm, "restore", "blockers", NULL);
    char head[400];
    snprintf(head, sizeof head, "%s/%s:", s_or(vm, "namespace", ""),
             s_or(vm, "name", ""));
    wrap(out, 0, head, kvg_json_str(vm, "power", "why", NULL)
                           ? kvg_json_str(vm, "power", "why", NULL) : "");
    volumes(out, kvg_json_path(vm, "volumes", NULL));
    kvg_buf_printf(out, "  snapshot: %s\n",
                   kvg_json_bool(false, snap, "allowed", NULL) ? "allowed" : "REFUSED");
    findings(out, 4, snap);
    kvg_buf_printf(out, "  restore: %s (storage can restore: %s)\n",
                   kvg_json_str(vm, "restore", "now", NULL) ? kvg_json_str(vm, "restore", "now", NULL) : "?",
                   kvg_json_str(vm, "restore", "storage", NULL) ? kvg_json_str(vm, "restore", "storage", NULL) : "?");
    for (size_t i = 0; i < arr_len(bl); i++)
        wrap(out, 4, "-", kvg_json_as_str(arr_at(bl, i)) ? kvg_json_as_str(arr_at(bl, i)) : "");
    kvg_buf_printf(out, "  clone: %s, strategy %s\n",
                   kvg_json_bool(false, cl, "allowed", NULL) ? "allowed" : "REFUSED",
                   s_or(cl, "strategy", "undecided"));
    findings(out, 4, cl);
}

static void pending_table(kvg_buf *out, const json_object *pend)
{
    size_t refused = 0;
    for (size_t i = 0; i < arr_len(pend); i++)
        refused += !kvg_json_bool(true, arr_at(pend, i), "decision", "allowed", NULL);
    kvg_buf_printf(out, "\nPENDING OBJECTS: %zu, %zu would be refused now\n",
                   arr_len(pend), refused);
    for (size_t i = 0; i < arr_len(pend); i++) {
        const json_object *p = arr_at(pend, i);
        const json_object *d = kvg_json_path(p, "decision", NULL);
        char head[400];
        bool ok = kvg_json_bool(true, d, "allowed", NULL);
        snprintf(head, sizeof head, "%s %s/%s:", s_or(p, "kind", "?"),
                 s_or(p, "namespace", ""), s_or(p, "name", ""));
        wrap(out, 0, head, ok ? "allowed" : "REFUSED");
        findings(out, 4, d);
    }
}

kvg_err kvg_audit_render_table(const json_object *report, kvg_buf *out)
{
    const json_object *vms = kvg_json_path(report, "virtualMachines", NULL);
    const json_object *s = kvg_json_path(report, "summary", NULL);
    size_t start = out->len;
    kvg_buf_printf(out, "VIRTUAL MACHINES: %zu (namespace %s)\n", arr_len(vms),
                   s_or(report, "namespace", "all"));
    kvg_buf_puts(out, "NAMESPACE/NAME                           POWER    SNAPSHOT"
                      "  RESTORE   CLONE\n");
    for (size_t i = 0; i < arr_len(vms); i++)
        vm_row(out, arr_at(vms, i));
    for (size_t i = 0; i < arr_len(vms); i++) {
        kvg_buf_puts(out, "\n");
        vm_detail(out, arr_at(vms, i));
    }
    pending_table(out, kvg_json_path(report, "pending", NULL));
    kvg_buf_printf(out, "\nSUMMARY: %lld would be refused: snapshot allowed for "
                   "%lld of %lld VMs, clone for %lld;\n  pending refused %lld of "
                   "%lld; %lld finished objects not re-checked\n",
                   (long long)kvg_json_int(0, s, "refused", NULL),
                   (long long)kvg_json_int(0, s, "snapshotAllowed", NULL),
                   (long long)kvg_json_int(0, s, "virtualMachines", NULL),
                   (long long)kvg_json_int(0, s, "cloneAllowed", NULL),
                   (long long)kvg_json_int(0, s, "pendingRefused", NULL),
                   (long long)kvg_json_int(0, s, "pending", NULL),
                   (long long)kvg_json_int(0, s, "completedSkipped", NULL));
    /* kvg_buf_printf errors (limit, memory) leave a short table: say so */
    return out->len > start ? KVG_OK : KVG_ENOMEM;
}

/* ---- json --------------------------------------------------------------------- */

static kvg_err pretty(const json_object *o, kvg_buf *out)
{
    const char *s = json_object_to_json_string_ext(
        (json_object *)o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                              JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!s)
        return KVG_ENOMEM;
    kvg_err e = kvg_buf_puts(out, s);
    return e ? e : kvg_buf_puts(out, "\n");
}

kvg_err kvg_audit_render_json(const json_object *report, kvg_buf *out)
{
    return report ? pretty(report, out) : KVG_EINVAL;
}

/* ---- PolicyReports -------------------------------------------------------------- */

typedef struct prb {
    kvg_err err;
    long long now_s;
    size_t max_results;
} prb;

static json_object *padd(prb *b, json_object *o, const char *key, json_object *v)
{
    if (!o || !v || json_object_object_add(o, key, v)) {
        json_object_put(v);
        b->err = KVG_ENOMEM;
        return NULL;
    }
    return v;
}

static void padd_str(prb *b, json_object *o, const char *key, const char *s)
{
    padd(b, o, key, json_object_new_string(s ? s : ""));
}

static json_object *ppush(prb *b, json_object *arr, json_object *v)
{
    if (!arr || !v || json_object_array_add(arr, v)) {
        json_object_put(v);
        b->err = KVG_ENOMEM;
        return NULL;
    }
    return v;
}

/* The PolicyReport result of one rule result, from what it did: a denial
 * or an audit-mode violation is "fail" (an audit rule records a violation,
 * as Kyverno's audit mode does), a warning "warn". */
static const char *result_of(const char *outcome, const char *effect)
{
    if (!strcmp(outcome, "pass"))
        return "pass";
    if (!strcmp(effect, "deny") || !strcmp(effect, "audit"))
        return "fail";
    if (!strcmp(effect, "warn"))
        return "warn";
    return "skip";
}

static const char *severity_of(const char *action)
{
    return !strcmp(action, "enforce") ? "high"
           : !strcmp(action, "warn")  ? "medium"
                                      : "low";
}

typedef struct subject {
    const char *api_version, *kind, *ns, *name, *uid;
    const char *check; /* "snapshot", "clone" (synthesized) or "pending" */
} subject;

typedef struct ns_report {
    json_object *results;
    size_t counts[5]; /* pass fail warn error skip */
    size_t total;
} ns_report;

static void count(ns_report *r, const char *res)
{
    static const char *const names[] = {"pass", "fail", "warn", "error", "skip"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(res, names[i]))
            r->counts[i]++;
}

static json_object *resource_ref(prb *b, const subject *s)
{
    json_object *ref = json_object_new_object();
    padd_str(b, ref, "apiVersion", s->api_version);
    padd_str(b, ref, "kind", s->kind);
    padd_str(b, ref, "namespace", s->ns);
    padd_str(b, ref, "name", s->name);
    if (s->uid && *s->uid)
        padd_str(b, ref, "uid", s->uid);
    return ref;
}

static void one_result(prb *b, ns_report *r, const subject *s,
                       const json_object *rule)
{
    const char *outcome = s_or(rule, "outcome", "unknown");
    const char *action = s_or(rule, "action", "enforce");
    const char *res = result_of(outcome, s_or(rule, "effect", "none"));
    char msg[1200];
    json_object *o, *props, *ts;
    count(r, res);
    if (r->total++ >= b->max_results)
        return;
    snprintf(msg, sizeof msg, "%s%s%s", s->check,
             *s_or(rule, "message", "") ? ": " : "", s_or(rule, "message", ""));
    o = ppush(b, r->results, json_object_new_object());
    padd_str(b, o, "policy", "kvguard");
    padd_str(b, o, "rule", s_or(rule, "id", "unknown"));
    padd_str(b, o, "result", res);
    padd_str(b, o, "severity", severity_of(action));
    padd_str(b, o, "category", CATEGORY);
    padd_str(b, o, "source", "kvguard");
    padd_str(b, o, "message", msg);
    ppush(b, padd(b, o, "resources", json_object_new_array()), resource_ref(b, s));
    props = padd(b, o, "properties", json_object_new_object());
    padd_str(b, props, "check", s->check);
    padd_str(b, props, "action", action);
    padd_str(b, props, "outcome", outcome);
    padd_str(b, props, "effect", s_or(rule, "effect", "none"));
    ts = padd(b, o, "timestamp", json_object_new_object());
    padd(b, ts, "seconds", json_object_new_int64(b->now_s));
    padd(b, ts, "nanos", json_object_new_int(0));
}

static void decision_results(prb *b, ns_report *r, const subject *s,
                             const json_object *dec)
{
    const json_object *rules = kvg_json_path(dec, "rules", NULL);
    for (size_t i = 0; i < arr_len(rules) && !b->err; i++)
        one_result(b, r, s, arr_at(rules, i));
}

static void ns_results(prb *b, ns_report *r, const json_object *report,
                       const char *ns)
{
    const json_object *vms = kvg_json_path(report, "virtualMachines", NULL);
    const json_object *pend = kvg_json_path(report, "pending", NULL);
    for (size_t i = 0; i < arr_len(vms); i++) {
        const json_object *vm = arr_at(vms, i);
        subject s = {"kubevirt.io/v1", "VirtualMachine", ns, s_or(vm, "name", ""),
                     s_or(vm, "uid", ""), "snapshot"};
        if (strcmp(s_or(vm, "namespace", ""), ns))
            continue;
        decision_results(b, r, &s, kvg_json_path(vm, "snapshot", NULL));
        s.check = "clone";
        decision_results(b, r, &s, kvg_json_path(vm, "clone", NULL));
    }
    for (size_t i = 0; i < arr_len(pend); i++) {
        const json_object *p = arr_at(pend, i);
        subject s = {s_or(p, "apiVersion", ""), s_or(p, "kind", ""), ns,
                     s_or(p, "name", ""), s_or(p, "uid", ""), "pending"};
        if (strcmp(s_or(p, "namespace", ""), ns))
            continue;
        decision_results(b, r, &s, kvg_json_path(p, "decision", NULL));
    }
}

static json_object *policy_report(prb *b, const json_object *report,
                                  const char *ns)
{
    static const char *const names[] = {"pass", "fail", "warn", "error", "skip"};
    json_object *pr = json_object_new_object(), *md, *labels, *sum;
    ns_report r = {0};
    padd_str(b, pr, "apiVersion", "wgpolicyk8s.io/v1alpha2");
    padd_str(b, pr, "kind", "PolicyReport");
    md = padd(b, pr, "metadata", json_object_new_object());
    padd_str(b, md, "name", "kvguard");
    padd_str(b, md, "namespace", ns);
    labels = padd(b, md, "labels", json_object_new_object());
    padd_str(b, labels, "app.kubernetes.io/managed-by", "kvguard");
    sum = padd(b, pr, "summary", json_object_new_object());
    r.results = padd(b, pr, "results", json_object_new_array());
    ns_results(b, &r, report, ns);
    for (int i = 0; i < 5; i++)
        padd(b, sum, names[i], json_object_new_int64((int64_t)r.counts[i]));
    if (r.total > b->max_results) {
        /* bounded objects: the summary still counts every result */
        char n[32];
        json_object *ann = padd(b, md, "annotations", json_object_new_object());
        snprintf(n, sizeof n, "%zu", r.total - b->max_results);
        padd_str(b, ann, "kvguard.io/results-truncated", n);
    }
    return pr;
}

/* Namespaces with a VM or a pending object, sorted, no duplicates. */
static void namespaces(prb *b, const json_object *report, json_object *set)
{
    const char *lists[] = {"virtualMachines", "pending"};
    for (int l = 0; l < 2; l++) {
        const json_object *a = kvg_json_path(report, lists[l], NULL);
        for (size_t i = 0; i < arr_len(a); i++)
            padd(b, set, s_or(arr_at(a, i), "namespace", "default"),
                 json_object_new_boolean(1));
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

kvg_err kvg_audit_policyreports(const json_object *report,
                                const kvg_audit_report_opts *o,
                                json_object **out)
{
    prb b = {.now_s = o && o->now_s ? o->now_s : (long long)time(NULL),
             .max_results = o && o->max_results ? o->max_results : 1000};
    json_object *set, *list, *items;
    const char **names = NULL;
    size_t n = 0;
    if (!report || !out)
        return KVG_EINVAL;
    set = json_object_new_object();
    list = json_object_new_object();
    namespaces(&b, report, set);
    padd_str(&b, list, "apiVersion", "v1");
    padd_str(&b, list, "kind", "List");
    items = padd(&b, list, "items", json_object_new_array());
    if (!b.err && set && (names = calloc((size_t)json_object_object_length(set) + 1,
                                         sizeof *names))) {
        json_object_object_foreach(set, key, val) {
            (void)val;
            names[n++] = key;
        }
        qsort(names, n, sizeof *names, cmp_str);
        for (size_t i = 0; i < n && !b.err; i++)
            ppush(&b, items, policy_report(&b, report, names[i]));
    } else {
        b.err = KVG_ENOMEM;
    }
    free(names);
    json_object_put(set);
    if (b.err) {
        json_object_put(list);
        return b.err;
    }
    *out = list;
    return KVG_OK;
}

kvg_err kvg_audit_render_policyreports(const json_object *report,
                                       const kvg_audit_report_opts *o,
                                       kvg_buf *out)
{
    json_object *list = NULL;
    kvg_err e = kvg_audit_policyreports(report, o, &list);
    if (!e)
        e = pretty(list, out);
    json_object_put(list);
    return e;
}
