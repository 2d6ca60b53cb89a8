/* The audit trail: the record of every decision (all fields, audit-mode and
 * dry-run decisions too), the non-blocking sink (queue, drops counted under a
 * flood), size rotation, write errors that never reach admission. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kvguard/admission.h"
#include "kvguard/audit.h"
#include "kvguard/buf.h"
#include "kvguard/json.h"
#include "kvguard/log.h"
#include "kvguard/metrics.h"
#include "testlib.h"

static char *read_opt(const char *path)
{
    kvg_buf b;
    kvg_buf_init(&b, 0);
    if (kvg_buf_read_file(&b, path, NULL) != KVG_OK) {
        kvg_buf_free(&b);
        return NULL;
    }
    return kvg_buf_steal(&b, NULL);
}

static double metric(const char *name)
{
    kvg_buf b;
    char *p;
    double v = -1;
    kvg_buf_init(&b, 0);
    ck_assert_int_eq(kvg_metrics_render(&b), KVG_OK);
    for (p = b.data; p && (p = strstr(p, name)); p += strlen(name))
        if ((p == b.data || p[-1] == '\n') && p[strlen(name)] == ' ') {
            v = strtod(p + strlen(name) + 1, NULL);
            break;
        }
    kvg_buf_free(&b);
    return v;
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (; text && *text; text++)
        n += *text == '\n';
    return n;
}

static kvg_audit_sink *open_sink(const char *path, size_t queue, size_t max_bytes,
                                 unsigned keep, bool paused)
{
    kvg_audit_sink_opts o;
    kvg_audit_sink *s = NULL;
    kvg_audit_sink_opts_init(&o);
    o.path = path;
    o.queue_len = queue;
    o.max_bytes = max_bytes;
    o.keep = keep;
    o.start_paused = paused;
    ck_assert_int_eq(kvg_audit_sink_open_opts(&o, &s, NULL), KVG_OK);
    return s;
}

/* ---- the record ------------------------------------------------------------ */

typedef struct env {
    kvg_store *store;
    kvg_policy_config cfg;
    char *dir, path[512];
    kvg_audit_sink *sink;
} env;

static void env_init(env *e)
{
    kvg_diag d = {{0}};
    kvg_metrics_reset();
    ck_assert_msg(kvg_files_load(KVG_SOURCE_DIR "/examples/cluster", &e->store, &d) == KVG_OK,
                  "%s", d.msg);
    kvg_policy_config_init(&e->cfg);
    e->dir = kvg_test_mkdtemp();
    snprintf(e->path, sizeof e->path, "%s/audit.log", e->dir);
    e->sink = open_sink(e->path, 128, 0, 3, false);
}

static void env_free(env *e)
{
    kvg_audit_sink_close(e->sink);
    kvg_store_free(e->store);
    kvg_test_rmtree(e->dir);
    free(e->dir);
}

/* Admit examples/reviews/<name> (request.dryRun set when asked). */
static bool admit_review(env *e, const char *name, bool mutate, bool dry_run)
{
    char rel[256];
    size_t len;
    json_object *rv = NULL;
    kvg_buf body, out;
    kvg_admit_result res;
    kvg_admit_opts o = {.mutate = mutate, .audit = true, .audit_sink = e->sink};
    snprintf(rel, sizeof rel, "examples/reviews/%s", name);
    char *text = kvg_test_read_source(rel, &len);
    ck_assert_int_eq(kvg_json_parse(text, len, 0, &rv, NULL), KVG_OK);
    if (dry_run)
        json_object_object_add(kvg_json_path(rv, "request", NULL), "dryRun",
                               json_object_new_boolean(1));
    kvg_buf_init(&body, 0);
    kvg_buf_init(&out, 0);
    ck_assert_int_eq(kvg_json_to_buf(rv, &body), KVG_OK);
    ck_assert_int_eq(kvg_admit(&e->cfg, kvg_store_view(e->store), body.data, body.len,
                               &o, &out, &res, NULL), KVG_OK);
    json_object_put(rv);
    free(text);
    kvg_buf_free(&body);
    kvg_buf_free(&out);
    return res.allowed;
}

static json_object *record(const char *text, size_t i)
{
    const char *p = text;
    json_object *o = NULL;
    for (size_t k = 0; k < i; k++)
        p = strchr(p, '\n') + 1;
    ck_assert_int_eq(kvg_json_parse(p, strcspn(p, "\n"), 0, &o, NULL), KVG_OK);
    return o;
}

static void assert_fields(json_object *r)
{
    static const char *const keys[] = {
        "time", "event", "uid", "user", "groups", "operation", "group", "version",
        "kind", "resource", "namespace", "name", "dryRun", "webhook", "decision",
        "code", "rules", "message", "warnings", "patch", "latency_ms"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        ck_assert_msg(json_object_object_get_ex(r, keys[i], NULL), "no %s in %s", keys[i],
                      json_object_to_json_string(r));
    json_object *rules = kvg_json_array(r, "rules", NULL);
    /* the mutating webhook runs no validation rules: only its patch counts */
    if (kvg_json_str_eq(r, "webhook", "validate"))
        ck_assert_uint_gt(json_object_array_length(rules), 0);
    for (size_t i = 0; i < json_object_array_length(rules); i++) {
        json_object *x = json_object_array_get_idx(rules, i);
        ck_assert_ptr_nonnull(kvg_json_str(x, "id", NULL));
        ck_assert_ptr_nonnull(kvg_json_str(x, "action", NULL));
        ck_assert_ptr_nonnull(kvg_json_str(x, "outcome", NULL));
    }
    ck_assert(json_object_is_type(json_object_object_get(r, "latency_ms"), json_type_double));
    ck_assert_str_eq(kvg_json_str(r, "event", NULL), "admission.decision");
}

static const json_object *rule_of(json_object *r, const char *id)
{
    json_object *rules = kvg_json_array(r, "rules", NULL);
    for (size_t i = 0; i < json_object_array_length(rules); i++)
        if (kvg_json_str_eq(json_object_array_get_idx(rules, i), "id", id))
            return json_object_array_get_idx(rules, i);
    return NULL;
}

START_TEST(record_has_every_field)
{
    env e;
    env_init(&e);
    ck_assert(!admit_review(&e, "snapshot-hostpath-vm-denied.json", false, false));
    ck_assert(admit_review(&e, "clone-hostpath-vm-cdi.json", true, false));
    ck_assert(!admit_review(&e, "snapshot-hostpath-vm-denied.json", false, true));
    /* audit mode: the violation is allowed but recorded */
    e.cfg.actions[KVG_RULE_SNAPSHOT_VOLUME_SUPPORT] = KVG_ACTION_AUDIT;
    ck_assert(admit_review(&e, "snapshot-hostpath-vm-denied.json", false, false));
    ck_assert_int_eq(kvg_audit_sink_flush(e.sink, 5000), KVG_OK);

    char *text = read_opt(e.path);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(count_lines(text), 4);
    json_object *denied = record(text, 0), *mut = record(text, 1), *dry = record(text, 2),
                *aud = record(text, 3);
    assert_fields(denied);
    assert_fields(mut);
    assert_fields(dry);
    assert_fields(aud);
    ck_assert_str_eq(kvg_json_str(denied, "decision", NULL), "denied");
    ck_assert_int_eq(kvg_json_int(0, denied, "code", NULL), 403);
    ck_assert_str_eq(kvg_json_str(denied, "kind", NULL), "VirtualMachineSnapshot");
    ck_assert_str_eq(kvg_json_str(denied, "operation", NULL), "CREATE");
    ck_assert_ptr_nonnull(strstr(kvg_json_str(denied, "message", NULL), "snapshot-volume-support"));
    ck_assert_str_eq(kvg_json_str(rule_of(denied, "snapshot-volume-support"), "outcome", NULL), "fail");
    ck_assert_ptr_nonnull(kvg_json_str(rule_of(denied, "snapshot-volume-support"), "message", NULL));
    /* the mutating path lists its patch operations (op and path only) */
    ck_assert_str_eq(kvg_json_str(mut, "webhook", NULL), "mutate");
    json_object *patch = kvg_json_array(mut, "patch", NULL);
    ck_assert_uint_gt(json_object_array_length(patch), 0);
    ck_assert_ptr_nonnull(kvg_json_str(json_object_array_get_idx(patch, 0), "op", NULL));
    ck_assert_ptr_nonnull(kvg_json_str(json_object_array_get_idx(patch, 0), "path", NULL));
    ck_assert(!kvg_json_path(json_object_array_get_idx(patch, 0), "value", NULL));
    ck_assert(kvg_json_bool(false, dry, "dryRun", NULL));
    ck_assert_str_eq(kvg_json_str(aud, "decision", NULL), "allowed");
    ck_assert_str_eq(kvg_json_str(rule_of(aud, "snapshot-volume-support"), "action", NULL), "audit");
    ck_assert_str_eq(kvg_json_str(rule_of(aud, "snapshot-volume-support"), "outcome", NULL), "fail");
    json_object_put(denied);
    json_object_put(mut);
    json_object_put(dry);
    json_object_put(aud);
    free(text);
    env_free(&e);
}
END_TEST

/* Without a file the records go to the log fd (stderr), one line each. */
START_TEST(default_is_the_log_stream)
{
    char *dir = kvg_test_mkdtemp(), path[512];
    snprintf(path, sizeof path, "%s/stderr", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    kvg_log_set_fd(fd);
    kvg_audit_sink *s = open_sink(NULL, 8, 0, 0, false);
    ck_assert_int_eq(kvg_audit_sink_write(s, "{\"a\":1}", 7), KVG_OK);
    kvg_audit_sink_close(s);
    kvg_log_set_fd(-1);
    close(fd);
    char *text = read_opt(path);
    ck_assert_str_eq(text, "{\"a\":1}\n");
    free(text);
    kvg_test_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- rotation --------------------------------------------------------------- */

START_TEST(rotation_by_size)
{
    char *dir = kvg_test_mkdtemp(), path[512], rot[540], line[128];
    struct stat st;
    kvg_audit_sink_stats stats;
    kvg_metrics_reset();
    snprintf(path, sizeof path, "%s/audit.log", dir);
    kvg_audit_sink *s = open_sink(path, 256, 1000, 2, false);
    for (int i = 0; i < 100; i++) {
        int n = snprintf(line, sizeof line, "{\"n\":%5d,\"pad\":\"%078d\"}", i, 0);
        ck_assert_int_eq(kvg_audit_sink_write(s, line, (size_t)n), KVG_OK);
    }
    ck_assert_int_eq(kvg_audit_sink_flush(s, 5000), KVG_OK);
    kvg_audit_sink_stats_get(s, &stats);
    ck_assert_uint_eq(stats.written, 100);
    ck_assert_uint_eq(stats.dropped, 0);
    ck_assert_uint_eq(stats.write_errors, 0);
    /* 100-byte records, 1000-byte files: 10 per file, 9 rotations */
    ck_assert_uint_eq(stats.rotations, 9);
    kvg_audit_sink_close(s);
    /* keep 2: audit.log, .1, .2 hold the newest 30 records, nothing older */
    int newest = 99;
    for (unsigned k = 0; k <= 3; k++) {
        if (k == 0)
            snprintf(rot, sizeof rot, "%s", path);
        else
            snprintf(rot, sizeof rot, "%s.%u", path, k);
        if (k == 3) {
            ck_assert_int_ne(stat(rot, &st), 0);
            break;
        }
        ck_assert_int_eq(stat(rot, &st), 0);
        ck_assert_int_le(st.st_size, 1000);
        char *text = read_opt(rot);
        ck_assert_uint_eq(count_lines(text), 10);
        json_object *last = record(text, 9);
        ck_assert_int_eq(kvg_json_int(-1, last, "n", NULL), newest);
        newest -= 10;
        json_object_put(last);
        free(text);
    }
    kvg_test_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- flood: bounded queue, drops counted, admission never waits ------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(flood_drops_are_counted)
{
    char *dir = kvg_test_mkdtemp(), path[512], logpath[512];
    kvg_audit_sink_stats stats;
    size_t ok = 0, dropped = 0;
    kvg_metrics_reset();
    snprintf(path, sizeof path, "%s/audit.log", dir);
    snprintf(logpath, sizeof logpath, "%s/log", dir);
    int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    kvg_log_set_fd(fd);
    /* paused: the writer does not drain, as a stuck disk would not */
    kvg_audit_sink *s = open_sink(path, 64, 0, 0, true);
    double t0 = now_s();
    for (int i = 0; i < 10000; i++) {
        kvg_err e = kvg_audit_sink_write(s, "{\"flood\":true}", 14);
        ok += e == KVG_OK;
        dropped += e == KVG_EUNAVAIL;
    }
    double took = now_s() - t0;
    kvg_log_set_fd(-1);
    close(fd);
    ck_assert_uint_eq(ok, 64);
    ck_assert_uint_eq(dropped, 9936);
    ck_assert_msg(took < 1.0, "10,000 writes took %.3f s", took);
    kvg_audit_sink_stats_get(s, &stats);
    ck_assert_uint_eq(stats.dropped, 9936);
    ck_assert_uint_eq(stats.queued, 64);
    ck_assert(metric("kvguard_audit_dropped_total") == 9936.0);
    /* not silent, but rate-limited: one warning for the whole burst */
    char *log = read_opt(logpath);
    ck_assert_uint_eq(count_lines(log), 1);
    ck_assert_ptr_nonnull(strstr(log, "audit.lost"));
    ck_assert_ptr_nonnull(strstr(log, "queue full"));
    free(log);
    ck_assert_int_eq(kvg_audit_sink_flush(s, 100), KVG_ETIMEOUT);
    kvg_audit_sink_resume(s);
    ck_assert_int_eq(kvg_audit_sink_flush(s, 5000), KVG_OK);
    kvg_audit_sink_stats_get(s, &stats);
    ck_assert_uint_eq(stats.written, 64);
    kvg_audit_sink_close(s);
    char *text = read_opt(path);
    ck_assert_uint_eq(count_lines(text), 64);
    free(text);
    ck_assert(metric("kvguard_audit_records_total") == 64.0);
    kvg_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(oversized_record_dropped)
{
    kvg_audit_sink_opts o;
    kvg_audit_sink *s = NULL;
    kvg_audit_sink_stats stats;
    kvg_metrics_reset();
    kvg_audit_sink_opts_init(&o);
    o.path = "/dev/null";
    o.max_line = 10;
    ck_assert_int_eq(kvg_audit_sink_open_opts(&o, &s, NULL), KVG_OK);
    kvg_log_set_fd(open("/dev/null", O_WRONLY));
    ck_assert_int_eq(kvg_audit_sink_write(s, "{\"too\":\"long\"}", 14), KVG_ETOOBIG);
    ck_assert_int_eq(kvg_audit_sink_write(s, NULL, 0), KVG_EINVAL);
    ck_assert_int_eq(kvg_audit_sink_write(NULL, "x", 1), KVG_EINVAL);
    kvg_log_set_fd(-1);
    kvg_audit_sink_stats_get(s, &stats);
    ck_assert_uint_eq(stats.dropped, 1);
    ck_assert(metric("kvguard_audit_dropped_total") == 1.0);
    kvg_audit_sink_close(s);
    kvg_audit_sink_close(NULL);
}
END_TEST

/* ---- write errors: counted, admission unaffected --------------------------- */

static void errors_case(const char *path)
{
    env e;
    kvg_audit_sink_stats stats;
    env_init(&e);
    kvg_audit_sink_close(e.sink);
    e.sink = open_sink(path, 16, 0, 3, false);
    kvg_log_set_fd(open("/dev/null", O_WRONLY));
    ck_assert(!admit_review(&e, "snapshot-hostpath-vm-denied.json", false, false));
    ck_assert(admit_review(&e, "snapshot-zfs-vm-allowed.json", false, false));
    ck_assert_int_eq(kvg_audit_sink_flush(e.sink, 5000), KVG_OK);
    kvg_log_set_fd(-1);
    kvg_audit_sink_stats_get(e.sink, &stats);
    ck_assert_uint_eq(stats.write_errors, 2);
    ck_assert_uint_eq(stats.written, 0);
    ck_assert(metric("kvguard_audit_write_errors_total") == 2.0);
    env_free(&e);
}

START_TEST(unwritable_file)
{
    errors_case("/nonexistent-kvguard-dir/audit.log");
}
END_TEST

START_TEST(disk_full)
{
    struct stat st;
    if (stat("/dev/full", &st) != 0)
        return; /* no /dev/full in this sandbox */
    errors_case("/dev/full");
}
END_TEST

/* Close writes what is still queued. */
START_TEST(close_drains)
{
    char *dir = kvg_test_mkdtemp(), path[512];
    snprintf(path, sizeof path, "%s/a.log", dir);
    kvg_audit_sink *s = open_sink(path, 8, 0, 0, true);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(kvg_audit_sink_write(s, "{}", 2), KVG_OK);
    kvg_audit_sink_close(s);
    char *text = read_opt(path);
    ck_assert_str_eq(text, "{}\n{}\n{}\n{}\n{}\n");
    free(text);
    kvg_test_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("audit_sink");
    TCase *t = tcase_create("audit_sink");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, record_has_every_field);
    tcase_add_test(t, default_is_the_log_stream);
    tcase_add_test(t, rotation_by_size);
    tcase_add_test(t, flood_drops_are_counted);
    tcase_add_test(t, oversized_record_dropped);
    tcase_add_test(t, unwritable_file);
    tcase_add_test(t, disk_full);
    tcase_add_test(t, close_drains);
    suite_add_tcase(s, t);
    return kvg_test_run(s);
}
