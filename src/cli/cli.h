/* Subcommands of the kvguard binary. Each returns the process exit code and
 * prints its own errors. argv[0] is the subcommand name. */
#ifndef KVG_CLI_H
#define KVG_CLI_H

#include <stdbool.h>

#include "kvguard/config.h"
#include "kvguard/informer.h"

int kvg_cmd_serve(int argc, char **argv);     /* cmd_serve.c */
int kvg_cmd_review(int argc, char **argv);    /* cmd_review.c */
int kvg_cmd_certs(int argc, char **argv);     /* cmd_certs.c */
int kvg_cmd_version(int argc, char **argv);   /* cmd_version.c */
int kvg_cmd_reconcile(int argc, char **argv); /* cmd_reconcile.c */
int kvg_cmd_audit(int argc, char **argv);     /* cmd_audit.c */

/* Configuration defaults, then `--config F` and the common flags of SPEC §2
 * (removed from argv), then the log level. On failure it prints
 * "kvguard CMD: why", frees cfg and returns false (exit code 2). */
bool kvg_cli_config(const char *cmd, kvg_config *cfg, int *argc, char **argv);

/* The cluster view of the configuration: files (default: the shipped example
 * state) loaded at once, or kube informers waited for up to sync_timeout_s. */
kvg_err kvg_cli_open_view(kvg_config *cfg, long sync_timeout_s, kvg_store **store,
                          kvg_informers **inf, kvg_diag *d);

#endif
