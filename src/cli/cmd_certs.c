/* kvguard certs --out DIR --dns NAME... [--ip IP...] [--days N] [--force] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "kvguard/certs.h"

#define MAX_NAMES 64

typedef struct certs_args {
    const char *dns[MAX_NAMES], *ips[MAX_NAMES];
    kvg_certs_opts o;
} certs_args;

static void usage(FILE *to)
{
    fprintf(to,
            "usage: kvguard certs --out DIR --dns NAME... [--ip IP...] [--days N] [--force]\n"
            "\n"
            "Generates a self-signed CA and an ECDSA P-256 serving certificate and\n"
            "writes DIR/ca.crt, DIR/tls.crt, DIR/tls.key (mode 0600). Prints the\n"
            "base64 caBundle for the webhook configuration on stdout.\n"
            "\n"
            "  --out DIR     output directory (created if missing)\n"
            "  --dns NAME    DNS name(s) of the service, e.g. kvguard.kvguard-system.svc\n"
            "                (repeat the flag, list several after it, or separate with ',')\n"
            "  --ip IP       IP address SAN(s), e.g. 127.0.0.1\n"
            "  --days N      validity in days (default 365, at most %u)\n"
            "  --force       overwrite existing files\n",
            KVG_CERTS_MAX_DAYS);
}

/* Adds "a,b,c" to the list; false when it overflows or an item is empty. */
static int add_names(const char **list, size_t *n, char *value, const char *flag)
{
    for (char *save = NULL, *tok = strtok_r(value, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (*n >= MAX_NAMES) {
            fprintf(stderr, "kvguard certs: %s: at most %d values\n", flag, MAX_NAMES);
            return 0;
        }
        list[(*n)++] = tok;
    }
    return 1;
}

static int parse_days(const char *s, unsigned *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || end == s || *end || v < 1 || v > (long)KVG_CERTS_MAX_DAYS) {
        fprintf(stderr, "kvguard certs: --days '%s': expected a number of days "
                        "from 1 to %u\n", s ? s : "", KVG_CERTS_MAX_DAYS);
        return 0;
    }
    *out = (unsigned)v;
    return 1;
}

/* Splits "--flag=value"; returns the value (or the next argument). */
static char *flag_value(int argc, char **argv, int *i, const char *flag)
{
    const char *eq = strchr(argv[*i], '=');
    if (eq)
        return (char *)eq + 1;
    if (*i + 1 >= argc) {
        fprintf(stderr, "kvguard certs: %s needs a value\n", flag);
        return NULL;
    }
    return argv[++*i];
}

static int flag_is(const char *arg, const char *flag)
{
    size_t n = strlen(flag);
    return !strncmp(arg, flag, n) && (arg[n] == '\0' || arg[n] == '=');
}

/* A list flag also takes the plain arguments after it: --dns a b c. */
static int take_list(int argc, char **argv, int *i, const char **list,
                     size_t *n, const char *flag)
{
    char *v = flag_value(argc, argv, i, flag);
    if (!v || !*v) {
        if (v)
            fprintf(stderr, "kvguard certs: %s: empty value\n", flag);
        return 0;
    }
    if (!add_names(list, n, v, flag))
        return 0;
    while (*i + 1 < argc && argv[*i + 1][0] != '-')
        if (!add_names(list, n, argv[++*i], flag))
            return 0;
    return 1;
}

/* 0: parsed; 1: help printed; 2: usage error printed. */
static int parse(int argc, char **argv, certs_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            return 1;
        } else if (flag_is(arg, "--out")) {
            if (!(a->o.out_dir = flag_value(argc, argv, &i, "--out")))
                return 2;
        } else if (flag_is(arg, "--dns")) {
            if (!take_list(argc, argv, &i, a->dns, &a->o.n_dns, "--dns"))
                return 2;
        } else if (flag_is(arg, "--ip")) {
            if (!take_list(argc, argv, &i, a->ips, &a->o.n_ips, "--ip"))
                return 2;
        } else if (flag_is(arg, "--days")) {
            if (!parse_days(flag_value(argc, argv, &i, "--days"), &a->o.days))
                return 2;
        } else if (!strcmp(arg, "--force")) {
            a->o.force = true;
        } else {
            fprintf(stderr, "kvguard certs: unknown argument '%s'\n\n", arg);
            usage(stderr);
            return 2;
        }
    }
    if (!a->o.out_dir || (!a->o.n_dns && !a->o.n_ips)) {
        fprintf(stderr, "kvguard certs: %s is required\n\n",
                !a->o.out_dir ? "--out DIR" : "--dns NAME (or --ip IP)");
        usage(stderr);
        return 2;
    }
    return 0;
}

int kvg_cmd_certs(int argc, char **argv)
{
    certs_args a = {0};
    a.o.dns = a.dns;
    a.o.ips = a.ips;
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc == 1 ? 0 : 2;
    kvg_diag d = {{0}};
    kvg_buf bundle;
    kvg_buf_init(&bundle, 0);
    kvg_err err = kvg_certs_generate(&a.o, &bundle, &d);
    if (err) {
        fprintf(stderr, "kvguard certs: %s\n", d.msg[0] ? d.msg : kvg_strerror(err));
        kvg_buf_free(&bundle);
        return err == KVG_EINVAL || err == KVG_EEXIST ? 2 : 1;
    }
    fprintf(stderr, "kvguard certs: wrote %s/ca.crt, %s/tls.crt, %s/tls.key "
                    "(valid %u days); caBundle on stdout\n",
            a.o.out_dir, a.o.out_dir, a.o.out_dir, a.o.days ? a.o.days : 365);
    printf("%s\n", bundle.data ? bundle.data : "");
    kvg_buf_free(&bundle);
    return 0;
}
