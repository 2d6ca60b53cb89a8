/* Integration: failure injection against the real `kvguard serve`.
 *  - The apiserver is unreachable when kvguard starts (kube backend): not
 *    ready, admission follows onClusterStateUnavailable (deny by default);
 *    the apiserver comes up: ready and normal decisions without a restart.
 *  - The apiserver goes away after the sync, and answers slowly (watch
 *    requests failing with 503): within the staleness window (120 s by
 *    default) admission keeps answering from the cache in time; it comes
 *    back: the watch resumes and new objects are seen.
 *  - The same with a short cluster.staleAfterSeconds: quiet kinds stay fresh
 *    (watches shorter than the window, run to their timeout, are contact);
 *    the caches turn stale
 *    when the apiserver fails every request and when it is gone: /readyz
 *    503, admission follows onClusterStateUnavailable (deny; allow with a
 *    warning) and says the cache is stale since when; the apiserver answers
 *    again: fresh and ready without a restart.
 *  - The audit log on a full disk (/dev/full): admission unaffected, the
 *    write errors counted.
 * (Certificate files replaced with garbage: test_server_rotation.c.) */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fakeapi.h"
#include "proc.h"
#include "testlib.h"
#include "tls_client.h"

static char *dir;
static char ca[512];
static kvg_proc srv, srv2;
static char *review;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void setup(void)
{
    dir = kvg_test_mkdtemp();
    ck_assert_int_eq(kvg_proc_make_certs(dir, "certs"), 0);
    snprintf(ca, sizeof ca, "%s/certs/ca.crt", dir);
    review = kvg_test_read_source("examples/reviews/snapshot-zfs-vm-allowed.json", NULL);
}

static void stop_proc(kvg_proc *p)
{
    if (!p->pid)
        return;
    kvg_proc_signal(p, SIGTERM);
    int rc = kvg_proc_wait_exit(p, 30000);
    if (rc != 0 || getenv("KVG_DUMP"))
        kvg_proc_dump_log(p);
    ck_assert_int_eq(rc, 0);
}

static void teardown(void)
{
    stop_proc(&srv);
    stop_proc(&srv2);
    free(review);
    kvg_test_rmtree(dir);
    free(dir);
}

/* `kvguard serve` as p, its config in dir/<name>.yaml, log in dir/<name>.log. */
static int start_proc(kvg_proc *p, const char *name, const char *config_yaml,
                      const char *extra1, const char *extra2)
{
    char cfg[600], cert[600], key[600], file[64];
    snprintf(file, sizeof file, "%s.yaml", name);
    snprintf(cfg, sizeof cfg, "%s/%s", dir, file);
    snprintf(cert, sizeof cert, "%s/certs/tls.crt", dir);
    snprintf(key, sizeof key, "%s/certs/tls.key", dir);
    kvg_test_write_file(dir, file, config_yaml);
    const char *args[] = {"serve", "--config", cfg, "--listen", "127.0.0.1:0",
                          "--tls-cert", cert, "--tls-key", key, extra1, extra2, NULL};
    if (kvg_proc_start(p, dir, name, args) != 0)
        return -1;
    if (kvg_proc_wait_port(p, 60000) != 0) {
        kvg_proc_dump_log(p);
        return -1;
    }
    return 0;
}

static int start(const char *config_yaml, const char *extra1, const char *extra2)
{
    return start_proc(&srv, "serve", config_yaml, extra1, extra2);
}

/* One request to p on a fresh connection; the answer (free it) and its
 * latency. */
static char *call_on(const kvg_proc *p, const char *method, const char *path,
                     long *code, double *took)
{
    kvg_tc c;
    kvg_tc_init(&c, p->port, ca);
    kvg_tc_resp r;
    double t0 = now_s();
    if (!strcmp(method, "GET"))
        kvg_tc_get(&c, path, &r);
    else
        kvg_tc_post_json(&c, path, review, &r);
    if (took)
        *took = now_s() - t0;
    *code = r.code;
    char *body = strdup(r.body ? r.body : "");
    kvg_tc_resp_free(&r);
    kvg_tc_free(&c);
    return body;
}

static char *call(const char *method, const char *path, long *code, double *took)
{
    return call_on(&srv, method, path, code, took);
}

/* Polls GET path on p until it answers want, up to timeout_s. */
static bool wait_code_on(const kvg_proc *p, const char *path, long want,
                         double timeout_s)
{
    double end = now_s() + timeout_s;
    while (now_s() < end) {
        long code;
        free(call_on(p, "GET", path, &code, NULL));
        if (code == want)
            return true;
        usleep(200 * 1000);
    }
    return false;
}

static bool wait_code(const char *path, long want, double timeout_s)
{
    return wait_code_on(&srv, path, want, timeout_s);
}

static void write_kubeconfig(unsigned port, const char *ca_pem)
{
    kvg_test_write_file(dir, "api-ca.crt", ca_pem);
    char text[2048];
    snprintf(text, sizeof text,
             "apiVersion: v1\nkind: Config\ncurrent-context: t\n"
             "contexts:\n- name: t\n  context: {cluster: fake, user: u}\n"
             "clusters:\n- name: fake\n  cluster:\n    server: https://127.0.0.1:%u\n"
             "    certificate-authority: %s/api-ca.crt\n"
             "users:\n- name: u\n  user: {token: test-token}\n", port, dir);
    kvg_test_write_file(dir, "kubeconfig", text);
}

static const char VM[] =
    "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachine\","
    "\"metadata\":{\"name\":\"larry\",\"namespace\":\"vms\"},"
    "\"spec\":{\"runStrategy\":\"Halted\",\"template\":{\"spec\":{\"domain\":{\"devices\":{}},"
    "\"volumes\":[{\"name\":\"cloudinitdisk\",\"cloudInitNoCloud\":{\"userData\":\"x\"}}]}}}}";

START_TEST(apiserver_unreachable_at_start_then_recovers)
{
    unsigned port = kvg_test_free_port();
    char *cert_pem, *key_pem;
    kvg_test_gen_cert("fake-apiserver", &cert_pem, &key_pem);
    write_kubeconfig(port, cert_pem);
    char kc[600];
    snprintf(kc, sizeof kc, "%s/kubeconfig", dir);
    ck_assert_int_eq(start("workers: 2\nshutdownDelaySeconds: 0\n", "--kubeconfig", kc), 0);

    /* nothing listens at the apiserver's address */
    long code;
    ck_assert_int_eq(wait_code("/readyz", 503, 5), true);
    double took;
    char *body = call("POST", "/validate", &code, &took);
    ck_assert_int_eq(code, 200);
    ck_assert_msg(strstr(body, "\"allowed\":false") && strstr(body, "not synced"),
                  "unavailable state must deny by default: %s", body);
    ck_assert_msg(took < 5, "answered in %.2fs", took);
    free(body);

    /* the apiserver comes up: ready, and decisions come from the view */
    kvg_fakeapi *fa = kvg_fakeapi_start_at(port, cert_pem, key_pem);
    kvg_fakeapi_serve_kinds(fa);
    kvg_fakeapi_put(fa, "kubevirt.io", "virtualmachines", VM);
    ck_assert_msg(wait_code("/readyz", 200, 90), "not ready 90 s after the apiserver came up");
    body = call("POST", "/validate", &code, &took);
    ck_assert_int_eq(code, 200);
    ck_assert_msg(!strstr(body, "not synced"), "still unsynced: %s", body);
    free(body);
    kvg_fakeapi_stop(fa);
    free(cert_pem);
    free(key_pem);
}
END_TEST

/* A fake apiserver serving every kind and the VM larry, and a kubeconfig
 * for it in dir/kubeconfig (its path in kc); free the PEMs. */
static kvg_fakeapi *synced_fakeapi(char **cert_pem, char **key_pem,
                                   unsigned *port, char *kc, size_t kc_len)
{
    kvg_test_gen_cert("fake-apiserver", cert_pem, key_pem);
    kvg_fakeapi *fa = kvg_fakeapi_start_at(0, *cert_pem, *key_pem);
    kvg_fakeapi_serve_kinds(fa);
    kvg_fakeapi_put(fa, "kubevirt.io", "virtualmachines", VM);
    *port = (unsigned)atoi(strrchr(kvg_fakeapi_url(fa), ':') + 1);
    write_kubeconfig(*port, *cert_pem);
    snprintf(kc, kc_len, "%s/kubeconfig", dir);
    return fa;
}

/* The apiserver back at the same address, restarted empty (but for obj, a
 * VirtualMachine, when not NULL). Its
 * resourceVersions only grow (etcd keeps them): move past the old ones and
 * forget them, so resumed watches get 410 and relist. */
static kvg_fakeapi *restarted_fakeapi(unsigned port, const char *cert_pem,
                                      const char *key_pem, long old_rv,
                                      const char *obj)
{
    kvg_fakeapi *fa = kvg_fakeapi_start_at(port, cert_pem, key_pem);
    kvg_fakeapi_serve_kinds(fa);
    if (obj)
        kvg_fakeapi_put(fa, "kubevirt.io", "virtualmachines", obj);
    while (kvg_fakeapi_rv(fa) <= old_rv + 5)
        kvg_fakeapi_bookmark(fa, "kubevirt.io", "virtualmachines");
    kvg_fakeapi_compact(fa);
    return fa;
}

START_TEST(apiserver_lost_and_slow_after_sync)
{
    char *cert_pem, *key_pem, kc[600];
    unsigned port;
    kvg_fakeapi *fa = synced_fakeapi(&cert_pem, &key_pem, &port, kc, sizeof kc);
    ck_assert_int_eq(start("workers: 2\nshutdownDelaySeconds: 0\n", "--kubeconfig", kc), 0);
    ck_assert_msg(wait_code("/readyz", 200, 60), "never ready");
    long code;
    double took;
    char *before = call("POST", "/validate", &code, &took);
    ck_assert_int_eq(code, 200);

    /* slow / failing: every watch answered 503 */
    kvg_fakeapi_fail_query(fa, NULL, "/", "watch", 100000, 503, "1", NULL);
    kvg_fakeapi_close_watches(fa);
    for (int i = 0; i < 5; i++) {
        char *b = call("POST", "/validate", &code, &took);
        ck_assert_int_eq(code, 200);
        ck_assert_msg(took < 2, "answer took %.2fs while the apiserver fails", took);
        ck_assert_str_eq(b, before); /* from the cache */
        free(b);
        usleep(300 * 1000);
    }
    /* gone */
    long old_rv = kvg_fakeapi_rv(fa);
    kvg_fakeapi_stop(fa);
    for (int i = 0; i < 5; i++) {
        char *b = call("POST", "/validate", &code, &took);
        ck_assert_int_eq(code, 200);
        ck_assert_msg(took < 2, "answer took %.2fs without an apiserver", took);
        ck_assert_str_eq(b, before);
        free(b);
        usleep(300 * 1000);
    }
    /* within the staleness window (120 s by default) the view stays ready:
     * a blip of the apiserver does not take every webhook pod out */
    ck_assert_msg(wait_code("/readyz", 200, 1), "a blip made kvguard unready");
    char *metrics = call("GET", "/metrics", &code, NULL);
    ck_assert_msg(code == 200, "/metrics: %ld %s", code, metrics);
    ck_assert_msg(strstr(metrics, "kvguard_cache_last_sync_seconds"), "%.3000s", metrics);
    free(metrics);

    /* back, same address: the informers resume; a deleted VM is noticed */
    fa = restarted_fakeapi(port, cert_pem, key_pem, old_rv, NULL);
    double end = now_s() + 90;
    bool changed = false;
    while (!changed && now_s() < end) {
        char *b = call("POST", "/validate", &code, NULL);
        changed = code == 200 && strcmp(b, before) != 0;
        free(b);
        if (!changed)
            usleep(500 * 1000);
    }
    ck_assert_msg(changed, "the view never caught up with the restarted apiserver "
                           "(larry is gone there)");
    free(before);
    kvg_fakeapi_stop(fa);
    free(cert_pem);
    free(key_pem);
}
END_TEST

static bool has_metric(const kvg_proc *p, const char *line)
{
    long code;
    char *m = call_on(p, "GET", "/metrics", &code, NULL);
    bool found = code == 200 && strstr(m, line) != NULL;
    free(m);
    return found;
}

/* Kinds lose contact one by one (each watch ends on its own schedule), so
 * a given kind may turn stale a few seconds after the first one does. */
static bool wait_metric(const kvg_proc *p, const char *line, double timeout_s)
{
    for (double end = now_s() + timeout_s; now_s() < end; usleep(200 * 1000))
        if (has_metric(p, line))
            return true;
    return false;
}

/* Waits until p's log has more than `than` lines with needle. */
static bool wait_log_count(const kvg_proc *p, const char *needle, int than,
                           double timeout_s)
{
    for (double end = now_s() + timeout_s; now_s() < end; usleep(200 * 1000))
        if (kvg_proc_count_log(p, needle) > than)
            return true;
    return false;
}

/* srv denies (the default), srv2 allows with a warning (SPEC §3
 * onClusterStateUnavailable): both unready, both saying the cache is stale
 * and since when; the log says it too (after the informer's next failure,
 * so wait for it). */
static void expect_stale(const char *phase)
{
    double t0 = now_s();
    int logged = kvg_proc_count_log(&srv, "informer.stale");
    ck_assert_msg(wait_code_on(&srv, "/readyz", 503, 30) &&
                  wait_code_on(&srv2, "/readyz", 503, 30),
                  "%s: still ready %.1f s after the apiserver failed", phase,
                  now_s() - t0);
    long code;
    char *b = call_on(&srv, "GET", "/readyz", &code, NULL);
    ck_assert_msg(code == 503 && strstr(b, "cache stale") &&
                  strstr(b, "no contact with the apiserver since"),
                  "%s: /readyz %ld %s", phase, code, b);
    free(b);
    b = call_on(&srv, "POST", "/validate", &code, NULL);
    ck_assert_int_eq(code, 200);
    ck_assert_msg(strstr(b, "\"allowed\":false") && strstr(b, "not synced") &&
                  strstr(b, "cache stale") && strstr(b, " s ago)") &&
                  strstr(b, "VirtualMachine"),
                  "%s: a stale view must deny by default: %s", phase, b);
    free(b);
    b = call_on(&srv2, "POST", "/validate", &code, NULL);
    ck_assert_int_eq(code, 200);
    ck_assert_msg(strstr(b, "\"allowed\":true") && strstr(b, "\"warnings\"") &&
                  strstr(b, "cache stale"),
                  "%s: onClusterStateUnavailable: allow must allow with a "
                  "warning: %s", phase, b);
    free(b);
    ck_assert_msg(wait_metric(&srv, "kvguard_cache_stale{kind=\"VirtualMachine\"} 1", 30),
                  "%s: no kvguard_cache_stale 1", phase);
    ck_assert_msg(wait_log_count(&srv, "informer.stale", logged, 40),
                  "%s: staleness not logged", phase);
}

/* Ready again without a restart, deciding as before the failure. */
static void expect_fresh(const char *phase, const char *before, const char *before2)
{
    int logged = kvg_proc_count_log(&srv, "informer.fresh");
    ck_assert_msg(wait_code_on(&srv, "/readyz", 200, 60) &&
                  wait_code_on(&srv2, "/readyz", 200, 60),
                  "%s: not ready 60 s after the apiserver came back", phase);
    long code;
    char *b = call_on(&srv, "POST", "/validate", &code, NULL);
    ck_assert_msg(code == 200 && !strcmp(b, before), "%s: %s", phase, b);
    free(b);
    b = call_on(&srv2, "POST", "/validate", &code, NULL);
    ck_assert_msg(code == 200 && !strcmp(b, before2), "%s: %s", phase, b);
    free(b);
    ck_assert_msg(has_metric(&srv, "kvguard_cache_stale{kind=\"VirtualMachine\"} 0"),
                  "%s: still counted stale", phase);
    ck_assert_msg(wait_log_count(&srv, "informer.fresh", logged, 10),
                  "%s: recovery not logged", phase);
}

START_TEST(apiserver_lost_turns_the_view_stale)
{
    char *cert_pem, *key_pem, kc[600];
    unsigned port;
    kvg_fakeapi *fa = synced_fakeapi(&cert_pem, &key_pem, &port, kc, sizeof kc);
    /* a window of 4 s: watches of 1 s, re-made at once */
    static const char base[] = "workers: 2\nshutdownDelaySeconds: 0\n"
                               "cluster:\n  staleAfterSeconds: 4\n";
    ck_assert_int_eq(start_proc(&srv, "deny", base, "--kubeconfig", kc), 0);
    ck_assert_int_eq(start_proc(&srv2, "allow", "workers: 2\nshutdownDelaySeconds: 0\n"
                                "cluster:\n  staleAfterSeconds: 4\n"
                                "policy:\n  onClusterStateUnavailable: allow\n",
                                "--kubeconfig", kc), 0);
    ck_assert_msg(wait_code_on(&srv, "/readyz", 200, 60) &&
                  wait_code_on(&srv2, "/readyz", 200, 60), "never ready");
    long code;
    char *before = call_on(&srv, "POST", "/validate", &code, NULL);
    char *before2 = call_on(&srv2, "POST", "/validate", &code, NULL);
    ck_assert_msg(!strstr(before, "not synced"), "%s", before);

    /* quiet kinds (no object change, no bookmark) stay fresh past the
     * window: a watch run to its timeout is contact */
    for (double end = now_s() + 6; now_s() < end; usleep(300 * 1000)) {
        char *b = call_on(&srv, "GET", "/readyz", &code, NULL);
        ck_assert_msg(code == 200, "a quiet but healthy view went unready: %s", b);
        free(b);
    }

    /* failing: every request answered 503 (watches cut) */
    kvg_fakeapi_fail(fa, NULL, "/", 1000000, 503, NULL, NULL);
    kvg_fakeapi_close_watches(fa);
    expect_stale("apiserver failing");
    /* it answers again: the watches resume */
    kvg_fakeapi_clear_faults(fa);
    expect_fresh("apiserver answering again", before, before2);

    /* unreachable: nothing listens */
    long old_rv = kvg_fakeapi_rv(fa);
    kvg_fakeapi_stop(fa);
    expect_stale("apiserver unreachable");
    /* back, same address, restarted with its history lost: relists */
    fa = restarted_fakeapi(port, cert_pem, key_pem, old_rv, VM);
    expect_fresh("apiserver back", before, before2);

    free(before);
    free(before2);
    kvg_fakeapi_stop(fa);
    free(cert_pem);
    free(key_pem);
}
END_TEST

START_TEST(audit_log_on_a_full_disk)
{
    char yaml[512], state[600];
    snprintf(state, sizeof state, "%s/examples/cluster", KVG_SOURCE_DIR);
    snprintf(yaml, sizeof yaml,
             "workers: 2\nshutdownDelaySeconds: 0\naudit:\n  file: /dev/full\n");
    ck_assert_int_eq(start(yaml, "--cluster-state", state), 0);
    for (int i = 0; i < 50; i++) {
        long code;
        double took;
        char *b = call("POST", "/validate", &code, &took);
        ck_assert_int_eq(code, 200);
        ck_assert_msg(strstr(b, "\"allowed\":true"), "%s", b);
        ck_assert_msg(took < 2, "answer took %.2fs with the audit disk full", took);
        free(b);
    }
    long code;
    char *m = call("GET", "/metrics", &code, NULL);
    ck_assert_int_eq(code, 200);
    /* the failed writes are counted */
    char *line = strstr(m, "kvguard_audit_");
    bool counted = false;
    for (; line; line = strstr(line + 1, "\nkvguard_audit_")) {
        const char *e = strchr(line + 1, '\n');
        char buf[256];
        snprintf(buf, sizeof buf, "%.*s", e ? (int)(e - line) : 200, line);
        if (strstr(buf, "error") && !strstr(buf, "#") && strtod(strrchr(buf, ' ') + 1, NULL) > 0)
            counted = true;
    }
    ck_assert_msg(counted, "no audit error metric above 0:\n%s", m);
    free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("failure");
    TCase *tc = tcase_create("failure");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, audit_log_on_a_full_disk);
    tcase_add_test(tc, apiserver_unreachable_at_start_then_recovers);
    tcase_add_test(tc, apiserver_lost_and_slow_after_sync);
    tcase_add_test(tc, apiserver_lost_turns_the_view_stale);
    suite_add_tcase(s, tc);
    return kvg_test_run(s);
}
