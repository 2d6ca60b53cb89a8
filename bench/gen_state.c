/* gen_state: the benchmark's cluster state and AdmissionReviews.
 *
 *   bench_gen_state OUT_DIR [OBJECTS]
 *
 * OUT_DIR/cluster/ receives the example cluster (examples/cluster, every
 * object as is) plus OUT_DIR/cluster/generated.json, a `kind: List` of at
 * least OBJECTS (default 10,000) more objects: copies of the example VMs'
 * files (VM, VMI, DataVolume, PVC, PV, ZFSVolume, virt-launcher pod,
 * snapshots), each copy under new names ("<name>-g<copy>") in one of 25
 * namespaces ("bench-<copy % 25>"), with its references rewritten so that
 * every copy is as consistent as the original.
 *
 * OUT_DIR/reviews/ receives the example AdmissionReviews (snapshot, restore,
 * clone, DataVolume) aimed at generated copies instead of the originals,
 * each in three sizes: as is (2-5 KB), ~20 KB and ~200 KB (a
 * kubectl last-applied-configuration annotation, as `kubectl apply` leaves
 * on large objects). One line per file on stdout: "<bytes> <path>". */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kvguard/buf.h"
#include "kvguard/json.h"

#define NAMESPACES 25
#define MAX_NAMES 64

/* The example files copied per VM; the rest of examples/cluster (storage,
 * restores) is shared by every copy. */
static const char *const GROUP_FILES[] = {
    "vms/larry.yaml",          "vms/vm-cirros.yaml",
    "vms/vm-alpine-datavolume.yaml", "vms/vm-alpine-multipvc.yaml",
    "vms/vm-fedora-zfs.yaml",  "vms/vm-ubuntu-zfs.yaml",
    "vms/vm-windows-clarge-windows.yaml",
};
#define N_GROUPS (sizeof GROUP_FILES / sizeof GROUP_FILES[0])

static const char *const REVIEWS[] = {
    "snapshot-zfs-vm-allowed.json",   "snapshot-hostpath-vm-denied.json",
    "restore-running-vm-denied.json", "clone-hostpath-vm-cdi.json",
    "datavolume-clone-empty-namespace.json",
};
#define N_REVIEWS (sizeof REVIEWS / sizeof REVIEWS[0])

typedef struct group {
    json_object *objs[64];
    size_t n;
    const char *names[MAX_NAMES]; /* metadata.name/uid strings to rename */
    size_t n_names;
} group;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "gen_state: %s: %s\n", what, detail);
    exit(2);
}

static void load_docs(const char *rel, kvg_yaml_docs *docs)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/examples/cluster/%s", KVG_SOURCE_DIR, rel);
    kvg_buf b;
    kvg_diag d = {{0}};
    kvg_buf_init(&b, 0);
    if (kvg_buf_read_file(&b, path, &d) ||
        kvg_yaml_parse_ex(b.data, b.len, path, false, docs, &d))
        die(path, d.msg);
    kvg_buf_free(&b);
}

static void add_name(group *g, const char *s)
{
    if (!s || !*s || g->n_names == MAX_NAMES)
        return;
    for (size_t i = 0; i < g->n_names; i++)
        if (!strcmp(g->names[i], s))
            return;
    g->names[g->n_names++] = s;
}

static void add_obj(group *g, json_object *o)
{
    if (g->n == sizeof g->objs / sizeof g->objs[0])
        return;
    g->objs[g->n++] = o;
    add_name(g, kvg_json_str(o, "metadata", "name", NULL));
    add_name(g, kvg_json_str(o, "metadata", "uid", NULL));
}

/* A VM's virt-launcher pods live in pods.yaml, named after the VM. */
static void add_pods(group *g, const kvg_yaml_docs *pods)
{
    json_object *items = kvg_json_path(pods->docs[0].obj, "items", NULL);
    size_t n_vm = g->n;
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        json_object *p = json_object_array_get_idx(items, i);
        const char *pn = kvg_json_str(p, "metadata", "name", NULL);
        for (size_t j = 0; pn && j < n_vm; j++) {
            char prefix[300];
            if (!kvg_json_str_eq(g->objs[j], "kind", "VirtualMachine"))
                continue;
            snprintf(prefix, sizeof prefix, "virt-launcher-%s-",
                     kvg_json_str(g->objs[j], "metadata", "name", NULL));
            if (!strncmp(pn, prefix, strlen(prefix)) &&
                !strchr(pn + strlen(prefix), '-'))
                add_obj(g, p);
        }
    }
}

/* Every quoted occurrence of a group name becomes "<name>-g<copy>"; the
 * namespace "vms" becomes "bench-<copy % 25>". Quoted-string matching keeps
 * references (claimName, volumeName, ownerReferences, labels) consistent. */
static char *rename_text(const char *text, const group *g, long copy)
{
    kvg_buf out;
    kvg_buf_init(&out, 0);
    const char *p = text;
    while (*p) {
        const char *q = strchr(p, '"');
        if (!q) {
            kvg_buf_puts(&out, p);
            break;
        }
        kvg_buf_append(&out, p, (size_t)(q - p));
        const char *end = strchr(q + 1, '"');
        if (!end) {
            kvg_buf_puts(&out, q);
            break;
        }
        size_t len = (size_t)(end - q - 1);
        bool done = false;
        if (len == 3 && !strncmp(q + 1, "vms", 3)) {
            kvg_buf_printf(&out, "\"bench-%ld\"", copy % NAMESPACES);
            done = true;
        }
        for (size_t i = 0; !done && i < g->n_names; i++)
            if (strlen(g->names[i]) == len && !strncmp(q + 1, g->names[i], len)) {
                kvg_buf_printf(&out, "\"%s-g%ld\"", g->names[i], copy);
                done = true;
            }
        if (!done)
            kvg_buf_append(&out, q, len + 2);
        p = end + 1;
    }
    return kvg_buf_steal(&out, NULL);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        die(path, strerror(errno));
    printf("%zu %s\n", strlen(text), path);
}

/* snprintf that refuses to truncate a path */
#define FMT(buf, ...)                                                         \
    do {                                                                      \
        if ((size_t)snprintf(buf, sizeof buf, __VA_ARGS__) >= sizeof buf)     \
            die("path too long", #buf);                                       \
    } while (0)

static void copy_tree(const char *src, const char *dst)
{
    char cmd[8192];
    FMT(cmd, "mkdir -p '%s' && cp -r '%s'/. '%s'/", dst, src, dst);
    if (system(cmd) != 0)
        die("cannot copy", src);
}

static const char *str_of(json_object *o)
{
    return json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static long generate_cluster(const char *dir, group *groups, long want)
{
    char path[4096];
    FMT(path, "%s/generated.json", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        die(path, strerror(errno));
    fputs("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[\n", f);
    long n = 0;
    for (long copy = 0; n < want; copy++) {
        const group *g = &groups[copy % (long)N_GROUPS];
        for (size_t i = 0; i < g->n; i++, n++) {
            char *t = rename_text(str_of(g->objs[i]), g, copy);
            fprintf(f, "%s%s\n", n ? "," : "", t);
            free(t);
        }
    }
    fputs("]}\n", f);
    if (fclose(f) != 0)
        die(path, strerror(errno));
    fprintf(stderr, "gen_state: %ld objects in %s\n", n, path);
    return n;
}

/* The group whose names the review mentions: its target VM, else its
 * source claim. */
static const group *group_of(const char *review, const group *groups)
{
    static const char *const kinds[] = {"VirtualMachine", "PersistentVolumeClaim"};
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < N_GROUPS; i++)
            for (size_t j = 0; j < groups[i].n; j++) {
                const json_object *o = groups[i].objs[j];
                if (!kvg_json_str_eq(o, "kind", kinds[k]))
                    continue;
                char quoted[300];
                snprintf(quoted, sizeof quoted, "\"%s\"",
                         kvg_json_str(o, "metadata", "name", NULL));
                if (strstr(review, quoted))
                    return &groups[i];
            }
    return NULL;
}

/* request.object gets a last-applied-configuration annotation that brings the
 * whole review to about target bytes. */
static char *padded(const char *text, size_t target)
{
    json_object *r = json_tokener_parse(text);
    json_object *meta = r ? kvg_json_path(r, "request", "object", "metadata", NULL) : NULL;
    if (!meta)
        die("review without request.object.metadata", "");
    json_object *ann = NULL;
    if (!json_object_object_get_ex(meta, "annotations", &ann) || !ann) {
        ann = json_object_new_object();
        json_object_object_add(meta, "annotations", ann);
    }
    /* the unit's 8 quotes of 40 bytes are escaped: 48 bytes on the wire */
    const char *unit = "{\"spec\":{\"template\":{\"spec\":{\"volumes\":[]}}}},";
    size_t have = strlen(text);
    size_t n = target > have + 64 ? (target - have - 64) * 40 / 48 : 16;
    char *pad = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        pad[i] = unit[i % strlen(unit)];
    pad[n] = '\0';
    json_object_object_add(ann, "kubectl.kubernetes.io/last-applied-configuration",
                           json_object_new_string(pad));
    free(pad);
    char *s = strdup(str_of(r));
    json_object_put(r);
    return s;
}

static void generate_reviews(const char *dir, const group *groups, long copies)
{
    for (size_t i = 0; i < N_REVIEWS; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/examples/reviews/%s", KVG_SOURCE_DIR, REVIEWS[i]);
        kvg_buf b;
        kvg_diag d = {{0}};
        kvg_buf_init(&b, 0);
        if (kvg_buf_read_file(&b, path, &d))
            die(path, d.msg);
        const group *g = group_of(b.data, groups);
        if (!g)
            die(path, "names no example VM");
        /* a copy of the right group, far from the first ones */
        long gi = g - groups, copy = (copies / 2 / (long)N_GROUPS) * (long)N_GROUPS + gi;
        char *t = rename_text(b.data, g, copy);
        static const size_t sizes[] = {0, 20000, 200000};
        for (size_t s = 0; s < 3; s++) {
            char *body = sizes[s] ? padded(t, sizes[s]) : strdup(t);
            char out[4096], base[256];
            snprintf(base, sizeof base, "%.*s", (int)(strlen(REVIEWS[i]) - 5), REVIEWS[i]);
            FMT(out, "%s/%s-%s.json", dir, base,
                     s == 0 ? "small" : s == 1 ? "20k" : "200k");
            write_file(out, body);
            free(body);
        }
        free(t);
        kvg_buf_free(&b);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench_gen_state OUT_DIR [OBJECTS]\n");
        return 2;
    }
    long want = argc == 3 ? atol(argv[2]) : 10000;
    char cluster[4096], reviews[4096], src[4096];
    snprintf(cluster, sizeof cluster, "%s/cluster", argv[1]);
    snprintf(reviews, sizeof reviews, "%s/reviews", argv[1]);
    snprintf(src, sizeof src, "%s/examples/cluster", KVG_SOURCE_DIR);
    copy_tree(src, cluster);
    if (mkdir(reviews, 0755) != 0 && errno != EEXIST)
        die(reviews, strerror(errno));
    kvg_yaml_docs docs[N_GROUPS], pods;
    group groups[N_GROUPS];
    memset(groups, 0, sizeof groups);
    load_docs("vms/pods.yaml", &pods);
    for (size_t i = 0; i < N_GROUPS; i++) {
        load_docs(GROUP_FILES[i], &docs[i]);
        for (size_t j = 0; j < docs[i].count; j++)
            add_obj(&groups[i], docs[i].docs[j].obj);
        add_pods(&groups[i], &pods);
    }
    long n = generate_cluster(cluster, groups, want);
    long copies = 0;
    for (long k = 0, c = 0; c < n; k++, copies++)
        c += (long)groups[k % (long)N_GROUPS].n;
    generate_reviews(reviews, groups, copies);
    for (size_t i = 0; i < N_GROUPS; i++)
        kvg_yaml_docs_free(&docs[i]);
    kvg_yaml_docs_free(&pods);
    return 0;
}
