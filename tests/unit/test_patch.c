/* Unit tests of JSONPatch building and applying (src/policy/patch.c):
 * RFC 6901 escaping, RFC 6902 semantics (including the RFC's own examples),
 * atomicity, and idempotence of the builders under reinvocation. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/json.h"
#include "policy/patch.h"
#include "testlib.h"

static json_object *J(const char *text)
{
    json_object *o = json_tokener_parse(text);
    ck_assert_msg(o != NULL || !strcmp(text, "null"), "bad test JSON: %s", text);
    return o;
}

/* Apply patch text to doc text and compare with want (NULL: must fail). */
static void expect_apply(const char *doc, const char *patch, const char *want)
{
    json_object *d = J(doc), *p = J(patch);
    kvg_diag diag = {{0}};
    kvg_err e = kvg_patch_apply(&d, p, &diag);
    if (!want) {
        ck_assert_msg(e != KVG_OK, "patch %s on %s should fail", patch, doc);
        json_object *orig = J(doc);
        ck_assert_msg(json_object_equal(d, orig), "failed patch changed the document");
        json_object_put(orig);
    } else {
        ck_assert_msg(e == KVG_OK, "patch %s on %s: %s", patch, doc, diag.msg);
        json_object *w = J(want);
        ck_assert_msg(json_object_equal(d, w), "got %s want %s",
                      json_object_to_json_string(d), want);
        json_object_put(w);
    }
    json_object_put(d);
    json_object_put(p);
}

START_TEST(escape_tokens)
{
    kvg_buf b;
    kvg_buf_init(&b, 0);
    ck_assert_int_eq(kvg_jsonptr_append(&b, "metadata"), KVG_OK);
    ck_assert_int_eq(kvg_jsonptr_append(&b, "kvguard.io/clone~strategy"), KVG_OK);
    ck_assert_str_eq(b.data, "/metadata/kvguard.io~1clone~0strategy");
    kvg_buf_free(&b);
    json_object *doc = J("{\"a/b\": {\"m~n\": [10, 20]}, \"\": 1}");
    ck_assert_int_eq(json_object_get_int(kvg_jsonptr_get(doc, "/a~1b/m~0n/1")), 20);
    ck_assert_int_eq(json_object_get_int(kvg_jsonptr_get(doc, "/")), 1);
    ck_assert_ptr_eq(kvg_jsonptr_get(doc, ""), doc);
    ck_assert_ptr_null(kvg_jsonptr_get(doc, "/a~1b/m~0n/01"));  /* leading zero */
    ck_assert_ptr_null(kvg_jsonptr_get(doc, "/a~1b/m~0n/2"));   /* out of range */
    ck_assert_ptr_null(kvg_jsonptr_get(doc, "/a~2b"));          /* bad escape */
    ck_assert_ptr_null(kvg_jsonptr_get(doc, "a"));              /* not a pointer */
    json_object_put(doc);
}
END_TEST

/* RFC 6902 appendix A, a selection. */
START_TEST(rfc6902_examples)
{
    expect_apply("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
                 "{\"baz\":\"qux\",\"foo\":\"bar\"}");
    expect_apply("{\"foo\":[\"bar\",\"baz\"]}", "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
                 "{\"foo\":[\"bar\",\"qux\",\"baz\"]}");
    expect_apply("{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
                 "{\"foo\":\"bar\"}");
    expect_apply("{\"foo\":[\"bar\",\"qux\",\"baz\"]}", "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]",
                 "{\"foo\":[\"bar\",\"baz\"]}");
    expect_apply("{\"baz\":\"qux\",\"foo\":\"bar\"}",
                 "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
                 "{\"baz\":\"boo\",\"foo\":\"bar\"}");
    expect_apply("{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
                 "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
                 "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}");
    expect_apply("{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
                 "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
                 "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}");
    expect_apply("{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
                 "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
                 "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
                 "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}");
    expect_apply("{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]", NULL);
    expect_apply("{\"foo\":\"bar\"}",
                 "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
                 "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}");
    expect_apply("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]", NULL);
    expect_apply("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
                 "{\"/\":9,\"~1\":10}");
    expect_apply("{\"foo\":[\"bar\"]}", "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
                 "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}");
    expect_apply("{\"foo\":\"bar\"}", "[{\"op\":\"copy\",\"from\":\"/foo\",\"path\":\"/baz\"}]",
                 "{\"foo\":\"bar\",\"baz\":\"bar\"}");
    expect_apply("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":[1]}]", "[1]");
    expect_apply("{\"a\":null}", "[{\"op\":\"remove\",\"path\":\"/a\"}]", "{}");
}
END_TEST

START_TEST(failures_are_atomic_and_explained)
{
    /* the first op applies, the second fails: nothing changes */
    expect_apply("{\"a\":1}",
                 "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},{\"op\":\"remove\",\"path\":\"/zzz\"}]", NULL);
    expect_apply("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":2}]", NULL);
    expect_apply("{\"a\":[1]}", "[{\"op\":\"replace\",\"path\":\"/a/1\",\"value\":2}]", NULL);
    expect_apply("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":2}]", NULL);
    expect_apply("{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/c\"}]", NULL);
    expect_apply("{\"a\":1}", "[{\"op\":\"jump\",\"path\":\"/a\"}]", NULL);
    expect_apply("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/b\"}]", NULL);
    expect_apply("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"b\",\"value\":1}]", NULL);
    expect_apply("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"\"}]", NULL);
    expect_apply("{\"a\":\"s\"}", "[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":1}]", NULL);

    json_object *d = J("{\"a\":1}"), *p = J("[{\"op\":\"add\",\"path\":\"/a\",\"value\":2},{\"op\":\"remove\",\"path\":\"/x~1y\"}]");
    kvg_diag diag;
    ck_assert_int_eq(kvg_patch_apply(&d, p, &diag), KVG_EINVAL);
    ck_assert_str_eq(diag.msg, "operation 1: path '/x~1y' does not exist");
    json_object_put(p);
    p = J("{\"op\":\"add\"}");
    ck_assert_int_eq(kvg_patch_apply(&d, p, &diag), KVG_EINVAL);
    ck_assert_ptr_nonnull(strstr(diag.msg, "array of operations"));
    json_object_put(p);
    json_object_put(d);
}
END_TEST

START_TEST(check_op_names_the_problem)
{
    kvg_diag d;
    json_object *o = J("{\"op\":\"add\",\"path\":\"/spec/x\",\"value\":null}");
    ck_assert_int_eq(kvg_patch_check_op(o, &d), KVG_OK);
    json_object_put(o);
    o = J("{\"op\":\"move\",\"path\":\"/spec/x\"}");
    ck_assert_int_eq(kvg_patch_check_op(o, &d), KVG_EINVAL);
    ck_assert_ptr_nonnull(strstr(d.msg, "'from'"));
    json_object_put(o);
    o = J("{\"path\":\"/spec/x\"}");
    ck_assert_int_eq(kvg_patch_check_op(o, &d), KVG_EINVAL);
    ck_assert_ptr_nonnull(strstr(d.msg, "'op'"));
    json_object_put(o);
    o = J("[1]");
    ck_assert_int_eq(kvg_patch_check_op(o, &d), KVG_EINVAL);
    json_object_put(o);
}
END_TEST

/* Builders: apply what they produce, then run them again on the result:
 * the second run must produce nothing (reinvocationPolicy: IfNeeded). */
static void expect_set_idempotent(const char *doc, const char *const *tokens, size_t n,
                                  const char *value, const char *want_ops, const char *want_doc)
{
    json_object *d = J(doc), *ops = json_object_new_array();
    ck_assert_int_eq(kvg_patch_set(ops, d, tokens, n, J(value)), KVG_OK);
    json_object *w = J(want_ops);
    ck_assert_msg(json_object_equal(ops, w), "ops %s, want %s", json_object_to_json_string(ops), want_ops);
    json_object_put(w);
    ck_assert_int_eq(kvg_patch_apply(&d, ops, NULL), KVG_OK);
    w = J(want_doc);
    ck_assert_msg(json_object_equal(d, w), "doc %s, want %s", json_object_to_json_string(d), want_doc);
    json_object_put(w);
    json_object_put(ops);
    ops = json_object_new_array();
    ck_assert_int_eq(kvg_patch_set(ops, d, tokens, n, J(value)), KVG_OK);
    ck_assert_uint_eq(json_object_array_length(ops), 0);
    json_object_put(ops);
    json_object_put(d);
}

START_TEST(set_is_minimal_and_idempotent)
{
    const char *ann[] = {"metadata", "annotations", "kvguard.io/clone-strategy"};
    expect_set_idempotent("{\"metadata\":{\"name\":\"c\"}}", ann, 3, "\"cdi\"",
                          "[{\"op\":\"add\",\"path\":\"/metadata/annotations\","
                          "\"value\":{\"kvguard.io/clone-strategy\":\"cdi\"}}]",
                          "{\"metadata\":{\"name\":\"c\",\"annotations\":{\"kvguard.io/clone-strategy\":\"cdi\"}}}");
    expect_set_idempotent("{\"metadata\":{\"annotations\":{\"a\":\"b\"}}}", ann, 3, "\"cdi\"",
                          "[{\"op\":\"add\",\"path\":\"/metadata/annotations/kvguard.io~1clone-strategy\",\"value\":\"cdi\"}]",
                          "{\"metadata\":{\"annotations\":{\"a\":\"b\",\"kvguard.io/clone-strategy\":\"cdi\"}}}");
    expect_set_idempotent("{\"metadata\":{\"annotations\":{\"kvguard.io/clone-strategy\":\"snapshot\"}}}", ann, 3,
                          "\"cdi\"",
                          "[{\"op\":\"replace\",\"path\":\"/metadata/annotations/kvguard.io~1clone-strategy\",\"value\":\"cdi\"}]",
                          "{\"metadata\":{\"annotations\":{\"kvguard.io/clone-strategy\":\"cdi\"}}}");
    /* annotations: null is replaced, not added under */
    expect_set_idempotent("{\"metadata\":{\"annotations\":null}}", ann, 3, "\"cdi\"",
                          "[{\"op\":\"replace\",\"path\":\"/metadata/annotations\","
                          "\"value\":{\"kvguard.io/clone-strategy\":\"cdi\"}}]",
                          "{\"metadata\":{\"annotations\":{\"kvguard.io/clone-strategy\":\"cdi\"}}}");
    const char *size[] = {"spec", "pvc", "resources", "requests", "storage"};
    expect_set_idempotent("{\"spec\":{\"pvc\":{\"accessModes\":[\"ReadWriteOnce\"]}}}", size, 5, "\"10Gi\"",
                          "[{\"op\":\"add\",\"path\":\"/spec/pvc/resources\","
                          "\"value\":{\"requests\":{\"storage\":\"10Gi\"}}}]",
                          "{\"spec\":{\"pvc\":{\"accessModes\":[\"ReadWriteOnce\"],"
                          "\"resources\":{\"requests\":{\"storage\":\"10Gi\"}}}}}");
    const char *ns[] = {"spec", "source", "pvc", "namespace"};
    expect_set_idempotent("{\"spec\":{\"source\":{\"pvc\":{\"name\":\"p\",\"namespace\":\"\"}}}}", ns, 4,
                          "\"default\"",
                          "[{\"op\":\"replace\",\"path\":\"/spec/source/pvc/namespace\",\"value\":\"default\"}]",
                          "{\"spec\":{\"source\":{\"pvc\":{\"name\":\"p\",\"namespace\":\"default\"}}}}");
    /* kvg_patch_set_annotation is the same thing */
    json_object *d = J("{\"metadata\":{}}"), *ops = json_object_new_array();
    ck_assert_int_eq(kvg_patch_set_annotation(ops, d, "a~b", "v"), KVG_OK);
    ck_assert_int_eq(kvg_patch_apply(&d, ops, NULL), KVG_OK);
    ck_assert_str_eq(kvg_json_str(d, "metadata", "annotations", "a~b", NULL), "v");
    json_object_put(ops);
    json_object_put(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("patch");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, escape_tokens);
    tcase_add_test(tc, rfc6902_examples);
    tcase_add_test(tc, failures_are_atomic_and_explained);
    tcase_add_test(tc, check_op_names_the_problem);
    tcase_add_test(tc, set_is_minimal_and_idempotent);
    suite_add_tcase(s, tc);
    return kvg_test_run(s);
}
