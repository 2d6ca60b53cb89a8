/* Allocation-failure testing of the review path: kvg_admit() over the
 * example reviews (against the example cluster) and every data-driven case
 * of tests/cases (against its cluster and config), validating and mutating,
 * with the n-th call failing, for every n up to the number of calls the
 * request makes. Two sweeps: allocations only, then allocations and the
 * json-c constructors kvguard calls.
 *
 * This program replaces malloc/calloc/realloc/free (glibc routes its own
 * internal allocations, strdup included, through the replacements) with
 * wrappers around the __libc_* functions that count, fail on request and
 * track every block allocated while armed.
 *
 * What is asserted for every n:
 *  - no crash (the program runs the whole sweep in one process);
 *  - no leak: every block allocated during the call (and the answer's
 *    buffers) is freed once the caller freed what it owns - the harness's
 *    own pointer tracking, so it works in the plain build;
 *  - fail closed: the call returns an error (no answer claimed), or an answer
 *    that denies, or exactly the answer of the run without failure. An
 *    "allowed" that differs from the reference (a rule skipped, a warning or
 *    a patch lost) fails the test.
 * A failure names the failed call's return address: addr2line -e
 * build/tests/test_alloc_failure 0x... gives the line. KVG_ALLOC_SURVEY=1
 * lists every failing run instead of stopping at the first.
 * Under ASan the interposition would fight the sanitizer's allocator, and
 * under valgrind its own: the sweep is skipped there (said on stderr). */
#include <check.h>
#include <json-c/json.h>
#include <dirent.h>
#include <dlfcn.h>
#include <sys/stat.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvguard/admission.h"
#include "kvguard/config.h"
#include "kvguard/log.h"
#include "kvguard/metrics.h"
#include "kvguard/view.h"
#include "testlib.h"

#if defined(__SANITIZE_ADDRESS__)
#define KVG_INTERPOSE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KVG_INTERPOSE 0
#endif
#endif
#ifndef KVG_INTERPOSE
#define KVG_INTERPOSE 1
#endif

#if KVG_INTERPOSE
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

/* Armed only around kvg_admit(), in one thread. */
static atomic_bool armed;
static long n_allocs, fail_at; /* fail_at 0: never */
static const void *failed_site; /* the call that was failed, for the report */

/* Open-addressing set of live blocks allocated while armed. */
#define LIVE_SLOTS (1u << 18)
static void *live[LIVE_SLOTS];
static void *live_caller[LIVE_SLOTS]; /* who allocated it, for the report */
static long n_live;
static void *const TOMB = (void *)1;

static size_t slot_of(const void *p)
{
    return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull) & (LIVE_SLOTS - 1);
}

static void live_add(void *p, void *caller)
{
    for (size_t i = slot_of(p);; i = (i + 1) & (LIVE_SLOTS - 1))
        if (!live[i] || live[i] == TOMB) {
            live[i] = p;
            live_caller[i] = caller;
            n_live++;
            return;
        }
}

static void live_del(void *p)
{
    for (size_t i = slot_of(p); live[i]; i = (i + 1) & (LIVE_SLOTS - 1))
        if (live[i] == p) {
            live[i] = TOMB;
            n_live--;
            return;
        }
}

/* "file(symbol+0xoff)" of a code address (addr2line it). */
static void site_name(const void *addr, char *buf, size_t len)
{
    Dl_info info;
    bool named = dladdr(addr, &info) && info.dli_fname;
    snprintf(buf, len, "%s(%s+%#lx)", named ? info.dli_fname : "?",
             named && info.dli_sname ? info.dli_sname : "",
             named ? (unsigned long)((const char *)addr -
                                     (const char *)(info.dli_saddr ? info.dli_saddr
                                                                   : info.dli_fbase))
                   : 0ul);
}

/* Names the allocation sites of the blocks still live. */
static void live_report(void)
{
    char site[512];
    for (size_t i = 0; i < LIVE_SLOTS; i++)
        if (live[i] && live[i] != TOMB) {
            site_name(live_caller[i], site, sizeof site);
            fprintf(stderr, "test_alloc_failure: leaked block allocated from %s\n", site);
        }
}

/* Only allocations made by kvguard's own code (linked into this program) are
 * failed: json-c 0.16 crashes on its own allocation failures (the tokener
 * adds a key whose strdup failed: strlen(NULL) in json_object_object_add_ex),
 * which no caller can prevent. Blocks of every library are still tracked. */
extern const char __executable_start[], etext[];

static bool ours(const void *caller)
{
    return (const char *)caller >= __executable_start && (const char *)caller < etext;
}

static void forget_live(void)
{
    memset(live, 0, sizeof live);
    n_live = 0;
}

/* True when this allocation must fail. */
static bool next_fails(const void *caller)
{
    if (!atomic_load_explicit(&armed, memory_order_relaxed) || !ours(caller))
        return false;
    n_allocs++;
    if (fail_at && n_allocs == fail_at) {
        failed_site = caller;
        return true;
    }
    return false;
}

void *malloc(size_t n)
{
    if (next_fails(__builtin_return_address(0)))
        return NULL;
    void *p = __libc_malloc(n);
    if (p && armed)
        live_add(p, __builtin_return_address(0));
    return p;
}

void *calloc(size_t a, size_t b)
{
    if (next_fails(__builtin_return_address(0)))
        return NULL;
    void *p = __libc_calloc(a, b);
    if (p && armed)
        live_add(p, __builtin_return_address(0));
    return p;
}

void *realloc(void *old, size_t n)
{
    if (old && n == 0) {
        free(old);
        return NULL;
    }
    if (next_fails(__builtin_return_address(0)))
        return NULL;
    void *p = __libc_realloc(old, n);
    if (p && armed) {
        if (old)
            live_del(old);
        live_add(p, __builtin_return_address(0));
    }
    return p;
}

static char *dup_n(const char *s, size_t n, const void *caller)
{
    if (next_fails(caller))
        return NULL;
    char *p = __libc_malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    if (armed)
        live_add(p, (void *)caller);
    return p;
}

char *strdup(const char *s)
{
    return dup_n(s, strlen(s), __builtin_return_address(0));
}

char *strndup(const char *s, size_t n)
{
    return dup_n(s, strnlen(s, n), __builtin_return_address(0));
}

/* json-c constructors called by kvguard's code fail like allocations (they
 * return NULL / -1 on allocation failure) in the second sweep; json-c's calls
 * among its own functions pass through. */
static bool jsonc_mode;
#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))
#define WRAP0(ret, name, fail)                                                \
    ret name(void)                                                            \
    {                                                                         \
        if (jsonc_mode && next_fails(__builtin_return_address(0)))            \
            return fail;                                                      \
        return REAL(name)();                                                  \
    }
#define WRAP1(ret, name, t1, fail)                                            \
    ret name(t1 a)                                                            \
    {                                                                         \
        if (jsonc_mode && next_fails(__builtin_return_address(0)))            \
            return fail;                                                      \
        return REAL(name)(a);                                                 \
    }
#define WRAP2(ret, name, t1, t2, fail)                                        \
    ret name(t1 a, t2 b)                                                      \
    {                                                                         \
        if (jsonc_mode && next_fails(__builtin_return_address(0)))            \
            return fail;                                                      \
        return REAL(name)(a, b);                                              \
    }
#define WRAP3(ret, name, t1, t2, t3, fail)                                    \
    ret name(t1 a, t2 b, t3 c)                                                \
    {                                                                         \
        if (jsonc_mode && next_fails(__builtin_return_address(0)))            \
            return fail;                                                      \
        return REAL(name)(a, b, c);                                           \
    }
WRAP0(json_object *, json_object_new_object, NULL)
WRAP0(json_object *, json_object_new_array, NULL)
WRAP1(json_object *, json_object_new_string, const char *, NULL)
WRAP2(json_object *, json_object_new_string_len, const char *, const int, NULL)
WRAP1(json_object *, json_object_new_int, int32_t, NULL)
WRAP1(json_object *, json_object_new_int64, int64_t, NULL)
WRAP1(json_object *, json_object_new_boolean, json_bool, NULL)
WRAP1(json_object *, json_object_new_double, double, NULL)
WRAP3(int, json_object_object_add, struct json_object *, const char *,
      struct json_object *, -1)
WRAP2(int, json_object_array_add, struct json_object *, struct json_object *, -1)
WRAP3(int, json_object_deep_copy, struct json_object *, struct json_object **,
      json_c_shallow_copy_fn *, -1)
WRAP2(const char *, json_object_to_json_string_ext, struct json_object *, int, NULL)

void free(void *p)
{
    if (!p)
        return;
    if (armed)
        live_del(p);
    __libc_free(p);
}
#endif

#if KVG_INTERPOSE
/* One AdmissionReview and what it is decided against. */
typedef struct subject {
    char name[4200]; /* for messages */
    char *review;   /* owned */
    size_t len;
    kvg_store *store; /* owned */
    kvg_config cfg;   /* its policy part is used */
} subject;

static const char *const REVIEWS[] = {
    "examples/reviews/snapshot-zfs-vm-allowed.json",
    "examples/reviews/snapshot-hostpath-vm-denied.json",
    "examples/reviews/restore-running-vm-denied.json",
    "examples/reviews/clone-hostpath-vm-cdi.json",
    "examples/reviews/clone-upstream-example-invalid-mac.json",
    "examples/reviews/datavolume-clone-empty-namespace.json",
};
#define N_REVIEWS (sizeof REVIEWS / sizeof REVIEWS[0])
#define CASES_DIR "tests/cases" /* below KVG_SOURCE_DIR */

typedef struct outcome {
    kvg_err err;
    bool allowed;
    char *body; /* the answer, owned (plain allocation, made unarmed) */
} outcome;

static bool answer_allows(const char *body)
{
    return body && strstr(body, "\"allowed\":true") != NULL;
}

static void admit(const subject *s, bool mutate, outcome *o)
{
    kvg_admit_opts opts = {.mutate = mutate};
    kvg_buf out;
    kvg_admit_result res;
    kvg_diag d = {{0}};
    memset(&res, 0, sizeof res);
    kvg_buf_init(&out, 0);
    atomic_store(&armed, true);
    o->err = kvg_admit(&s->cfg.policy, kvg_store_view(s->store), s->review, s->len, &opts,
                       &out, &res, &d);
    o->allowed = res.allowed;
    char *copy = NULL;
    if (out.data) {
        copy = malloc(out.len + 1); /* may fail too: then checked as such */
        if (copy) {
            memcpy(copy, out.data, out.len);
            copy[out.len] = '\0';
        }
    }
    kvg_buf_free(&out);
    /* The metrics registry lives as long as the process (a series per rule
     * and result, created on first use): emptied here so that what remains
     * is a leak. */
    kvg_metrics_reset();
    kvg_view_drop_parsed(); /* trees kept for the next request are no leak */
    atomic_store(&armed, false);
    if (copy)
        live_del(copy); /* the harness's own, freed by the caller */
    o->body = copy;
}

/* The file rel below the source tree, or NULL when there is none. */
static char *read_if_any(const char *rel, size_t *len)
{
    char path[4600];
    snprintf(path, sizeof path, "%s/%s", KVG_SOURCE_DIR, rel);
    return access(path, R_OK) == 0 ? kvg_test_read_source(rel, len) : NULL;
}

/* A data-driven case (tests/cases/README.md) as tests/unit/test_cases.c
 * loads it; false (nothing loaded) when it has no review.json (YAML reviews
 * are not swept).
 * view.json (kinds not synced) is not applied: the case then runs on the
 * full view, a request like any other. */
static bool subject_load_case(subject *s, const char *dir)
{
    char path[4200];
    kvg_diag d = {{0}};
    struct stat st;
    size_t len;
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", dir);
    snprintf(path, sizeof path, "%s/review.json", dir);
    if (!(s->review = read_if_any(path, &s->len)))
        return false;
    ck_assert_int_eq(kvg_config_init(&s->cfg), KVG_OK);
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    char *text = read_if_any(path, &len);
    if (text)
        ck_assert_msg(kvg_config_load_text(&s->cfg, text, len, path, &d) == KVG_OK, "%s", d.msg);
    free(text);
    snprintf(path, sizeof path, "%s/%s/cluster", KVG_SOURCE_DIR, dir);
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        snprintf(path, sizeof path, "%s/examples/cluster", KVG_SOURCE_DIR);
    ck_assert_msg(kvg_files_load(path, &s->store, &d) == KVG_OK, "%s: %s", s->name, d.msg);
    return true;
}

static void subject_load_example(subject *s, const char *review)
{
    kvg_diag d = {{0}};
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", review);
    s->review = kvg_test_read_source(review, &s->len);
    ck_assert_int_eq(kvg_config_init(&s->cfg), KVG_OK);
    ck_assert_msg(kvg_files_load(KVG_SOURCE_DIR "/examples/cluster", &s->store, &d) == KVG_OK,
                  "%s", d.msg);
}

static void subject_free(subject *s)
{
    free(s->review);
    kvg_store_free(s->store);
    kvg_config_free(&s->cfg);
}

typedef struct tally {
    long subjects, runs, errors, denies, same, bad; /* bad: survey only */
} tally;

/* KVG_ALLOC_SURVEY=1: report every failing run (leak, changed allow) and go
 * on, instead of stopping at the first; the test then fails at the end. */
static bool survey(void)
{
    const char *s = getenv("KVG_ALLOC_SURVEY");
    return s && !strcmp(s, "1");
}

/* One run whose n-th call fails: checked, counted. */
static void check_run(const char *name, bool mutate, long n, long needed,
                      const outcome *o, const outcome *ref, tally *t)
{
    char site[512];
    const char *what = mutate ? "mutate" : "validate";
    t->runs++;
    site_name(failed_site, site, sizeof site);
    if (n_live) {
        live_report();
        if (survey()) {
            fprintf(stderr, "test_alloc_failure: %s (%s): failing call %ld (%s) leaks %ld blocks\n",
                    name, what, n, site, n_live);
            t->bad++;
            forget_live();
        }
    }
    ck_assert_msg(n_live == 0, "%s (%s): failing call %ld of %ld (%s) leaks %ld blocks",
                  name, what, n, needed, site, n_live);
    if (o->err != KVG_OK || !o->body) {
        t->errors++;
    } else if (!answer_allows(o->body)) {
        t->denies++;
    } else if (strcmp(o->body, ref->body) && survey()) {
        fprintf(stderr, "test_alloc_failure: %s (%s): failing call %ld (%s) still allows, "
                        "with a different answer\n", name, what, n, site);
        t->bad++;
    } else {
        ck_assert_msg(!strcmp(o->body, ref->body),
                      "%s (%s): failing call %ld of %ld (%s) still allows, "
                      "with a different answer:\n%s\nexpected:\n%s",
                      name, what, n, needed, site, o->body, ref->body);
        t->same++;
    }
}

/* The subject, validating and mutating, with the n-th call failing for
 * every n up to the number of calls the request makes. */
static void sweep_subject(const subject *s, tally *t)
{
    t->subjects++;
    for (int mutate = 0; mutate < 2; mutate++) {
        outcome ref, o;
        fail_at = 0;
        admit(s, mutate, &ref); /* warm-up: one-time initialisation */
        free(ref.body);
        n_allocs = 0;
        admit(s, mutate, &ref);
        long needed = n_allocs;
        ck_assert_msg(ref.err == KVG_OK && ref.body, "%s: no answer without failure", s->name);
        if (n_live)
            live_report();
        ck_assert_msg(n_live == 0, "%s: %ld blocks leaked without failure", s->name, n_live);
        for (long n = 1; n <= needed; n++) {
            n_allocs = 0;
            fail_at = n;
            admit(s, mutate, &o);
            check_run(s->name, mutate, n, needed, &o, &ref, t);
            free(o.body);
        }
        fail_at = 0;
        free(ref.body);
    }
}

/* Every case of tests/cases (groups ending in -fixtures hold none). */
static void sweep_cases(tally *t)
{
    struct dirent **groups;
    int ng = scandir(KVG_SOURCE_DIR "/" CASES_DIR, &groups, NULL, alphasort);
    ck_assert_msg(ng > 0, "cannot list %s", CASES_DIR);
    for (int g = 0; g < ng; g++) {
        char gdir[1200];
        struct dirent **cases;
        const char *gname = groups[g]->d_name;
        size_t gl = strlen(gname);
        bool skip = gname[0] == '.' || (gl > 9 && !strcmp(gname + gl - 9, "-fixtures"));
        snprintf(gdir, sizeof gdir, "%s/%s/%s", KVG_SOURCE_DIR, CASES_DIR, gname);
        int nc = skip ? 0 : scandir(gdir, &cases, NULL, alphasort);
        for (int c = 0; c < nc; c++) {
            char cdir[2600];
            subject s;
            snprintf(cdir, sizeof cdir, "%s/%s/%s", CASES_DIR, gname, cases[c]->d_name);
            if (cases[c]->d_name[0] != '.' && subject_load_case(&s, cdir)) {
                sweep_subject(&s, t);
                subject_free(&s);
            }
            free(cases[c]);
        }
        if (nc > 0)
            free(cases);
        free(groups[g]);
    }
    free(groups);
}

/* The example reviews, then every data-driven case. */
static void sweep(bool jsonc)
{
    const char *mode = jsonc ? "json-c" : "malloc";
    tally ex = {0}, cs = {0};
    jsonc_mode = jsonc;
    kvg_log_set_level(KVG_LOG_ERROR);
    for (size_t r = 0; r < N_REVIEWS; r++) {
        subject s;
        subject_load_example(&s, REVIEWS[r]);
        sweep_subject(&s, &ex);
        subject_free(&s);
    }
    sweep_cases(&cs);
    const tally *ts[] = {&ex, &cs};
    const char *what[] = {"example reviews", "tests/cases"};
    for (int i = 0; i < 2; i++)
        fprintf(stderr, "test_alloc_failure: [%s] %ld %s: %ld runs: %ld errors, %ld denies, "
                        "%ld unchanged answers, %ld leaking or changed\n",
                mode, ts[i]->subjects, what[i], ts[i]->runs, ts[i]->errors, ts[i]->denies,
                ts[i]->same, ts[i]->bad);
    ck_assert_int_eq(ex.bad + cs.bad, 0);
    ck_assert_int_gt(ex.runs, 100);
    ck_assert_int_gt(cs.subjects, 100);
}

/* Skipped where the interposition cannot work; says so. */
static bool sweep_skipped(void)
{
    const char *pre = getenv("LD_PRELOAD");
    if (pre && strstr(pre, "vgpreload")) {
        fprintf(stderr, "test_alloc_failure: under valgrind, sweep skipped\n");
        return true;
    }
    return false;
}
#endif

/* malloc, calloc, realloc, strdup, strndup made by kvguard's code fail. */
START_TEST(every_allocation_fails_once)
{
#if !KVG_INTERPOSE
    fprintf(stderr, "test_alloc_failure: sanitizer build, sweep skipped "
                    "(runs in the plain build)\n");
#else
    if (!sweep_skipped())
        sweep(false);
#endif
}
END_TEST

/* The same, and the json-c constructors called by kvguard fail as well
 * (json_object_new_*, object/array add, deep copy, to_json_string): a
 * failed construction must surface as an error, never as a smaller patch. */
START_TEST(every_jsonc_call_fails_once)
{
#if !KVG_INTERPOSE
    fprintf(stderr, "test_alloc_failure: sanitizer build, json-c sweep skipped\n");
#else
    if (!sweep_skipped())
        sweep(true);
#endif
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alloc_failure");
    TCase *tc = tcase_create("sweep");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, every_allocation_fails_once);
    tcase_add_test(tc, every_jsonc_call_fails_once);
    suite_add_tcase(s, tc);
    return kvg_test_run(s);
}
