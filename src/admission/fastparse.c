/* kvguard: the request body's fast path to a json-c tree.
 *
 * json-c's tokener reads one character at a time through a state machine
 * and copies every string through a printbuf; on an AdmissionReview it cost
 * more than the whole policy decision. This parser scans strings in runs and
 * builds the same json-c tree (same types, values, key order, and the same
 * replace-in-place for duplicate keys), but only for the JSON an apiserver
 * sends: objects, arrays, strings, integers, true/false/null. Anything else
 * (a double, a surrogate or \u0000 escape, deep nesting, any syntax error) is
 * declined, and the caller parses the body with json-c, which then gives the
 * answer or the precise error message exactly as before. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admission/internal.h"

/* Below json-c's limit (REVIEW_MAX_DEPTH): its error names the depth. */
#define FAST_MAX_DEPTH 48
/* 18 digits always fit in an int64; longer integers go to json-c. */
#define FAST_MAX_DIGITS 18

typedef struct parser {
    const char *p, *end;
    kvg_buf scratch; /* unescaped text of the current string or key */
    int depth;
    kvg_err err; /* KVG_EUNSUPPORTED: declined; KVG_ENOMEM */
} parser;

static json_object *value(parser *ps);

static json_object *decline(parser *ps)
{
    if (!ps->err)
        ps->err = KVG_EUNSUPPORTED;
    return NULL;
}

static json_object *oom(parser *ps)
{
    ps->err = KVG_ENOMEM;
    return NULL;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' ||
                               *ps->p == '\r' || *ps->p == '\t'))
        ps->p++;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The bytes that end a run of string text: the quote, the backslash and
 * the control characters (which strict JSON does not allow raw). */
static const bool run_end[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1,
    [0x06] = 1, [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1,
    [0x0c] = 1, [0x0d] = 1, [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1,
    [0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1,
    [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1,
    [0x1e] = 1, [0x1f] = 1, ['"'] = 1, ['\\'] = 1,
};

static const char *skip_run(const char *q, const char *end)
{
    while (q < end && !run_end[(unsigned char)*q])
        q++;
    return q;
}

/* \uXXXX at h (after the "\u") outside the surrogates and NUL, written at w
 * as UTF-8 (json-c's encoding). Returns the bytes written, 0 to decline. */
static size_t unicode_escape(const char *h, const char *end, char *w)
{
    unsigned cp = 0;
    if (end - h < 4)
        return 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(h[i]);
        if (d < 0)
            return 0;
        cp = cp << 4 | (unsigned)d;
    }
    if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    if (cp < 0x80) {
        w[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        w[0] = (char)(0xc0 | cp >> 6);
        w[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    w[0] = (char)(0xe0 | cp >> 12);
    w[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    w[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
}

/* The escape after a backslash at q, written at w: bytes consumed from q
 * (0 to decline), *wrote bytes written. */
static size_t one_escape(const char *q, const char *end, char *w, size_t *wrote)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    *wrote = 1;
    if (end - q < 2)
        return 0;
    if (q[1] == 'u')
        return (*wrote = unicode_escape(q + 2, end, w)) ? 6 : 0;
    for (size_t i = 0; i < sizeof from - 1; i++)
        if (q[1] == from[i]) {
            *w = to[i];
            return 2;
        }
    return 0;
}

/* From q (at a backslash) to the closing quote, unescaped into the scratch
 * buffer after the run [ps->p, q). Never longer than the input left, so
 * reserved once. */
static bool escaped_text(parser *ps, const char *q, const char **out, size_t *len)
{
    char *w;
    kvg_buf_reset(&ps->scratch);
    if (kvg_buf_reserve(&ps->scratch, (size_t)(ps->end - ps->p))) {
        ps->err = KVG_ENOMEM;
        return false;
    }
    w = ps->scratch.data;
    memcpy(w, ps->p, (size_t)(q - ps->p));
    w += q - ps->p;
    while (q < ps->end) {
        const char *run = skip_run(q, ps->end);
        size_t used, wrote;
        memcpy(w, q, (size_t)(run - q));
        w += run - q;
        q = run;
        if (q >= ps->end)
            break;
        if (*q == '"') {
            ps->scratch.len = (size_t)(w - ps->scratch.data);
            *w = '\0';
            ps->p = q + 1;
            *out = ps->scratch.data;
            *len = ps->scratch.len;
            return true;
        }
        if (*q != '\\' || !(used = one_escape(q, ps->end, w, &wrote)))
            return false; /* a control character: json-c decides */
        q += used;
        w += wrote;
    }
    return false;
}

/* After the opening quote. On success *out, *len are the string's text: in
 * the input when it has no escape, else in ps->scratch (NUL-terminated). */
static bool string_text(parser *ps, const char **out, size_t *len)
{
    const char *q = skip_run(ps->p, ps->end);
    if (q < ps->end && *q == '"') {
        *out = ps->p;
        *len = (size_t)(q - ps->p);
        ps->p = q + 1;
        return true;
    }
    if (q < ps->end && *q == '\\')
        return escaped_text(ps, q, out, len);
    return false;
}

static json_object *string_value(parser *ps)
{
    const char *s;
    size_t len;
    json_object *o;
    if (!string_text(ps, &s, &len))
        return decline(ps);
    if (len > INT32_MAX)
        return decline(ps);
    if (!(o = json_object_new_string_len(s, (int)len)))
        return oom(ps);
    return o;
}

static json_object *integer_value(parser *ps)
{
    const char *q = ps->p;
    bool neg = q < ps->end && *q == '-';
    int64_t v = 0;
    int digits = 0;
    json_object *o;
    if (neg)
        q++;
    if (q >= ps->end || *q < '0' || *q > '9' || (*q == '0' && q + 1 < ps->end &&
                                                  q[1] >= '0' && q[1] <= '9'))
        return decline(ps);
    /* stop before the 19th digit: v * 10 could overflow (found by fuzzing) */
    for (; q < ps->end && *q >= '0' && *q <= '9'; q++) {
        if (++digits > FAST_MAX_DIGITS)
            return decline(ps);
        v = v * 10 + (*q - '0');
    }
    if (q < ps->end && (*q == '.' || *q == 'e' || *q == 'E'))
        return decline(ps);
    ps->p = q;
    if (!(o = json_object_new_int64(neg ? -v : v)))
        return oom(ps);
    return o;
}

static bool literal(parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
        return false;
    ps->p += n;
    return true;
}

/* Appends (object: under key) or frees v; false when the parse is over. */
static bool add(parser *ps, json_object *container, const char *key,
                json_object *v)
{
    int rc = key ? json_object_object_add(container, key, v)
                 : json_object_array_add(container, v);
    if (rc) {
        json_object_put(v);
        ps->err = KVG_ENOMEM;
    }
    return rc == 0;
}

/* One member value or array element; a JSON null is a NULL value (as
 * json-c stores it). */
static bool member(parser *ps, json_object *container, const char *key)
{
    json_object *v;
    skip_ws(ps);
    if (literal(ps, "null"))
        return add(ps, container, key, NULL);
    v = value(ps);
    return v && add(ps, container, key, v);
}

/* After '[' or ','/'{': true at the closing bracket, false on anything but
 * a separator. */
static bool next_item(parser *ps, char close, bool first, bool *done)
{
    skip_ws(ps);
    *done = false;
    if (ps->p < ps->end && *ps->p == close && first) {
        ps->p++;
        *done = true;
        return true;
    }
    if (first)
        return true;
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        *done = true;
        return true;
    }
    if (ps->p < ps->end && *ps->p == ',') {
        ps->p++;
        skip_ws(ps);
        return true;
    }
    return false;
}

static json_object *array_value(parser *ps)
{
    json_object *a = json_object_new_array();
    bool done = false;
    if (!a)
        return oom(ps);
    for (bool first = true; ; first = false) {
        if (!next_item(ps, ']', first, &done))
            break;
        if (done)
            return a;
        if (!member(ps, a, NULL))
            break;
    }
    json_object_put(a);
    return decline(ps);
}

/* The key, NUL-terminated for json-c (which copies it): in small when it
 * fits, else in *big (malloc'd, the caller frees it). The scratch buffer
 * cannot hold it: the member's value reuses it. */
static const char *key_text(parser *ps, char small[static 128], char **big)
{
    const char *s;
    size_t len;
    *big = NULL;
    if (ps->p >= ps->end || *ps->p != '"')
        return NULL;
    ps->p++;
    if (!string_text(ps, &s, &len))
        return NULL;
    char *to = len < 128 ? small : (*big = malloc(len + 1));
    if (!to) {
        ps->err = KVG_ENOMEM;
        return NULL;
    }
    memcpy(to, s, len);
    to[len] = '\0';
    return to;
}

static json_object *object_value(parser *ps)
{
    json_object *o = json_object_new_object();
    bool done = false;
    if (!o)
        return oom(ps);
    for (bool first = true; ; first = false) {
        char small[128], *big;
        const char *key;
        bool ok;
        if (!next_item(ps, '}', first, &done))
            break;
        if (done)
            return o;
        if (!(key = key_text(ps, small, &big)))
            break;
        skip_ws(ps);
        ok = ps->p < ps->end && *ps->p == ':';
        if (ok) {
            ps->p++;
            ok = member(ps, o, key);
        }
        free(big);
        if (!ok)
            break;
    }
    json_object_put(o);
    return decline(ps);
}

static json_object *boolean_value(parser *ps, bool v)
{
    json_object *o;
    if (!literal(ps, v ? "true" : "false"))
        return decline(ps);
    if (!(o = json_object_new_boolean(v)))
        return oom(ps);
    return o;
}

static json_object *value(parser *ps)
{
    json_object *v;
    if (ps->p >= ps->end)
        return decline(ps);
    switch (*ps->p) {
    case '{':
    case '[':
        if (++ps->depth > FAST_MAX_DEPTH)
            return decline(ps);
        ps->p++;
        v = ps->p[-1] == '{' ? object_value(ps) : array_value(ps);
        ps->depth--;
        return v;
    case '"':
        ps->p++;
        return string_value(ps);
    case 't':
    case 'f':
        return boolean_value(ps, *ps->p == 't');
    default:
        return integer_value(ps);
    }
}

kvg_err kvg_review_parse_fast(const char *body, size_t len, json_object **out)
{
    parser ps = {.p = body, .end = body + len};
    json_object *root;
    *out = NULL;
    /* unescaped text is never longer than the body */
    kvg_buf_init(&ps.scratch, len + 16);
    skip_ws(&ps);
    /* only an object can be an AdmissionReview; json-c explains the rest */
    root = ps.p < ps.end && *ps.p == '{' ? value(&ps) : decline(&ps);
    skip_ws(&ps);
    kvg_buf_free(&ps.scratch);
    if (root && ps.p != ps.end) {
        json_object_put(root);
        return KVG_EUNSUPPORTED;
    }
    if (!root)
        return ps.err ? ps.err : KVG_EUNSUPPORTED;
    *out = root;
    return KVG_OK;
}
