/* kvguard: Prometheus metrics registry.
 *
 * One process-wide registry under one mutex: updates are a lookup in short
 * lists (tens of metrics, low-cardinality label sets) and a few additions, so
 * a finer-grained scheme would buy nothing measurable next to a TLS request. */
#include "kvguard/metrics.h"

#include <math.h>
#include <stdio.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Verified against kubernetes staging/src/k8s.io/apiserver/pkg/admission/
 * metrics/metrics.go (webhook_admission_duration_seconds). */
const double kvg_metrics_webhook_buckets[] = {0.005, 0.025, 0.1, 0.5,
                                              1,     2.5,   10,  25};
const size_t kvg_metrics_webhook_buckets_n =
    sizeof kvg_metrics_webhook_buckets / sizeof kvg_metrics_webhook_buckets[0];

typedef struct series {
    struct series *next;
    char *labels;     /* "" for the unlabelled series */
    double value;     /* counter / gauge */
    uint64_t *counts; /* histogram: per bucket (not cumulative) */
    uint64_t count;
    double sum;
} series;

typedef struct metric {
    struct metric *next;
    char *name, *help;
    kvg_metric_type type;
    double *buckets;
    size_t n_buckets;
    series *head, *tail;
} metric;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static metric *g_head, *g_tail;

static bool valid_name(const char *s)
{
    if (!s || !*s)
        return false;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     c == '_' || c == ':';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

static metric *find_metric(const char *name)
{
    for (metric *m = g_head; m; m = m->next)
        if (!strcmp(m->name, name))
            return m;
    return NULL;
}

static void free_metric(metric *m)
{
    for (series *s = m->head, *n; s; s = n) {
        n = s->next;
        free(s->labels);
        free(s->counts);
        free(s);
    }
    free(m->name);
    free(m->help);
    free(m->buckets);
    free(m);
}

static kvg_err check_buckets(kvg_metric_type type, const double *b, size_t n)
{
    if (type != KVG_METRIC_HISTOGRAM)
        return n == 0 ? KVG_OK : KVG_EINVAL;
    if (!b || n == 0)
        return KVG_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(b[i]) || (i > 0 && !(b[i] > b[i - 1])))
            return KVG_EINVAL;
    return KVG_OK;
}

static metric *new_metric(const char *name, kvg_metric_type type,
                          const char *help, const double *buckets, size_t n)
{
    metric *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->name = strdup(name);
    m->help = strdup(help ? help : "");
    m->type = type;
    m->n_buckets = n;
    if (n) {
        m->buckets = malloc(n * sizeof *buckets);
        if (m->buckets)
            memcpy(m->buckets, buckets, n * sizeof *buckets);
    }
    if (!m->name || !m->help || (n && !m->buckets)) {
        free_metric(m);
        return NULL;
    }
    return m;
}

kvg_err kvg_metrics_register(const char *name, kvg_metric_type type,
                             const char *help, const double *buckets,
                             size_t n_buckets)
{
    if (!valid_name(name) || type > KVG_METRIC_HISTOGRAM ||
        check_buckets(type, buckets, n_buckets) != KVG_OK)
        return KVG_EINVAL;
    kvg_err err = KVG_OK;
    pthread_mutex_lock(&g_lock);
    metric *m = find_metric(name);
    if (m) {
        /* Idempotent only for the same shape: a second module declaring the
         * name with another type would silently corrupt the exposition. */
        if (m->type != type)
            err = KVG_EEXIST;
    } else if (!(m = new_metric(name, type, help, buckets, n_buckets))) {
        err = KVG_ENOMEM;
    } else {
        if (g_tail)
            g_tail->next = m;
        else
            g_head = m;
        g_tail = m;
    }
    pthread_mutex_unlock(&g_lock);
    return err;
}

/* Finds or creates the series; NULL when the metric is unknown, has another
 * type, or memory ran out (metrics never fail the caller's request). */
static series *get_series(const char *name, kvg_metric_type want,
                          const char *labels)
{
    metric *m = find_metric(name);
    if (!m || m->type != want)
        return NULL;
    if (!labels)
        labels = "";
    for (series *s = m->head; s; s = s->next)
        if (!strcmp(s->labels, labels))
            return s;
    series *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->labels = strdup(labels);
    if (m->n_buckets)
        s->counts = calloc(m->n_buckets, sizeof *s->counts);
    if (!s->labels || (m->n_buckets && !s->counts)) {
        free(s->labels);
        free(s->counts);
        free(s);
        return NULL;
    }
    if (m->tail)
        m->tail->next = s;
    else
        m->head = s;
    m->tail = s;
    return s;
}

void kvg_metrics_inc(const char *name, const char *labels, double v)
{
    if (!name || isnan(v))
        return;
    pthread_mutex_lock(&g_lock);
    metric *m = find_metric(name);
    /* Counters only go up; gauges accept negative steps (in-flight). */
    if (m && (m->type == KVG_METRIC_GAUGE ||
              (m->type == KVG_METRIC_COUNTER && v >= 0))) {
        series *s = get_series(name, m->type, labels);
        if (s)
            s->value += v;
    }
    pthread_mutex_unlock(&g_lock);
}

void kvg_metrics_set(const char *name, const char *labels, double v)
{
    if (!name)
        return;
    pthread_mutex_lock(&g_lock);
    series *s = get_series(name, KVG_METRIC_GAUGE, labels);
    if (s)
        s->value = v;
    pthread_mutex_unlock(&g_lock);
}

void kvg_metrics_observe(const char *name, const char *labels, double v)
{
    if (!name || isnan(v))
        return;
    pthread_mutex_lock(&g_lock);
    series *s = get_series(name, KVG_METRIC_HISTOGRAM, labels);
    if (s) {
        metric *m = find_metric(name);
        for (size_t i = 0; i < m->n_buckets; i++)
            if (v <= m->buckets[i]) {
                s->counts[i]++;
                break;
            }
        s->count++;
        s->sum += v;
    }
    pthread_mutex_unlock(&g_lock);
}

/* Prometheus number syntax: integers without exponent where exact, and the
 * special values spelled +Inf, -Inf, NaN. */
static kvg_err put_num(kvg_buf *out, double v)
{
    if (isnan(v))
        return kvg_buf_puts(out, "NaN");
    if (isinf(v))
        return kvg_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
    if (v == floor(v) && fabs(v) < 9007199254740992.0)
        return kvg_buf_printf(out, "%.0f", v);
    /* Shortest text that reads back as the same double: "0.005", not
     * "0.0050000000000000001". */
    char text[32];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(text, sizeof text, "%.*g", prec, v);
        if (strtod(text, NULL) == v)
            break;
    }
    return kvg_buf_puts(out, text);
}

/* HELP text escapes only backslash and newline (exposition format 0.0.4). */
static kvg_err put_help(kvg_buf *out, const char *s)
{
    kvg_err err = KVG_OK;
    for (; *s && !err; s++) {
        if (*s == '\\')
            err = kvg_buf_puts(out, "\\\\");
        else if (*s == '\n')
            err = kvg_buf_puts(out, "\\n");
        else
            err = kvg_buf_append(out, s, 1);
    }
    return err;
}

kvg_err kvg_metrics_label_escape(const char *value, kvg_buf *out)
{
    if (!value || !out)
        return KVG_EINVAL;
    kvg_err err = KVG_OK;
    for (const char *s = value; *s && !err; s++) {
        if (*s == '\\')
            err = kvg_buf_puts(out, "\\\\");
        else if (*s == '"')
            err = kvg_buf_puts(out, "\\\"");
        else if (*s == '\n')
            err = kvg_buf_puts(out, "\\n");
        else
            err = kvg_buf_append(out, s, 1);
    }
    return err;
}

static kvg_err render_bucket(kvg_buf *out, const metric *m, const series *s,
                             const char *le, uint64_t cum)
{
    kvg_err err = kvg_buf_printf(out, "%s_bucket{%s%sle=\"%s\"} %llu\n",
                                 m->name, s->labels, *s->labels ? "," : "", le,
                                 (unsigned long long)cum);
    return err;
}

static kvg_err render_histogram(kvg_buf *out, const metric *m, const series *s)
{
    kvg_err err = KVG_OK;
    uint64_t cum = 0;
    for (size_t i = 0; i < m->n_buckets && !err; i++) {
        kvg_buf le;
        kvg_buf_init(&le, 64);
        cum += s->counts[i];
        err = put_num(&le, m->buckets[i]);
        if (!err)
            err = render_bucket(out, m, s, le.data, cum);
        kvg_buf_free(&le);
    }
    if (!err)
        err = render_bucket(out, m, s, "+Inf", s->count);
    const char *lb = *s->labels ? "{" : "", *rb = *s->labels ? "}" : "";
    if (!err)
        err = kvg_buf_printf(out, "%s_sum%s%s%s ", m->name, lb, s->labels, rb);
    if (!err)
        err = put_num(out, s->sum);
    if (!err)
        err = kvg_buf_printf(out, "\n%s_count%s%s%s %llu\n", m->name, lb,
                             s->labels, rb, (unsigned long long)s->count);
    return err;
}

static kvg_err render_metric(kvg_buf *out, const metric *m)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    kvg_err err = kvg_buf_printf(out, "# HELP %s ", m->name);
    if (!err)
        err = put_help(out, m->help);
    if (!err)
        err = kvg_buf_printf(out, "\n# TYPE %s %s\n", m->name,
                             type_names[m->type]);
    for (const series *s = m->head; s && !err; s = s->next) {
        if (m->type == KVG_METRIC_HISTOGRAM) {
            err = render_histogram(out, m, s);
            continue;
        }
        if (*s->labels)
            err = kvg_buf_printf(out, "%s{%s} ", m->name, s->labels);
        else
            err = kvg_buf_printf(out, "%s ", m->name);
        if (!err)
            err = put_num(out, s->value);
        if (!err)
            err = kvg_buf_puts(out, "\n");
    }
    return err;
}

kvg_err kvg_metrics_render(kvg_buf *out)
{
    if (!out)
        return KVG_EINVAL;
    kvg_err err = KVG_OK;
    pthread_mutex_lock(&g_lock);
    for (const metric *m = g_head; m && !err; m = m->next)
        err = render_metric(out, m);
    pthread_mutex_unlock(&g_lock);
    return err;
}

void kvg_metrics_reset(void)
{
    pthread_mutex_lock(&g_lock);
    for (metric *m = g_head, *n; m; m = n) {
        n = m->next;
        free_metric(m);
    }
    g_head = g_tail = NULL;
    pthread_mutex_unlock(&g_lock);
}
