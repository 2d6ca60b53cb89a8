/* kvguard: strip from cluster objects what nobody reads, before they are
 * stored. The exact list of what survives is documented in view.h (the policy
 * and reconciler code relies on it); keep the two in sync.
 *
 * Why: json-c spends roughly 0.7 KiB per JSON object (every object node owns
 * a 16-slot hash table), so managedFields alone (often the largest part of an
 * object read from the apiserver) would dominate the cache, and Pods, by far
 * the most numerous kind, are only needed for "who uses this claim". */
#include <string.h>

#include <json-c/linkhash.h>

#include "kvguard/json.h"
#include "kvguard/view.h"

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

static void strip_common(json_object *obj)
{
    /* kvg_json_path does not check the type of the last step, and
     * json_object_object_del asserts an object (found by fuzzing:
     * "annotations: text" in a state file). */
    json_object *meta = kvg_json_path(obj, "metadata", NULL);
    if (!meta || !json_object_is_type(meta, json_type_object))
        return;
    json_object_object_del(meta, "managedFields");
    json_object *ann = kvg_json_path(meta, "annotations", NULL);
    if (ann && json_object_is_type(ann, json_type_object))
        json_object_object_del(ann, LAST_APPLIED);
}

static bool in_list(const char *key, const char *const *keep)
{
    for (; *keep; keep++)
        if (strcmp(key, *keep) == 0)
            return true;
    return false;
}

/* Delete every key of o for which doomed(key, ud) holds. */
static void delete_keys(json_object *o, bool (*doomed)(const char *key, const void *ud),
                        const void *ud)
{
    if (!o || !json_object_is_type(o, json_type_object))
        return;
    /* Deleting while iterating a json-c object is not allowed: find one,
     * delete it, look again. Objects are small here. */
    for (;;) {
        const char *victim = NULL;
        json_object_object_foreach(o, key, val)
        {
            (void)val;
            if (doomed(key, ud)) {
                victim = key;
                break;
            }
        }
        if (!victim)
            return;
        json_object_object_del(o, victim);
    }
}

static bool not_kept(const char *key, const void *keep)
{
    return !in_list(key, keep);
}

/* Delete every key of o not in keep (NULL-terminated). */
static void keep_only(json_object *o, const char *const *keep)
{
    delete_keys(o, not_kept, keep);
}

/* spec.volumes: keep only claim-backed volumes, reduced to name + source. */
static void prune_pod_volumes(json_object *spec)
{
    json_object *vols = kvg_json_array(spec, "volumes", NULL);
    if (!vols)
        return;
    static const char *const keep[] = {"name", "persistentVolumeClaim", "dataVolume", NULL};
    json_object *kept = json_object_new_array();
    if (!kept) /* out of memory: leave the volumes as they are */
        return;
    size_t n = json_object_array_length(vols);
    for (size_t i = 0; i < n; i++) {
        json_object *vol = json_object_array_get_idx(vols, i);
        if (!kvg_json_path(vol, "persistentVolumeClaim", NULL) &&
            !kvg_json_path(vol, "dataVolume", NULL))
            continue;
        keep_only(vol, keep);
        if (json_object_array_add(kept, json_object_get(vol)) != 0)
            json_object_put(vol);
    }
    json_object_object_add(spec, "volumes", kept);
}

static void prune_pod(json_object *pod)
{
    static const char *const top[] = {"apiVersion", "kind", "metadata", "spec", "status",
                                      NULL};
    static const char *const meta[] = {"name",   "namespace",       "uid",
                                       "labels", "ownerReferences", "deletionTimestamp",
                                       NULL};
    static const char *const spec[] = {"nodeName", "volumes", NULL};
    static const char *const status[] = {"phase", NULL};
    keep_only(pod, top);
    keep_only(kvg_json_path(pod, "metadata", NULL), meta);
    json_object *sp = kvg_json_path(pod, "spec", NULL);
    keep_only(sp, spec);
    if (sp)
        prune_pod_volumes(sp);
    keep_only(kvg_json_path(pod, "status", NULL), status);
}

/* A VMI is read for its owner, its phase and its conditions (power state,
 * guest agent); its status otherwise repeats the VM's spec and the guest's
 * network, OS and migration details, and changes with every heartbeat. */
static void prune_vmi(json_object *vmi)
{
    static const char *const top[] = {"apiVersion", "kind", "metadata", "status", NULL};
    static const char *const status[] = {"phase", "conditions", NULL};
    keep_only(vmi, top);
    keep_only(kvg_json_path(vmi, "status", NULL), status);
}

/* CDI's progress bookkeeping on the claims it fills (import pod state,
 * condition mirrors, populator progress): a third of a typical claim, never
 * read. Its content type and everything else stay. */
static bool cdi_chatter(const char *key, const void *ud)
{
    static const char *const prefixes[] = {
        "cdi.kubevirt.io/storage.condition.", "cdi.kubevirt.io/storage.pod.",
        "cdi.kubevirt.io/storage.import.", "cdi.kubevirt.io/storage.populator.", NULL};
    (void)ud;
    for (const char *const *p = prefixes; *p; p++)
        if (strncmp(key, *p, strlen(*p)) == 0)
            return true;
    return false;
}

static void prune_pvc(json_object *pvc)
{
    delete_keys(kvg_json_path(pvc, "metadata", "annotations", NULL), cdi_chatter, NULL);
}

/* json-c gives every object a 16-slot hash table (~0.7 KiB) and every array
 * 32 slots, whatever they hold; cached objects never grow again, so shrink
 * both to fit. lh_table_resize() is declared in json-c's public linkhash.h.
 * The new size keeps every insert below json-c's load factor (0.66): a resize
 * triggered from inside lh_table_resize would leave the table inconsistent. */
static void compact(json_object *o, int depth)
{
    if (depth > 64) /* the YAML loader and the apiserver cap nesting anyway */
        return;
    if (json_object_is_type(o, json_type_array)) {
        size_t n = json_object_array_length(o);
        for (size_t i = 0; i < n; i++)
            compact(json_object_array_get_idx(o, i), depth + 1);
        json_object_array_shrink(o, 0);
        return;
    }
    if (!json_object_is_type(o, json_type_object))
        return;
    json_object_object_foreach(o, key, val)
    {
        (void)key;
        compact(val, depth + 1);
    }
    struct lh_table *t = json_object_get_object(o);
    int count = lh_table_length(t);
    int want = count + count / 2 + 2;
    if (want < t->size)
        lh_table_resize(t, want); /* on ENOMEM the old table stays */
}

void kvg_prune_object(kvg_kind kind, json_object *obj)
{
    if (!obj || !json_object_is_type(obj, json_type_object))
        return;
    strip_common(obj);
    if (kind == KVG_KIND_POD)
        prune_pod(obj);
    else if (kind == KVG_KIND_VMI)
        prune_vmi(obj);
    else if (kind == KVG_KIND_PVC)
        prune_pvc(obj);
    compact(obj, 0);
}
