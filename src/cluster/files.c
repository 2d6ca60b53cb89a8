/* kvguard: the files backend of the cluster view.
 *
 * A directory of manifests (as `kubectl get -o yaml` or the upstream examples
 * write them) becomes a store. Everything is validated and staged first and
 * only then put into the store, so a bad file never leaves half a cluster
 * behind. Behaviour details are documented at kvg_files_load in view.h. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cluster/store_priv.h"
#include "kvguard/buf.h"
#include "kvguard/heap.h"
#include "kvguard/json.h"
#include "kvguard/log.h"
#include "kvguard/view.h"

#define MAX_DEPTH 64

/* ---- staging -------------------------------------------------------------- */

typedef struct staged {
    kvg_kind kind;
    json_object *obj; /* one reference, owned */
    char *key;        /* "<kind>/<ns>/<name>" */
    char *origin;     /* "file: document N (line L)" */
} staged;

typedef struct loader {
    kvg_store *s;
    staged *items;
    size_t n, cap;
    json_object *seen; /* key -> origin, this batch */
    size_t ignored;
    kvg_diag *d;
    /* the document being loaded */
    const char *file;
    const kvg_yaml_docs *docs;
    size_t di;
} loader;

static void loader_free(loader *L)
{
    for (size_t i = 0; i < L->n; i++) {
        json_object_put(L->items[i].obj);
        free(L->items[i].key);
        free(L->items[i].origin);
    }
    free(L->items);
    json_object_put(L->seen);
    L->items = NULL;
    L->n = L->cap = 0;
    L->seen = NULL;
}

static kvg_err loader_init(loader *L, kvg_store *s, kvg_diag *d)
{
    memset(L, 0, sizeof *L);
    L->s = s;
    L->d = d;
    L->seen = json_object_new_object();
    return L->seen ? KVG_OK : KVG_ENOMEM;
}

/* ---- messages ------------------------------------------------------------- */

/* Line of the first of `keys` present under JSON-pointer-like `base`, else
 * `fallback`. */
static int line_of(const loader *L, const char *base, const char *const *keys, int fallback)
{
    char path[512];
    for (; *keys; keys++) {
        snprintf(path, sizeof path, "%s/%s", base, *keys);
        int line = kvg_yaml_line(L->docs, path);
        if (line > 0)
            return line;
    }
    return fallback;
}

static kvg_err failv(loader *L, int line, const char *where, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static kvg_err failv(loader *L, int line, const char *where, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    return kvg_diag_set(L->d, KVG_EPARSE, "%s: document %zu (line %d): %s%s", L->file,
                        L->di + 1, line, where, msg);
}

static kvg_err fail(loader *L, int line, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static kvg_err fail(loader *L, int line, const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kvg_err err = failv(L, line, where, fmt, ap);
    va_end(ap);
    return err;
}

/* ---- one object ----------------------------------------------------------- */

/* One object of the stream: `base` is its path for line lookups ("/0" or
 * "/0/items/3"), `where` prefixes messages ("" or "items[3]: "), `line` is
 * where it starts. */
typedef struct objctx {
    const char *base;
    const char *where;
    int line;
} objctx;

static kvg_err check_str_field(loader *L, const objctx *c, const json_object *o,
                               const char *key, const char *label, const char **out)
{
    json_object *v = NULL;
    *out = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !v)
        return KVG_ENOTFOUND;
    if (!json_object_is_type(v, json_type_string))
        return fail(L, c->line, c->where, "%s is not a string", label);
    *out = json_object_get_string(v);
    return KVG_OK;
}

static kvg_err stage(loader *L, kvg_kind kind, json_object *obj, const char *ns,
                     const char *name, int line)
{
    char key[1024], origin[1024];
    snprintf(key, sizeof key, "%d/%s/%s", (int)kind, ns, name);
    snprintf(origin, sizeof origin, "%s: document %zu (line %d)", L->file, L->di + 1, line);
    const kvg_kind_info *ki = kvg_kind_info_get(kind);
    json_object *prev = NULL;
    json_object *origins = kvg_store_origins(L->s);
    if (!origins)
        return KVG_ENOMEM;
    const char *first = NULL;
    if (json_object_object_get_ex(L->seen, key, &prev) ||
        json_object_object_get_ex(origins, key, &prev))
        first = json_object_get_string(prev);
    if (!first) {
        const kvg_view *v = kvg_store_view(L->s);
        kvg_view_begin(v);
        if (kvg_view_get(v, kind, ns, name))
            first = "an object already in the cluster view";
        kvg_view_end(v);
    }
    if (first)
        return kvg_diag_set(L->d, KVG_EEXIST, "%s: %s %s%s%s is defined twice, first in %s",
                            origin, ki->name, ns, *ns ? "/" : "", name, first);
    if (L->n == L->cap) {
        size_t cap = L->cap ? L->cap * 2 : 64;
        staged *items = realloc(L->items, cap * sizeof *items);
        if (!items)
            return KVG_ENOMEM;
        L->items = items;
        L->cap = cap;
    }
    staged *st = &L->items[L->n];
    st->key = strdup(key);
    st->origin = strdup(origin);
    json_object *o = json_object_new_string(origin);
    if (!st->key || !st->origin || !o || json_object_object_add(L->seen, key, o) != 0) {
        free(st->key);
        free(st->origin);
        json_object_put(o);
        return KVG_ENOMEM;
    }
    st->kind = kind;
    st->obj = json_object_get(obj);
    L->n++;
    return KVG_OK;
}

/* apiVersion and kind. KVG_ENOTFOUND: not an object kvguard tracks (ignore). */
static kvg_err check_type(loader *L, const objctx *c, json_object *obj, kvg_kind *kind)
{
    static const char *const k_api[] = {"apiVersion", NULL};
    static const char *const k_kind[] = {"kind", NULL};
    const char *api, *kindname;
    kvg_err aerr = check_str_field(L, c, obj, "apiVersion", "apiVersion", &api);
    if (aerr && aerr != KVG_ENOTFOUND)
        return aerr;
    kvg_err kerr = check_str_field(L, c, obj, "kind", "kind", &kindname);
    if (kerr && kerr != KVG_ENOTFOUND)
        return kerr;
    /* Neither: some other YAML (a config file, a data table) that happens to
     * live in the directory. One without the other: a broken manifest. */
    if (aerr == KVG_ENOTFOUND && kerr == KVG_ENOTFOUND && !*c->where)
        return KVG_ENOTFOUND;
    if (aerr == KVG_ENOTFOUND)
        return fail(L, line_of(L, c->base, k_kind, c->line), c->where, "apiVersion is missing");
    if (kerr == KVG_ENOTFOUND)
        return fail(L, line_of(L, c->base, k_api, c->line), c->where, "kind is missing");
    return kvg_kind_of_object(obj, kind) == KVG_OK ? KVG_OK : KVG_ENOTFOUND;
}

/* metadata.name and metadata.namespace ("default" filled in when missing). */
static kvg_err check_meta(loader *L, const objctx *c, json_object *obj, kvg_kind kind,
                          const char **ns, const char **name)
{
    static const char *const k_meta[] = {"metadata", NULL};
    static const char *const k_name[] = {"metadata/name", "metadata", NULL};
    static const char *const k_ns[] = {"metadata/namespace", "metadata", NULL};
    json_object *meta = NULL;
    if (!json_object_object_get_ex(obj, "metadata", &meta) || !meta)
        return fail(L, c->line, c->where, "metadata is missing");
    if (!json_object_is_type(meta, json_type_object))
        return fail(L, line_of(L, c->base, k_meta, c->line), c->where,
                    "metadata is not a mapping");
    objctx mc = *c;
    mc.line = line_of(L, c->base, k_name, c->line);
    kvg_err err = check_str_field(L, &mc, meta, "name", "metadata.name", name);
    if (err == KVG_ENOTFOUND)
        return fail(L, mc.line, c->where, "metadata.name is missing");
    if (err)
        return err;
    if (!**name)
        return fail(L, mc.line, c->where, "metadata.name is empty");
    if (strlen(*name) > 253) /* the apiserver's limit; also keeps keys bounded */
        return fail(L, mc.line, c->where, "metadata.name is longer than 253 characters");
    mc.line = line_of(L, c->base, k_ns, c->line);
    err = check_str_field(L, &mc, meta, "namespace", "metadata.namespace", ns);
    if (err && err != KVG_ENOTFOUND)
        return err;
    if (*ns && strlen(*ns) > 63)
        return fail(L, mc.line, c->where, "metadata.namespace is longer than 63 characters");
    if (!kvg_kind_info_get(kind)->namespaced) {
        *ns = "";
    } else if (!*ns || !**ns) {
        /* as kubectl apply does without -n */
        json_object *dflt = json_object_new_string("default");
        if (!dflt || json_object_object_add(meta, "namespace", dflt) != 0) {
            json_object_put(dflt);
            return KVG_ENOMEM;
        }
        *ns = "default";
    }
    return KVG_OK;
}

static kvg_err load_object(loader *L, const objctx *c, json_object *obj)
{
    kvg_kind kind;
    kvg_err err = check_type(L, c, obj, &kind);
    if (err == KVG_ENOTFOUND) {
        L->ignored++;
        return KVG_OK;
    }
    const char *ns = NULL, *name = NULL;
    if (err == KVG_OK)
        err = check_meta(L, c, obj, kind, &ns, &name);
    if (err == KVG_OK)
        err = stage(L, kind, obj, ns, name, c->line);
    return err;
}

/* ---- one document --------------------------------------------------------- */

static bool is_list_kind(const char *kind, const json_object *obj)
{
    if (strcmp(kind, "List") == 0)
        return true;
    size_t n = strlen(kind);
    json_object *items = NULL;
    return n > 4 && strcmp(kind + n - 4, "List") == 0 &&
           json_object_object_get_ex(obj, "items", &items);
}

/* A `<Kind>List` as the API returns it: items carry no apiVersion/kind. */
static kvg_err inherit_type(json_object *item, const char *api, const char *listkind)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(item, "apiVersion", &v)) {
        v = json_object_new_string(api);
        if (!v || json_object_object_add(item, "apiVersion", v) != 0) {
            json_object_put(v);
            return KVG_ENOMEM;
        }
    }
    if (!json_object_object_get_ex(item, "kind", &v)) {
        v = json_object_new_string_len(listkind, (int)strlen(listkind) - 4);
        if (!v || json_object_object_add(item, "kind", v) != 0) {
            json_object_put(v);
            return KVG_ENOMEM;
        }
    }
    return KVG_OK;
}

static kvg_err load_list(loader *L, const objctx *c, json_object *list, const char *api,
                         const char *kind)
{
    static const char *const k_items[] = {"items", NULL};
    static const char *const k_item[] = {"apiVersion", "kind", "metadata", NULL};
    json_object *items = NULL;
    if (!json_object_object_get_ex(list, "items", &items) || !items)
        return KVG_OK; /* an empty List */
    if (!json_object_is_type(items, json_type_array))
        return fail(L, line_of(L, c->base, k_items, c->line), "", "items is not a list");
    bool typed = strcmp(kind, "List") != 0;
    size_t n = json_object_array_length(items);
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(items, i);
        char base[256], where[64];
        snprintf(base, sizeof base, "%s/items/%zu", c->base, i);
        snprintf(where, sizeof where, "items[%zu]: ", i);
        int line = kvg_yaml_line(L->docs, base);
        objctx ic = {base, where, line_of(L, base, k_item, line > 0 ? line : c->line)};
        if (!item || !json_object_is_type(item, json_type_object))
            return fail(L, ic.line, where, "not a mapping (a Kubernetes object)");
        if (typed) {
            kvg_err err = inherit_type(item, api, kind);
            if (err)
                return err;
        }
        kvg_err err = load_object(L, &ic, item);
        if (err)
            return err;
    }
    return KVG_OK;
}

static kvg_err load_doc(loader *L)
{
    const kvg_yaml_doc *doc = &L->docs->docs[L->di];
    if (!doc->obj)
        return KVG_OK; /* empty document */
    char base[32];
    snprintf(base, sizeof base, "/%d", doc->index);
    objctx c = {base, "", doc->line};
    if (!json_object_is_type(doc->obj, json_type_object))
        return fail(L, c.line, "", "not a mapping (a Kubernetes object)");
    const char *api = kvg_json_str(doc->obj, "apiVersion", NULL);
    const char *kind = kvg_json_str(doc->obj, "kind", NULL);
    if (api && kind && is_list_kind(kind, doc->obj))
        return load_list(L, &c, doc->obj, api, kind);
    return load_object(L, &c, doc->obj);
}

static kvg_err load_stream(loader *L, const char *text, size_t len, const char *name)
{
    kvg_yaml_docs docs = {0};
    kvg_err err = kvg_yaml_parse(text, len, name, &docs, L->d);
    if (err)
        return err;
    L->file = name;
    L->docs = &docs;
    for (L->di = 0; L->di < docs.count && err == KVG_OK; L->di++)
        err = load_doc(L);
    L->docs = NULL;
    kvg_yaml_docs_free(&docs);
    return err;
}

/* ---- commit --------------------------------------------------------------- */

static void mark_synced(kvg_store *s)
{
    const kvg_view *v = kvg_store_view(s);
    for (int k = 0; k < KVG_KIND_COUNT; k++)
        if (kvg_view_state(v, (kvg_kind)k) == KVG_KIND_UNSYNCED)
            kvg_store_set_state(s, (kvg_kind)k, KVG_KIND_SYNCED);
}

static kvg_err record_origins(loader *L)
{
    json_object *origins = kvg_store_origins(L->s);
    if (!origins)
        return KVG_ENOMEM;
    for (size_t i = 0; i < L->n; i++) {
        json_object *o = json_object_new_string(L->items[i].origin);
        if (!o || json_object_object_add(origins, L->items[i].key, o) != 0) {
            json_object_put(o);
            return KVG_ENOMEM;
        }
    }
    return KVG_OK;
}

/* Move every staged object into the store, a batch per kind; the loader is
 * empty afterwards. Origins are recorded last: they live as long as the
 * store, so they are allocated after the staged trees are gone. */
static kvg_err commit(loader *L)
{
    kvg_store_batch *batch[KVG_KIND_COUNT] = {0};
    kvg_err err = KVG_OK;
    for (int k = 0; k < KVG_KIND_COUNT && err == KVG_OK; k++)
        err = kvg_store_batch_begin(L->s, (kvg_kind)k, &batch[k]);
    for (size_t i = 0; i < L->n; i++) {
        json_object *obj = L->items[i].obj;
        L->items[i].obj = NULL;
        if (err == KVG_OK)
            err = kvg_store_batch_add(batch[L->items[i].kind], obj);
        else
            json_object_put(obj);
    }
    for (int k = 0; k < KVG_KIND_COUNT; k++) {
        if (err == KVG_OK)
            err = kvg_store_batch_merge(batch[k]);
        else
            kvg_store_batch_abort(batch[k]);
    }
    if (err == KVG_OK)
        err = record_origins(L);
    loader_free(L);
    if (err)
        return kvg_diag_set(L->d, err, "cluster view: %s", kvg_strerror(err));
    mark_synced(L->s);
    kvg_logf(KVG_LOG_DEBUG, "cluster.files.ignored",
             "%zu objects of kinds kvguard does not track were ignored", L->ignored);
    return KVG_OK;
}

kvg_err kvg_files_load_text(kvg_store *s, const char *text, size_t len, const char *name,
                            kvg_diag *d)
{
    if (!s || (!text && len))
        return kvg_diag_set(d, KVG_EINVAL, "kvg_files_load_text: no store or text");
    loader L;
    kvg_err err = loader_init(&L, s, d);
    if (err == KVG_OK)
        err = load_stream(&L, text ? text : "", len, name ? name : "<stream>");
    if (err) {
        loader_free(&L);
        return err;
    }
    return commit(&L);
}

/* ---- directory walk ------------------------------------------------------- */

typedef struct pathlist {
    char **v;
    size_t n, cap;
} pathlist;

static void pathlist_free(pathlist *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i]);
    free(p->v);
}

static kvg_err pathlist_add(pathlist *p, const char *path)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 32;
        char **v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return KVG_ENOMEM;
        p->v = v;
        p->cap = cap;
    }
    if (!(p->v[p->n] = strdup(path)))
        return KVG_ENOMEM;
    p->n++;
    return KVG_OK;
}

static bool is_manifest(const char *name)
{
    static const char *const exts[] = {".yaml", ".yml", ".json", NULL};
    size_t n = strlen(name);
    for (const char *const *e = exts; *e; e++) {
        size_t el = strlen(*e);
        if (n > el && strcmp(name + n - el, *e) == 0)
            return true;
    }
    return false;
}

/* Directories on the current descent path, to refuse symlink loops. */
typedef struct dirstack {
    dev_t dev[MAX_DEPTH];
    ino_t ino[MAX_DEPTH];
    int depth;
} dirstack;

static kvg_err walk(const char *dir, dirstack *ds, pathlist *out, kvg_diag *d);

static kvg_err walk_entry(const char *path, const char *name, dirstack *ds, pathlist *out,
                          kvg_diag *d)
{
    struct stat st;
    if (stat(path, &st) != 0) { /* follows symlinks */
        if (errno == ENOENT && lstat(path, &st) == 0)
            return kvg_diag_set(d, KVG_EIO, "%s: dangling symbolic link", path);
        return kvg_diag_set(d, KVG_EIO, "%s: %s", path, strerror(errno));
    }
    if (S_ISDIR(st.st_mode))
        return walk(path, ds, out, d);
    if (S_ISREG(st.st_mode) && is_manifest(name))
        return pathlist_add(out, path);
    return KVG_OK;
}

static kvg_err walk(const char *dir, dirstack *ds, pathlist *out, kvg_diag *d)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return kvg_diag_set(d, KVG_EIO, "%s: %s", dir, strerror(errno));
    for (int i = 0; i < ds->depth; i++)
        if (ds->dev[i] == st.st_dev && ds->ino[i] == st.st_ino)
            return kvg_diag_set(d, KVG_EINVAL, "%s: directory loop (symbolic link back to "
                                "a parent directory)", dir);
    if (ds->depth == MAX_DEPTH)
        return kvg_diag_set(d, KVG_EINVAL, "%s: directories nested deeper than %d", dir,
                            MAX_DEPTH);
    DIR *dh = opendir(dir);
    if (!dh)
        return kvg_diag_set(d, KVG_EIO, "%s: %s", dir, strerror(errno));
    ds->dev[ds->depth] = st.st_dev;
    ds->ino[ds->depth] = st.st_ino;
    ds->depth++;
    kvg_err err = KVG_OK;
    struct dirent *de;
    kvg_buf path;
    kvg_buf_init(&path, 8192);
    while (err == KVG_OK && (de = readdir(dh))) {
        if (de->d_name[0] == '.') /* ., .., hidden files, ConfigMap ..data */
            continue;
        kvg_buf_reset(&path);
        err = kvg_buf_printf(&path, "%s%s%s", dir,
                             dir[strlen(dir) - 1] == '/' ? "" : "/", de->d_name);
        if (err == KVG_ETOOBIG)
            err = kvg_diag_set(d, KVG_ETOOBIG, "%s/%s: path too long", dir, de->d_name);
        else if (err == KVG_OK)
            err = walk_entry(path.data, de->d_name, ds, out, d);
    }
    kvg_buf_free(&path);
    closedir(dh);
    ds->depth--;
    return err;
}

static int cmp_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static kvg_err load_file(loader *L, const char *path)
{
    kvg_buf b;
    kvg_buf_init(&b, 0);
    kvg_err err = kvg_buf_read_file(&b, path, L->d);
    if (err == KVG_OK)
        err = load_stream(L, b.data ? b.data : "", b.len, path);
    kvg_buf_free(&b);
    return err;
}

static kvg_err collect(const char *dir, pathlist *files, kvg_diag *d)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return kvg_diag_set(d, KVG_EIO, "cluster state %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) /* a single manifest file is fine too */
        return pathlist_add(files, dir);
    dirstack ds = {.depth = 0};
    kvg_err err = walk(dir, &ds, files, d);
    if (err == KVG_OK && files->n > 1)
        qsort(files->v, files->n, sizeof *files->v, cmp_paths);
    return err;
}

kvg_err kvg_files_load(const char *dir, kvg_store **out, kvg_diag *d)
{
    if (!dir || !out)
        return kvg_diag_set(d, KVG_EINVAL, "kvg_files_load: no directory");
    *out = NULL;
    pathlist files = {0};
    kvg_store *s = NULL;
    loader L = {0};
    kvg_err err = collect(dir, &files, d);
    if (err == KVG_OK && (err = kvg_store_new(&s)) != KVG_OK)
        kvg_diag_set(d, err, "cluster view: %s", kvg_strerror(err));
    if (err == KVG_OK)
        err = loader_init(&L, s, d);
    for (size_t i = 0; err == KVG_OK && i < files.n; i++)
        err = load_file(&L, files.v[i]);
    if (err == KVG_OK) {
        err = commit(&L);
        kvg_logf(KVG_LOG_DEBUG, "cluster.files.loaded", "%s: %zu files", dir, files.n);
    }
    loader_free(&L);
    pathlist_free(&files);
    if (err)
        kvg_store_free(s);
    else
        *out = s;
    kvg_heap_trim();
    return err;
}
