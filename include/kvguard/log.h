/* kvguard: structured logging, one JSON object per line on stderr.
 * {"ts":"2026-11-21T21:00:00.123Z","level":"info","event":"server.start","msg":"..."}
 * Thread-safe: each line is written with a single write(2). */
#ifndef KVGUARD_LOG_H
#define KVGUARD_LOG_H

#include <stdbool.h>

#include "kvguard/error.h"

typedef enum kvg_log_level {
    KVG_LOG_DEBUG,
    KVG_LOG_INFO,
    KVG_LOG_WARN,
    KVG_LOG_ERROR,
} kvg_log_level;

kvg_err kvg_log_level_parse(const char *s, kvg_log_level *out);
const char *kvg_log_level_name(kvg_log_level l);
void kvg_log_set_level(kvg_log_level l);
bool kvg_log_enabled(kvg_log_level l);
/* Redirect output (tests); fd < 0 restores stderr. */
void kvg_log_set_fd(int fd);

/* event: dotted machine-readable name ("tls.reload"); msg: printf format.
 * Extra fields can be given as a JSON object text fragment via kvg_logf_kv:
 *   kvg_logf_kv(KVG_LOG_INFO, "tls.reload", "\"file\":\"/x\"", "reloaded %s", p); */
void kvg_logf(kvg_log_level l, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void kvg_logf_kv(kvg_log_level l, const char *event, const char *kv_json,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Write one already-serialized JSON line (audit records); adds the newline. */
void kvg_log_raw_line(const char *json, size_t len);
/* Write text made of whole lines, each with its newline, in one write(2)
 * (batched audit records; keep it within PIPE_BUF to stay unsplit). */
void kvg_log_raw_lines(const char *lines, size_t len);

#endif
