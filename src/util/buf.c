/* Growable buffer with a size limit (see kvguard/buf.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/buf.h"

#define KVG_BUF_DEFAULT_LIMIT ((size_t)64 << 20)

void kvg_buf_init(kvg_buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit ? limit : KVG_BUF_DEFAULT_LIMIT;
}

void kvg_buf_free(kvg_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void kvg_buf_reset(kvg_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void kvg_buf_truncate(kvg_buf *b, size_t len)
{
    if (!b->data || len >= b->len)
        return;
    b->len = len;
    b->data[len] = '\0';
}

/* Make room for `extra` more bytes plus the terminating NUL. */
static kvg_err buf_reserve(kvg_buf *b, size_t extra)
{
    if (extra > b->limit || b->len > b->limit - extra)
        return KVG_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return KVG_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->limit + 1)
        cap = b->limit + 1;
    char *p = realloc(b->data, cap);
    if (!p)
        return KVG_ENOMEM;
    b->data = p;
    b->cap = cap;
    return KVG_OK;
}

kvg_err kvg_buf_reserve(kvg_buf *b, size_t extra)
{
    return buf_reserve(b, extra);
}

kvg_err kvg_buf_append(kvg_buf *b, const void *data, size_t len)
{
    kvg_err e = buf_reserve(b, len);
    if (e)
        return e;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return KVG_OK;
}

kvg_err kvg_buf_puts(kvg_buf *b, const char *s)
{
    return kvg_buf_append(b, s, strlen(s));
}

kvg_err kvg_buf_vprintf(kvg_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return KVG_EINVAL;
    kvg_err e = buf_reserve(b, (size_t)n);
    if (e)
        return e;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return KVG_OK;
}

kvg_err kvg_buf_printf(kvg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kvg_err e = kvg_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return e;
}

/* json-c's escape of each byte: 0 the byte itself, 'u' \u00xx, else the
 * letter after the backslash. */
static const char json_escape[256] = {
    ['\b'] = 'b', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't', ['\f'] = 'f',
    ['"'] = '"', ['\\'] = '\\',
    [0x00] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u',
    [0x05] = 'u', [0x06] = 'u', [0x07] = 'u', [0x0b] = 'u', [0x0e] = 'u',
    [0x0f] = 'u', [0x10] = 'u', [0x11] = 'u', [0x12] = 'u', [0x13] = 'u',
    [0x14] = 'u', [0x15] = 'u', [0x16] = 'u', [0x17] = 'u', [0x18] = 'u',
    [0x19] = 'u', [0x1a] = 'u', [0x1b] = 'u', [0x1c] = 'u', [0x1d] = 'u',
    [0x1e] = 'u', [0x1f] = 'u',
};

kvg_err kvg_buf_json_str(kvg_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    /* typical strings need no escape: one reservation, one copy */
    kvg_err e = buf_reserve(b, len + 2);
    size_t run = 0;
    if (e)
        return e;
    b->data[b->len++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc = json_escape[c];
        if (!esc)
            continue;
        char seq[6] = {'\\', esc, '0', '0', hex[c >> 4], hex[c & 0xf]};
        if ((e = kvg_buf_append(b, s + run, i - run)) ||
            (e = kvg_buf_append(b, seq, esc == 'u' ? 6 : 2)))
            return e;
        run = i + 1;
    }
    if ((e = buf_reserve(b, len - run + 1)))
        return e;
    memcpy(b->data + b->len, s + run, len - run);
    b->len += len - run;
    b->data[b->len++] = '"';
    b->data[b->len] = '\0';
    return KVG_OK;
}

kvg_err kvg_buf_json_field(kvg_buf *b, const char *prefix, const char *s)
{
    kvg_err e = kvg_buf_puts(b, prefix);
    if (e)
        return e;
    return kvg_buf_json_str(b, s ? s : "", s ? strlen(s) : 0);
}

char *kvg_buf_steal(kvg_buf *b, size_t *len)
{
    if (!b->data && kvg_buf_append(b, "", 0))
        return NULL;
    char *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

kvg_err kvg_buf_read_file(kvg_buf *b, const char *path, kvg_diag *d)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return kvg_diag_set(d, errno == ENOENT ? KVG_ENOTFOUND : KVG_EIO,
                            "%s: %s", path, strerror(errno));
    char chunk[65536];
    size_t n;
    kvg_err e = KVG_OK;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        e = kvg_buf_append(b, chunk, n);
        if (e)
            break;
    }
    if (!e && ferror(f))
        e = KVG_EIO;
    fclose(f);
    if (e == KVG_ETOOBIG)
        return kvg_diag_set(d, e, "%s: larger than the limit of %zu bytes",
                            path, b->limit);
    if (e)
        return kvg_diag_set(d, e, "%s: %s", path, kvg_strerror(e));
    if (!b->data)
        return kvg_buf_append(b, "", 0);
    return KVG_OK;
}
