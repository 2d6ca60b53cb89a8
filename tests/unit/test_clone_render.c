/* Golden tests of the clone fallback rendering (src/policy/clone_render.c).
 *
 * Every directory tests/golden/clone-render/<case>/ holds:
 *   cluster/        the cluster state (the source VM and its claims)
 *   clone.yaml      the VirtualMachineClone (its namespace: the source's)
 *   expected.json   the target VirtualMachine, reviewed by hand: what KubeVirt
 *                   and CDI accept and what KubeVirt's clone would produce
 *   or error.txt    a fragment the diagnostic must contain
 * KVG_GOLDEN_UPDATE=1 writes expected.json from the current output (review
 * the diff by hand before committing it). */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kvguard/buf.h"
#include "kvguard/clone.h"
#include "kvguard/json.h"
#include "kvguard/view.h"
#include "testlib.h"

#define GOLDEN_DIR KVG_SOURCE_DIR "/tests/golden/clone-render"

static char *read_opt(const char *path)
{
    kvg_buf b;
    kvg_buf_init(&b, 0);
    if (kvg_buf_read_file(&b, path, NULL) != KVG_OK) {
        kvg_buf_free(&b);
        return NULL;
    }
    return kvg_buf_steal(&b, NULL);
}

static json_object *load_yaml(const char *path)
{
    char *text = read_opt(path);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    kvg_yaml_docs docs;
    kvg_diag d;
    ck_assert_msg(kvg_yaml_parse(text, strlen(text), path, &docs, &d) == KVG_OK, "%s", d.msg);
    ck_assert_uint_ge(docs.count, 1);
    json_object *o = json_object_get(docs.docs[0].obj);
    kvg_yaml_docs_free(&docs);
    free(text);
    return o;
}

/* Runs one case; returns a message on failure (static buffer) or NULL. */
static const char *run_case(const char *name)
{
    static char why[2048];
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/%s", GOLDEN_DIR, name);
    snprintf(path, sizeof path, "%s/cluster", dir);
    kvg_store *store = NULL;
    kvg_diag d = {{0}};
    if (kvg_files_load(path, &store, &d) != KVG_OK) {
        snprintf(why, sizeof why, "%s: loading cluster: %s", name, d.msg);
        return why;
    }
    const kvg_view *view = kvg_store_view(store);
    snprintf(path, sizeof path, "%s/clone.yaml", dir);
    json_object *clone = load_yaml(path);
    const char *ns = kvg_json_str(clone, "metadata", "namespace", NULL);
    const char *src = kvg_json_str(clone, "spec", "source", "name", NULL);
    kvg_view_begin(view);
    const json_object *vm = kvg_view_get(view, KVG_KIND_VM, ns ? ns : "default", src ? src : "");
    json_object *out = NULL;
    kvg_err e = vm ? kvg_clone_render(view, vm, clone, &out, &d) : KVG_ENOTFOUND;
    kvg_view_end(view);
    const char *result = NULL;

    snprintf(path, sizeof path, "%s/error.txt", dir);
    char *want_err = read_opt(path);
    if (want_err) {
        want_err[strcspn(want_err, "\n")] = '\0';
        if (e != KVG_EINVAL || !strstr(d.msg, want_err))
            snprintf(why, sizeof why, "%s: want error containing '%s', got %s '%s'", name,
                     want_err, kvg_err_name(e), e ? d.msg : "(success)"), result = why;
        free(want_err);
        goto done;
    }
    if (e != KVG_OK) {
        snprintf(why, sizeof why, "%s: render failed: %s: %s", name, kvg_err_name(e), d.msg);
        result = why;
        goto done;
    }
    snprintf(path, sizeof path, "%s/expected.json", dir);
    const char *pretty = json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
    if (getenv("KVG_GOLDEN_UPDATE")) {
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "%s\n", pretty);
        fclose(f);
    }
    char *want_text = read_opt(path);
    json_object *want = want_text ? json_tokener_parse(want_text) : NULL;
    if (!want || !json_object_equal(want, out))
        snprintf(why, sizeof why, "%s: output differs from expected.json:\n%s", name, pretty), result = why;
    json_object_put(want);
    free(want_text);
done:
    json_object_put(out);
    json_object_put(clone);
    kvg_store_free(store);
    return result;
}

START_TEST(golden_cases)
{
    DIR *dir = opendir(GOLDEN_DIR);
    ck_assert_ptr_nonnull(dir);
    struct dirent *de;
    int n = 0, failed = 0;
    while ((de = readdir(dir))) {
        char sub[1024];
        struct stat st;
        snprintf(sub, sizeof sub, "%s/%s", GOLDEN_DIR, de->d_name);
        if (de->d_name[0] == '.' || stat(sub, &st) || !S_ISDIR(st.st_mode))
            continue;
        const char *why = run_case(de->d_name);
        n++;
        if (why) {
            fprintf(stderr, "FAIL %s\n", why);
            failed++;
        }
    }
    closedir(dir);
    ck_assert_int_ge(n, 8);
    ck_assert_int_eq(failed, 0);
}
END_TEST

START_TEST(target_name_is_kubevirt_shaped_and_deterministic)
{
    char a[300], b[300];
    ck_assert_int_eq(kvg_clone_target_name("vm-cirros", "0d9f4d2c-uid", a, sizeof a), KVG_OK);
    ck_assert_int_eq(kvg_clone_target_name("vm-cirros", "0d9f4d2c-uid", b, sizeof b), KVG_OK);
    ck_assert_str_eq(a, b);
    ck_assert_uint_eq(strlen(a), strlen("vm-cirros-clone-") + 5);
    ck_assert(!strncmp(a, "vm-cirros-clone-", 16));
    for (const char *p = a + 16; *p; p++)
        ck_assert_ptr_nonnull(strchr("bcdfghjklmnpqrstvwxz2456789", *p));
    ck_assert_int_eq(kvg_clone_target_name("vm-cirros", "another-uid", b, sizeof b), KVG_OK);
    ck_assert_str_ne(a, b);
    char longname[260];
    memset(longname, 'a', 250);
    longname[250] = '\0';
    ck_assert_int_eq(kvg_clone_target_name(longname, "x", a, sizeof a), KVG_OK);
    ck_assert(!strncmp(a, "clone-object-", 13));
    ck_assert_int_eq(kvg_clone_target_name("vm", "x", a, 8), KVG_EINVAL);
}
END_TEST

START_TEST(bad_arguments_are_errors)
{
    kvg_store *s = NULL;
    ck_assert_int_eq(kvg_store_new(&s), KVG_OK);
    json_object *vm = json_tokener_parse("{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\"},\"spec\":\"x\"}");
    json_object *clone = json_tokener_parse("{\"spec\":{}}");
    json_object *out = (json_object *)1;
    kvg_diag d;
    ck_assert_int_eq(kvg_clone_render(kvg_store_view(s), vm, clone, &out, &d), KVG_EINVAL);
    ck_assert_ptr_null(out);
    ck_assert_ptr_nonnull(strstr(d.msg, "has no spec"));
    ck_assert_int_eq(kvg_clone_render(kvg_store_view(s), NULL, clone, &out, &d), KVG_EINVAL);
    ck_assert_int_eq(kvg_clone_render(NULL, vm, clone, &out, &d), KVG_EINVAL);
    json_object_put(vm);
    json_object_put(clone);
    kvg_store_free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("clone_render");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, golden_cases);
    tcase_add_test(tc, target_name_is_kubevirt_shaped_and_deterministic);
    tcase_add_test(tc, bad_arguments_are_errors);
    suite_add_tcase(s, tc);
    return kvg_test_run(s);
}
