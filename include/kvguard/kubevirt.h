/* kvguard: facts about KubeVirt and core objects, shared by the policy
 * engine, the reconciler and the audit report. Pure functions over json-c
 * objects (typed getters only: the objects may be shared view objects). */
#ifndef KVGUARD_KUBEVIRT_H
#define KVGUARD_KUBEVIRT_H

#include <stdbool.h>

#include <json-c/json.h>

#include "kvguard/view.h"

/* Calls fn(claim, volume_name, ud) for every volume of a VirtualMachine that
 * is backed by a claim: persistentVolumeClaim.claimName, dataVolume.name (a
 * DataVolume's claim has its name) and memoryDump.claimName. Stops when fn
 * returns non-zero and returns that value. */
typedef int (*kvg_claim_fn)(const char *claim, const char *volume, void *ud);
int kvg_vm_each_claim(const json_object *vm, kvg_claim_fn fn, void *ud);
/* The VM references the claim in a volume or as a dataVolumeTemplate name. */
bool kvg_vm_uses_claim(const json_object *vm, const char *claim);
/* A pod that is neither Succeeded nor Failed. */
bool kvg_pod_live(const json_object *pod);
bool kvg_pod_uses_claim(const json_object *pod, const char *claim);
/* The ownerReference of the given kind, or NULL. */
const json_object *kvg_owner_of_kind(const json_object *obj, const char *kind);
/* metadata.name / metadata.namespace / metadata.uid, or "" when missing. */
const char *kvg_obj_name(const json_object *obj);
const char *kvg_obj_namespace(const json_object *obj);
const char *kvg_obj_uid(const json_object *obj);
/* metadata.annotations[key] or metadata.labels[key], NULL when missing. */
const char *kvg_obj_annotation(const json_object *obj, const char *key);
const char *kvg_obj_label(const json_object *obj, const char *key);

/* ---- power state (SPEC §5; src/policy/power.c) ---------------------------- */

typedef struct kvg_power {
    bool on;
    const char *intent;    /* "runStrategy: Always", "running: true", ... */
    const char *vmi_phase; /* NULL when there is no VMI, borrowed otherwise */
    char why[160];         /* one phrase, for messages and --explain */
} kvg_power;

/* Pure: a VM (may be NULL: then only the VMI counts) and its VMI (NULL when
 * none exists). */
void kvg_power_state(const json_object *vm, const json_object *vmi,
                     kvg_power *out);
/* Same, looking the VMI (same namespace and name) up in the view. */
void kvg_vm_power(const kvg_view *v, const json_object *vm, kvg_power *out);

#endif
