/* KubeVirt clone label/annotation filters: syntax checks and matching with
 * Go regular expression semantics (see filters.h). */
#include "policy/filters.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/buf.h"

/* ---- syntax (KubeVirt's admitter) ----------------------------------------- */

int kvg_filters_validate(const json_object *filters, const char *field,
                         kvg_filter_problem_fn cb, void *ud)
{
    char msg[512];
    int problems = 0;
    if (!filters)
        return 0;
    if (!json_object_is_type((json_object *)filters, json_type_array)) {
        cb(ud, field, "filters must be a list of strings");
        return 1;
    }
    size_t n = json_object_array_length((json_object *)filters);
    for (size_t i = 0; i < n; i++) {
        const char *f = kvg_json_as_str(json_object_array_get_idx((json_object *)filters, i));
        if (!f) {
            snprintf(msg, sizeof msg, "%s filter #%zu is not a string", field, i);
            cb(ud, field, msg), problems++;
            continue;
        }
        size_t len = strlen(f);
        if (len == 0) { /* KubeVirt's webhook panics on it; refuse cleanly */
            snprintf(msg, sizeof msg, "%s filter #%zu is empty", field, i);
            cb(ud, field, msg), problems++;
            continue;
        }
        if (len == 1) {
            if (f[0] == '!')
                cb(ud, field, "a negation character is not a valid filter"), problems++;
            continue;
        }
        if (memchr(f + 1, '!', len - 1)) {
            snprintf(msg, sizeof msg,
                     "%s filter %s is invalid: cannot contain a negation character (!); "
                     "FilterRules: NegationChar can be only used at the beginning of the filter",
                     field, f);
            cb(ud, field, msg), problems++;
        }
        if (memchr(f, '*', len - 1)) {
            snprintf(msg, sizeof msg,
                     "%s filter %s is invalid: cannot contain a wildcard character (*); "
                     "FilterRules: WildcardChar can be only at the end of the filter",
                     field, f);
            cb(ud, field, msg), problems++;
        }
    }
    return problems;
}

/* ---- fast path ------------------------------------------------------------- */

static bool simple_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '/' || c == '-' || c == '~' || c == '.' || c == '=' ||
           c == ':' || c == '@' || c == '%' || c == ',' || c == '<' || c == '>' ||
           c == '&' || c == '\'' || c == '"' || c == ';' || c == '#' || c == ' ';
}

/* Literal characters and '.', optionally ending in one starred atom: matched
 * anywhere, "X*" at the end can match nothing, so it can be dropped. Returns
 * -1 when the pattern needs the full engine. */
static int fast_match(const char *re, const char *s)
{
    size_t n = strlen(re);
    if (n >= 2 && re[n - 1] == '*' && simple_char(re[n - 2]))
        n -= 2;
    for (size_t i = 0; i < n; i++)
        if (!simple_char(re[i]))
            return -1;
    size_t sl = strlen(s);
    for (size_t start = 0; start + n <= sl; start++) {
        size_t i = 0;
        while (i < n && (re[i] == '.' || re[i] == s[start + i]))
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

/* ---- Go RE2 -> POSIX ERE ---------------------------------------------------- */

typedef struct xl {
    const char *p; /* cursor in the Go pattern */
    kvg_buf *out;
    int cflags;
    bool ok;
} xl;

typedef struct cset {
    unsigned char bits[32];
} cset;

static void cset_add(cset *c, unsigned lo, unsigned hi)
{
    for (unsigned i = lo; i <= hi && i < 256; i++)
        c->bits[i / 8] |= (unsigned char)(1u << (i % 8));
}

static bool cset_has(const cset *c, unsigned i)
{
    return c->bits[i / 8] & (1u << (i % 8));
}

static void cset_invert(cset *c)
{
    for (size_t i = 0; i < sizeof c->bits; i++)
        c->bits[i] = (unsigned char)~c->bits[i];
    c->bits[0] &= (unsigned char)~1u; /* never NUL */
}

/* Perl classes \d \w \s (ASCII, as Go); returns false for other letters. */
static bool perl_class(char e, cset *c)
{
    cset t = {{0}};
    switch (e | 0x20) {
    case 'd': cset_add(&t, '0', '9'); break;
    case 'w': cset_add(&t, '0', '9'); cset_add(&t, 'a', 'z'); cset_add(&t, 'A', 'Z'); cset_add(&t, '_', '_'); break;
    case 's': cset_add(&t, '\t', '\n'); cset_add(&t, '\f', '\r'); cset_add(&t, ' ', ' '); break;
    default: return false;
    }
    if (e >= 'A' && e <= 'Z')
        cset_invert(&t);
    for (size_t i = 0; i < sizeof t.bits; i++)
        c->bits[i] |= t.bits[i];
    return true;
}

/* Unicode classes \pL \p{Lu} \PN ... restricted to ASCII (keys are ASCII).
 * *pp points at 'p' or 'P'; advanced past the class. */
static bool unicode_class(const char **pp, cset *c)
{
    const char *p = *pp;
    bool neg = *p == 'P';
    char name[8] = {0};
    if (p[1] == '{') {
        const char *end = strchr(p, '}');
        if (!end || end - p - 2 <= 0 || end - p - 2 >= (long)sizeof name)
            return false;
        memcpy(name, p + 2, (size_t)(end - p - 2));
        *pp = end + 1;
    } else if (p[1]) {
        name[0] = p[1];
        *pp = p + 2;
    } else {
        return false;
    }
    cset t = {{0}};
    if (!strcmp(name, "L"))
        cset_add(&t, 'a', 'z'), cset_add(&t, 'A', 'Z');
    else if (!strcmp(name, "Lu"))
        cset_add(&t, 'A', 'Z');
    else if (!strcmp(name, "Ll"))
        cset_add(&t, 'a', 'z');
    else if (!strcmp(name, "N") || !strcmp(name, "Nd"))
        cset_add(&t, '0', '9');
    else
        return false;
    if (neg)
        cset_invert(&t);
    for (size_t i = 0; i < sizeof t.bits; i++)
        c->bits[i] |= t.bits[i];
    return true;
}

static int hexval(char h)
{
    if (h >= '0' && h <= '9')
        return h - '0';
    h |= 0x20;
    return h >= 'a' && h <= 'f' ? h - 'a' + 10 : -1;
}

/* \xhh or \x{h...} (ASCII only); *pp points at 'x'. -1 if malformed. */
static int hex_escape(const char **pp)
{
    const char *p = *pp + 1;
    int v = 0;
    if (*p == '{') {
        for (p++; *p && *p != '}'; p++) {
            if (hexval(*p) < 0 || v > 0x7f)
                return -1;
            v = v * 16 + hexval(*p);
        }
        if (*p != '}')
            return -1;
        p++;
    } else {
        if (hexval(p[0]) < 0 || hexval(p[1]) < 0)
            return -1;
        v = hexval(p[0]) * 16 + hexval(p[1]);
        p += 2;
    }
    *pp = p;
    return v > 0 && v < 0x80 ? v : -1;
}

/* A single escaped character: punctuation, or \t \n \r \f \v. -1 if not one. */
static int escaped_char(char e)
{
    switch (e) {
    case 't': return '\t';
    case 'n': return '\n';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'v': return '\v';
    }
    if ((e >= 0x21 && e <= 0x2f) || (e >= 0x3a && e <= 0x40) || (e >= 0x5b && e <= 0x60) ||
        (e >= 0x7b && e <= 0x7e))
        return (unsigned char)e;
    return -1;
}

static bool posix_class(xl *x, cset *c)
{
    static const struct { const char *name; const char *ranges; } T[] = {
        {"alnum", "09azAZ"}, {"alpha", "azAZ"}, {"digit", "09"}, {"lower", "az"},
        {"upper", "AZ"}, {"xdigit", "09afAF"}, {"space", "\t\r  "}, {"blank", "\t\t  "},
        {"punct", "!/:@[`{~"}, {"word", "09azAZ__"}, {"ascii", "\x01\x7f"},
        {"cntrl", "\x01\x1f\x7f\x7f"}, {"print", " ~"}, {"graph", "!~"},
    };
    bool neg = x->p[2] == '^';
    const char *name = x->p + 2 + neg;
    const char *end = strstr(name, ":]");
    if (!end)
        return false;
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        if (strlen(T[i].name) != (size_t)(end - name) || strncmp(T[i].name, name, (size_t)(end - name)))
            continue;
        cset t = {{0}};
        for (const char *r = T[i].ranges; *r; r += 2)
            cset_add(&t, (unsigned char)r[0], (unsigned char)r[1]);
        if (neg)
            cset_invert(&t);
        for (size_t k = 0; k < sizeof t.bits; k++)
            c->bits[k] |= t.bits[k];
        x->p = end + 2;
        return true;
    }
    return false;
}

/* One class atom: returns the character (for ranges) or -2 for a class. */
static int class_atom(xl *x, cset *c)
{
    if (x->p[0] == '[' && x->p[1] == ':')
        return posix_class(x, c) ? -2 : (x->ok = false, -1);
    if (x->p[0] == '\\') {
        char e = x->p[1];
        if (!e)
            return x->ok = false, -1;
        if (e == 'p' || e == 'P' || e == 'x') {
            x->p++;
            if (e == 'x') {
                int ch = hex_escape(&x->p);
                return ch < 0 ? (x->ok = false, -1) : ch;
            }
            return unicode_class(&x->p, c) ? -2 : (x->ok = false, -1);
        }
        x->p += 2;
        if (perl_class(e, c))
            return -2;
        int ch = escaped_char(e);
        if (ch < 0)
            x->ok = false;
        return ch;
    }
    return (unsigned char)*x->p++;
}

/* Emit a set as a POSIX bracket expression (or a single escaped literal). */
static void emit_set(xl *x, const cset *c)
{
    char buf[300];
    size_t n = 0;
    int count = 0, single = -1;
    for (unsigned i = 1; i < 256; i++)
        if (cset_has(c, i))
            count++, single = (int)i;
    if (count == 0) { /* matches nothing: an impossible anchor order */
        kvg_buf_puts(x->out, "$a^");
        return;
    }
    if (count == 1 && single != '\n') {
        if (strchr(".[]\\()*+?{}|^$", single))
            buf[n++] = '\\';
        buf[n++] = (char)single;
        kvg_buf_append(x->out, buf, n);
        return;
    }
    bool rb = cset_has(c, ']'), dash = cset_has(c, '-'), caret = cset_has(c, '^');
    buf[n++] = '[';
    if (rb)
        buf[n++] = ']';
    bool any = rb;
    for (unsigned i = 1; i < 256; i++)
        if (cset_has(c, i) && i != ']' && i != '-' && i != '^')
            buf[n++] = (char)i, any = true;
    if (caret && !any && dash) {
        buf[n++] = '-';
        buf[n++] = '^';
    } else {
        if (caret)
            buf[n++] = '^';
        if (dash)
            buf[n++] = '-';
    }
    buf[n++] = ']';
    kvg_buf_append(x->out, buf, n);
}

static void translate_class(xl *x)
{
    cset c = {{0}};
    x->p++; /* '[' */
    bool neg = *x->p == '^';
    x->p += neg;
    bool first = true;
    while (x->ok && *x->p && (*x->p != ']' || first)) {
        first = false;
        int lo = class_atom(x, &c);
        if (lo == -2 || !x->ok)
            continue;
        if (x->p[0] == '-' && x->p[1] && x->p[1] != ']') {
            x->p++;
            int hi = class_atom(x, &c);
            if (hi < 0 || hi < lo) {
                x->ok = false;
                return;
            }
            cset_add(&c, (unsigned)lo, (unsigned)hi);
        } else {
            cset_add(&c, (unsigned)lo, (unsigned)lo);
        }
    }
    if (*x->p != ']') {
        x->ok = false;
        return;
    }
    x->p++;
    if (x->cflags & REG_ICASE) {
        for (unsigned i = 'a'; i <= 'z'; i++)
            if (cset_has(&c, i) || cset_has(&c, i - 32))
                cset_add(&c, i, i), cset_add(&c, i - 32, i - 32);
    }
    if (neg)
        cset_invert(&c);
    emit_set(x, &c);
}

/* {n}, {n,}, {n,m} with n, m <= 1000 (Go's limit); length or 0 if not one. */
static size_t repeat_len(const char *p)
{
    const char *q = p + 1;
    long n = -1, m = -1;
    if (*q < '0' || *q > '9')
        return 0;
    for (n = 0; *q >= '0' && *q <= '9'; q++)
        n = n * 10 + (*q - '0') > 100000 ? 100000 : n * 10 + (*q - '0');
    if (*q == ',') {
        q++;
        if (*q >= '0' && *q <= '9')
            for (m = 0; *q >= '0' && *q <= '9'; q++)
                m = m * 10 + (*q - '0') > 100000 ? 100000 : m * 10 + (*q - '0');
    } else {
        m = n;
    }
    if (*q != '}')
        return 0;
    if (n > 1000 || m > 1000 || (m >= 0 && m < n))
        return (size_t)-1;
    return (size_t)(q - p + 1);
}

static bool translate(const char *re, kvg_buf *out, int *cflags)
{
    xl x = {re, out, REG_EXTENDED | REG_NOSUB, true};
    bool can_repeat = false;
    int depth = 0;
    if (!strncmp(x.p, "(?i)", 4)) {
        x.cflags |= REG_ICASE;
        x.p += 4;
    }
    while (x.ok && *x.p) {
        char c = *x.p;
        if (c == '*' || c == '+' || c == '?' || (c == '{' && repeat_len(x.p))) {
            size_t len = c == '{' ? repeat_len(x.p) : 1;
            if (!can_repeat || len == (size_t)-1)
                return false; /* missing argument / bad repeat count (Go errors) */
            kvg_buf_append(out, x.p, len);
            x.p += len;
            if (*x.p == '?')
                x.p++; /* non-greedy: same set of matches */
            if (*x.p == '*' || *x.p == '+' || *x.p == '?' || (*x.p == '{' && repeat_len(x.p)))
                return false; /* Go: invalid nested repetition operator */
            can_repeat = false;
            continue;
        }
        can_repeat = true;
        switch (c) {
        case '[':
            translate_class(&x);
            continue;
        case '\\': {
            cset cs = {{0}};
            char e = x.p[1];
            if (e == 'A' || e == 'z') {
                kvg_buf_puts(out, e == 'A' ? "^" : "$");
                can_repeat = false;
            } else if (e == 'b' || e == 'B') {
                kvg_buf_append(out, x.p, 2);
                can_repeat = false;
            } else if (e == 'p' || e == 'P' || e == 'x') {
                x.p++;
                int ch = e == 'x' ? hex_escape(&x.p) : -2;
                if (e != 'x' && !unicode_class(&x.p, &cs))
                    return false;
                if (ch == -1)
                    return false;
                if (ch >= 0)
                    cset_add(&cs, (unsigned)ch, (unsigned)ch);
                emit_set(&x, &cs);
                continue;
            } else if (perl_class(e, &cs)) {
                emit_set(&x, &cs);
            } else {
                int ch = escaped_char(e);
                if (ch < 0)
                    return false;
                cset_add(&cs, (unsigned)ch, (unsigned)ch);
                emit_set(&x, &cs);
            }
            x.p += 2;
            continue;
        }
        case '(':
            depth++;
            can_repeat = false;
            if (x.p[1] == '?') {
                if (x.p[2] == ':')
                    x.p += 3;
                else if (x.p[2] == 'P' || x.p[2] == '<') {
                    const char *gt = strchr(x.p, '>');
                    if (!gt)
                        return false;
                    x.p = gt + 1;
                } else {
                    return false; /* flags inside the pattern: not supported */
                }
            } else {
                x.p++;
            }
            kvg_buf_puts(out, "(");
            continue;
        case ')':
            if (depth-- == 0)
                return false;
            break;
        case '|':
        case '^':
            can_repeat = c == '^'; /* Go allows ^* (an empty repeat) */
            break;
        case '{':
        case '}':
            kvg_buf_puts(out, c == '{' ? "\\{" : "\\}");
            x.p++;
            continue;
        }
        kvg_buf_append(out, x.p, 1);
        x.p++;
    }
    *cflags = x.cflags;
    return x.ok && depth == 0;
}

/* One filter, ready to match: "*", a fast pattern, a compiled regular
 * expression, or one that matches nothing (invalid, as KubeVirt logs it). */
typedef enum fkind { F_ALL, F_FAST, F_REGEX, F_NEVER } fkind;

typedef struct cfilter {
    fkind kind;
    bool negated;
    const char *re; /* borrowed from the filter list */
    regex_t rx;
} cfilter;

static void cfilter_init(cfilter *f, const char *re)
{
    f->re = re;
    if (fast_match(re, "") >= 0) {
        f->kind = F_FAST;
        return;
    }
    kvg_buf ere;
    kvg_buf_init(&ere, 64 * 1024);
    int cflags = 0;
    f->kind = F_NEVER;
    if (translate(re, &ere, &cflags) && ere.data && regcomp(&f->rx, ere.data, cflags) == 0)
        f->kind = F_REGEX;
    kvg_buf_free(&ere);
}

static bool cfilter_match(const cfilter *f, const char *s)
{
    switch (f->kind) {
    case F_ALL: return true;
    case F_FAST: return fast_match(f->re, s) == 1;
    case F_REGEX: return regexec(&f->rx, s, 0, NULL, 0) == 0;
    case F_NEVER: return false;
    }
    return false;
}

static void cfilter_free(cfilter *f)
{
    if (f->kind == F_REGEX)
        regfree(&f->rx);
}

bool kvg_filter_regex_match(const char *re, const char *s)
{
    cfilter f;
    cfilter_init(&f, re);
    bool m = cfilter_match(&f, s);
    cfilter_free(&f);
    return m;
}

struct kvg_filter_set {
    bool keep_all; /* the list is absent */
    size_t n;
    cfilter f[];
};

kvg_err kvg_filter_set_compile(const json_object *filters, kvg_filter_set **out)
{
    bool list = json_object_is_type((json_object *)filters, json_type_array);
    size_t n = list ? json_object_array_length((json_object *)filters) : 0;
    kvg_filter_set *fs = calloc(1, sizeof *fs + n * sizeof fs->f[0]);
    if (!fs)
        return KVG_ENOMEM;
    fs->keep_all = !list;
    for (size_t i = 0; i < n; i++) {
        const char *t = kvg_json_as_str(json_object_array_get_idx((json_object *)filters, i));
        cfilter *f = &fs->f[fs->n];
        if (!t)
            continue;
        f->negated = t[0] == '!';
        if (!f->negated && !strcmp(t, "*")) /* KubeVirt: "*" alone means ".*" */
            f->kind = F_ALL, f->re = t;
        else
            cfilter_init(f, t + f->negated);
        fs->n++;
    }
    *out = fs;
    return KVG_OK;
}

bool kvg_filter_set_keep(const kvg_filter_set *fs, const char *key)
{
    if (fs->keep_all)
        return true;
    bool included = false;
    for (size_t i = 0; i < fs->n && !included; i++)
        included = !fs->f[i].negated && cfilter_match(&fs->f[i], key);
    /* negations take precedence */
    for (size_t i = 0; i < fs->n && included; i++)
        if (fs->f[i].negated && cfilter_match(&fs->f[i], key))
            included = false;
    return included;
}

void kvg_filter_set_free(kvg_filter_set *fs)
{
    if (!fs)
        return;
    for (size_t i = 0; i < fs->n; i++)
        cfilter_free(&fs->f[i]);
    free(fs);
}

/* ---- keep / drop ----------------------------------------------------------- */

bool kvg_filters_keep(const json_object *filters, const char *key)
{
    kvg_filter_set *fs = NULL;
    if (kvg_filter_set_compile(filters, &fs) != KVG_OK)
        return true; /* out of memory: keeping is the safe side of a copy */
    bool keep = kvg_filter_set_keep(fs, key);
    kvg_filter_set_free(fs);
    return keep;
}
