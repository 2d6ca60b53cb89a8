/* kvguard audit: what kvguard would decide today about snapshotting,
 * restoring and cloning every VM in scope, and about every pending
 * snapshot/restore/clone/DataVolume. Exit 0 nothing would be refused,
 * 1 something would, 2 bad input. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "kvguard/audit.h"
#include "kvguard/config.h"
#include "kvguard/informer.h"
#include "kvguard/log.h"

#ifndef KVG_DEFAULT_STATE_DIR
#define KVG_DEFAULT_STATE_DIR "examples/cluster"
#endif

enum { EXIT_CLEAN = 0, EXIT_REFUSED = 1, EXIT_BAD = 2 };

typedef enum audit_format { FMT_TABLE, FMT_JSON, FMT_POLICYREPORT } audit_format;

typedef struct audit_args {
    audit_format format;
    const char *namespace_;
    long sync_timeout_s;
    bool help;
    bool apply;     /* write the PolicyReports to the cluster */
    long every_s;   /* with apply: again every S seconds until SIGTERM */
} audit_args;

static volatile sig_atomic_t stop_requested;

static void usage(FILE *to)
{
    fprintf(to,
            "usage: kvguard audit [--config F] [--cluster-state DIR | "
            "--kubeconfig F]\n"
            "                     [--namespace NS] [-o table|json|policyreport]\n"
            "                     [--apply [--every S]]\n\n"
            "Report what kvguard would decide today: for every VirtualMachine, "
            "can it be\nsnapshotted, restored and cloned (and how); for every "
            "pending snapshot,\nrestore, clone and clone DataVolume, would it be "
            "refused. Exit 0 nothing would\nbe refused, 1 something would, 2 "
            "bad input.\n\n"
            "  -o, --output F     table (default), json (docs/audit.md), or\n"
            "                     policyreport (wgpolicyk8s.io/v1alpha2 List)\n"
            "  -n, --namespace NS only this namespace (default: all)\n"
            "  --cluster-state D  cluster view from manifests in D (default %s)\n"
            "  --kubeconfig F     cluster view from the API server\n"
            "  --context C        kubeconfig context\n"
            "  --sync-timeout S   kube: wait S seconds for the cache (default 30)\n"
            "  --apply            kube: create/replace the PolicyReport \"kvguard\" of\n"
            "                     every namespace, delete those no longer needed\n"
            "  --every S          with --apply: again every S seconds until SIGTERM\n"
            "  --config F         kvguard.yaml (rule actions, exclusions, ...)\n",
            KVG_DEFAULT_STATE_DIR);
}

/* "--flag V" or "--flag=V"; NULL when s is not that flag. */
static const char *flag_value(const char *s, const char *flag, int argc,
                              char **argv, int *i)
{
    size_t n = strlen(flag);
    if (strncmp(s, flag, n))
        return NULL;
    if (s[n] == '=')
        return s + n + 1;
    if (s[n] != '\0')
        return NULL;
    return *i + 1 < argc ? argv[++*i] : "";
}

static int parse_format(const char *v, audit_format *out)
{
    if (!strcmp(v, "table"))
        *out = FMT_TABLE;
    else if (!strcmp(v, "json"))
        *out = FMT_JSON;
    else if (!strcmp(v, "policyreport"))
        *out = FMT_POLICYREPORT;
    else {
        fprintf(stderr, "kvguard audit: -o must be table, json or policyreport "
                        "(got '%s')\n", v);
        return -1;
    }
    return 0;
}

static int parse_seconds(const char *flag, const char *v, long max, long *out)
{
    char *end;
    *out = strtol(v, &end, 10);
    if (*v && !*end && *out >= 1 && *out <= max)
        return 0;
    fprintf(stderr, "kvguard audit: %s needs 1-%ld seconds (got '%s')\n",
            flag, max, v);
    return -1;
}

static int parse_one(int argc, char **argv, int *i, audit_args *a)
{
    const char *s = argv[*i], *v;
    if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
        a->help = true;
        return 0;
    }
    if ((v = flag_value(s, "-o", argc, argv, i)) ||
        (v = flag_value(s, "--output", argc, argv, i)))
        return parse_format(v, &a->format);
    if ((v = flag_value(s, "-n", argc, argv, i)) ||
        (v = flag_value(s, "--namespace", argc, argv, i))) {
        if (!*v) {
            fprintf(stderr, "kvguard audit: --namespace needs a name\n");
            return -1;
        }
        a->namespace_ = v;
        return 0;
    }
    if ((v = flag_value(s, "--sync-timeout", argc, argv, i)))
        return parse_seconds("--sync-timeout", v, 3600, &a->sync_timeout_s);
    if ((v = flag_value(s, "--every", argc, argv, i)))
        return parse_seconds("--every", v, 86400, &a->every_s);
    if (!strcmp(s, "--apply")) {
        a->apply = true;
        return 0;
    }
    fprintf(stderr, "kvguard audit: unknown %s '%s'\n",
            s[0] == '-' ? "flag" : "argument", s);
    return -1;
}

static int parse_args(int argc, char **argv, audit_args *a)
{
    for (int i = 1; i < argc; i++)
        if (parse_one(argc, argv, &i, a))
            return -1;
    if (a->every_s && !a->apply) {
        fprintf(stderr, "kvguard audit: --every needs --apply\n");
        return -1;
    }
    return 0;
}

/* KVG_AUDIT_TIME pins the PolicyReport timestamps (golden tests). */
static long long audit_time(void)
{
    const char *t = getenv("KVG_AUDIT_TIME");
    char *end;
    long long v = t ? strtoll(t, &end, 10) : 0;
    return t && *t && !*end && v > 0 ? v : 0;
}

static kvg_err render(const json_object *report, const audit_args *a,
                      const kvg_audit_report_opts *ro, kvg_buf *out)
{
    switch (a->format) {
    case FMT_JSON:
        return kvg_audit_render_json(report, out);
    case FMT_POLICYREPORT:
        return kvg_audit_render_policyreports(report, ro, out);
    default:
        return kvg_audit_render_table(report, out);
    }
}

static int audit_view(const kvg_config *cfg, const kvg_view *view,
                      const audit_args *a)
{
    kvg_audit_report_opts ro;
    json_object *report = NULL;
    size_t refused = 0;
    kvg_diag d = {{0}};
    kvg_buf out;
    int rc = EXIT_BAD;
    kvg_audit_report_opts_init(&ro);
    ro.namespace_ = a->namespace_;
    ro.now_s = audit_time();
    kvg_buf_init(&out, 0);
    if (kvg_audit_report_build(&cfg->policy, view, &ro, &report, &refused, &d) ||
        render(report, a, &ro, &out)) {
        fprintf(stderr, "kvguard audit: %s\n", d.msg[0] ? d.msg : "out of memory");
    } else {
        fwrite(out.data, 1, out.len, stdout);
        rc = refused ? EXIT_REFUSED : EXIT_CLEAN;
    }
    json_object_put(report);
    kvg_buf_free(&out);
    return rc;
}

/* One round of --apply: the report of the view as it is now, written to the
 * cluster. 0/1 as without --apply (something would be refused), 2 when the
 * reports could not all be written. */
static int apply_round(const kvg_config *cfg, const kvg_view *view,
                       kvg_kube_client *client, const audit_args *a)
{
    kvg_audit_report_opts ro;
    kvg_audit_publish_stats st = {0};
    json_object *report = NULL, *list = NULL;
    size_t refused = 0;
    kvg_diag d = {{0}};
    int rc = EXIT_BAD;
    kvg_audit_report_opts_init(&ro);
    ro.namespace_ = a->namespace_;
    ro.now_s = audit_time();
    if (kvg_audit_report_build(&cfg->policy, view, &ro, &report, &refused, &d) ||
        kvg_audit_policyreports(report, &ro, &list))
        kvg_logf(KVG_LOG_ERROR, "audit.publish", "cannot build the report: %s",
                 d.msg[0] ? d.msg : "out of memory");
    else if (kvg_audit_publish(client, list, a->namespace_, &st, &d))
        kvg_logf(KVG_LOG_ERROR, "audit.publish", "%zu PolicyReports not "
                 "written: %s", st.failed, d.msg);
    else
        rc = refused ? EXIT_REFUSED : EXIT_CLEAN;
    if (rc != EXIT_BAD)
        kvg_logf(KVG_LOG_INFO, "audit.publish", "PolicyReports: %zu created, "
                 "%zu updated, %zu deleted; %zu decisions would be refused",
                 st.created, st.updated, st.deleted, refused);
    json_object_put(report);
    json_object_put(list);
    return rc;
}

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Sleeps in short steps so that SIGTERM ends the wait at once. */
static void wait_or_stop(long seconds)
{
    struct timespec step = {0, 200 * 1000000L};
    for (long i = 0; i < seconds * 5 && !stop_requested; i++)
        nanosleep(&step, NULL);
}

static int apply_loop(const kvg_config *cfg, const kvg_view *view,
                      kvg_kube_client *client, const audit_args *a)
{
    struct sigaction sa;
    int rc;
    if (!a->every_s)
        return apply_round(cfg, view, client, a);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* the informers keep the view current between rounds */
    while (!stop_requested) {
        rc = apply_round(cfg, view, client, a);
        (void)rc; /* a failed round is logged and retried next time */
        wait_or_stop(a->every_s);
    }
    return EXIT_CLEAN;
}

static int audit_with_view(kvg_config *cfg, const audit_args *a)
{
    kvg_store *store = NULL;
    kvg_informers *inf = NULL;
    kvg_diag d = {{0}};
    int rc = EXIT_BAD;
    if (a->apply && cfg->cluster_mode != KVG_CLUSTER_KUBE)
        fprintf(stderr, "kvguard audit: --apply needs the kube backend "
                        "(--kubeconfig F, or cluster.mode: kube)\n");
    else if (kvg_cli_open_view(cfg, a->sync_timeout_s, &store, &inf, &d))
        fprintf(stderr, "kvguard audit: %s\n", d.msg[0] ? d.msg : "out of memory");
    else if (a->apply)
        rc = apply_loop(cfg, kvg_store_view(store), kvg_informers_client(inf), a);
    else
        rc = audit_view(cfg, kvg_store_view(store), a);
    if (store)
        kvg_cluster_close(store, inf);
    return rc;
}

int kvg_cmd_audit(int argc, char **argv)
{
    kvg_config cfg;
    audit_args a = {.format = FMT_TABLE, .sync_timeout_s = 30};
    int rc = EXIT_BAD;
    if (!kvg_cli_config("audit", &cfg, &argc, argv))
        return EXIT_BAD;
    if (parse_args(argc, argv, &a)) {
        usage(stderr);
        goto out;
    }
    if (a.help) {
        usage(stdout);
        rc = EXIT_CLEAN;
        goto out;
    }
    rc = audit_with_view(&cfg, &a);
out:
    kvg_config_free(&cfg);
    return rc;
}
