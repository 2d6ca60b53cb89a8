/* Unit tests: the files backend of the cluster view (src/cluster/files.c). */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fixtures.h"
#include "kvguard/json.h"
#include "kvguard/view.h"
#include "testlib.h"

static const char VM_A[] = "apiVersion: kubevirt.io/v1\n"
                           "kind: VirtualMachine\n"
                           "metadata:\n"
                           "  name: vm-a\n"
                           "  namespace: vms\n"
                           "spec:\n"
                           "  runStrategy: Halted\n";

static kvg_store *load_text(const char *text, const char *name)
{
    kvg_store *s = NULL;
    kvg_diag d = {{0}};
    ck_assert_int_eq(kvg_store_new(&s), KVG_OK);
    kvg_err err = kvg_files_load_text(s, text, strlen(text), name, &d);
    ck_assert_msg(err == KVG_OK, "load failed: %s", d.msg);
    return s;
}

/* Loading must fail and the message must be exactly `want`. */
static void load_text_fails(const char *text, const char *name, const char *want)
{
    kvg_store *s = NULL;
    kvg_diag d = {{0}};
    ck_assert_int_eq(kvg_store_new(&s), KVG_OK);
    kvg_err err = kvg_files_load_text(s, text, strlen(text), name, &d);
    ck_assert_msg(err != KVG_OK, "expected failure: %s", want);
    ck_assert_str_eq(d.msg, want);
    /* nothing of a failed stream is kept */
    for (int k = 0; k < KVG_KIND_COUNT; k++)
        ck_assert_uint_eq(kvg_view_count(kvg_store_view(s), (kvg_kind)k), 0);
    kvg_store_free(s);
}

static size_t count(const kvg_store *s, kvg_kind k)
{
    return kvg_view_count(kvg_store_view(s), k);
}

/* ---- streams ------------------------------------------------------------------ */

START_TEST(multi_document)
{
    kvg_store *s = load_text("# a comment\n"
                             "---\n"
                             "apiVersion: kubevirt.io/v1\n"
                             "kind: VirtualMachine\n"
                             "metadata: {name: vm-a, namespace: vms}\n"
                             "---\n"
                             "---\n" /* empty document */
                             "apiVersion: v1\n"
                             "kind: PersistentVolumeClaim\n"
                             "metadata:\n"
                             "  name: pvc-a\n" /* no namespace: default */
                             "---\n"
                             "apiVersion: storage.k8s.io/v1\n"
                             "kind: StorageClass\n"
                             "metadata:\n"
                             "  name: openebs-zfspv\n"
                             "  namespace: ignored\n"
                             "provisioner: zfs.csi.openebs.io\n"
                             "---\n"
                             "apiVersion: v1\n"
                             "kind: ConfigMap\n" /* not tracked: ignored */
                             "metadata: {name: cm}\n"
                             "---\n"
                             "zfs.csi.openebs.io: {snapshot: true}\n", /* not an object */
                             "multi.yaml");
    const kvg_view *v = kvg_store_view(s);
    ck_assert_uint_eq(count(s, KVG_KIND_VM), 1);
    ck_assert_uint_eq(count(s, KVG_KIND_PVC), 1);
    ck_assert_uint_eq(count(s, KVG_KIND_STORAGECLASS), 1);
    ck_assert(kvg_view_synced(v));
    kvg_view_begin(v);
    const json_object *pvc = kvg_view_get(v, KVG_KIND_PVC, "default", "pvc-a");
    ck_assert_ptr_nonnull(pvc);
    ck_assert_str_eq(kvg_json_str(pvc, "metadata", "namespace", NULL), "default");
    const json_object *sc = kvg_view_get(v, KVG_KIND_STORAGECLASS, NULL, "openebs-zfspv");
    ck_assert_str_eq(kvg_json_str(sc, "provisioner", NULL), "zfs.csi.openebs.io");
    kvg_view_end(v);
    kvg_store_free(s);
}
END_TEST

START_TEST(list_and_typed_list)
{
    kvg_store *s = load_text("apiVersion: v1\n"
                             "kind: List\n"
                             "items:\n"
                             "- apiVersion: kubevirt.io/v1\n"
                             "  kind: VirtualMachine\n"
                             "  metadata: {name: a, namespace: vms}\n"
                             "- apiVersion: v1\n"
                             "  kind: ConfigMap\n"
                             "  metadata: {name: cm, namespace: vms}\n"
                             "- apiVersion: v1\n"
                             "  kind: Pod\n"
                             "  metadata: {name: p, namespace: vms}\n"
                             "---\n"
                             /* what GET /apis/kubevirt.io/v1/virtualmachines returns */
                             "apiVersion: kubevirt.io/v1\n"
                             "kind: VirtualMachineList\n"
                             "metadata: {resourceVersion: '12'}\n"
                             "items:\n"
                             "- metadata: {name: b, namespace: vms}\n"
                             "- metadata: {name: c, namespace: other}\n"
                             "---\n"
                             "apiVersion: v1\n"
                             "kind: List\n"
                             "items: []\n",
                             "list.yaml");
    const kvg_view *v = kvg_store_view(s);
    ck_assert_uint_eq(count(s, KVG_KIND_VM), 3);
    ck_assert_uint_eq(count(s, KVG_KIND_POD), 1);
    kvg_view_begin(v);
    const json_object *b = kvg_view_get(v, KVG_KIND_VM, "vms", "b");
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(kvg_json_str(b, "kind", NULL), "VirtualMachine");
    ck_assert_str_eq(kvg_json_str(b, "apiVersion", NULL), "kubevirt.io/v1");
    ck_assert_ptr_nonnull(kvg_view_get(v, KVG_KIND_VM, "other", "c"));
    kvg_view_end(v);
    kvg_store_free(s);
}
END_TEST

START_TEST(json_stream)
{
    kvg_store *s = load_text("{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n"
                             "  {\"apiVersion\": \"cdi.kubevirt.io/v1beta1\",\n"
                             "   \"kind\": \"StorageProfile\",\n"
                             "   \"metadata\": {\"name\": \"openebs-zfspv\"},\n"
                             "   \"status\": {\"snapshotClass\": \"zfspv-snapclass\"}}\n"
                             "]}\n",
                             "profiles.json");
    const kvg_view *v = kvg_store_view(s);
    kvg_view_begin(v);
    const json_object *p = kvg_view_get(v, KVG_KIND_STORAGEPROFILE, NULL, "openebs-zfspv");
    ck_assert_str_eq(kvg_json_str(p, "status", "snapshotClass", NULL), "zfspv-snapclass");
    kvg_view_end(v);
    kvg_store_free(s);
}
END_TEST

/* ---- error messages ------------------------------------------------------------- */

START_TEST(errors_name_file_document_line)
{
    /* document 2 starts at line 4 ("---"); the line is the one of "metadata:" */
    load_text_fails("apiVersion: v1\n"
                    "kind: Pod\n"
                    "metadata: {name: ok, namespace: vms}\n"
                    "---\n"
                    "apiVersion: kubevirt.io/v1\n"
                    "kind: VirtualMachine\n"
                    "metadata:\n"
                    "  namespace: vms\n",
                    "examples/x.yaml",
                    "examples/x.yaml: document 2 (line 7): metadata.name is missing");
    load_text_fails("apiVersion: kubevirt.io/v1\n"
                    "kind: VirtualMachine\n"
                    "metadata:\n"
                    "  namespace: vms\n"
                    "  name: [a, b]\n",
                    "x.yaml", "x.yaml: document 1 (line 5): metadata.name is not a string");
    load_text_fails("apiVersion: kubevirt.io/v1\n"
                    "kind: VirtualMachine\n"
                    "metadata:\n"
                    "  name: ''\n",
                    "x.yaml", "x.yaml: document 1 (line 4): metadata.name is empty");
    char longname[400];
    snprintf(longname, sizeof longname,
             "apiVersion: v1\nkind: Pod\nmetadata:\n  namespace: a\n  name: n%0300d\n", 7);
    load_text_fails(longname, "x.yaml",
                    "x.yaml: document 1 (line 5): metadata.name is longer than 253 characters");
    snprintf(longname, sizeof longname,
             "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  namespace: a%070d\n", 7);
    load_text_fails(longname, "x.yaml",
                    "x.yaml: document 1 (line 5): metadata.namespace is longer than 63 characters");
    load_text_fails("apiVersion: kubevirt.io/v1\n"
                    "kind: VirtualMachine\n"
                    "spec: {}\n",
                    "x.yaml", "x.yaml: document 1 (line 1): metadata is missing");
    load_text_fails("apiVersion: kubevirt.io/v1\n"
                    "kind: VirtualMachine\n"
                    "metadata: vm-a\n",
                    "x.yaml", "x.yaml: document 1 (line 3): metadata is not a mapping");
    load_text_fails("apiVersion: kubevirt.io/v1\n"
                    "kind: VirtualMachine\n"
                    "metadata:\n"
                    "  name: a\n"
                    "  namespace: 7\n",
                    "x.yaml", "x.yaml: document 1 (line 5): metadata.namespace is not a string");
    load_text_fails("metadata: {name: a}\n"
                    "kind: VirtualMachine\n",
                    "x.yaml", "x.yaml: document 1 (line 2): apiVersion is missing");
    load_text_fails("\n\napiVersion: v1\n"
                    "metadata: {name: a}\n",
                    "x.yaml", "x.yaml: document 1 (line 3): kind is missing");
    load_text_fails("apiVersion: v1\n"
                    "kind: 12\n",
                    "x.yaml", "x.yaml: document 1 (line 1): kind is not a string");
    load_text_fails("- a\n- b\n", "x.yaml",
                    "x.yaml: document 1 (line 1): not a mapping (a Kubernetes object)");
    load_text_fails("apiVersion: v1\n"
                    "kind: List\n"
                    "items: {a: b}\n",
                    "x.yaml", "x.yaml: document 1 (line 3): items is not a list");
    load_text_fails("apiVersion: v1\n"
                    "kind: List\n"
                    "items:\n"
                    "- apiVersion: v1\n"
                    "  kind: Pod\n"
                    "  metadata: {name: p, namespace: vms}\n"
                    "- apiVersion: v1\n"
                    "  kind: Pod\n"
                    "  metadata: {namespace: vms}\n",
                    "list.yaml",
                    "list.yaml: document 1 (line 9): items[1]: metadata.name is missing");
    load_text_fails("apiVersion: v1\n"
                    "kind: List\n"
                    "items:\n"
                    "- 42\n",
                    "list.yaml",
                    "list.yaml: document 1 (line 4): items[0]: not a mapping (a Kubernetes "
                    "object)");
    load_text_fails("apiVersion: v1\n"
                    "kind: List\n"
                    "items:\n"
                    "- metadata: {name: p}\n",
                    "list.yaml", "list.yaml: document 1 (line 4): items[0]: apiVersion is missing");
}
END_TEST

START_TEST(yaml_syntax_error_names_file_and_line)
{
    kvg_store *s = NULL;
    kvg_diag d = {{0}};
    ck_assert_int_eq(kvg_store_new(&s), KVG_OK);
    const char *text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n";
    ck_assert_int_eq(kvg_files_load_text(s, text, strlen(text), "bad.yaml", &d), KVG_EPARSE);
    ck_assert_msg(strncmp(d.msg, "bad.yaml:", 9) == 0, "%s", d.msg);
    kvg_store_free(s);
}
END_TEST

START_TEST(duplicates_name_both_places)
{
    load_text_fails("apiVersion: kubevirt.io/v1\n"
                    "kind: VirtualMachine\n"
                    "metadata: {name: vm-a, namespace: vms}\n"
                    "---\n"
                    "apiVersion: kubevirt.io/v1alpha3\n"
                    "kind: VirtualMachine\n"
                    "metadata: {name: vm-a, namespace: vms}\n",
                    "dup.yaml",
                    "dup.yaml: document 2 (line 4): VirtualMachine vms/vm-a is defined twice, "
                    "first in dup.yaml: document 1 (line 1)");
    /* a missing namespace means "default" for the duplicate check too */
    load_text_fails("apiVersion: v1\n"
                    "kind: PersistentVolumeClaim\n"
                    "metadata: {name: p}\n"
                    "---\n"
                    "apiVersion: v1\n"
                    "kind: PersistentVolumeClaim\n"
                    "metadata: {name: p, namespace: default}\n",
                    "dup.yaml",
                    "dup.yaml: document 2 (line 4): PersistentVolumeClaim default/p is defined "
                    "twice, first in dup.yaml: document 1 (line 1)");
    /* cluster-scoped objects ignore the namespace */
    load_text_fails("apiVersion: storage.k8s.io/v1\n"
                    "kind: StorageClass\n"
                    "metadata: {name: sc, namespace: a}\n"
                    "---\n"
                    "apiVersion: storage.k8s.io/v1\n"
                    "kind: StorageClass\n"
                    "metadata: {name: sc}\n",
                    "dup.yaml",
                    "dup.yaml: document 2 (line 4): StorageClass sc is defined twice, first in "
                    "dup.yaml: document 1 (line 1)");
    /* same name, different kinds or namespaces: fine */
    kvg_store *s = load_text("apiVersion: kubevirt.io/v1\n"
                             "kind: VirtualMachine\n"
                             "metadata: {name: x, namespace: a}\n"
                             "---\n"
                             "apiVersion: kubevirt.io/v1\n"
                             "kind: VirtualMachineInstance\n"
                             "metadata: {name: x, namespace: a}\n"
                             "---\n"
                             "apiVersion: kubevirt.io/v1\n"
                             "kind: VirtualMachine\n"
                             "metadata: {name: x, namespace: b}\n",
                             "ok.yaml");
    ck_assert_uint_eq(count(s, KVG_KIND_VM), 2);
    /* across streams loaded into the same store */
    kvg_diag d = {{0}};
    ck_assert_int_eq(kvg_files_load_text(s, VM_A, strlen(VM_A), "one.yaml", &d), KVG_OK);
    ck_assert_int_eq(kvg_files_load_text(s, VM_A, strlen(VM_A), "two.yaml", &d), KVG_EEXIST);
    ck_assert_str_eq(d.msg, "two.yaml: document 1 (line 1): VirtualMachine vms/vm-a is defined "
                            "twice, first in one.yaml: document 1 (line 1)");
    ck_assert_uint_eq(count(s, KVG_KIND_VM), 3);
    kvg_store_free(s);
}
END_TEST

START_TEST(load_text_keeps_absent_kinds)
{
    kvg_store *s = NULL;
    kvg_diag d = {{0}};
    ck_assert_int_eq(kvg_store_new(&s), KVG_OK);
    kvg_store_set_state(s, KVG_KIND_ZFSVOLUME, KVG_KIND_ABSENT);
    ck_assert_int_eq(kvg_files_load_text(s, "", 0, "empty.yaml", &d), KVG_OK);
    ck_assert_int_eq(kvg_view_state(kvg_store_view(s), KVG_KIND_ZFSVOLUME), KVG_KIND_ABSENT);
    ck_assert_int_eq(kvg_view_state(kvg_store_view(s), KVG_KIND_VM), KVG_KIND_SYNCED);
    kvg_store_free(s);
}
END_TEST

/* ---- directories ------------------------------------------------------------------ */

static kvg_store *load_dir_ok(const char *dir)
{
    kvg_store *s = NULL;
    kvg_diag d = {{0}};
    kvg_err err = kvg_files_load(dir, &s, &d);
    ck_assert_msg(err == KVG_OK, "load %s: %s", dir, d.msg);
    ck_assert_ptr_nonnull(s);
    return s;
}

static void load_dir_fails(const char *dir, kvg_diag *d)
{
    kvg_store *s = (kvg_store *)1;
    ck_assert_int_ne(kvg_files_load(dir, &s, d), KVG_OK);
    ck_assert_ptr_null(s);
}

START_TEST(nested_dirs_and_extensions)
{
    char *dir = kvg_test_mkdtemp();
    kvg_test_write_file(dir, "a.yaml", VM_A);
    kvg_test_write_file(dir, "sub/deeper/pvc.yml",
                        "apiVersion: v1\nkind: PersistentVolumeClaim\n"
                        "metadata: {name: p, namespace: vms}\n");
    kvg_test_write_file(dir, "sub/sc.json",
                        "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\","
                        "\"metadata\":{\"name\":\"sc\"}}");
    kvg_test_write_file(dir, "sub/notes.txt", "not: [yaml");
    kvg_test_write_file(dir, "README.md", "# not loaded\n");
    /* hidden entries are skipped: a ConfigMap mount has ..data/ twins of every file */
    kvg_test_write_file(dir, "..2026_11_21/a.yaml", VM_A);
    kvg_test_write_file(dir, ".hidden.yaml", VM_A);
    kvg_fx_symlink("..2026_11_21", dir, "..data");
    /* symlinks are followed: a linked file and a linked directory */
    char *other = kvg_test_mkdtemp();
    kvg_test_write_file(other, "vmi.yaml",
                        "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\n"
                        "metadata: {name: vm-a, namespace: vms}\n");
    kvg_test_write_file(other, "linked/pv.yaml",
                        "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv1}\n");
    char target[4096];
    snprintf(target, sizeof target, "%s/vmi.yaml", other);
    kvg_fx_symlink(target, dir, "link-vmi.yaml");
    snprintf(target, sizeof target, "%s/linked", other);
    kvg_fx_symlink(target, dir, "linkdir");
    kvg_fx_mkdir(dir, "empty/dir");

    kvg_store *s = load_dir_ok(dir);
    ck_assert_uint_eq(count(s, KVG_KIND_VM), 1);
    ck_assert_uint_eq(count(s, KVG_KIND_PVC), 1);
    ck_assert_uint_eq(count(s, KVG_KIND_STORAGECLASS), 1);
    ck_assert_uint_eq(count(s, KVG_KIND_VMI), 1);
    ck_assert_uint_eq(count(s, KVG_KIND_PV), 1);
    ck_assert(kvg_view_synced(kvg_store_view(s)));
    kvg_store_free(s);

    /* a duplicate across files names both files, in sorted order */
    kvg_test_write_file(dir, "sub/again.yaml", VM_A);
    kvg_diag d = {{0}};
    load_dir_fails(dir, &d);
    char want[8192];
    snprintf(want, sizeof want,
             "%s/sub/again.yaml: document 1 (line 1): VirtualMachine vms/vm-a is defined "
             "twice, first in %s/a.yaml: document 1 (line 1)",
             dir, dir);
    ck_assert_str_eq(d.msg, want);
    kvg_test_rmtree(other);
    free(other);
    kvg_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(dir_errors)
{
    kvg_diag d = {{0}};
    load_dir_fails("/nonexistent/kvguard/state", &d);
    ck_assert_str_eq(d.msg, "cluster state /nonexistent/kvguard/state: No such file or directory");

    char *dir = kvg_test_mkdtemp();
    /* a loop through a symlink to a parent */
    kvg_fx_mkdir(dir, "a/b");
    char target[4096];
    snprintf(target, sizeof target, "%s/a", dir);
    kvg_fx_symlink(target, dir, "a/b/up");
    load_dir_fails(dir, &d);
    ck_assert_msg(strstr(d.msg, "/a/b/up: directory loop") != NULL, "%s", d.msg);
    kvg_test_rmtree(dir);
    free(dir);

    /* a dangling link named like a manifest */
    dir = kvg_test_mkdtemp();
    kvg_fx_symlink("/nonexistent/x.yaml", dir, "gone.yaml");
    load_dir_fails(dir, &d);
    ck_assert_msg(strstr(d.msg, "gone.yaml: dangling symbolic link") != NULL, "%s", d.msg);
    kvg_test_rmtree(dir);
    free(dir);

    /* a bad document deep in the tree: file, document and line, nothing returned */
    dir = kvg_test_mkdtemp();
    kvg_test_write_file(dir, "ok.yaml", VM_A);
    kvg_test_write_file(dir, "z/bad.yaml",
                        "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: b}\n---\n"
                        "apiVersion: v1\nkind: Pod\nmetadata:\n  namespace: b\n");
    load_dir_fails(dir, &d);
    char want[4096];
    snprintf(want, sizeof want, "%s/z/bad.yaml: document 2 (line 7): metadata.name is missing",
             dir);
    ck_assert_str_eq(d.msg, want);
    kvg_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(single_file_and_empty_dir)
{
    char *dir = kvg_test_mkdtemp();
    kvg_store *s = load_dir_ok(dir);
    ck_assert(kvg_view_synced(kvg_store_view(s)));
    ck_assert_uint_eq(count(s, KVG_KIND_VM), 0);
    kvg_store_free(s);
    kvg_test_write_file(dir, "one.yaml", VM_A);
    char path[4096];
    snprintf(path, sizeof path, "%s/one.yaml", dir);
    s = load_dir_ok(path);
    ck_assert_uint_eq(count(s, KVG_KIND_VM), 1);
    kvg_store_free(s);
    kvg_test_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- the shipped example cluster ---------------------------------------------------- */

START_TEST(example_cluster)
{
    kvg_store *s = load_dir_ok(KVG_SOURCE_DIR "/examples/cluster");
    const kvg_view *v = kvg_store_view(s);
    ck_assert(kvg_view_synced(v));
    static const struct {
        kvg_kind kind;
        size_t n;
    } want[] = {
        {KVG_KIND_VM, 7},           {KVG_KIND_VMI, 2},
        {KVG_KIND_VMSNAPSHOT, 3},   {KVG_KIND_VMSNAPSHOTCONTENT, 2},
        {KVG_KIND_VMRESTORE, 1},    {KVG_KIND_VMCLONE, 0},
        {KVG_KIND_DATAVOLUME, 2},   {KVG_KIND_STORAGEPROFILE, 4},
        {KVG_KIND_PVC, 9},          {KVG_KIND_PV, 8},
        {KVG_KIND_STORAGECLASS, 4}, {KVG_KIND_VOLUMESNAPSHOTCLASS, 2},
        {KVG_KIND_VOLUMESNAPSHOT, 2}, {KVG_KIND_POD, 2},
        {KVG_KIND_ZFSVOLUME, 4},    {KVG_KIND_ZFSSNAPSHOT, 2},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(count(s, want[i].kind) == want[i].n, "%s: %zu objects, want %zu",
                      kvg_kind_info_get(want[i].kind)->name, count(s, want[i].kind),
                      want[i].n);
    kvg_view_begin(v);
    /* the facts the README of examples/cluster promises */
    const json_object *sc = kvg_view_get(v, KVG_KIND_STORAGECLASS, NULL, "openebs-hostpath");
    ck_assert_str_eq(kvg_json_str(sc, "metadata", "annotations",
                                  "storageclass.kubernetes.io/is-default-class", NULL),
                     "true");
    const json_object *vmi = kvg_view_get(v, KVG_KIND_VMI, "vms", "larry");
    ck_assert_str_eq(kvg_json_str(vmi, "status", "phase", NULL), "Running");
    const json_object *snap = kvg_view_get(v, KVG_KIND_VMSNAPSHOT, "vms", "snap-larry-nightly");
    ck_assert_str_eq(kvg_json_str(snap, "status", "phase", NULL), "Failed");
    const json_object *zs = kvg_view_get(v, KVG_KIND_ZFSSNAPSHOT, "openebs",
                                         "snapshot-26ec9a78-7f70-40a4-95bb-b6bb92f5c8f6");
    ck_assert_str_eq(kvg_json_str(zs, "metadata", "labels", "openebs.io/persistent-volume",
                                  NULL),
                     "pvc-d62bc936-582a-473b-82d9-b70c0f8c4362");
    /* every PVC's volumeName resolves to a PV that points back */
    const json_object *pvc = kvg_view_get(v, KVG_KIND_PVC, "vms", "larry-rootdisk");
    const json_object *pv =
        kvg_view_get(v, KVG_KIND_PV, NULL, kvg_json_str(pvc, "spec", "volumeName", NULL));
    ck_assert_str_eq(kvg_json_str(pv, "spec", "claimRef", "name", NULL), "larry-rootdisk");
    ck_assert_ptr_nonnull(kvg_view_get(v, KVG_KIND_ZFSVOLUME, "openebs",
                                       kvg_json_str(pv, "metadata", "name", NULL)));
    /* the pod is pruned to what the in-use checks read */
    const json_object *pod = kvg_view_get(v, KVG_KIND_POD, "vms", "virt-launcher-larry-7xq2p");
    ck_assert_ptr_null(kvg_json_path(pod, "metadata", "annotations", NULL));
    ck_assert_uint_eq(json_object_array_length(kvg_json_array(pod, "spec", "volumes", NULL)), 1);
    kvg_view_end(v);
    kvg_store_free(s);
}
END_TEST

static int consistent_pvc(const json_object *pvc, void *ud)
{
    const kvg_view *v = ud;
    const char *vol = kvg_json_str(pvc, "spec", "volumeName", NULL);
    const char *phase = kvg_json_str(pvc, "status", "phase", NULL);
    ck_assert_ptr_nonnull(phase);
    if (strcmp(phase, "Bound") != 0)
        return 0;
    const json_object *pv = kvg_view_get(v, KVG_KIND_PV, NULL, vol);
    ck_assert_msg(pv != NULL, "PV %s missing", vol);
    ck_assert_str_eq(kvg_json_str(pv, "spec", "claimRef", "name", NULL),
                     kvg_json_str(pvc, "metadata", "name", NULL));
    ck_assert_str_eq(kvg_json_str(pv, "spec", "storageClassName", NULL),
                     kvg_json_str(pvc, "spec", "storageClassName", NULL));
    const char *sc = kvg_json_str(pvc, "spec", "storageClassName", NULL);
    ck_assert_msg(kvg_view_get(v, KVG_KIND_STORAGECLASS, NULL, sc) != NULL, "SC %s", sc);
    return 0;
}

START_TEST(example_cluster_is_consistent)
{
    kvg_store *s = load_dir_ok(KVG_SOURCE_DIR "/examples/cluster");
    const kvg_view *v = kvg_store_view(s);
    kvg_view_begin(v);
    kvg_view_each(v, KVG_KIND_PVC, NULL, consistent_pvc, (void *)v);
    kvg_view_end(v);
    kvg_store_free(s);
}
END_TEST

/* The example AdmissionReviews (examples/reviews) are well-formed and name
 * objects of the example cluster, so the README's run command means something. */
static const struct {
    const char *file;
    kvg_kind source_kind;
    const char *source_name;
} reviews[] = {
    {"snapshot-zfs-vm-allowed.json", KVG_KIND_VM, "larry"},
    {"snapshot-hostpath-vm-denied.json", KVG_KIND_VM, "vm-cirros"},
    {"restore-running-vm-denied.json", KVG_KIND_VMSNAPSHOT, "snap-larry"},
    {"clone-hostpath-vm-cdi.json", KVG_KIND_VM, "vm-cirros"},
    {"clone-upstream-example-invalid-mac.json", KVG_KIND_VM, "vm-cirros"},
    {"datavolume-clone-empty-namespace.json", KVG_KIND_PVC, "vm-cirros-data"},
};

START_TEST(example_reviews_match_cluster)
{
    kvg_store *s = load_dir_ok(KVG_SOURCE_DIR "/examples/cluster");
    const kvg_view *v = kvg_store_view(s);
    for (size_t i = 0; i < sizeof reviews / sizeof reviews[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "examples/reviews/%s", reviews[i].file);
        size_t len = 0;
        char *text = kvg_test_read_source(rel, &len);
        json_object *r = NULL;
        kvg_diag d = {{0}};
        ck_assert_msg(kvg_json_parse(text, len, 0, &r, &d) == KVG_OK, "%s: %s", rel, d.msg);
        ck_assert_str_eq(kvg_json_str(r, "apiVersion", NULL), "admission.k8s.io/v1");
        ck_assert_str_eq(kvg_json_str(r, "kind", NULL), "AdmissionReview");
        ck_assert_uint_eq(strlen(kvg_json_str(r, "request", "uid", NULL)), 36);
        json_object *obj = kvg_json_path(r, "request", "object", NULL);
        ck_assert_str_eq(kvg_json_str(r, "request", "kind", "kind", NULL),
                         kvg_json_str(obj, "kind", NULL));
        ck_assert_str_eq(kvg_json_str(r, "request", "name", NULL),
                         kvg_json_str(obj, "metadata", "name", NULL));
        ck_assert_str_eq(kvg_json_str(r, "request", "namespace", NULL), "vms");
        kvg_kind k;
        ck_assert_int_eq(kvg_kind_of_object(obj, &k), KVG_OK);
        /* a new object: nothing of that name in the cluster yet */
        kvg_view_begin(v);
        ck_assert_msg(kvg_view_get(v, k, "vms", kvg_json_str(obj, "metadata", "name", NULL)) ==
                          NULL, "%s: object already exists", rel);
        ck_assert_msg(kvg_view_get(v, reviews[i].source_kind, "vms", reviews[i].source_name),
                      "%s: %s missing from the example cluster", rel, reviews[i].source_name);
        kvg_view_end(v);
        json_object_put(r);
        free(text);
    }
    kvg_store_free(s);
}
END_TEST

/* ---- every upstream manifest of shared/reference ------------------------------------- */

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Go text/template files ({{ .Name }}) in the reference are not manifests. */
static bool is_go_template(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        line += strspn(line, " \t");
        if (*line != '#' && strstr(line, "{{"))
            return true;
    }
    return false;
}

static void reference_file(const char *path, int *loaded)
{
    kvg_store *s = NULL;
    kvg_diag d = {{0}};
    kvg_err err = kvg_files_load(path, &s, &d);
    if (is_go_template(path)) {
        /* must fail with a message naming the file, never crash */
        ck_assert_msg(err != KVG_OK, "%s: a template loaded", path);
        ck_assert_msg(strstr(d.msg, path) != NULL, "%s: message without file: %s", path, d.msg);
    } else {
        ck_assert_msg(err == KVG_OK, "%s: %s", path, d.msg);
        (*loaded)++;
    }
    kvg_store_free(s);
}

static void walk_reference(const char *dir, int *loaded, int *seen)
{
    DIR *dh = opendir(dir);
    ck_assert_ptr_nonnull(dh);
    struct dirent *de;
    while ((de = readdir(dh))) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat st;
        ck_assert_int_eq(stat(path, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            walk_reference(path, loaded, seen);
        } else if (ends_with(path, ".yaml") || ends_with(path, ".yml") ||
                   ends_with(path, ".json")) {
            (*seen)++;
            reference_file(path, loaded);
        }
    }
    closedir(dh);
}

START_TEST(every_reference_manifest)
{
    const char *ref = KVG_SHARED_DIR "/reference";
    struct stat st;
    if (stat(ref, &st) != 0) {
        fprintf(stderr, "SKIP every_reference_manifest: %s is absent\n", ref);
        return;
    }
    int loaded = 0, seen = 0;
    walk_reference(ref, &loaded, &seen);
    fprintf(stderr, "reference manifests: %d files, %d loaded, %d templates refused\n", seen,
            loaded, seen - loaded);
    ck_assert_int_gt(seen, 20);
    ck_assert_int_ge(loaded, seen - 3);

    /* spot checks: a kind: List, the pre-0.6 ZFS group, a v1alpha3 VM */
    kvg_store *s = load_dir_ok(KVG_SHARED_DIR
                               "/reference/cdi-examples/"
                               "kubevirt-user-guide-templates-rheltinyvm-pvc-clone.yaml");
    ck_assert_uint_eq(count(s, KVG_KIND_VM), 1);
    kvg_store_free(s);
    s = load_dir_ok(KVG_SHARED_DIR "/reference/storage-examples/zfssnapshot-docs-snapshot-md.yaml");
    ck_assert_uint_eq(count(s, KVG_KIND_ZFSSNAPSHOT), 1);
    kvg_store_free(s);
    s = load_dir_ok(KVG_SHARED_DIR "/reference/cdi-examples/cdi-vm-dv.yaml");
    ck_assert_uint_eq(count(s, KVG_KIND_VM), 1);
    kvg_view_begin(kvg_store_view(s));
    ck_assert_ptr_nonnull(
        kvg_view_get(kvg_store_view(s), KVG_KIND_VM, "default", "vm-cirros-datavolume"));
    kvg_view_end(kvg_store_view(s));
    kvg_store_free(s);
    s = load_dir_ok(KVG_SHARED_DIR "/reference/storage-examples/zfsvolume-v1-and-pv-issue641.yaml");
    ck_assert_uint_eq(count(s, KVG_KIND_ZFSVOLUME), 1);
    ck_assert_uint_eq(count(s, KVG_KIND_PV), 1);
    kvg_store_free(s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("files");
    TCase *tc = tcase_create("files");
    tcase_add_test(tc, multi_document);
    tcase_add_test(tc, list_and_typed_list);
    tcase_add_test(tc, json_stream);
    tcase_add_test(tc, errors_name_file_document_line);
    tcase_add_test(tc, yaml_syntax_error_names_file_and_line);
    tcase_add_test(tc, duplicates_name_both_places);
    tcase_add_test(tc, load_text_keeps_absent_kinds);
    tcase_add_test(tc, nested_dirs_and_extensions);
    tcase_add_test(tc, dir_errors);
    tcase_add_test(tc, single_file_and_empty_dir);
    tcase_add_test(tc, example_cluster);
    tcase_add_test(tc, example_cluster_is_consistent);
    tcase_add_test(tc, example_reviews_match_cluster);
    tcase_add_test(tc, every_reference_manifest);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kvg_test_run(suite());
}
