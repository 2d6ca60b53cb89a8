/* The data-driven admission case suite (tests/cases/README.md).
 *
 * Every directory tests/cases/<group>/<case>/ with an expected.json is one
 * Check test (one tcase per group): its review.json or review.yaml goes
 * through the codec and kvg_policy_decide() against its cluster/ state (or
 * examples/cluster/) and its optional config.yaml, and the decision is
 * compared with expected.json. A failure names the case directory and lists
 * every difference, followed by the engine's --explain text.
 *
 * Beyond what each case expects, every case checks the invariants of the
 * engine: warnings under 120 characters, the same decision with and without
 * --explain, and for mutations that the patch applies cleanly and that a
 * reinvocation on the patched object patches nothing (idempotence).
 *
 * Groups ending in "-fixtures" hold shared cluster state (symlinked from
 * cases), not cases. KVG_CASE=<substring> runs only matching cases. */
#include <check.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kvguard/admission.h"
#include "kvguard/config.h"
#include "kvguard/json.h"
#include "kvguard/policy.h"
#include "kvguard/view.h"
#include "policy/patch.h"

#define CASES_DIR KVG_SOURCE_DIR "/tests/cases"
#define EXAMPLES_DIR KVG_SOURCE_DIR "/examples/cluster"

typedef struct group {
    char *name;
    char **cases; /* case directory names, sorted */
    size_t n;
} group;

static group *groups;
static size_t n_groups;
static kvg_store *examples; /* loaded once, shared (read-only) by the cases */

/* ---- collecting cases ----------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static bool exists(const char *path)
{
    struct stat st;
    return !stat(path, &st);
}

/* Sorted names of the subdirectories of dir. */
static char **subdirs(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **v = NULL, path[4096];
    size_t cap = 0;
    *n = 0;
    if (!d)
        return NULL;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (!is_dir(path))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            if (!(v = realloc(v, cap * sizeof *v)))
                abort(); /* outside a test: Check cannot report */
        }
        v[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    if (*n)
        qsort(v, *n, sizeof *v, cmp_str);
    return v;
}

static bool is_fixture_group(const char *name)
{
    size_t n = strlen(name);
    return n >= 9 && !strcmp(name + n - 9, "-fixtures");
}

static void collect(void)
{
    size_t ng;
    char **names = subdirs(CASES_DIR, &ng);
    const char *only = getenv("KVG_CASE");
    groups = calloc(ng ? ng : 1, sizeof *groups);
    for (size_t i = 0; i < ng; i++) {
        char dir[4096];
        size_t nc;
        char **cases;
        group *g;
        if (is_fixture_group(names[i])) {
            free(names[i]);
            continue;
        }
        snprintf(dir, sizeof dir, "%s/%s", CASES_DIR, names[i]);
        cases = subdirs(dir, &nc);
        g = &groups[n_groups++];
        g->name = names[i];
        g->cases = calloc(nc ? nc : 1, sizeof *g->cases);
        for (size_t k = 0; k < nc; k++) {
            char full[8192];
            snprintf(full, sizeof full, "%s/%s", g->name, cases[k]);
            if (only && !strstr(full, only)) {
                free(cases[k]);
                continue;
            }
            g->cases[g->n++] = cases[k];
        }
        free(cases);
    }
    free(names);
}

/* ---- reading a case ------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
    kvg_buf b;
    kvg_diag d;
    kvg_buf_init(&b, 0);
    if (kvg_buf_read_file(&b, path, &d)) {
        kvg_buf_free(&b);
        return NULL;
    }
    return kvg_buf_steal(&b, len);
}

static json_object *read_json(const char *path)
{
    size_t len = 0;
    char *text = slurp(path, &len);
    json_object *o = NULL;
    kvg_diag d;
    if (!text)
        return NULL;
    if (kvg_json_parse(text, len, 0, &o, &d))
        ck_abort_msg("%s: %s", path, d.msg);
    free(text);
    return o;
}

/* A case's whole context, freed by case_free. */
typedef struct tcase_ctx {
    char dir[4096];
    kvg_store *own_store; /* when the case has cluster/ or view.json */
    const kvg_view *view;
    kvg_config cfg;
    bool have_cfg;
    kvg_review rv;
    json_object *expected;
    kvg_buf diffs; /* every mismatch, one per line */
} tcase_ctx;

static void diff(tcase_ctx *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void diff(tcase_ctx *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kvg_buf_puts(&t->diffs, "  - ");
    kvg_buf_vprintf(&t->diffs, fmt, ap);
    kvg_buf_puts(&t->diffs, "\n");
    va_end(ap);
}

static void load_review(tcase_ctx *t)
{
    char path[4600];
    size_t len = 0;
    char *text;
    kvg_diag d = {{0}};
    snprintf(path, sizeof path, "%s/review.json", t->dir);
    if (!exists(path))
        snprintf(path, sizeof path, "%s/review.yaml", t->dir);
    text = slurp(path, &len);
    ck_assert_msg(text != NULL, "%s: no review.json or review.yaml", t->dir);
    if (kvg_review_decode_any(text, len, path, &t->rv, &d))
        ck_abort_msg("%s: bad review: %s", t->dir, d.msg);
    free(text);
}

static kvg_kind kind_named(const char *name)
{
    for (int k = 0; k < KVG_KIND_COUNT; k++) {
        const kvg_kind_info *ki = kvg_kind_info_get((kvg_kind)k);
        if (ki && !strcmp(ki->name, name))
            return (kvg_kind)k;
    }
    ck_abort_msg("view.json: unknown kind %s", name);
    return KVG_KIND_COUNT;
}

/* view.json: {"unsynced": [kinds], "absent": [kinds]} */
static void apply_view_states(tcase_ctx *t, json_object *vj)
{
    static const struct {
        const char *key;
        kvg_kind_state st;
    } keys[] = {{"unsynced", KVG_KIND_UNSYNCED}, {"absent", KVG_KIND_ABSENT}};
    for (size_t i = 0; i < 2; i++) {
        json_object *arr = kvg_json_array(vj, keys[i].key, NULL);
        size_t n = arr ? json_object_array_length(arr) : 0;
        for (size_t k = 0; k < n; k++) {
            const char *name = kvg_json_as_str(json_object_array_get_idx(arr, k));
            ck_assert_msg(name != NULL, "%s/view.json: %s must list kind names",
                          t->dir, keys[i].key);
            kvg_store_set_state(t->own_store, kind_named(name), keys[i].st);
        }
    }
}

static void load_view(tcase_ctx *t)
{
    char path[4600], vpath[4600];
    kvg_diag d = {{0}};
    json_object *vj;
    snprintf(path, sizeof path, "%s/cluster", t->dir);
    snprintf(vpath, sizeof vpath, "%s/view.json", t->dir);
    vj = read_json(vpath);
    if (is_dir(path) || vj) {
        const char *dir = is_dir(path) ? path : EXAMPLES_DIR;
        if (kvg_files_load(dir, &t->own_store, &d))
            ck_abort_msg("%s: cluster state: %s", t->dir, d.msg);
        if (vj)
            apply_view_states(t, vj);
        t->view = kvg_store_view(t->own_store);
    } else {
        ck_assert_msg(examples != NULL, "%s: no cluster/ and no examples/cluster", t->dir);
        t->view = kvg_store_view(examples);
    }
    json_object_put(vj);
}

static void load_config(tcase_ctx *t)
{
    char path[4600];
    size_t len = 0;
    char *text;
    kvg_diag d = {{0}};
    ck_assert_int_eq(kvg_config_init(&t->cfg), KVG_OK);
    t->have_cfg = true;
    snprintf(path, sizeof path, "%s/config.yaml", t->dir);
    if (!(text = slurp(path, &len)))
        return;
    if (kvg_config_load_text(&t->cfg, text, len, path, &d))
        ck_abort_msg("%s: config: %s", t->dir, d.msg);
    free(text);
}

static void case_load(tcase_ctx *t, const char *grp, const char *name)
{
    char path[4600];
    memset(t, 0, sizeof *t);
    kvg_buf_init(&t->diffs, 0);
    snprintf(t->dir, sizeof t->dir, "%s/%s/%s", CASES_DIR, grp, name);
    snprintf(path, sizeof path, "%s/expected.json", t->dir);
    t->expected = read_json(path);
    ck_assert_msg(t->expected != NULL, "%s: no expected.json", t->dir);
    load_review(t);
    load_view(t);
    load_config(t);
}

static void case_free(tcase_ctx *t)
{
    kvg_review_free(&t->rv);
    if (t->have_cfg)
        kvg_config_free(&t->cfg);
    kvg_store_free(t->own_store);
    json_object_put(t->expected);
    kvg_buf_free(&t->diffs);
}

/* ---- comparing ------------------------------------------------------------ */

static const char *jstr(json_object *o)
{
    /* Test-owned objects only (never view objects). */
    return o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE)
             : "null";
}

static bool any_contains(const kvg_decision *d, const char *frag)
{
    for (size_t i = 0; i < d->n_warnings; i++)
        if (strstr(d->warnings[i], frag))
            return true;
    return false;
}

static void check_strings(tcase_ctx *t, const char *key, const char *subject,
                          const char *what, bool want_present)
{
    json_object *arr = kvg_json_array(t->expected, key, NULL);
    size_t n = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *frag = kvg_json_as_str(json_object_array_get_idx(arr, i));
        bool has = subject && frag && strstr(subject, frag);
        if (has != want_present)
            diff(t, "%s %s \"%s\"", what, want_present ? "lacks" : "contains",
                 frag ? frag : "(non-string)");
    }
}

static void check_rules(tcase_ctx *t, const kvg_decision *d)
{
    json_object *rules = kvg_json_path(t->expected, "rules", NULL);
    if (!rules)
        return;
    json_object_object_foreach(rules, name, want) {
        kvg_rule_id id;
        const char *w = kvg_json_as_str(want);
        const char *got = "not evaluated";
        if (kvg_rule_find(name, &id)) {
            diff(t, "expected.json names unknown rule %s", name);
            continue;
        }
        for (size_t i = 0; i < d->n_results; i++)
            if (d->results[i].rule == id)
                got = kvg_outcome_name(d->results[i].outcome);
        if (!w || strcmp(w, got))
            diff(t, "rule %s: got %s, want %s", name, got, w ? w : "?");
    }
}

static void check_causes(tcase_ctx *t, const kvg_decision *d)
{
    json_object *arr = kvg_json_array(t->expected, "causes_fields", NULL);
    size_t n = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *f = kvg_json_as_str(json_object_array_get_idx(arr, i));
        bool found = false;
        size_t nc = d->causes ? json_object_array_length(d->causes) : 0;
        for (size_t k = 0; k < nc && !found; k++)
            found = f && kvg_json_str_eq(json_object_array_get_idx(d->causes, k),
                                         "field", f);
        if (!found)
            diff(t, "no details.causes entry for field %s (causes: %s)",
                 f ? f : "?", jstr(d->causes));
    }
}

static void check_annotations(tcase_ctx *t, const kvg_decision *d)
{
    json_object *want = kvg_json_path(t->expected, "annotations", NULL);
    if (!want)
        return;
    json_object_object_foreach(want, key, frag) {
        const char *got = kvg_json_str(d->annotations, key, NULL);
        const char *f = kvg_json_as_str(frag);
        if (!got || (f && !strstr(got, f)))
            diff(t, "audit annotation %s: got %s, want it to contain \"%s\"",
                 key, got ? got : "(none)", f ? f : "");
    }
}

static void check_patch(tcase_ctx *t, const kvg_decision *d)
{
    json_object *want = NULL;
    if (!json_object_object_get_ex(t->expected, "patch", &want))
        return;
    if (!want) {
        if (d->patch && json_object_array_length(d->patch))
            diff(t, "patch: got %s, want none", jstr(d->patch));
    } else if (!json_object_equal(d->patch, want)) {
        diff(t, "patch: got %s, want %s", jstr(d->patch), jstr(want));
    }
}

static void check_decision(tcase_ctx *t, const kvg_decision *d)
{
    json_object *v;
    bool allowed = kvg_json_bool(true, t->expected, "allowed", NULL);
    if (!json_object_object_get_ex(t->expected, "allowed", &v) ||
        !json_object_is_type(v, json_type_boolean))
        diff(t, "expected.json: \"allowed\" (true or false) is required");
    if (d->allowed != allowed)
        diff(t, "allowed: got %s, want %s (message: %s)", d->allowed ? "true" : "false",
             allowed ? "true" : "false", d->message ? d->message : "none");
    if (json_object_object_get_ex(t->expected, "code", &v) &&
        json_object_get_int(v) != d->code)
        diff(t, "code: got %d, want %d", d->code, json_object_get_int(v));
    if (kvg_json_str(t->expected, "reason", NULL) &&
        (!d->reason || strcmp(d->reason, kvg_json_str(t->expected, "reason", NULL))))
        diff(t, "reason: got %s, want %s", d->reason ? d->reason : "(none)",
             kvg_json_str(t->expected, "reason", NULL));
    check_strings(t, "message_contains", d->message, "message", true);
    check_strings(t, "message_absent", d->message, "message", false);
    {
        json_object *arr = kvg_json_array(t->expected, "warnings_contain", NULL);
        size_t n = arr ? json_object_array_length(arr) : 0;
        for (size_t i = 0; i < n; i++) {
            const char *f = kvg_json_as_str(json_object_array_get_idx(arr, i));
            if (!f || !any_contains(d, f))
                diff(t, "no warning contains \"%s\"", f ? f : "?");
        }
    }
    if (kvg_json_bool(false, t->expected, "no_warnings", NULL) && d->n_warnings)
        diff(t, "warnings: got %zu (first: %s), want none", d->n_warnings,
             d->warnings[0]);
    for (size_t i = 0; i < d->n_warnings; i++)
        if (strlen(d->warnings[i]) >= 120)
            diff(t, "warning of %zu chars (limit 119): %s", strlen(d->warnings[i]),
                 d->warnings[i]);
    check_rules(t, d);
    check_causes(t, d);
    check_annotations(t, d);
    check_patch(t, d);
}

/* --explain must not change the decision. */
static void check_explain(tcase_ctx *t, const kvg_decision *d, const kvg_decision *x)
{
    if (d->allowed != x->allowed || d->code != x->code ||
        d->n_warnings != x->n_warnings ||
        (d->message && (!x->message || strcmp(d->message, x->message))))
        diff(t, "--explain changed the decision");
    if (!x->explain.len)
        diff(t, "--explain produced no text");
    check_strings(t, "explain_contains", x->explain.data, "explain text", true);
}

/* Apply the patch to a copy of the object and decide again: no patch. */
static void check_idempotent(tcase_ctx *t, const kvg_decide_opts *o,
                             const kvg_decision *d)
{
    json_object *doc = NULL;
    kvg_request req = t->rv.req;
    kvg_decision again;
    kvg_diag diag = {{0}};
    if (!d->patch || !json_object_array_length(d->patch))
        return;
    if (json_object_deep_copy((json_object *)req.object, &doc, NULL) || !doc) {
        diff(t, "cannot copy the request object");
        return;
    }
    if (kvg_patch_apply(&doc, d->patch, &diag)) {
        diff(t, "the patch does not apply to the request object: %s", diag.msg);
        json_object_put(doc);
        return;
    }
    req.object = doc;
    kvg_decision_init(&again);
    ck_assert_int_eq(kvg_policy_decide(&t->cfg.policy, t->view, &req, o, &again), KVG_OK);
    if (again.patch && json_object_array_length(again.patch))
        diff(t, "not idempotent: reinvocation on the patched object patches %s",
             jstr(again.patch));
    kvg_decision_free(&again);
    json_object_put(doc);
}

static void run_case(const char *grp, const char *name)
{
    tcase_ctx t;
    kvg_decision d, x;
    kvg_decide_opts o = {0}, ox;
    case_load(&t, grp, name);
    o.mutate = kvg_json_bool(false, t.expected, "mutate", NULL);
    ox = o;
    ox.explain = true;
    kvg_decision_init(&d);
    kvg_decision_init(&x);
    ck_assert_int_eq(kvg_policy_decide(&t.cfg.policy, t.view, &t.rv.req, &o, &d), KVG_OK);
    ck_assert_int_eq(kvg_policy_decide(&t.cfg.policy, t.view, &t.rv.req, &ox, &x), KVG_OK);
    check_decision(&t, &d);
    check_explain(&t, &d, &x);
    if (o.mutate)
        check_idempotent(&t, &o, &d);
    if (t.diffs.len) {
        char *msg = NULL;
        size_t n = 0;
        kvg_buf all;
        kvg_buf_init(&all, 0);
        kvg_buf_printf(&all, "case %s/%s failed:\n%s  decision: allowed=%s code=%d "
                       "message=%s warnings=%zu patch=%s\n--explain:\n%s",
                       grp, name, t.diffs.data, d.allowed ? "true" : "false", d.code,
                       d.message ? d.message : "(none)", d.n_warnings, jstr(d.patch),
                       x.explain.data ? x.explain.data : "");
        msg = kvg_buf_steal(&all, &n);
        fprintf(stderr, "%s\n", msg);
        kvg_decision_free(&d);
        kvg_decision_free(&x);
        case_free(&t);
        ck_abort_msg("%s", msg);
    }
    kvg_decision_free(&d);
    kvg_decision_free(&x);
    case_free(&t);
}

/* ---- Check plumbing ------------------------------------------------------- */

/* A loop test only knows its index: number the cases across all groups and
 * give each group's tcase its own index range. */
static size_t total_cases(void)
{
    size_t n = 0;
    for (size_t g = 0; g < n_groups; g++)
        n += groups[g].n;
    return n;
}

static void locate(size_t idx, const group **g, const char **name)
{
    for (size_t i = 0; i < n_groups; i++) {
        if (idx < groups[i].n) {
            *g = &groups[i];
            *name = groups[i].cases[idx];
            return;
        }
        idx -= groups[i].n;
    }
    *g = NULL;
    *name = NULL;
}

START_TEST(admission_case)
{
    const group *g;
    const char *name;
    locate((size_t)_i, &g, &name);
    ck_assert_ptr_nonnull(g);
    run_case(g->name, name);
}
END_TEST

START_TEST(suite_not_empty)
{
    ck_assert_msg(total_cases() > 0, "no cases below %s", CASES_DIR);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cases");
    TCase *tc0 = tcase_create("suite");
    size_t start = 0;
    kvg_diag d = {{0}};
    collect();
    if (is_dir(EXAMPLES_DIR) && kvg_files_load(EXAMPLES_DIR, &examples, &d)) {
        fprintf(stderr, "examples/cluster: %s\n", d.msg);
        return EXIT_FAILURE;
    }
    tcase_add_test(tc0, suite_not_empty);
    suite_add_tcase(s, tc0);
    for (size_t g = 0; g < n_groups; g++) {
        TCase *tc = tcase_create(groups[g].name);
        tcase_add_loop_test(tc, admission_case, (int)start, (int)(start + groups[g].n));
        suite_add_tcase(s, tc);
        start += groups[g].n;
    }
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    kvg_store_free(examples);
    for (size_t g = 0; g < n_groups; g++) {
        for (size_t k = 0; k < groups[g].n; k++)
            free(groups[g].cases[k]);
        free(groups[g].cases);
        free(groups[g].name);
    }
    free(groups);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
