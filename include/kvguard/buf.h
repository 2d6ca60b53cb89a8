/* kvguard: growable byte buffer with a hard size limit (as curl's dynbuf).
 * The data is always NUL-terminated so it can be used as a C string. */
#ifndef KVGUARD_BUF_H
#define KVGUARD_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "kvguard/error.h"

typedef struct kvg_buf {
    char *data;   /* NULL until the first append */
    size_t len;   /* bytes used, excluding the terminating NUL */
    size_t cap;   /* bytes allocated */
    size_t limit; /* appends that would exceed this fail with KVG_ETOOBIG */
} kvg_buf;

/* limit == 0 means the default of 64 MiB. */
void kvg_buf_init(kvg_buf *b, size_t limit);
void kvg_buf_free(kvg_buf *b);
void kvg_buf_reset(kvg_buf *b); /* len = 0, keeps the allocation */
/* Back to len bytes (no-op if already shorter): undoes a failed sequence of
 * appends. */
void kvg_buf_truncate(kvg_buf *b, size_t len);
kvg_err kvg_buf_append(kvg_buf *b, const void *data, size_t len);
kvg_err kvg_buf_puts(kvg_buf *b, const char *s);
kvg_err kvg_buf_printf(kvg_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
kvg_err kvg_buf_vprintf(kvg_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Makes room for `extra` more bytes (one allocation instead of doublings
 * when the final size is known, e.g. from a Content-Length). */
kvg_err kvg_buf_reserve(kvg_buf *b, size_t extra);
/* Appends s[0..len) as a JSON string literal, quotes included, escaped
 * byte for byte as json-c 0.16 serializes strings with
 * JSON_C_TO_STRING_NOSLASHESCAPE: hand-built JSON stays identical to what a
 * json-c tree would have produced. */
kvg_err kvg_buf_json_str(kvg_buf *b, const char *s, size_t len);
/* Appends prefix verbatim (e.g. ",\"name\":"), then s as a JSON string
 * (NULL as ""). */
kvg_err kvg_buf_json_field(kvg_buf *b, const char *prefix, const char *s);
/* For a sequence of appends: runs call unless an earlier one failed, so
 * that the first error is the one returned. */
#define KVG_BUF_CHAIN(e, call) \
    do {                       \
        if (!(e))              \
            (e) = (call);      \
    } while (0)

/* Hand the data over to the caller (who frees it); the buffer is empty after. */
char *kvg_buf_steal(kvg_buf *b, size_t *len);

/* Reads a whole file into b (respecting b->limit). */
kvg_err kvg_buf_read_file(kvg_buf *b, const char *path, kvg_diag *d);

#endif
