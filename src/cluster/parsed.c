/* kvguard: trees parsed from compact stored values, cached per reader thread.
 *
 * A compact kind keeps each object as its JSON text (store.c); a reader
 * needs a json-c tree. Parsing one costs 10-40 us, almost all of it json-c's
 * mallocs, so a thread keeps the trees it parsed:
 *  - inside a bracket every tree it handed out stays (the view contract:
 *    the same pointer for repeated lookups, valid until the outermost end);
 *  - after the outermost kvg_view_end the most recently used ones stay for
 *    the next bracket, within a small budget, so the objects of the VM an
 *    admission request is about are parsed once per burst, not per request.
 *
 * A cached tree is found by the address of the stored value; an address can
 * be reused by a later object once the store frees a replaced one, so a hit
 * also compares the stored text with the copy the tree was parsed from. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/parsed.h"
#include "kvguard/view.h"

/* Deeper than anything the YAML loader (64) or the apiserver produce. */
#define PARSE_MAX_DEPTH 128
/* What a thread keeps between brackets (a tree costs ~8x its text). When a
 * bracket ends above either bound, the cache is cut to half of it, so the
 * sort runs once every few requests rather than at every one. */
#define KEEP_ENTRIES 64
#define KEEP_TEXT_BYTES ((size_t)256 * 1024)

typedef struct entry {
    const json_object *key; /* the stored value; NULL = free slot */
    char *text;             /* the text the tree was parsed from */
    size_t len;
    json_object *tree;
    uint64_t used; /* tick of the last lookup */
} entry;

typedef struct cache {
    entry *slots;
    size_t n, cap; /* cap is 0 or a power of two, kept at most half full */
    size_t text_bytes;
    uint64_t tick;
    json_tokener *tok;
} cache;

static _Thread_local unsigned long failed_lookups;

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void entry_free(entry *e)
{
    json_object_put(e->tree);
    free(e->text);
    memset(e, 0, sizeof *e);
}

static void cache_destroy(void *p)
{
    cache *c = p;
    for (size_t i = 0; i < c->cap; i++)
        entry_free(&c->slots[i]);
    free(c->slots);
    if (c->tok)
        json_tokener_free(c->tok);
    free(c);
}

static void cache_key_init(void)
{
    pthread_key_create(&cache_key, cache_destroy);
}

static cache *cache_get(bool create)
{
    pthread_once(&cache_once, cache_key_init);
    cache *c = pthread_getspecific(cache_key);
    if (!c && create && (c = calloc(1, sizeof *c)) && pthread_setspecific(cache_key, c)) {
        free(c);
        c = NULL;
    }
    return c;
}

static size_t slot_of(const void *p, size_t cap)
{
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 17;
    x *= (uintptr_t)0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 7) & (cap - 1);
}

static entry *find(cache *c, const json_object *key)
{
    size_t i = slot_of(key, c->cap);
    while (c->slots[i].key && c->slots[i].key != key)
        i = (i + 1) & (c->cap - 1);
    return &c->slots[i];
}

/* Rehash the live entries into a table of cap slots. */
static bool rehash(cache *c, size_t cap)
{
    cache old = *c;
    entry *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    c->slots = slots;
    c->cap = cap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key)
            *find(c, old.slots[i].key) = old.slots[i];
    free(old.slots);
    return true;
}

static json_object *parse(cache *c, const char *text, size_t len)
{
    if (!c->tok && !(c->tok = json_tokener_new_ex(PARSE_MAX_DEPTH)))
        return NULL;
    json_tokener_reset(c->tok);
    return json_tokener_parse_ex(c->tok, text, (int)len);
}

const json_object *kvg_parsed_get(const json_object *val)
{
    cache *c = cache_get(true);
    if (!c || ((c->n + 1) * 2 > c->cap && !rehash(c, c->cap ? c->cap * 2 : 128))) {
        failed_lookups++;
        return NULL;
    }
    const char *text = json_object_get_string((json_object *)val);
    size_t len = (size_t)json_object_get_string_len(val);
    entry *e = find(c, val);
    if (e->tree && (e->len != len || memcmp(e->text, text, len) != 0)) {
        c->text_bytes -= e->len; /* the address now holds another object */
        json_object_put(e->tree);
        free(e->text);
        *e = (entry){val, NULL, 0, NULL, 0};
    }
    if (!e->key) {
        e->key = val;
        c->n++;
    }
    if (!e->tree) {
        char *copy = malloc(len + 1);
        json_object *tree = copy ? parse(c, text, len) : NULL;
        if (!tree) { /* out of memory (we wrote the text): the slot stays empty */
            free(copy);
            failed_lookups++;
            return NULL;
        }
        memcpy(copy, text, len + 1);
        e->text = copy;
        e->len = len;
        e->tree = tree;
        c->text_bytes += len;
    }
    e->used = ++c->tick;
    return e->tree;
}

static int newer_first(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    return x->used < y->used ? 1 : x->used > y->used ? -1 : 0;
}

/* Keep the most recently used entries within half the budget. */
static void shrink(cache *c)
{
    entry *live = malloc(c->n * sizeof *live);
    if (!live) { /* keep nothing rather than everything */
        for (size_t i = 0; i < c->cap; i++)
            entry_free(&c->slots[i]);
        c->n = c->text_bytes = 0;
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i].key)
            live[n++] = c->slots[i];
    qsort(live, n, sizeof *live, newer_first);
    memset(c->slots, 0, c->cap * sizeof *c->slots);
    c->n = c->text_bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (c->n < KEEP_ENTRIES / 2 && c->text_bytes + live[i].len <= KEEP_TEXT_BYTES / 2) {
            *find(c, live[i].key) = live[i];
            c->n++;
            c->text_bytes += live[i].len;
        } else {
            entry_free(&live[i]);
        }
    }
    free(live);
}

void kvg_parsed_bracket_closed(void)
{
    cache *c = cache_get(false);
    if (c && (c->n > KEEP_ENTRIES || c->text_bytes > KEEP_TEXT_BYTES))
        shrink(c);
}

json_object *kvg_parsed_parse(const json_object *val)
{
    cache *c = cache_get(true);
    return c ? parse(c, json_object_get_string((json_object *)val),
                     (size_t)json_object_get_string_len(val))
             : NULL;
}

unsigned long kvg_view_failed_lookups(void)
{
    return failed_lookups;
}

void kvg_view_drop_parsed(void)
{
    cache *c = cache_get(false);
    if (c && pthread_setspecific(cache_key, NULL) == 0)
        cache_destroy(c);
}
