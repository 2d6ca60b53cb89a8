/* JSON-line logging (see kvguard/log.h). */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvguard/buf.h"
#include "kvguard/log.h"

static atomic_int log_level = KVG_LOG_INFO;
static atomic_int log_fd = STDERR_FILENO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

const char *kvg_log_level_name(kvg_log_level l)
{
    return (unsigned)l <= KVG_LOG_ERROR ? level_names[l] : "unknown";
}

kvg_err kvg_log_level_parse(const char *s, kvg_log_level *out)
{
    for (int i = 0; i <= KVG_LOG_ERROR; i++)
        if (s && !strcmp(s, level_names[i])) {
            *out = (kvg_log_level)i;
            return KVG_OK;
        }
    if (s && !strcmp(s, "warning")) {
        *out = KVG_LOG_WARN;
        return KVG_OK;
    }
    return KVG_EINVAL;
}

void kvg_log_set_level(kvg_log_level l) { atomic_store(&log_level, (int)l); }
bool kvg_log_enabled(kvg_log_level l) { return (int)l >= atomic_load(&log_level); }
void kvg_log_set_fd(int fd) { atomic_store(&log_fd, fd < 0 ? STDERR_FILENO : fd); }

/* Writes the whole line in one write(2) so that lines from several threads
 * never interleave (pipes and files guarantee that for one write call). */
static void write_line(const char *data, size_t len)
{
    int fd = atomic_load(&log_fd);
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n <= 0)
            return;
        data += n;
        len -= (size_t)n;
    }
}

void kvg_log_raw_line(const char *json, size_t len)
{
    kvg_buf b;
    kvg_buf_init(&b, 0);
    if (!kvg_buf_append(&b, json, len) && !kvg_buf_append(&b, "\n", 1))
        write_line(b.data, b.len);
    kvg_buf_free(&b);
}

void kvg_log_raw_lines(const char *lines, size_t len)
{
    write_line(lines, len);
}

static void escape_into(kvg_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            kvg_buf_printf(b, "\\%c", c);
        else if (c == '\n')
            kvg_buf_puts(b, "\\n");
        else if (c == '\t')
            kvg_buf_puts(b, "\\t");
        else if (c < 0x20)
            kvg_buf_printf(b, "\\u%04x", c);
        else
            kvg_buf_append(b, s, 1);
    }
}

static void timestamp_into(kvg_buf *b)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    kvg_buf_printf(b, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                   ts.tv_nsec / 1000000);
}

static void log_emit(kvg_log_level l, const char *event, const char *kv,
                     const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
static void log_emit(kvg_log_level l, const char *event, const char *kv,
                     const char *fmt, va_list ap)
{
    if (!kvg_log_enabled(l))
        return;
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    kvg_buf b;
    kvg_buf_init(&b, 1 << 20);
    kvg_buf_puts(&b, "{\"ts\":\"");
    timestamp_into(&b);
    kvg_buf_printf(&b, "\",\"level\":\"%s\",\"event\":\"", kvg_log_level_name(l));
    escape_into(&b, event ? event : "");
    kvg_buf_puts(&b, "\",\"msg\":\"");
    escape_into(&b, msg);
    kvg_buf_puts(&b, "\"");
    if (kv && *kv)
        kvg_buf_printf(&b, ",%s", kv);
    kvg_buf_puts(&b, "}\n");
    if (b.data)
        write_line(b.data, b.len);
    kvg_buf_free(&b);
}

void kvg_logf(kvg_log_level l, const char *event, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit(l, event, NULL, fmt, ap);
    va_end(ap);
}

void kvg_logf_kv(kvg_log_level l, const char *event, const char *kv_json,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit(l, event, kv_json, fmt, ap);
    va_end(ap);
}
