/* kvguard: the in-memory store behind the cluster view.
 *
 * Per kind: a json object mapping namespace -> (json object mapping name ->
 * object), plus a uid -> object index. json-c objects are used as hash maps
 * because readers only ever look keys up (no mutation, so no locking inside
 * json-c is needed) and reference counting gives the uid index for free.
 *
 * One pthread rwlock guards everything. Readers hold it shared between
 * kvg_view_begin/end; writers hold it exclusively only to link or unlink
 * prepared data: pruning, building a relist's tables and freeing replaced
 * objects all happen outside the lock. Only writers touch reference counts,
 * so json-c's non-atomic refcounting is safe.
 *
 * The lock prefers writers (a stream of admission requests must not starve
 * the watch threads); since such a lock deadlocks on recursive read locking
 * while a writer waits, kvg_view_begin counts nesting per thread itself.
 *
 * Kinds set compact keep each object as its compact JSON text (a json-c tree
 * costs roughly ten times the text); readers get a tree parsed on first use,
 * owned by their thread until their outermost kvg_view_end. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/parsed.h"
#include "cluster/store_priv.h"
#include "kvguard/heap.h"
#include "kvguard/json.h"
#include "kvguard/view.h"

typedef struct kind_table {
    json_object *by_ns;  /* ns ("" for cluster scope) -> {name -> obj} */
    json_object *by_uid; /* uid -> obj (shared reference) */
    size_t count;
    kvg_kind_state state;
    char *rv;            /* resourceVersion, owned, or NULL */
    double last_sync;    /* CLOCK_MONOTONIC seconds, 0 = never */
    atomic_bool compact; /* store new objects serialized (kvg_store_set_compact) */
    /* Last contact with the source (kvg_store_touch), CLOCK_MONOTONIC ms,
     * 0 = never. Atomic: touched per watch event without the lock. */
    atomic_llong contact_ms;
} kind_table;

struct kvg_view {
    pthread_rwlock_t lock;
    kind_table kinds[KVG_KIND_COUNT];
    atomic_llong stale_after_ms; /* 0: never stale (kvg_store_set_stale_after) */
};

struct kvg_store {
    struct kvg_view view; /* first: kvg_store_view is a cast */
    json_object *origins; /* files backend bookkeeping, see store_priv.h */
};

static double now_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool kind_ok(kvg_kind kind)
{
    return (int)kind >= 0 && kind < KVG_KIND_COUNT;
}

/* The lock is logically mutable even through a const view. */
static pthread_rwlock_t *view_lock(const kvg_view *v)
{
    return (pthread_rwlock_t *)&v->lock;
}

/* ---- lifecycle ------------------------------------------------------------ */

/* The kinds a cluster has by the thousand are kept compact (view.h); the
 * few StorageClasses, VolumeSnapshotClasses and StorageProfiles every
 * request reads, and the restores and clones the reconciler scans whole,
 * stay trees. */
static bool compact_by_default(kvg_kind kind)
{
    switch (kind) {
    case KVG_KIND_VM:
    case KVG_KIND_VMI:
    case KVG_KIND_VMSNAPSHOT:
    case KVG_KIND_VMSNAPSHOTCONTENT:
    case KVG_KIND_DATAVOLUME:
    case KVG_KIND_PVC:
    case KVG_KIND_PV:
    case KVG_KIND_VOLUMESNAPSHOT:
    case KVG_KIND_POD:
    case KVG_KIND_ZFSVOLUME:
    case KVG_KIND_ZFSSNAPSHOT:
        return true;
    default:
        return false;
    }
}

kvg_err kvg_store_new(kvg_store **out)
{
    if (!out)
        return KVG_EINVAL;
    *out = NULL;
    kvg_store *s = calloc(1, sizeof *s);
    if (!s)
        return KVG_ENOMEM;
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int rc = pthread_rwlock_init(&s->view.lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (rc != 0) {
        free(s);
        return KVG_ENOMEM;
    }
    for (int i = 0; i < KVG_KIND_COUNT; i++) {
        kind_table *t = &s->view.kinds[i];
        atomic_init(&t->compact, compact_by_default((kvg_kind)i));
        t->by_ns = json_object_new_object();
        t->by_uid = json_object_new_object();
        if (!t->by_ns || !t->by_uid) {
            kvg_store_free(s);
            return KVG_ENOMEM;
        }
    }
    *out = s;
    return KVG_OK;
}

void kvg_store_free(kvg_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < KVG_KIND_COUNT; i++) {
        kind_table *t = &s->view.kinds[i];
        json_object_put(t->by_ns);
        json_object_put(t->by_uid);
        free(t->rv);
    }
    json_object_put(s->origins);
    pthread_rwlock_destroy(&s->view.lock);
    free(s);
}

const kvg_view *kvg_store_view(const kvg_store *s)
{
    return s ? &s->view : NULL;
}

json_object *kvg_store_origins(kvg_store *s)
{
    if (!s->origins)
        s->origins = json_object_new_object();
    return s->origins;
}

/* ---- keys ----------------------------------------------------------------- */

/* Namespace key of an object of `kind`: "" for cluster-scoped kinds. */
static const char *ns_key(kvg_kind kind, const char *ns)
{
    if (!kvg_kind_info_get(kind)->namespaced || !ns)
        return "";
    return ns;
}

static kvg_err object_key(kvg_kind kind, const json_object *obj, const char **ns,
                          const char **name)
{
    if (!obj || !json_object_is_type(obj, json_type_object))
        return KVG_EINVAL;
    *name = kvg_json_str(obj, "metadata", "name", NULL);
    if (!*name || !**name)
        return KVG_EINVAL;
    const char *n = kvg_json_str(obj, "metadata", "namespace", NULL);
    if (kvg_kind_info_get(kind)->namespaced && (!n || !*n))
        return KVG_EINVAL;
    *ns = ns_key(kind, n);
    return KVG_OK;
}

static const char *object_uid(const json_object *obj)
{
    const char *uid = kvg_json_str(obj, "metadata", "uid", NULL);
    return uid && *uid ? uid : NULL;
}

/* ---- stored values ---------------------------------------------------------
 * A table holds, per object, either the (pruned) object itself or, for kinds
 * set compact, a json string with its compact serialization: about a tenth
 * of the memory, paid for by parsing on read (see materialize()). */

/* An object ready to be linked. Its key strings and, for compact kinds, its
 * serialization live in a scratch buffer (offsets, the buffer may move):
 * a relist allocates what it keeps only after every tree it parsed is freed
 * and without small live copies scattered in between, otherwise the
 * long-lived strings pin most heap pages of the relist's peak. */
#define NO_OFF SIZE_MAX

typedef struct prepared {
    json_object *val;             /* trees: the object (one reference) */
    size_t ns, name, uid, text;   /* offsets in the scratch buffer */
} prepared;

static kvg_err scratch_add(kvg_buf *b, const char *str, size_t *off)
{
    *off = b->len;
    kvg_err err = kvg_buf_append(b, str, strlen(str) + 1);
    return err == KVG_ETOOBIG ? KVG_ENOMEM : err;
}

static const char *scratch_str(const kvg_buf *b, size_t off)
{
    return off == NO_OFF ? NULL : b->data + off;
}

static void scratch_init(kvg_buf *b)
{
    kvg_buf_init(b, (size_t)1 << 40); /* bounded by memory, not by policy */
}

/* Validate and prune obj (taken over); compact kinds are serialized into
 * the scratch buffer and their tree freed. */
static kvg_err prepare(kvg_kind kind, bool compact, json_object *obj, kvg_buf *scratch,
                       prepared *p)
{
    const char *ns, *name;
    *p = (prepared){NULL, NO_OFF, NO_OFF, NO_OFF, NO_OFF};
    if (object_key(kind, obj, &ns, &name) != KVG_OK) {
        json_object_put(obj);
        return KVG_EINVAL;
    }
    kvg_prune_object(kind, obj);
    if (object_key(kind, obj, &ns, &name) != KVG_OK) { /* pruned away? */
        json_object_put(obj);
        return KVG_EINVAL;
    }
    const char *uid = object_uid(obj);
    kvg_err err = scratch_add(scratch, ns, &p->ns);
    if (err == KVG_OK)
        err = scratch_add(scratch, name, &p->name);
    if (err == KVG_OK && uid)
        err = scratch_add(scratch, uid, &p->uid);
    if (err == KVG_OK && compact) {
        const char *text = json_object_to_json_string_ext(
            obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        err = text ? scratch_add(scratch, text, &p->text) : KVG_ENOMEM;
    }
    if (err == KVG_OK && !compact)
        p->val = obj;
    else
        json_object_put(obj);
    return err;
}

/* The value to link: the tree, or a json string of the serialization. */
static kvg_err finalize(prepared *p, const kvg_buf *scratch)
{
    if (p->text == NO_OFF)
        return KVG_OK;
    p->val = json_object_new_string(scratch_str(scratch, p->text));
    return p->val ? KVG_OK : KVG_ENOMEM;
}

/* The uid of a stored value (parsing a compact one), copied into buf. */
static const char *value_uid(const json_object *val, char *buf, size_t len)
{
    if (!json_object_is_type(val, json_type_string))
        return object_uid(val);
    json_object *o = kvg_parsed_parse(val);
    const char *uid = object_uid(o);
    if (uid)
        snprintf(buf, len, "%s", uid);
    json_object_put(o);
    return uid ? buf : NULL;
}

/* ---- table building (no lock: tables not yet visible, or under wrlock) ---- */

/* Link p->val (the reference is taken over) into by_ns/by_uid. Returns the
 * value it replaces with a reference the caller must put, via *old. */
static kvg_err table_link(json_object *by_ns, json_object *by_uid, size_t *count,
                          prepared *p, const kvg_buf *scratch, json_object **old)
{
    *old = NULL;
    json_object *val = p->val;
    const char *ns = scratch_str(scratch, p->ns), *name = scratch_str(scratch, p->name);
    const char *uid = scratch_str(scratch, p->uid);
    p->val = NULL;
    json_object *names = NULL;
    if (!json_object_object_get_ex(by_ns, ns, &names)) {
        names = json_object_new_object();
        if (!names || json_object_object_add(by_ns, ns, names) != 0) {
            json_object_put(names);
            json_object_put(val);
            return KVG_ENOMEM;
        }
    }
    json_object *prev = NULL;
    bool replacing = json_object_object_get_ex(names, name, &prev);
    if (replacing) {
        char buf[256];
        const char *puid = value_uid(prev, buf, sizeof buf);
        if (puid)
            json_object_object_del(by_uid, puid);
        *old = json_object_get(prev); /* freed by the caller, outside the lock */
    }
    if (json_object_object_add(names, name, val) != 0) {
        json_object_put(val);
        return KVG_ENOMEM; /* json-c unlinked nothing; prev stays */
    }
    if (!replacing)
        (*count)++;
    if (uid && json_object_object_add(by_uid, uid, json_object_get(val)) != 0) {
        json_object_put(val);
        return KVG_ENOMEM;
    }
    return KVG_OK;
}

/* ---- writer side ---------------------------------------------------------- */

void kvg_store_set_compact(kvg_store *s, kvg_kind kind, bool on)
{
    if (s && kind_ok(kind))
        atomic_store(&s->view.kinds[kind].compact, on);
}

kvg_err kvg_store_delete(kvg_store *s, kvg_kind kind, const char *ns, const char *name)
{
    if (!s || !kind_ok(kind) || !name)
        return KVG_EINVAL;
    ns = ns_key(kind, ns);
    kind_table *t = &s->view.kinds[kind];
    kvg_err err = KVG_ENOTFOUND;
    json_object *old = NULL;
    pthread_rwlock_wrlock(&s->view.lock);
    json_object *names = NULL, *prev = NULL;
    if (json_object_object_get_ex(t->by_ns, ns, &names) &&
        json_object_object_get_ex(names, name, &prev)) {
        char buf[256];
        const char *uid = value_uid(prev, buf, sizeof buf);
        if (uid)
            json_object_object_del(t->by_uid, uid);
        old = json_object_get(prev);
        json_object_object_del(names, name);
        if (json_object_object_length(names) == 0)
            json_object_object_del(t->by_ns, ns);
        t->count--;
        err = KVG_OK;
    }
    t->last_sync = now_monotonic();
    pthread_rwlock_unlock(&s->view.lock);
    json_object_put(old);
    return err;
}

/* A batch of objects of one kind: each is prepared as it is added (for
 * compact kinds: serialized, its tree freed); what is kept is allocated and
 * linked at the end, after every tree of the batch was freed, so that the
 * long-lived strings do not pin the heap pages of the batch's peak. */
struct kvg_store_batch {
    kvg_store *s;
    kvg_kind kind;
    bool compact;
    kvg_err err; /* the first error; later objects are only freed */
    prepared *ps;
    size_t n, cap;
    kvg_buf scratch;
};

kvg_err kvg_store_batch_begin(kvg_store *s, kvg_kind kind, kvg_store_batch **out)
{
    if (!out)
        return KVG_EINVAL;
    *out = NULL;
    if (!s || !kind_ok(kind))
        return KVG_EINVAL;
    kvg_store_batch *b = calloc(1, sizeof *b);
    if (!b)
        return KVG_ENOMEM;
    b->s = s;
    b->kind = kind;
    b->compact = atomic_load(&s->view.kinds[kind].compact);
    scratch_init(&b->scratch);
    *out = b;
    return KVG_OK;
}

kvg_err kvg_store_batch_add(kvg_store_batch *b, json_object *obj)
{
    if (!b || b->err != KVG_OK) {
        json_object_put(obj);
        return b ? b->err : KVG_EINVAL;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        prepared *ps = realloc(b->ps, cap * sizeof *ps);
        if (!ps) {
            json_object_put(obj);
            return b->err = KVG_ENOMEM;
        }
        b->ps = ps;
        b->cap = cap;
    }
    b->err = prepare(b->kind, b->compact, obj, &b->scratch, &b->ps[b->n]);
    b->n++; /* also on error: a tree it kept is freed with the rest */
    return b->err;
}

void kvg_store_batch_abort(kvg_store_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        json_object_put(b->ps[i].val);
    free(b->ps);
    kvg_buf_free(&b->scratch);
    free(b);
}

/* Allocate what is kept: every value of the batch, before any is linked. */
static kvg_err finalize_all(kvg_store_batch *b)
{
    kvg_err err = b->err;
    for (size_t i = 0; i < b->n && err == KVG_OK; i++)
        err = finalize(&b->ps[i], &b->scratch);
    return err;
}

/* Link every value into by_ns/by_uid; what they replace goes into olds
 * (n slots, NULL where nothing was replaced) for the caller to put. */
static kvg_err link_all(kvg_store_batch *b, json_object *by_ns, json_object *by_uid,
                        size_t *count, json_object **olds)
{
    kvg_err err = KVG_OK;
    for (size_t i = 0; i < b->n && err == KVG_OK; i++)
        err = table_link(by_ns, by_uid, count, &b->ps[i], &b->scratch, &olds[i]);
    return err;
}

kvg_err kvg_store_batch_replace(kvg_store_batch *b)
{
    if (!b)
        return KVG_EINVAL;
    kvg_view *v = &b->s->view;
    kind_table *t = &v->kinds[b->kind];
    json_object *by_ns = json_object_new_object(), *by_uid = json_object_new_object();
    json_object **olds = calloc(b->n + 1, sizeof *olds);
    size_t count = 0;
    kvg_err err = by_ns && by_uid && olds ? finalize_all(b) : KVG_ENOMEM;
    if (err == KVG_OK)
        err = link_all(b, by_ns, by_uid, &count, olds);
    for (size_t i = 0; olds && i < b->n; i++)
        json_object_put(olds[i]); /* a list naming an object twice: last wins */
    free(olds);
    kvg_store_batch_abort(b); /* frees what was not linked */
    if (err != KVG_OK) {
        json_object_put(by_ns);
        json_object_put(by_uid);
        return err;
    }
    pthread_rwlock_wrlock(&v->lock);
    json_object *old_ns = t->by_ns, *old_uid = t->by_uid;
    t->by_ns = by_ns;
    t->by_uid = by_uid;
    t->count = count;
    t->last_sync = now_monotonic();
    pthread_rwlock_unlock(&v->lock);
    json_object_put(old_ns);
    json_object_put(old_uid);
    kvg_heap_trim();
    return KVG_OK;
}

kvg_err kvg_store_batch_merge(kvg_store_batch *b)
{
    if (!b)
        return KVG_EINVAL;
    kvg_view *v = &b->s->view;
    kind_table *t = &v->kinds[b->kind];
    json_object **olds = calloc(b->n + 1, sizeof *olds);
    kvg_err err = olds ? finalize_all(b) : KVG_ENOMEM;
    if (err == KVG_OK) {
        pthread_rwlock_wrlock(&v->lock);
        err = link_all(b, t->by_ns, t->by_uid, &t->count, olds);
        t->last_sync = now_monotonic();
        pthread_rwlock_unlock(&v->lock);
    }
    for (size_t i = 0; olds && i < b->n; i++)
        json_object_put(olds[i]); /* replaced objects: freed outside the lock */
    free(olds);
    kvg_store_batch_abort(b);
    return err;
}

/* The one-call forms: a batch of one, a batch of a whole list. */
kvg_err kvg_store_put(kvg_store *s, kvg_kind kind, json_object *obj)
{
    kvg_store_batch *b = NULL;
    kvg_err err = kvg_store_batch_begin(s, kind, &b);
    if (err != KVG_OK) {
        json_object_put(obj);
        return err;
    }
    err = kvg_store_batch_add(b, obj);
    if (err != KVG_OK) {
        kvg_store_batch_abort(b);
        return err;
    }
    return kvg_store_batch_merge(b);
}

kvg_err kvg_store_replace(kvg_store *s, kvg_kind kind, json_object **objs, size_t n)
{
    kvg_store_batch *b = NULL;
    kvg_err err = (n && !objs) ? KVG_EINVAL : kvg_store_batch_begin(s, kind, &b);
    for (size_t i = 0; objs && i < n; i++) {
        if (err == KVG_OK)
            err = kvg_store_batch_add(b, objs[i]);
        else
            json_object_put(objs[i]); /* we own every object: free the rest */
    }
    if (err != KVG_OK) {
        kvg_store_batch_abort(b);
        return err;
    }
    return kvg_store_batch_replace(b);
}

void kvg_store_set_state(kvg_store *s, kvg_kind kind, kvg_kind_state st)
{
    if (!s || !kind_ok(kind))
        return;
    pthread_rwlock_wrlock(&s->view.lock);
    s->view.kinds[kind].state = st;
    if (st == KVG_KIND_SYNCED)
        s->view.kinds[kind].last_sync = now_monotonic();
    pthread_rwlock_unlock(&s->view.lock);
    if (st == KVG_KIND_SYNCED) /* a list (or a load) is contact */
        kvg_store_touch(s, kind);
}

static long long now_ms(void)
{
    return (long long)(now_monotonic() * 1000.0);
}

void kvg_store_touch(kvg_store *s, kvg_kind kind)
{
    if (s && kind_ok(kind))
        atomic_store(&s->view.kinds[kind].contact_ms, now_ms());
}

void kvg_store_set_stale_after(kvg_store *s, double seconds)
{
    if (s)
        atomic_store(&s->view.stale_after_ms,
                     seconds > 0 ? (long long)(seconds * 1000.0) : 0);
}

void kvg_store_set_resource_version(kvg_store *s, kvg_kind kind, const char *rv)
{
    if (!s || !kind_ok(kind))
        return;
    char *copy = rv ? strdup(rv) : NULL;
    pthread_rwlock_wrlock(&s->view.lock);
    char *old = s->view.kinds[kind].rv;
    s->view.kinds[kind].rv = copy; /* strdup failure leaves "" : forces a relist */
    pthread_rwlock_unlock(&s->view.lock);
    free(old);
}

/* ---- reader side ---------------------------------------------------------- */

/* Per-thread nesting of kvg_view_begin, by view. Nesting two different views
 * in one thread beyond this many is not tracked (and then not reentrant). */
#define NEST_MAX 4
static _Thread_local struct {
    const kvg_view *view;
    unsigned depth;
} nest[NEST_MAX];
/* Brackets open on this thread, all views together: compact objects parsed
 * for readers live until it drops to 0. */
static _Thread_local unsigned open_brackets;

/* What readers get for a stored value: the tree itself, or the tree parsed
 * from a compact value (NULL only when out of memory). */
static const json_object *materialize(const json_object *val)
{
    if (!val || !json_object_is_type(val, json_type_string))
        return val;
    return kvg_parsed_get(val);
}

/* Shared lock, reentrant per thread (see the top of this file). */
static void lock_shared(const kvg_view *v)
{
    int free_slot = -1;
    for (int i = 0; i < NEST_MAX; i++) {
        if (nest[i].view == v) {
            nest[i].depth++;
            return;
        }
        if (!nest[i].view && free_slot < 0)
            free_slot = i;
    }
    pthread_rwlock_rdlock(view_lock(v));
    if (free_slot >= 0) {
        nest[free_slot].view = v;
        nest[free_slot].depth = 1;
    }
}

static void unlock_shared(const kvg_view *v)
{
    for (int i = 0; i < NEST_MAX; i++) {
        if (nest[i].view == v) {
            if (--nest[i].depth > 0)
                return;
            nest[i].view = NULL;
            break;
        }
    }
    pthread_rwlock_unlock(view_lock(v));
}

void kvg_view_begin(const kvg_view *v)
{
    if (!v)
        return;
    open_brackets++;
    lock_shared(v);
}

void kvg_view_end(const kvg_view *v)
{
    if (!v)
        return;
    /* unlock first: trimming the cache frees trees, nobody needs to wait */
    unlock_shared(v);
    if (open_brackets && --open_brackets == 0)
        kvg_parsed_bracket_closed();
}

const json_object *kvg_view_get(const kvg_view *v, kvg_kind kind, const char *ns,
                                const char *name)
{
    if (!v || !kind_ok(kind) || !name)
        return NULL;
    json_object *names = NULL, *obj = NULL;
    if (!json_object_object_get_ex(v->kinds[kind].by_ns, ns_key(kind, ns), &names) ||
        !json_object_object_get_ex(names, name, &obj))
        return NULL;
    return materialize(obj);
}

const json_object *kvg_view_get_by_uid(const kvg_view *v, kvg_kind kind, const char *uid)
{
    json_object *obj = NULL;
    if (!v || !kind_ok(kind) || !uid ||
        !json_object_object_get_ex(v->kinds[kind].by_uid, uid, &obj))
        return NULL;
    return materialize(obj);
}

/* The JSON string "needle" (quotes included) when it can serve as a filter
 * on compact text: a needle JSON would escape cannot be found verbatim. */
static bool quoted_needle(const char *needle, char *buf, size_t len)
{
    size_t n = needle ? strlen(needle) : 0;
    if (n == 0 || n + 3 > len)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)needle[i] < 0x20 || needle[i] == '"' || needle[i] == '\\')
            return false;
    buf[0] = '"';
    memcpy(buf + 1, needle, n);
    memcpy(buf + 1 + n, "\"", 2);
    return true;
}

/* Compact values whose text does not mention the needle are skipped
 * without parsing; trees (and everything when needle is NULL) are not. */
static bool may_mention(const json_object *val, const char *needle)
{
    if (!needle || !json_object_is_type(val, json_type_string))
        return true;
    return memmem(json_object_get_string((json_object *)val),
                  (size_t)json_object_get_string_len(val), needle, strlen(needle)) != NULL;
}

static int each_in(const json_object *names, const char *needle, kvg_view_fn fn, void *ud)
{
    json_object_object_foreach((json_object *)names, key, val)
    {
        (void)key;
        if (!may_mention(val, needle))
            continue;
        const json_object *obj = materialize(val);
        int rc = obj ? fn(obj, ud) : 0; /* NULL: out of memory, skip */
        if (rc)
            return rc;
    }
    return 0;
}

static int each_filtered(const kvg_view *v, kvg_kind kind, const char *ns,
                         const char *needle, kvg_view_fn fn, void *ud)
{
    if (!v || !kind_ok(kind) || !fn)
        return 0;
    const kind_table *t = &v->kinds[kind];
    if (ns && *ns) {
        json_object *names = NULL;
        if (!json_object_object_get_ex(t->by_ns, ns_key(kind, ns), &names))
            return 0;
        return each_in(names, needle, fn, ud);
    }
    json_object_object_foreach(t->by_ns, nsname, names)
    {
        (void)nsname;
        int rc = each_in(names, needle, fn, ud);
        if (rc)
            return rc;
    }
    return 0;
}

int kvg_view_each(const kvg_view *v, kvg_kind kind, const char *ns, kvg_view_fn fn,
                  void *ud)
{
    return each_filtered(v, kind, ns, NULL, fn, ud);
}

int kvg_view_each_mentioning(const kvg_view *v, kvg_kind kind, const char *ns,
                             const char *needle, kvg_view_fn fn, void *ud)
{
    char quoted[512];
    return each_filtered(v, kind, ns, quoted_needle(needle, quoted, sizeof quoted) ? quoted : NULL,
                         fn, ud);
}

/* The small getters below are also used by metrics and /readyz outside any
 * kvg_view_begin/end bracket, so they lock themselves (reentrant per thread,
 * and without ending a reader's bracket: its parsed objects stay). */

size_t kvg_view_count(const kvg_view *v, kvg_kind kind)
{
    if (!v || !kind_ok(kind))
        return 0;
    lock_shared(v);
    size_t n = v->kinds[kind].count;
    unlock_shared(v);
    return n;
}

/* A SYNCED kind without contact for longer than the window: its facts may
 * be outdated, so every reader treats it as UNSYNCED. Age in ms, or -1 when
 * the kind is not stale. Caller holds the lock (state is read under it). */
static long long stale_age_ms(const kvg_view *v, kvg_kind kind, long long now)
{
    long long after = atomic_load(&v->stale_after_ms);
    long long contact = atomic_load(&v->kinds[kind].contact_ms);
    if (after <= 0 || contact <= 0 || v->kinds[kind].state != KVG_KIND_SYNCED)
        return -1;
    return now - contact > after ? now - contact : -1;
}

kvg_kind_state kvg_view_state(const kvg_view *v, kvg_kind kind)
{
    if (!v || !kind_ok(kind))
        return KVG_KIND_UNSYNCED;
    long long now = now_ms();
    lock_shared(v);
    kvg_kind_state st = v->kinds[kind].state;
    if (stale_age_ms(v, kind, now) >= 0)
        st = KVG_KIND_UNSYNCED;
    unlock_shared(v);
    return st;
}

bool kvg_view_synced(const kvg_view *v)
{
    if (!v)
        return false;
    bool synced = true;
    long long now = now_ms();
    lock_shared(v);
    for (int i = 0; i < KVG_KIND_COUNT && synced; i++)
        synced = v->kinds[i].state != KVG_KIND_UNSYNCED &&
                 stale_age_ms(v, (kvg_kind)i, now) < 0;
    unlock_shared(v);
    return synced;
}

bool kvg_view_stale(const kvg_view *v, kvg_kind kind, double *age_s)
{
    if (!v || !kind_ok(kind))
        return false;
    long long now = now_ms();
    lock_shared(v);
    long long age = stale_age_ms(v, kind, now);
    unlock_shared(v);
    if (age_s)
        *age_s = age >= 0 ? (double)age / 1000.0 : 0;
    return age >= 0;
}

double kvg_view_last_sync(const kvg_view *v, kvg_kind kind)
{
    if (!v || !kind_ok(kind))
        return 0;
    lock_shared(v);
    double t = v->kinds[kind].last_sync;
    unlock_shared(v);
    return t;
}

kvg_err kvg_view_resource_version(const kvg_view *v, kvg_kind kind, char *buf, size_t len)
{
    if (!v || !kind_ok(kind) || !buf || len == 0)
        return KVG_EINVAL;
    kvg_err err = KVG_OK;
    lock_shared(v);
    const char *rv = v->kinds[kind].rv ? v->kinds[kind].rv : "";
    size_t n = strlen(rv);
    if (n >= len) {
        buf[0] = '\0';
        err = KVG_ETOOBIG;
    } else {
        memcpy(buf, rv, n + 1);
    }
    unlock_shared(v);
    return err;
}
