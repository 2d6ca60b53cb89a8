/* kvguard: the clone fallback rendering (SPEC §6).
 *
 * When kvguard decides that a VirtualMachineClone cannot go through KubeVirt's
 * snapshot+restore (some disk's storage has no VolumeSnapshotClass or cannot
 * restore), the clone is done with CDI host-assisted copies instead: the
 * target VirtualMachine is the source VM's spec with every PVC/DataVolume
 * volume replaced by a dataVolumeTemplates entry that clones the source
 * claim (source.pvc), and the identity stripped the way KubeVirt's clone
 * controller strips it.
 *
 * One pure function: the webhook renders to validate the plan (a failure
 * denies with the reason) and the reconciler renders to create the VM. */
#ifndef KVGUARD_CLONE_H
#define KVGUARD_CLONE_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "kvguard/error.h"
#include "kvguard/view.h"

/* Annotation and label on the target VM naming the clone that made it. */
#define KVG_CLONE_NAME_KEY "kvguard.io/clone-name"
/* Annotation on the clone recording the decided strategy (snapshot|cdi). */
#define KVG_CLONE_STRATEGY_KEY "kvguard.io/clone-strategy"

/* KubeVirt's generated target name, "<source>-clone-<5 chars>" (the source
 * name becomes "clone-object" when longer than 252), with the 5 characters
 * taken from Kubernetes' random-name alphabet but derived from `seed` (a
 * request or object uid) so that the same seed always gives the same name.
 * Writes into buf (NUL-terminated); KVG_EINVAL when it does not fit. */
kvg_err kvg_clone_target_name(const char *source_name, const char *seed,
                              char *buf, size_t len);

/* KubeVirt's MAC check of spec.newMacAddresses values (Go net.ParseMAC
 * formats: 00:11:22:33:44:55, 00-11-22-33-44-55, 0011.2233.4455) limited to
 * 6 octets; "" is valid (KubeVirt ignores it). */
bool kvg_clone_mac_valid(const char *mac);

/* Render the target VirtualMachine of a CDI-copy clone.
 *
 *   view      the cluster view, read for the source VM's claims (the caller
 *             holds kvg_view_begin()); PersistentVolumeClaims by namespace
 *             and name (a dataVolume volume's claim has the DataVolume's name)
 *   source_vm the source VirtualMachine (not modified)
 *   clone     the VirtualMachineClone (clone.kubevirt.io v1alpha1 or
 *             v1beta1; not modified). The target name is spec.target.name,
 *             else kvg_clone_target_name(source, metadata.uid or name).
 *   out       the new VirtualMachine (caller owns; json_object_put it)
 *
 * The target: apiVersion kubevirt.io/v1; metadata name, the source's
 * namespace, the source's labels and annotations filtered by spec.labelFilters
 * / spec.annotationFilters plus KVG_CLONE_NAME_KEY as label (when a valid
 * label value) and annotation; spec.runStrategy Halted (spec.running removed);
 * spec.dataVolumeTemplates one entry per claim volume named
 * "<target>-<volume>", cloning {namespace, name} of the source claim with its
 * size (status.capacity, else the request), volumeMode, accessModes and
 * storageClassName (`storage:` API); those volumes become dataVolume volumes
 * (memoryDump volumes are dropped: a dump belongs to the source); interface
 * macAddress -> spec.newMacAddresses[name] or removed; firmware.serial ->
 * spec.newSMBiosSerial or removed; firmware.uuid removed; template labels and
 * annotations filtered by spec.template.*Filters; then spec.patches applied in
 * order. No status, uid, resourceVersion, ownerReferences.
 *
 * Errors: KVG_EINVAL with d naming the problem (a claim missing from the
 * view, a malformed VM or clone, a malformed MAC in spec.newMacAddresses, a patch that is not a JSON patch operation
 * or does not apply), KVG_ENOMEM. */
kvg_err kvg_clone_render(const kvg_view *view, const json_object *source_vm,
                         const json_object *clone, json_object **out,
                         kvg_diag *d);

#endif
