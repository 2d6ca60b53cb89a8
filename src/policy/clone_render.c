/* SPEC §6: render the target VirtualMachine of a CDI-copy clone. Pure: reads
 * the source VM, the clone and the view, builds a new object. */
#include "kvguard/clone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/json.h"
#include "policy/filters.h"
#include "policy/patch.h"

#define K8S_NAME_MAX 253
#define LABEL_VALUE_MAX 63
#define MAX_PATCHES 1024

/* ---- names ------------------------------------------------------------------ */

/* k8s.io/apimachinery/pkg/util/rand: no vowels, no confusable digits. */
static const char NAME_ALPHABET[] = "bcdfghjklmnpqrstvwxz2456789";

kvg_err kvg_clone_target_name(const char *source_name, const char *seed,
                              char *buf, size_t len)
{
    if (!source_name || !buf)
        return KVG_EINVAL;
    /* FNV-1a: a stable spread of the seed over the 5 characters */
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = seed ? seed : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    char suffix[6];
    for (int i = 0; i < 5; i++) {
        suffix[i] = NAME_ALPHABET[h % (sizeof NAME_ALPHABET - 1)];
        h /= sizeof NAME_ALPHABET - 1;
    }
    suffix[5] = '\0';
    /* KubeVirt: generateNameWithRandomSuffix(source, "clone") */
    const char *base = strlen(source_name) + strlen("-clone") > 252 ? "clone-object" : NULL;
    int n = base ? snprintf(buf, len, "%s-%s", base, suffix)
                 : snprintf(buf, len, "%s-clone-%s", source_name, suffix);
    return n < 0 || (size_t)n >= len ? KVG_EINVAL : KVG_OK;
}

static int hex2(const char *p)
{
    int v = 0;
    for (int i = 0; i < 2; i++) {
        char c = p[i];
        int x = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
        if (x < 0)
            return -1;
        v = v * 16 + x;
    }
    return v;
}

bool kvg_clone_mac_valid(const char *mac)
{
    if (!mac)
        return false;
    size_t n = strlen(mac);
    if (n == 0)
        return true;
    /* Go's ParseMAC also takes 8 and 20 octets; KubeVirt then refuses > 6 */
    if (n == 17 && (mac[2] == ':' || mac[2] == '-')) {
        for (size_t i = 0; i < 17; i += 3)
            if (hex2(mac + i) < 0 || (i + 2 < 17 && mac[i + 2] != mac[2]))
                return false;
        return true;
    }
    if (n == 14 && mac[4] == '.') {
        for (size_t i = 0; i < 14; i += 5)
            if (hex2(mac + i) < 0 || hex2(mac + i + 2) < 0 || (i + 4 < 14 && mac[i + 4] != '.'))
                return false;
        return true;
    }
    return false;
}

/* A valid MAC in libvirt's form (lowercase, colons): KubeVirt accepts the
 * dashed and dotted forms in a VM but hands the string on unchanged. */
static void mac_canonical(const char *mac, char out[18])
{
    int k = 0;
    for (const char *p = mac; *p && k < 12; p++) {
        char c = *p;
        if (c == ':' || c == '-' || c == '.')
            continue;
        out[k / 2 * 3 + k % 2] = (char)(c | ((c >= 'A' && c <= 'F') ? 0x20 : 0));
        k++;
    }
    for (int i = 2; i < 17; i += 3)
        out[i] = ':';
    out[17] = '\0';
}

static bool valid_label_value(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > LABEL_VALUE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && ((i == 0 || i == n - 1) || (c != '-' && c != '_' && c != '.')))
            return false;
    }
    return true;
}

/* ---- the rendering ---------------------------------------------------------- */

typedef struct render {
    const kvg_view *view;
    const char *ns;             /* the source's namespace */
    const json_object *spec;    /* the clone's spec */
    char target[K8S_NAME_MAX + 1];
    json_object *vm;            /* the output being built */
    json_object *dvts;          /* its dataVolumeTemplates */
    kvg_diag *d;
} render;

static kvg_err oom(void)
{
    return KVG_ENOMEM;
}

/* Keep only the keys of map (owned, modifiable) that the filters keep. */
static kvg_err filter_map(json_object *map, const json_object *filters)
{
    if (!json_object_is_type(map, json_type_object) || !filters)
        return KVG_OK;
    kvg_filter_set *fs = NULL;
    if (kvg_filter_set_compile(filters, &fs) != KVG_OK)
        return oom();
    size_t n = (size_t)json_object_object_length(map), k = 0;
    char **drop = calloc(n + 1, sizeof *drop);
    kvg_err e = drop ? KVG_OK : KVG_ENOMEM;
    if (drop) {
        json_object_object_foreach(map, key, val) {
            (void)val;
            if (!kvg_filter_set_keep(fs, key) && !(drop[k++] = strdup(key)))
                e = KVG_ENOMEM;
        }
        for (size_t i = 0; i < k; i++) {
            if (drop[i])
                json_object_object_del(map, drop[i]);
            free(drop[i]);
        }
    }
    free(drop);
    kvg_filter_set_free(fs);
    return e;
}

/* "<target>-<volume>", cut to a valid length (a hash keeps cut names apart). */
static void dv_name(const render *r, const char *volume, char out[K8S_NAME_MAX + 1])
{
    int n = snprintf(out, K8S_NAME_MAX + 1, "%s-%s", r->target, volume);
    if (n > K8S_NAME_MAX) {
        uint32_t h = 2166136261u;
        for (const char *p = volume; *p; p++)
            h = (h ^ (unsigned char)*p) * 16777619u;
        snprintf(out + K8S_NAME_MAX - 9, 10, "-%08x", h);
    }
}

/* Fills t (a new, empty object) with the dataVolumeTemplates entry cloning
 * one source claim. Keys are added in output order. */
static kvg_err dv_template(render *r, const char *name, const char *claim,
                           const json_object *pvc, json_object *t)
{
    json_object *meta = kvg_json_child(t, "metadata");
    json_object *spec = kvg_json_child(t, "spec");
    json_object *spvc = kvg_json_child(kvg_json_child(spec, "source"), "pvc");
    json_object *storage = kvg_json_child(spec, "storage");
    json_object *modes = NULL;
    kvg_err e;
    if (!storage) /* every set on it below is optional: none would fail */
        return oom();
    if ((e = kvg_json_set_str(meta, "name", name)) ||
        /* A WaitForFirstConsumer target would wait for the (halted) VM
         * forever: let CDI's clone pods be the first consumer. No-op on
         * Immediate classes. */
        (e = kvg_json_set_str(kvg_json_child(meta, "annotations"),
                              "cdi.kubevirt.io/storage.bind.immediate.requested", "true")) ||
        (e = kvg_json_set_str(spvc, "namespace", r->ns)) ||
        (e = kvg_json_set_str(spvc, "name", claim)) ||
        (e = kvg_json_copy(kvg_json_array(pvc, "spec", "accessModes", NULL), &modes)) ||
        (modes && (e = kvg_json_set(storage, "accessModes", modes))))
        return e;
    const char *vm_mode = kvg_json_str(pvc, "spec", "volumeMode", NULL);
    const char *sc = kvg_json_str(pvc, "spec", "storageClassName", NULL);
    if ((vm_mode && (e = kvg_json_set_str(storage, "volumeMode", vm_mode))) ||
        (sc && (e = kvg_json_set_str(storage, "storageClassName", sc))))
        return e;
    const char *size = kvg_json_str(pvc, "status", "capacity", "storage", NULL);
    if (!size)
        size = kvg_json_str(pvc, "spec", "resources", "requests", "storage", NULL);
    if (size) /* else CDI sizes the clone from its source */
        e = kvg_json_set_str(kvg_json_child(kvg_json_child(storage, "resources"), "requests"),
                             "storage", size);
    return e;
}

/* Point one claim volume at a new DataVolume; memoryDump volumes go away. */
static kvg_err rewrite_volume(render *r, json_object *vol, size_t idx, bool *drop)
{
    *drop = false;
    if (!json_object_is_type(vol, json_type_object))
        return kvg_diag_set(r->d, KVG_EINVAL, "source VM volume #%zu is not an object", idx);
    if (json_object_object_get_ex(vol, "memoryDump", NULL)) {
        *drop = true;
        return KVG_OK;
    }
    const char *type = json_object_object_get_ex(vol, "persistentVolumeClaim", NULL)
                           ? "persistentVolumeClaim"
                           : json_object_object_get_ex(vol, "dataVolume", NULL) ? "dataVolume" : NULL;
    if (!type)
        return KVG_OK; /* containerDisk, cloudInit*, ...: copied as they are */
    const char *name = kvg_json_str(vol, "name", NULL);
    const char *claim = kvg_json_str(vol, type, !strcmp(type, "dataVolume") ? "name" : "claimName", NULL);
    if (!name || !*name)
        return kvg_diag_set(r->d, KVG_EINVAL, "source VM volume #%zu has no name", idx);
    if (!claim || !*claim)
        return kvg_diag_set(r->d, KVG_EINVAL, "source VM volume %s: %s names no claim", name, type);
    const json_object *pvc = kvg_view_get(r->view, KVG_KIND_PVC, r->ns, claim);
    if (!pvc)
        return kvg_diag_set(r->d, KVG_EINVAL,
                            "volume %s: PersistentVolumeClaim %s/%s is not in the cluster view "
                            "(a CDI clone copies it)", name, r->ns, claim);
    char dvn[K8S_NAME_MAX + 1];
    dv_name(r, name, dvn);
    json_object *t = json_object_new_object();
    kvg_err e = kvg_json_push(r->dvts, t); /* then filled: dvts owns it */
    if (e == KVG_OK)
        e = dv_template(r, dvn, claim, pvc, t);
    if (e != KVG_OK)
        return e;
    bool hotplug = kvg_json_bool(false, vol, type, "hotpluggable", NULL);
    json_object_object_del(vol, type);
    json_object *dv = kvg_json_child(vol, "dataVolume");
    if ((e = kvg_json_set_str(dv, "name", dvn)) == KVG_OK && hotplug)
        e = kvg_json_set(dv, "hotpluggable", json_object_new_boolean(true));
    return e;
}

static kvg_err rewrite_volumes(render *r, json_object *tspec)
{
    json_object *vols = NULL;
    if (!json_object_object_get_ex(tspec, "volumes", &vols) || !vols)
        return KVG_OK;
    if (!json_object_is_type(vols, json_type_array))
        return kvg_diag_set(r->d, KVG_EINVAL, "source VM spec.template.spec.volumes is not a list");
    for (size_t i = json_object_array_length(vols); i-- > 0;) {
        bool drop;
        kvg_err e = rewrite_volume(r, json_object_array_get_idx(vols, i), i, &drop);
        if (e != KVG_OK)
            return e;
        if (drop)
            json_object_array_del_idx(vols, i, 1);
    }
    /* templates were appended last volume first */
    size_t n = json_object_array_length(r->dvts);
    for (size_t i = 0; i < n / 2; i++) {
        json_object *a = json_object_get(json_object_array_get_idx(r->dvts, i));
        json_object *b = json_object_get(json_object_array_get_idx(r->dvts, n - 1 - i));
        json_object_array_put_idx(r->dvts, i, b);
        json_object_array_put_idx(r->dvts, n - 1 - i, a);
    }
    return KVG_OK;
}

/* KubeVirt's identity stripping: MACs, SMBIOS serial, firmware UUID. */
static kvg_err strip_identity(render *r, json_object *tspec)
{
    json_object *macs = kvg_json_path(r->spec, "newMacAddresses", NULL);
    if (macs && !json_object_is_type(macs, json_type_object))
        return kvg_diag_set(r->d, KVG_EINVAL, "spec.newMacAddresses is not a map");
    if (macs) {
        json_object_object_foreach(macs, iname, ival) {
            const char *mac = kvg_json_as_str(ival);
            if (!mac || !kvg_clone_mac_valid(mac))
                return kvg_diag_set(r->d, KVG_EINVAL,
                                    "spec.newMacAddresses: interface %s has malformed MAC address (%s)",
                                    iname, mac ? mac : "not a string");
        }
    }
    json_object *ifaces = kvg_json_array(tspec, "domain", "devices", "interfaces", NULL);
    size_t n = ifaces ? json_object_array_length(ifaces) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *iface = json_object_array_get_idx(ifaces, i);
        if (!json_object_is_type(iface, json_type_object))
            continue;
        const char *name = kvg_json_str(iface, "name", NULL);
        const char *mac = name ? kvg_json_str(r->spec, "newMacAddresses", name, NULL) : NULL;
        if (mac && *mac) {
            char canon[18];
            mac_canonical(mac, canon);
            kvg_err e = kvg_json_set_str(iface, "macAddress", canon);
            if (e != KVG_OK)
                return e;
        } else {
            json_object_object_del(iface, "macAddress");
        }
    }
    json_object *domain = kvg_json_path(tspec, "domain", NULL);
    json_object *fw = kvg_json_path(tspec, "domain", "firmware", NULL);
    if (fw && !json_object_is_type(fw, json_type_object))
        return kvg_diag_set(r->d, KVG_EINVAL, "source VM spec.template.spec.domain.firmware is not an object");
    if (!json_object_is_type(domain, json_type_object))
        domain = NULL;
    const char *serial = kvg_json_str(r->spec, "newSMBiosSerial", NULL);
    if (!fw && serial && *serial && domain) {
        /* KubeVirt skips a VM without firmware; the asked-for serial is kept */
        if (!(fw = kvg_json_child(domain, "firmware")))
            return oom();
    }
    if (!fw)
        return KVG_OK;
    json_object_object_del(fw, "uuid");
    if (serial && *serial)
        return kvg_json_set_str(fw, "serial", serial);
    json_object_object_del(fw, "serial");
    return KVG_OK;
}

static kvg_err apply_patches(render *r)
{
    json_object *list = NULL;
    if (!json_object_object_get_ex((json_object *)r->spec, "patches", &list) || !list)
        return KVG_OK;
    if (!json_object_is_type(list, json_type_array))
        return kvg_diag_set(r->d, KVG_EINVAL, "spec.patches is not a list of strings");
    size_t n = json_object_array_length(list);
    if (n > MAX_PATCHES)
        return kvg_diag_set(r->d, KVG_EINVAL, "spec.patches has %zu entries (at most %d)", n, MAX_PATCHES);
    json_object *ops = json_object_new_array();
    if (!ops)
        return oom();
    kvg_err e = KVG_OK;
    for (size_t i = 0; i < n && e == KVG_OK; i++) {
        const char *text = kvg_json_as_str(json_object_array_get_idx(list, i));
        json_object *op = NULL;
        if (!text)
            e = kvg_diag_set(r->d, KVG_EINVAL, "spec.patches[%zu] is not a string", i);
        else if ((e = kvg_json_parse(text, strlen(text), 16, &op, r->d)) != KVG_OK)
            e = KVG_EINVAL;
        else if ((e = kvg_patch_check_op(op, r->d)) != KVG_OK)
            json_object_put(op);
        else
            e = kvg_json_push(ops, op);
        if (e == KVG_EINVAL)
            kvg_diag_prefix(r->d, "spec.patches[%zu]: not a JSON patch operation", i);
    }
    if (e == KVG_OK && (e = kvg_patch_apply(&r->vm, ops, r->d)) == KVG_EINVAL)
        kvg_diag_prefix(r->d, "spec.patches do not apply to the target VM");
    json_object_put(ops);
    return e;
}

static kvg_err build_metadata(render *r, const json_object *src_meta)
{
    json_object *meta = kvg_json_child(r->vm, "metadata");
    json_object *labels = NULL, *ann = NULL;
    kvg_err e;
    if ((e = kvg_json_set_str(meta, "name", r->target)) ||
        (e = kvg_json_set_str(meta, "namespace", r->ns)) ||
        (e = kvg_json_copy(kvg_json_path(src_meta, "labels", NULL), &labels)) ||
        (labels && (e = kvg_json_set(meta, "labels", labels))) ||
        (e = kvg_json_copy(kvg_json_path(src_meta, "annotations", NULL), &ann)) ||
        (ann && (e = kvg_json_set(meta, "annotations", ann))))
        return e;
    if (json_object_is_type(ann, json_type_object)) {
        /* Both describe the source object, not the clone: an old restore's
         * uid, and what `kubectl apply` last sent for the source. */
        json_object_object_del(ann, "restore.kubevirt.io/lastRestoreUID");
        json_object_object_del(ann, "kubectl.kubernetes.io/last-applied-configuration");
    }
    e = filter_map(labels, kvg_json_path(r->spec, "labelFilters", NULL));
    if (e == KVG_OK)
        e = filter_map(ann, kvg_json_path(r->spec, "annotationFilters", NULL));
    return e;
}

/* After the user's patches, so that they cannot unlink the VM by accident. */
static kvg_err link_to_clone(render *r, const char *clone_name)
{
    if (!clone_name || !*clone_name)
        return KVG_OK;
    json_object *meta = kvg_json_path(r->vm, "metadata", NULL);
    if (!meta)
        return kvg_diag_set(r->d, KVG_EINVAL, "spec.patches removed the target's metadata");
    const char *keys[] = {"labels", "annotations"};
    for (int i = 0; i < 2; i++) {
        if (i == 0 && !valid_label_value(clone_name))
            continue;
        json_object *map = kvg_json_path(meta, keys[i], NULL);
        if (!json_object_is_type(map, json_type_object))
            map = kvg_json_child(meta, keys[i]); /* NULL: fails below */
        kvg_err e = kvg_json_set_str(map, KVG_CLONE_NAME_KEY, clone_name);
        if (e != KVG_OK)
            return e;
    }
    return KVG_OK;
}

static kvg_err build_spec(render *r, const json_object *src_spec)
{
    json_object *spec = NULL;
    kvg_err e;
    if ((e = kvg_json_copy(src_spec, &spec)) || (e = kvg_json_set(r->vm, "spec", spec)))
        return e;
    json_object_object_del(spec, "running");
    json_object_object_del(spec, "dataVolumeTemplates");
    if ((e = kvg_json_set_str(spec, "runStrategy", "Halted")))
        return e;
    /* ControllerRevisions belong to the source VM: let KubeVirt make new ones */
    const char *refs[] = {"instancetype", "preference"};
    for (int i = 0; i < 2; i++) {
        json_object *ref = kvg_json_path(spec, refs[i], NULL);
        if (json_object_is_type(ref, json_type_object))
            json_object_object_del(ref, "revisionName");
    }

    json_object *tmpl = kvg_json_path(spec, "template", NULL);
    json_object *tspec = kvg_json_path(tmpl, "spec", NULL);
    if (!json_object_is_type(tspec, json_type_object))
        return kvg_diag_set(r->d, KVG_EINVAL, "source VM has no spec.template.spec");
    json_object *tmeta = kvg_json_path(tmpl, "metadata", NULL);
    e = filter_map(kvg_json_path(tmeta, "labels", NULL),
                   kvg_json_path(r->spec, "template", "labelFilters", NULL));
    if (e == KVG_OK)
        e = filter_map(kvg_json_path(tmeta, "annotations", NULL),
                       kvg_json_path(r->spec, "template", "annotationFilters", NULL));
    if (e == KVG_OK)
        e = rewrite_volumes(r, tspec);
    if (e == KVG_OK)
        e = strip_identity(r, tspec);
    if (e == KVG_OK && json_object_array_length(r->dvts) > 0)
        e = kvg_json_set(spec, "dataVolumeTemplates", json_object_get(r->dvts));
    return e;
}

kvg_err kvg_clone_render(const kvg_view *view, const json_object *source_vm,
                         const json_object *clone, json_object **out, kvg_diag *d)
{
    if (!view || !out)
        return kvg_diag_set(d, KVG_EINVAL, "kvg_clone_render: NULL argument");
    *out = NULL;
    render r = {.view = view, .d = d};
    const char *src_name = kvg_json_str(source_vm, "metadata", "name", NULL);
    r.ns = kvg_json_str(source_vm, "metadata", "namespace", NULL);
    r.spec = kvg_json_path(clone, "spec", NULL);
    if (!src_name || !*src_name || !r.ns || !*r.ns)
        return kvg_diag_set(d, KVG_EINVAL, "source VM has no metadata.name or metadata.namespace");
    if (!json_object_is_type(kvg_json_path(source_vm, "spec", NULL), json_type_object))
        return kvg_diag_set(d, KVG_EINVAL, "source VM %s/%s has no spec", r.ns, src_name);
    if (!json_object_is_type((json_object *)r.spec, json_type_object))
        return kvg_diag_set(d, KVG_EINVAL, "VirtualMachineClone has no spec");

    const char *target = kvg_json_str(r.spec, "target", "name", NULL);
    if (target && *target) {
        if (strlen(target) > K8S_NAME_MAX)
            return kvg_diag_set(d, KVG_EINVAL, "spec.target.name is longer than %d characters", K8S_NAME_MAX);
        snprintf(r.target, sizeof r.target, "%s", target);
    } else {
        const char *seed = kvg_json_str(clone, "metadata", "uid", NULL);
        if (!seed || !*seed)
            seed = kvg_json_str(clone, "metadata", "name", NULL);
        if (kvg_clone_target_name(src_name, seed, r.target, sizeof r.target) != KVG_OK)
            return kvg_diag_set(d, KVG_EINVAL, "cannot name the target of a clone of %s", src_name);
    }

    r.vm = json_object_new_object();
    r.dvts = json_object_new_array();
    kvg_err e = r.dvts ? KVG_OK : oom();
    if (e == KVG_OK && (e = kvg_json_set_str(r.vm, "apiVersion", "kubevirt.io/v1")) == KVG_OK)
        e = kvg_json_set_str(r.vm, "kind", "VirtualMachine");
    if (e == KVG_OK)
        e = build_metadata(&r, kvg_json_path(source_vm, "metadata", NULL));
    if (e == KVG_OK)
        e = build_spec(&r, kvg_json_path(source_vm, "spec", NULL));
    if (e == KVG_OK)
        e = apply_patches(&r);
    if (e == KVG_OK)
        e = link_to_clone(&r, kvg_json_str(clone, "metadata", "name", NULL));
    json_object_put(r.dvts);
    if (e != KVG_OK) {
        json_object_put(r.vm);
        return e;
    }
    *out = r.vm;
    return KVG_OK;
}
