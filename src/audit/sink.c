/* kvguard: the audit trail sink. The admission path only copies a line into
 * a bounded queue; one writer thread does every write(2), open(2) and
 * rename(2), so a slow or full disk can delay audit records but never an
 * admission answer. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kvguard/audit.h"
#include "kvguard/log.h"
#include "kvguard/metrics.h"

#define M_DROPPED "kvguard_audit_dropped_total"
#define M_ERRORS "kvguard_audit_write_errors_total"
#define M_WRITTEN "kvguard_audit_records_total"
#define WARN_EVERY_S 10.0
/* After a wake-up the writer waits this long for more records before it
 * writes: under load a batch per wake-up instead of a futex wake-up (and a
 * context switch) per request; an audit record is late by at most this. */
#define LINGER_NS (2 * 1000 * 1000)

typedef struct rec {
    char *line; /* with its newline */
    size_t len;
} rec;

struct kvg_audit_sink {
    pthread_mutex_t mu;
    pthread_cond_t work, idle;
    rec *q;
    size_t cap, head, n;
    bool paused, stopping, busy;
    /* What the writer does (under mu): producers signal `work` only when it
     * is idle, or lingering with the queue half full. */
    enum { WRITER_BUSY, WRITER_IDLE, WRITER_LINGER } state;
    rec *batch;   /* the writer's: records taken from q in one go */
    kvg_buf run;  /* the writer's: records joined for one write(2) */
    pthread_t thread;
    char *path;
    size_t max_bytes, max_line;
    unsigned keep;
    int fd;
    off_t size;
    kvg_audit_sink_stats st;
    /* rate limit of the warnings (both kinds share it) */
    double last_warn;
    uint64_t unwarned_drops, unwarned_errors;
};

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void kvg_audit_sink_opts_init(kvg_audit_sink_opts *o)
{
    memset(o, 0, sizeof *o);
    o->keep = 3;
    o->queue_len = 4096;
    o->max_line = 1u << 20;
}

static void register_metrics(void)
{
    kvg_metrics_register(M_DROPPED, KVG_METRIC_COUNTER,
                         "Audit records dropped (queue full, too long, out "
                         "of memory).", NULL, 0);
    kvg_metrics_register(M_ERRORS, KVG_METRIC_COUNTER,
                         "Audit records lost to a failed open, write or "
                         "rotation of the audit file.", NULL, 0);
    kvg_metrics_register(M_WRITTEN, KVG_METRIC_COUNTER,
                         "Audit records written.", NULL, 0);
    /* zero series, so dashboards see the counters before the first drop */
    kvg_metrics_inc(M_DROPPED, "", 0);
    kvg_metrics_inc(M_ERRORS, "", 0);
    kvg_metrics_inc(M_WRITTEN, "", 0);
}

/* Called with s->mu held: decides whether a warning is due and takes the
 * counts to report; the caller logs after unlocking. */
static bool warn_due(kvg_audit_sink *s, uint64_t *drops, uint64_t *errors)
{
    double t = now_mono();
    if (s->last_warn != 0 && t - s->last_warn < WARN_EVERY_S)
        return false;
    s->last_warn = t;
    *drops = s->unwarned_drops;
    *errors = s->unwarned_errors;
    s->unwarned_drops = s->unwarned_errors = 0;
    return true;
}

static void warn_now(const kvg_audit_sink *s, uint64_t drops, uint64_t errors,
                     const char *why)
{
    kvg_logf(KVG_LOG_WARN, "audit.lost",
             "audit records lost in the last %.0f s: %llu dropped, %llu "
             "write errors (%s; destination %s)", WARN_EVERY_S,
             (unsigned long long)drops, (unsigned long long)errors, why,
             s->path ? s->path : "stderr");
}

/* ---- writer side (the thread only) --------------------------------------- */

static void rotated_name(const char *path, unsigned k, char *buf, size_t len)
{
    if (k == 0)
        snprintf(buf, len, "%s", path);
    else
        snprintf(buf, len, "%s.%u", path, k);
}

/* file.(keep-1) -> file.keep, ..., file -> file.1; with keep 0 the file is
 * simply started again. */
static int rotate(kvg_audit_sink *s)
{
    char from[4096], to[4096];
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    if (s->keep == 0)
        return unlink(s->path) && errno != ENOENT ? -1 : 0;
    for (unsigned k = s->keep; k >= 1; k--) {
        rotated_name(s->path, k - 1, from, sizeof from);
        rotated_name(s->path, k, to, sizeof to);
        if (rename(from, to) && errno != ENOENT)
            return -1;
    }
    return 0;
}

static int open_file(kvg_audit_sink *s)
{
    struct stat sb;
    s->fd = open(s->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (s->fd < 0)
        return -1;
    s->size = fstat(s->fd, &sb) ? 0 : sb.st_size;
    return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* 0 written; -1 lost (errno says why). */
static int write_file(kvg_audit_sink *s, const char *data, size_t len,
                      bool *rotated)
{
    if (s->fd < 0 && open_file(s))
        return -1;
    if (s->max_bytes && s->size > 0 &&
        (size_t)s->size + len > s->max_bytes) {
        if (rotate(s) || open_file(s))
            return -1;
        *rotated = true;
    }
    if (write_all(s->fd, data, len)) {
        int saved = errno;
        /* reopen next time: the file may have been fixed or replaced */
        close(s->fd);
        s->fd = -1;
        errno = saved;
        return -1;
    }
    s->size += (off_t)len;
    return 0;
}

static void account(kvg_audit_sink *s, size_t n, int rc, bool rotated, int err)
{
    uint64_t drops = 0, errors = 0;
    bool warn = false;
    pthread_mutex_lock(&s->mu);
    if (rotated)
        s->st.rotations++;
    if (rc == 0) {
        s->st.written += n;
    } else {
        s->st.write_errors += n;
        s->unwarned_errors += n;
        warn = warn_due(s, &drops, &errors);
    }
    pthread_mutex_unlock(&s->mu);
    kvg_metrics_inc(rc ? M_ERRORS : M_WRITTEN, "", (double)n);
    if (warn)
        warn_now(s, drops, errors, strerror(err));
}

/* Writes the n records joined in s->run (one write(2), at most one
 * rotation: before it, as the first record alone would have had it). */
static void flush_run(kvg_audit_sink *s, size_t n)
{
    bool rotated = false;
    int rc = 0, err = 0;
    if (n == 0)
        return;
    if (s->path) {
        rc = write_file(s, s->run.data, s->run.len, &rotated);
        err = errno;
    } else {
        /* stderr goes through the log writer: one write(2) of whole lines
         * within PIPE_BUF keeps records and log lines from interleaving */
        kvg_log_raw_lines(s->run.data, s->run.len);
    }
    account(s, n, rc, rotated, err);
    kvg_buf_reset(&s->run);
}

/* Can r join the run so far without changing what one write per record
 * would have done (a rotation between two records, an unsplit pipe write)? */
static bool joins_run(const kvg_audit_sink *s, const rec *r)
{
    if (s->run.len == 0)
        return true;
    if (!s->path)
        return s->run.len + r->len <= PIPE_BUF;
    return !s->max_bytes ||
           (size_t)s->size + s->run.len + r->len <= s->max_bytes;
}

/* The records taken in one go, in order, in as few writes as the file's
 * rotation and PIPE_BUF allow: one wake-up and one write(2) per batch
 * instead of per record. */
static void write_batch(kvg_audit_sink *s, rec *r, size_t n)
{
    size_t in_run = 0;
    for (size_t i = 0; i < n; i++) {
        if (!joins_run(s, &r[i])) {
            flush_run(s, in_run);
            in_run = 0;
        }
        if (kvg_buf_append(&s->run, r[i].line, r[i].len)) {
            /* no memory to join: this one alone */
            flush_run(s, in_run);
            in_run = 0;
            kvg_buf_free(&s->run);
            if (kvg_buf_append(&s->run, r[i].line, r[i].len)) {
                account(s, 1, -1, false, ENOMEM);
                continue;
            }
        }
        in_run++;
        free(r[i].line);
        r[i].line = NULL;
    }
    flush_run(s, in_run);
}

/* Called with mu held and records queued: lets more arrive (see
 * LINGER_NS) unless the queue is half full or the sink is closing. */
static void linger(kvg_audit_sink *s)
{
    struct timespec dl;
    if (s->stopping || s->n >= s->cap / 2)
        return;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_nsec += LINGER_NS;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    s->state = WRITER_LINGER;
    pthread_cond_timedwait(&s->work, &s->mu, &dl);
    s->state = WRITER_BUSY;
}

static void *writer_main(void *arg)
{
    kvg_audit_sink *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->stopping && (s->paused || s->n == 0)) {
            s->state = WRITER_IDLE;
            pthread_cond_wait(&s->work, &s->mu);
            s->state = WRITER_BUSY;
        }
        if (s->n == 0 && s->stopping)
            break;
        linger(s);
        size_t n = s->n;
        for (size_t i = 0; i < n; i++)
            s->batch[i] = s->q[(s->head + i) % s->cap];
        s->head = (s->head + n) % s->cap;
        s->n = 0;
        s->busy = true;
        pthread_mutex_unlock(&s->mu);
        write_batch(s, s->batch, n);
        for (size_t i = 0; i < n; i++)
            free(s->batch[i].line);
        pthread_mutex_lock(&s->mu);
        s->busy = false;
        if (s->n == 0)
            pthread_cond_broadcast(&s->idle);
    }
    s->busy = false;
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- public API ----------------------------------------------------------- */

static void sink_free(kvg_audit_sink *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->q[(s->head + i) % s->cap].line);
    free(s->q);
    free(s->batch);
    kvg_buf_free(&s->run);
    free(s->path);
    if (s->fd >= 0)
        close(s->fd);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

kvg_err kvg_audit_sink_open_opts(const kvg_audit_sink_opts *o,
                                 kvg_audit_sink **out, kvg_diag *d)
{
    kvg_audit_sink *s;
    int rc;
    if (!o || !out || o->queue_len == 0)
        return kvg_diag_set(d, KVG_EINVAL, "audit sink: queue length must be "
                                           "at least 1");
    *out = NULL;
    if (!(s = calloc(1, sizeof *s)))
        return KVG_ENOMEM;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* linger() deadlines */
    pthread_cond_init(&s->work, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&s->idle, NULL);
    s->fd = -1;
    s->cap = o->queue_len;
    s->max_bytes = o->max_bytes;
    s->max_line = o->max_line ? o->max_line : 1u << 20;
    s->keep = o->keep;
    s->paused = o->start_paused;
    kvg_buf_init(&s->run, 0);
    if (!(s->q = calloc(s->cap, sizeof *s->q)) ||
        !(s->batch = calloc(s->cap, sizeof *s->batch)) ||
        (o->path && *o->path && !(s->path = strdup(o->path)))) {
        sink_free(s);
        return KVG_ENOMEM;
    }
    register_metrics();
    if ((rc = pthread_create(&s->thread, NULL, writer_main, s))) {
        sink_free(s);
        return kvg_diag_set(d, KVG_EIO, "audit sink: cannot start the writer "
                                        "thread: %s", strerror(rc));
    }
    *out = s;
    return KVG_OK;
}

kvg_err kvg_audit_sink_open(const kvg_config *cfg, kvg_audit_sink **out,
                            kvg_diag *d)
{
    kvg_audit_sink_opts o;
    kvg_audit_sink_opts_init(&o);
    if (cfg) {
        o.path = cfg->audit_log;
        o.max_bytes = cfg->audit_log_max_bytes;
    }
    return kvg_audit_sink_open_opts(&o, out, d);
}

static kvg_err drop(kvg_audit_sink *s, kvg_err why)
{
    uint64_t drops = 0, errors = 0;
    bool warn;
    s->st.dropped++;
    s->unwarned_drops++;
    warn = warn_due(s, &drops, &errors);
    pthread_mutex_unlock(&s->mu);
    kvg_metrics_inc(M_DROPPED, "", 1);
    if (warn)
        warn_now(s, drops, errors, why == KVG_EUNAVAIL ? "queue full"
                                   : why == KVG_ETOOBIG ? "record too long"
                                                        : "out of memory");
    return why;
}

kvg_err kvg_audit_sink_write(kvg_audit_sink *s, const char *line, size_t len)
{
    char *copy;
    if (!s || !line)
        return KVG_EINVAL;
    /* copy before locking: writers never wait on each other's malloc */
    copy = len <= s->max_line ? malloc(len + 1) : NULL;
    if (copy) {
        memcpy(copy, line, len);
        copy[len] = '\n';
    }
    pthread_mutex_lock(&s->mu);
    if (!copy)
        return drop(s, len > s->max_line ? KVG_ETOOBIG : KVG_ENOMEM);
    if (s->n == s->cap || s->stopping) {
        free(copy);
        return drop(s, KVG_EUNAVAIL);
    }
    s->q[(s->head + s->n) % s->cap] = (rec){copy, len + 1};
    s->n++;
    /* a busy or lingering writer takes this one with its next batch: no
     * futex wake-up per record */
    if (s->state == WRITER_IDLE ||
        (s->state == WRITER_LINGER && s->n >= s->cap / 2))
        pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
    return KVG_OK;
}

void kvg_audit_sink_resume(kvg_audit_sink *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->paused = false;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
}

kvg_err kvg_audit_sink_flush(kvg_audit_sink *s, long timeout_ms)
{
    struct timespec dl;
    kvg_err e = KVG_OK;
    if (!s)
        return KVG_EINVAL;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    if (s->state == WRITER_LINGER)
        pthread_cond_signal(&s->work); /* write now, no more gathering */
    while (s->n || s->busy)
        if (pthread_cond_timedwait(&s->idle, &s->mu, &dl) == ETIMEDOUT) {
            e = KVG_ETIMEOUT;
            break;
        }
    pthread_mutex_unlock(&s->mu);
    return e;
}

void kvg_audit_sink_stats_get(kvg_audit_sink *s, kvg_audit_sink_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    out->queued = s->n;
    pthread_mutex_unlock(&s->mu);
}

void kvg_audit_sink_close(kvg_audit_sink *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    s->paused = false; /* what is queued is still written */
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    sink_free(s);
}
