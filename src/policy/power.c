/* SPEC §5: is a VM powered on? One function for every rule that asks.
 *
 * Powered off = no VMI (or a VMI in Succeeded/Failed) and a run intent that
 * does not restart it (not Always, RerunOnFailure or running: true). Manual,
 * Once and Halted VMs are judged by their VMI alone: a VMI in any other
 * phase (Pending, Scheduling, Scheduled, Running, Unknown, or no phase yet)
 * means on. */
#include <stdio.h>
#include <string.h>

#include "policy/internal.h"

/* The run intent keeps (or brings) the VM up whatever its VMI does. */
static bool intent_keeps_running(const json_object *vm, const char **intent)
{
    const char *rs = kvg_json_str(vm, "spec", "runStrategy", NULL);
    json_object *running = kvg_json_path(vm, "spec", "running", NULL);
    *intent = "no run intent";
    if (rs) {
        /* runStrategy wins: KubeVirt refuses both, and prefers it when
         * reading old objects. */
        if (!strcmp(rs, "Always")) {
            *intent = "runStrategy: Always";
            return true;
        }
        if (!strcmp(rs, "RerunOnFailure")) {
            *intent = "runStrategy: RerunOnFailure";
            return true;
        }
        if (!strcmp(rs, "Halted"))
            *intent = "runStrategy: Halted";
        else if (!strcmp(rs, "Manual"))
            *intent = "runStrategy: Manual";
        else if (!strcmp(rs, "Once"))
            *intent = "runStrategy: Once";
        else
            *intent = "unknown runStrategy";
        return false;
    }
    if (running && json_object_is_type(running, json_type_boolean)) {
        if (json_object_get_boolean(running)) {
            *intent = "running: true";
            return true;
        }
        *intent = "running: false";
    }
    return false;
}

static bool vmi_finished(const char *phase)
{
    return phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
}

void kvg_power_state(const json_object *vm, const json_object *vmi,
                     kvg_power *out)
{
    const char *phase = NULL;
    bool keeps = false;
    memset(out, 0, sizeof *out);
    out->intent = "no VM";
    if (vm)
        keeps = intent_keeps_running(vm, &out->intent);
    if (vmi) {
        phase = kvg_json_str(vmi, "status", "phase", NULL);
        out->vmi_phase = phase ? phase : "";
    }
    if (keeps) {
        out->on = true;
        snprintf(out->why, sizeof out->why, "%s%s%s", out->intent,
                 vmi ? ", VMI phase " : ", no VMI yet",
                 vmi ? (phase && *phase ? phase : "(none yet)") : "");
        return;
    }
    if (vmi && !vmi_finished(phase)) {
        out->on = true;
        snprintf(out->why, sizeof out->why, "VMI phase %s (%s)",
                 phase && *phase ? phase : "(none yet)", out->intent);
        return;
    }
    out->on = false;
    if (vmi)
        snprintf(out->why, sizeof out->why, "VMI %s (%s)", phase, out->intent);
    else
        snprintf(out->why, sizeof out->why, "no VMI (%s)", out->intent);
}

void kvg_vm_power(const kvg_view *v, const json_object *vm, kvg_power *out)
{
    const char *ns = kvg_json_str(vm, "metadata", "namespace", NULL);
    const char *name = kvg_json_str(vm, "metadata", "name", NULL);
    const json_object *vmi = NULL;
    if (name)
        vmi = kvg_view_get(v, KVG_KIND_VMI, ns ? ns : "default", name);
    kvg_power_state(vm, vmi, out);
}
