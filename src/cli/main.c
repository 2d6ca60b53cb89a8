/* kvguard: one binary, one subcommand per job (SPEC §2). */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"serve", kvg_cmd_serve, "run the admission webhook server"},
    {"review", kvg_cmd_review, "decide one AdmissionReview from a file or stdin"},
    {"certs", kvg_cmd_certs, "generate a CA and a serving certificate"},
    {"audit", kvg_cmd_audit, "report what kvguard would decide about every VM and pending object"},
    {"reconcile", kvg_cmd_reconcile, "clean up after restores, finish CDI clone fallbacks"},
    {"version", kvg_cmd_version, "print version, build flags and library versions"},
};

static void usage(FILE *to)
{
    fprintf(to, "usage: kvguard <command> [flags]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(to, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(to, "\nRun 'kvguard <command> --help' for the flags of a command.\n");
}

int main(int argc, char **argv)
{
#ifdef M_ARENA_MAX
    /* glibc gives every thread that allocates its own heap; sixteen informer
     * threads and the workers then each keep freed pages of their own, and
     * what the cache keeps long is spread over all of them. Two heaps:
     * kube-mode RSS with the issue-3 population 98 -> 70 MiB
     * (bench_informer_rss), no measurable cost on the request path. */
    mallopt(M_ARENA_MAX, 2);
#endif
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "kvguard: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
