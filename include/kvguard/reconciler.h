/* kvguard: the companion reconciler (`kvguard reconcile`, SPEC §6, §7). */
#ifndef KVGUARD_RECONCILER_H
#define KVGUARD_RECONCILER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "kvguard/config.h"
#include "kvguard/error.h"

typedef struct kvg_reconcile_opts {
    const char *metrics_listen; /* "ADDR:PORT" for /metrics /healthz /readyz; NULL: none */
    double resync_s;            /* how often every object is looked at again (2) */
    const atomic_bool *stop;    /* set by the caller's signal handler */
} kvg_reconcile_opts;

/* Runs until *opts->stop (kube backend: leader election, acts as leader). */
kvg_err kvg_reconcile_run(const kvg_config *cfg, const kvg_reconcile_opts *opts, kvg_diag *d);

/* Files backend: plans every restore cleanup and clone fallback of the state
 * once, acting on nothing, and prints the plans to out. */
kvg_err kvg_reconcile_report(const kvg_config *cfg, FILE *out, kvg_diag *d);

#endif
