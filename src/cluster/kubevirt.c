/* Facts about KubeVirt and core objects (see kvguard/kubevirt.h). */
#include <string.h>

#include "kvguard/json.h"
#include "kvguard/kubevirt.h"

int kvg_vm_each_claim(const json_object *vm, kvg_claim_fn fn, void *ud)
{
    json_object *vols = kvg_json_array(vm, "spec", "template", "spec", "volumes", NULL);
    size_t n = vols ? json_object_array_length(vols) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(vols, i);
        const char *vname = kvg_json_str(v, "name", NULL);
        const char *claim = kvg_json_str(v, "persistentVolumeClaim", "claimName", NULL);
        if (!claim)
            claim = kvg_json_str(v, "dataVolume", "name", NULL);
        if (!claim)
            claim = kvg_json_str(v, "memoryDump", "claimName", NULL);
        if (!claim || !*claim)
            continue;
        int r = fn(claim, vname ? vname : "", ud);
        if (r)
            return r;
    }
    return 0;
}

static int claim_matches(const char *claim, const char *volume, void *ud)
{
    (void)volume;
    return !strcmp(claim, (const char *)ud);
}

bool kvg_vm_uses_claim(const json_object *vm, const char *claim)
{
    if (kvg_vm_each_claim(vm, claim_matches, (void *)claim))
        return true;
    json_object *dvts = kvg_json_array(vm, "spec", "dataVolumeTemplates", NULL);
    size_t n = dvts ? json_object_array_length(dvts) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = kvg_json_str(json_object_array_get_idx(dvts, i),
                                        "metadata", "name", NULL);
        if (name && !strcmp(name, claim))
            return true;
    }
    return false;
}

bool kvg_pod_live(const json_object *pod)
{
    const char *phase = kvg_json_str(pod, "status", "phase", NULL);
    return !phase || (strcmp(phase, "Succeeded") && strcmp(phase, "Failed"));
}

bool kvg_pod_uses_claim(const json_object *pod, const char *claim)
{
    json_object *vols = kvg_json_array(pod, "spec", "volumes", NULL);
    size_t n = vols ? json_object_array_length(vols) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *c = kvg_json_str(json_object_array_get_idx(vols, i),
                                     "persistentVolumeClaim", "claimName", NULL);
        if (c && !strcmp(c, claim))
            return true;
    }
    return false;
}

const json_object *kvg_owner_of_kind(const json_object *obj, const char *kind)
{
    json_object *refs = kvg_json_array(obj, "metadata", "ownerReferences", NULL);
    size_t n = refs ? json_object_array_length(refs) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *r = json_object_array_get_idx(refs, i);
        if (kvg_json_str_eq(r, "kind", kind))
            return r;
    }
    return NULL;
}

static const char *meta_str(const json_object *obj, const char *key)
{
    const char *s = kvg_json_str(obj, "metadata", key, NULL);
    return s ? s : "";
}

const char *kvg_obj_name(const json_object *obj) { return meta_str(obj, "name"); }
const char *kvg_obj_namespace(const json_object *obj) { return meta_str(obj, "namespace"); }
const char *kvg_obj_uid(const json_object *obj) { return meta_str(obj, "uid"); }

const char *kvg_obj_annotation(const json_object *obj, const char *key)
{
    return kvg_json_str(obj, "metadata", "annotations", key, NULL);
}

const char *kvg_obj_label(const json_object *obj, const char *key)
{
    return kvg_json_str(obj, "metadata", "labels", key, NULL);
}
