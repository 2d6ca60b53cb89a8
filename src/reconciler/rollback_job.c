/* The ZFS rollback Job (SPEC §7 step 3; see kvguard/cleanup.h).
 *
 * Runs the node's own zfs through chroot (a userland that matches the kernel
 * module), receives every value through the environment (never spliced into
 * the script), refuses unless the target is the dataset's newest snapshot,
 * and never passes -r or -R: -R would destroy clones, i.e. the restored VM's
 * disk. backoffLimit 0: a destructive command is never retried blindly. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "kvguard/cleanup.h"
#include "kvguard/json.h"

static const char rollback_script[] =
    "set -eu\n"
    "zfs() {\n"
    "  if [ -x /host/sbin/zfs ]; then chroot /host /sbin/zfs \"$@\"\n"
    "  elif [ -x /host/usr/sbin/zfs ]; then chroot /host /usr/sbin/zfs \"$@\"\n"
    "  else chroot /host zfs \"$@\"; fi\n"
    "}\n"
    "DS=\"$POOL/$DATASET\"\n"
    "TARGET=\"$DS@$SNAP\"\n"
    "LATEST=\"$(zfs list -H -o name -t snapshot -s createtxg -d 1 \"$DS\" | tail -n 1)\"\n"
    "if [ \"$LATEST\" != \"$TARGET\" ]; then\n"
    "  echo \"REFUSE: latest snapshot of $DS is '$LATEST', not '$TARGET'\"; exit 3\n"
    "fi\n"
    "echo \"written=$(zfs get -H -p -o value written \"$DS\")\"\n"
    "zfs rollback \"$TARGET\"\n"
    "echo \"ROLLED_BACK $TARGET\"\n";

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static json_object *str(const char *s) { return json_object_new_string(s ? s : ""); }

static json_object *env_var(const char *name, const char *value)
{
    json_object *e = json_object_new_object();
    json_object_object_add(e, "name", str(name));
    json_object_object_add(e, "value", str(value));
    return e;
}

static json_object *host_path_volume(const char *name, const char *path)
{
    json_object *v = json_object_new_object(), *hp = json_object_new_object();
    json_object_object_add(hp, "path", str(path));
    json_object_object_add(hp, "type", str("Directory"));
    json_object_object_add(v, "name", str(name));
    json_object_object_add(v, "hostPath", hp);
    return v;
}

static json_object *mount(const char *name, const char *path, bool ro)
{
    json_object *m = json_object_new_object();
    json_object_object_add(m, "name", str(name));
    json_object_object_add(m, "mountPath", str(path));
    if (ro) {
        json_object_object_add(m, "readOnly", json_object_new_boolean(1));
        json_object_object_add(m, "mountPropagation", str("HostToContainer"));
    }
    return m;
}

static json_object *container(const kvg_rollback *rb, const char *image)
{
    json_object *c = json_object_new_object();
    json_object_object_add(c, "name", str("zfs"));
    json_object_object_add(c, "image", str(image));
    json_object *cmd = json_object_new_array();
    json_object_array_add(cmd, str("/bin/sh"));
    json_object_array_add(cmd, str("-c"));
    json_object_object_add(c, "command", cmd);
    json_object *args = json_object_new_array();
    json_object_array_add(args, str(rollback_script));
    json_object_object_add(c, "args", args);
    json_object *env = json_object_new_array();
    json_object_array_add(env, env_var("POOL", rb->pool));
    json_object_array_add(env, env_var("DATASET", rb->dataset));
    json_object_array_add(env, env_var("SNAP", rb->snapshot));
    json_object_object_add(c, "env", env);
    json_object *sec = json_object_new_object();
    json_object_object_add(sec, "privileged", json_object_new_boolean(1));
    json_object_object_add(sec, "allowPrivilegeEscalation", json_object_new_boolean(1));
    json_object_object_add(c, "securityContext", sec);
    json_object *mounts = json_object_new_array();
    json_object_array_add(mounts, mount("device-dir", "/dev", false));
    json_object_array_add(mounts, mount("host-root", "/host", true));
    json_object_object_add(c, "volumeMounts", mounts);
    return c;
}

static json_object *pod_spec(const kvg_rollback *rb, const kvg_rollback_job_opts *o)
{
    json_object *spec = json_object_new_object();
    json_object_object_add(spec, "restartPolicy", str("Never"));
    json_object_object_add(spec, "automountServiceAccountToken", json_object_new_boolean(0));
    json_object *sel = json_object_new_object();
    json_object_object_add(sel, "openebs.io/nodeid", str(rb->node));
    json_object_object_add(spec, "nodeSelector", sel);
    json_object *tol = NULL;
    if (o->tolerations) {
        json_object_deep_copy(o->tolerations, &tol, NULL);
    } else { /* the owner node may be tainted: the dataset lives there only */
        tol = json_object_new_array();
        json_object *any = json_object_new_object();
        json_object_object_add(any, "operator", str("Exists"));
        json_object_array_add(tol, any);
    }
    json_object_object_add(spec, "tolerations", tol);
    json_object *containers = json_object_new_array();
    json_object_array_add(containers, container(rb, o->image));
    json_object_object_add(spec, "containers", containers);
    json_object *vols = json_object_new_array();
    json_object_array_add(vols, host_path_volume("device-dir", "/dev"));
    json_object_array_add(vols, host_path_volume("host-root", "/"));
    json_object_object_add(spec, "volumes", vols);
    return spec;
}

static json_object *labels(void)
{
    json_object *l = json_object_new_object();
    json_object_object_add(l, "app.kubernetes.io/name", str("zfs-rollback"));
    json_object_object_add(l, "app.kubernetes.io/managed-by", str("kvguard"));
    return l;
}

kvg_err kvg_rollback_job_render(const kvg_rollback *rb,
                                const kvg_rollback_job_opts *opts,
                                json_object **job)
{
    *job = NULL;
    if (!rb->pool || !rb->dataset || !rb->snapshot || !rb->node || !opts->image ||
        !opts->namespace_)
        return KVG_EINVAL;
    char key[1024], name[64];
    snprintf(key, sizeof key, "%s/%s@%s", rb->pool, rb->dataset, rb->snapshot);
    snprintf(name, sizeof name, "kvguard-zfs-rollback-%012" PRIx64,
             (uint64_t)(fnv1a64(key) & UINT64_C(0xffffffffffff)));

    json_object *j = json_object_new_object();
    json_object_object_add(j, "apiVersion", str("batch/v1"));
    json_object_object_add(j, "kind", str("Job"));
    json_object *meta = json_object_new_object();
    json_object_object_add(meta, "name", str(name));
    json_object_object_add(meta, "namespace", str(opts->namespace_));
    json_object_object_add(meta, "labels", labels());
    json_object *ann = json_object_new_object();
    json_object_object_add(ann, "kvguard.io/target", str(key));
    if (opts->restore_name) {
        char r[600];
        snprintf(r, sizeof r, "%s/%s", opts->restore_ns ? opts->restore_ns : "",
                 opts->restore_name);
        json_object_object_add(ann, "kvguard.io/restore", str(r));
    }
    json_object_object_add(meta, "annotations", ann);
    json_object_object_add(j, "metadata", meta);

    json_object *spec = json_object_new_object();
    json_object_object_add(spec, "backoffLimit", json_object_new_int(0));
    json_object_object_add(spec, "activeDeadlineSeconds", json_object_new_int(300));
    json_object_object_add(spec, "ttlSecondsAfterFinished", json_object_new_int(3600));
    json_object *tmpl = json_object_new_object(), *tmeta = json_object_new_object();
    json_object_object_add(tmeta, "labels", labels());
    json_object_object_add(tmpl, "metadata", tmeta);
    json_object_object_add(tmpl, "spec", pod_spec(rb, opts));
    json_object_object_add(spec, "template", tmpl);
    json_object_object_add(j, "spec", spec);
    *job = j;
    return KVG_OK;
}
