/* kvguard review: decide one AdmissionReview offline, through kvg_admit() like
 * the server, against a cluster view. Exit 0 allowed, 1 denied, 2 bad input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "kvguard/admission.h"
#include "kvguard/config.h"
#include "kvguard/informer.h"
#include "kvguard/json.h"
#include "kvguard/log.h"

#ifndef KVG_DEFAULT_STATE_DIR
#define KVG_DEFAULT_STATE_DIR "examples/cluster"
#endif

enum { EXIT_ALLOWED = 0, EXIT_DENIED = 1, EXIT_BAD = 2 };

typedef struct review_args {
    bool mutate, explain, help;
    long sync_timeout_s; /* kube mode: wait this long for the informers */
    const char *file;    /* NULL or "-": stdin */
} review_args;

static void usage(FILE *to)
{
    fprintf(to,
            "usage: kvguard review [--config F] [--cluster-state DIR | "
            "--kubeconfig F]\n"
            "                      [--mutate] [--explain] [FILE|-]\n\n"
            "Decide one AdmissionReview (JSON or YAML) and print the response\n"
            "AdmissionReview on stdout. Exit 0 allowed, 1 denied, 2 bad input.\n\n"
            "  --mutate          run the mutating path (JSONPatch) instead of "
            "validation\n"
            "  --explain         print why on stderr\n"
            "  --cluster-state D cluster view from manifests in D (default "
            "%s)\n"
            "  --kubeconfig F    cluster view from the API server (list+watch)\n"
            "  --context C       kubeconfig context\n"
            "  --sync-timeout S  kube: wait S seconds for the cache (default "
            "30)\n"
            "  --config F        kvguard.yaml (rule actions, exclusions, ...)\n",
            KVG_DEFAULT_STATE_DIR);
}

static int parse_seconds(const char *v, long *out)
{
    char *end;
    *out = strtol(v, &end, 10);
    if (*v && !*end && *out >= 1 && *out <= 3600)
        return 0;
    fprintf(stderr, "kvguard review: --sync-timeout needs 1-3600 seconds "
                    "(got '%s')\n", v);
    return -1;
}

static int parse_args(int argc, char **argv, review_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--mutate"))
            a->mutate = true;
        else if (!strcmp(s, "--explain"))
            a->explain = true;
        else if (!strcmp(s, "--help") || !strcmp(s, "-h"))
            a->help = true;
        else if (!strncmp(s, "--sync-timeout", 14) &&
                 (s[14] == '=' || s[14] == '\0')) {
            const char *v = s[14] == '=' ? s + 15 : i + 1 < argc ? argv[++i] : "";
            if (parse_seconds(v, &a->sync_timeout_s))
                return -1;
        } else if (!strcmp(s, "--") && i + 1 < argc && !a->file)
            a->file = argv[++i];
        else if (s[0] == '-' && s[1] != '\0') {
            fprintf(stderr, "kvguard review: unknown flag '%s'\n", s);
            return -1;
        } else if (a->file) {
            fprintf(stderr, "kvguard review: one input only (got '%s' and "
                            "'%s')\n", a->file, s);
            return -1;
        } else
            a->file = s;
    }
    return 0;
}

static kvg_err read_stdin(kvg_buf *b, kvg_diag *d)
{
    char tmp[65536];
    for (;;) {
        ssize_t n = read(0, tmp, sizeof tmp);
        if (n == 0)
            return KVG_OK;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return kvg_diag_set(d, KVG_EIO, "stdin: %s", strerror(errno));
        if (kvg_buf_append(b, tmp, (size_t)n))
            return kvg_diag_set(d, KVG_ETOOBIG, "stdin: larger than %zu bytes",
                                b->limit);
    }
}

static kvg_err read_input(const char *file, size_t limit, kvg_buf *b,
                          kvg_diag *d)
{
    kvg_buf_init(b, limit);
    if (!file || !strcmp(file, "-"))
        return read_stdin(b, d);
    return kvg_buf_read_file(b, file, d);
}

/* YAML input is converted to JSON so kvg_admit() sees what the server would. */
static kvg_err to_json(const kvg_buf *in, const char *name, kvg_buf *json,
                       kvg_diag *d)
{
    kvg_review rv;
    kvg_err e = kvg_review_decode_any(in->data ? in->data : "", in->len, name,
                                      &rv, d);
    if (e)
        return e;
    e = kvg_json_to_buf(rv.root, json);
    kvg_review_free(&rv);
    return e;
}

static void print_pretty(const kvg_buf *out)
{
    json_object *o = NULL;
    if (kvg_json_parse(out->data, out->len, 0, &o, NULL) == KVG_OK) {
        puts(json_object_to_json_string_ext(
            o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                   JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    } else {
        fwrite(out->data, 1, out->len, stdout);
        putchar('\n');
    }
}

static int decide(const kvg_config *cfg, const kvg_view *view,
                  const review_args *a, const kvg_buf *json)
{
    kvg_buf out, explain;
    kvg_admit_result res;
    kvg_diag d = {{0}};
    kvg_admit_opts opts = {.mutate = a->mutate, .explain = a->explain,
                           .audit = false, .explain_out = &explain};
    int rc;
    kvg_buf_init(&out, 0);
    kvg_buf_init(&explain, 0);
    kvg_err e = kvg_admit(&cfg->policy, view, json->data, json->len, &opts,
                          &out, &res, &d);
    if (e) {
        fprintf(stderr, "kvguard review: %s\n", d.msg[0] ? d.msg
                                                         : kvg_strerror(e));
        rc = EXIT_BAD;
    } else {
        print_pretty(&out);
        if (a->explain && explain.len)
            fprintf(stderr, "%s%s", explain.data,
                    explain.data[explain.len - 1] == '\n' ? "" : "\n");
        rc = res.allowed ? EXIT_ALLOWED : EXIT_DENIED;
    }
    kvg_buf_free(&out);
    kvg_buf_free(&explain);
    return rc;
}

static int review_with_view(kvg_config *cfg, const review_args *a)
{
    const char *name = a->file && strcmp(a->file, "-") ? a->file : "<stdin>";
    kvg_store *store = NULL;
    kvg_informers *inf = NULL;
    kvg_buf in, json;
    kvg_diag d = {{0}};
    int rc = EXIT_BAD;
    kvg_buf_init(&json, 0);
    if (read_input(a->file, cfg->max_body_bytes, &in, &d) ||
        to_json(&in, name, &json, &d)) {
        fprintf(stderr, "kvguard review: %s\n", d.msg);
        goto out;
    }
    if (kvg_cli_open_view(cfg, a->sync_timeout_s, &store, &inf, &d)) {
        /* the backend's message names the directory, file or API server */
        fprintf(stderr, "kvguard review: %s\n", d.msg[0] ? d.msg : "out of memory");
        goto out;
    }
    rc = decide(cfg, kvg_store_view(store), a, &json);
out:
    if (store)
        kvg_cluster_close(store, inf);
    kvg_buf_free(&in);
    kvg_buf_free(&json);
    return rc;
}

int kvg_cmd_review(int argc, char **argv)
{
    kvg_config cfg;
    review_args a = {.sync_timeout_s = 30};
    int rc = EXIT_BAD;
    if (!kvg_cli_config("review", &cfg, &argc, argv))
        return EXIT_BAD;
    if (parse_args(argc, argv, &a)) {
        usage(stderr);
        goto out;
    }
    if (a.help) {
        usage(stdout);
        rc = 0;
        goto out;
    }
    rc = review_with_view(&cfg, &a);
out:
    kvg_config_free(&cfg);
    return rc;
}
