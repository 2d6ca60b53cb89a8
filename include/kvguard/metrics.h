/* kvguard: Prometheus metrics registry (process-wide, thread-safe).
 *
 * Series are identified by metric name + a label text already formatted as
 * Prometheus expects inside the braces: `kind="VirtualMachineSnapshot",op="CREATE"`
 * (use kvg_metrics_label_escape for values that come from requests). */
#ifndef KVGUARD_METRICS_H
#define KVGUARD_METRICS_H

#include <stddef.h>

#include "kvguard/buf.h"
#include "kvguard/error.h"

typedef enum kvg_metric_type {
    KVG_METRIC_COUNTER,
    KVG_METRIC_GAUGE,
    KVG_METRIC_HISTOGRAM,
} kvg_metric_type;

/* Declare a metric (idempotent). buckets: upper bounds, ascending, histogram only. */
kvg_err kvg_metrics_register(const char *name, kvg_metric_type type,
                             const char *help, const double *buckets,
                             size_t n_buckets);
void kvg_metrics_inc(const char *name, const char *labels, double v);
void kvg_metrics_set(const char *name, const char *labels, double v);
void kvg_metrics_observe(const char *name, const char *labels, double v);
/* Prometheus text exposition format 0.0.4. */
kvg_err kvg_metrics_render(kvg_buf *out);
/* Escape a label value (backslash, quote, newline) into out. */
kvg_err kvg_metrics_label_escape(const char *value, kvg_buf *out);
/* Forget every metric (tests). */
void kvg_metrics_reset(void);

/* The apiserver's webhook latency buckets (admission_webhook_admission_duration_seconds). */
extern const double kvg_metrics_webhook_buckets[];
extern const size_t kvg_metrics_webhook_buckets_n;

#endif
