/* Unit tests of src/util: errors, buffers, JSON helpers, YAML loader, base64. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/buf.h"
#include "kvguard/error.h"
#include "kvguard/json.h"
#include "testlib.h"

START_TEST(err_strings_cover_every_code)
{
    for (int e = 0; e < KVG_ERR_COUNT; e++) {
        ck_assert_ptr_nonnull(kvg_strerror((kvg_err)e));
        ck_assert_str_ne(kvg_err_name((kvg_err)e), "EUNKNOWN");
    }
    ck_assert_str_eq(kvg_err_name(KVG_EPARSE), "EPARSE");
    ck_assert_str_eq(kvg_strerror((kvg_err)999), "unknown error");
}
END_TEST

START_TEST(diag_prefix_keeps_message)
{
    kvg_diag d;
    ck_assert_int_eq(kvg_diag_set(&d, KVG_EPARSE, "field '%s' missing", "x"),
                     KVG_EPARSE);
    kvg_diag_prefix(&d, "file.yaml:%d", 3);
    ck_assert_str_eq(d.msg, "file.yaml:3: field 'x' missing");
    ck_assert_int_eq(kvg_diag_set(NULL, KVG_EIO, "ignored"), KVG_EIO);
}
END_TEST

START_TEST(buf_respects_limit)
{
    kvg_buf b;
    kvg_buf_init(&b, 10);
    ck_assert_int_eq(kvg_buf_puts(&b, "0123456789"), KVG_OK);
    ck_assert_int_eq(kvg_buf_puts(&b, "x"), KVG_ETOOBIG);
    ck_assert_uint_eq(b.len, 10);
    ck_assert_str_eq(b.data, "0123456789");
    kvg_buf_reset(&b);
    ck_assert_int_eq(kvg_buf_printf(&b, "%d-%s", 42, "ok"), KVG_OK);
    ck_assert_str_eq(b.data, "42-ok");
    ck_assert_int_eq(kvg_buf_printf(&b, "%s", "too long for it"), KVG_ETOOBIG);
    size_t len;
    char *s = kvg_buf_steal(&b, &len);
    ck_assert_str_eq(s, "42-ok");
    ck_assert_uint_eq(len, 5);
    ck_assert_ptr_null(b.data);
    free(s);
    kvg_buf_free(&b);
}
END_TEST

START_TEST(buf_grows_past_initial_capacity)
{
    kvg_buf b;
    kvg_buf_init(&b, 0);
    for (int i = 0; i < 10000; i++)
        ck_assert_int_eq(kvg_buf_append(&b, "abc", 3), KVG_OK);
    ck_assert_uint_eq(b.len, 30000);
    ck_assert_uint_eq(strlen(b.data), 30000);
    kvg_buf_free(&b);
}
END_TEST

START_TEST(buf_read_missing_file_names_it)
{
    kvg_buf b;
    kvg_diag d;
    kvg_buf_init(&b, 0);
    ck_assert_int_eq(kvg_buf_read_file(&b, "/nonexistent/x.yaml", &d), KVG_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(d.msg, "/nonexistent/x.yaml"));
    kvg_buf_free(&b);
}
END_TEST

START_TEST(json_paths_are_type_checked)
{
    json_object *o;
    const char *t = "{\"spec\":{\"source\":{\"name\":\"vm1\",\"n\":3,\"f\":2.0,"
                    "\"b\":true,\"a\":[1]}},\"s\":5}";
    ck_assert_int_eq(kvg_json_parse(t, strlen(t), 0, &o, NULL), KVG_OK);
    ck_assert_str_eq(kvg_json_str(o, "spec", "source", "name", NULL), "vm1");
    ck_assert_ptr_null(kvg_json_str(o, "spec", "source", "n", NULL));
    ck_assert_ptr_null(kvg_json_str(o, "s", "x", NULL));
    ck_assert_int_eq(kvg_json_int(0, o, "spec", "source", "n", NULL), 3);
    ck_assert_int_eq(kvg_json_int(7, o, "spec", "source", "f", NULL), 2);
    ck_assert_int_eq(kvg_json_int(7, o, "spec", "source", "name", NULL), 7);
    ck_assert(kvg_json_bool(false, o, "spec", "source", "b", NULL));
    ck_assert(kvg_json_bool(true, o, "spec", "missing", NULL));
    ck_assert_ptr_nonnull(kvg_json_array(o, "spec", "source", "a", NULL));
    ck_assert_ptr_null(kvg_json_array(o, "spec", "source", NULL));
    ck_assert(kvg_json_str_eq(kvg_json_path(o, "spec", "source", NULL), "name", "vm1"));
    ck_assert_ptr_null(kvg_json_path(NULL, "a", NULL));
    json_object_put(o);
}
END_TEST

START_TEST(json_parse_errors_name_position)
{
    json_object *o;
    kvg_diag d;
    const char *bad = "{\n  \"a\": [1,\n  2,,]\n}";
    ck_assert_int_eq(kvg_json_parse(bad, strlen(bad), 0, &o, &d), KVG_EPARSE);
    ck_assert_ptr_nonnull(strstr(d.msg, "line 3"));
    ck_assert_int_eq(kvg_json_parse("{} x", 4, 0, &o, &d), KVG_EPARSE);
    ck_assert_ptr_nonnull(strstr(d.msg, "line 1 column 4"));
    ck_assert_int_eq(kvg_json_parse("{\"a\":", 5, 0, &o, &d), KVG_EPARSE);
    ck_assert_ptr_nonnull(strstr(d.msg, "end of input"));
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    ck_assert_int_eq(kvg_json_parse(deep, 200, 32, &o, &d), KVG_EPARSE);
    ck_assert_int_eq(kvg_json_parse(deep, 200, 128, &o, &d), KVG_OK);
    json_object_put(o);
}
END_TEST

static kvg_yaml_docs parse_ok(const char *y)
{
    kvg_yaml_docs docs;
    kvg_diag d = {{0}};
    kvg_err e = kvg_yaml_parse(y, strlen(y), "t.yaml", &docs, &d);
    ck_assert_msg(e == KVG_OK, "parse failed: %s", d.msg);
    return docs;
}

START_TEST(yaml_scalars_resolve_like_kubernetes)
{
    kvg_yaml_docs docs = parse_ok(
        "a: 1\nb: -2.5\nc: true\nd: \"true\"\ne: ~\nf: 10Gi\ng: yes\nh: '007'\n"
        "i: 0x1f\nj: 1e3\nk: .5\nl: 1.2.3\nm: !!str 12\nn: \"\"\n");
    ck_assert_uint_eq(docs.count, 1);
    json_object *o = docs.docs[0].obj;
    ck_assert_int_eq(kvg_json_int(0, o, "a", NULL), 1);
    ck_assert(fabs(json_object_get_double(kvg_json_path(o, "b", NULL)) + 2.5) < 1e-9);
    ck_assert(kvg_json_bool(false, o, "c", NULL));
    ck_assert_str_eq(kvg_json_str(o, "d", NULL), "true");
    ck_assert(json_object_object_get_ex(o, "e", NULL));
    ck_assert_ptr_null(kvg_json_path(o, "e", NULL));
    ck_assert_str_eq(kvg_json_str(o, "f", NULL), "10Gi");
    ck_assert(kvg_json_bool(false, o, "g", NULL));
    ck_assert_str_eq(kvg_json_str(o, "h", NULL), "007");
    ck_assert_int_eq(kvg_json_int(0, o, "i", NULL), 31);
    ck_assert_int_eq(kvg_json_int(0, o, "j", NULL), 1000);
    ck_assert(json_object_is_type(kvg_json_path(o, "k", NULL), json_type_double));
    ck_assert_str_eq(kvg_json_str(o, "l", NULL), "1.2.3");
    ck_assert_str_eq(kvg_json_str(o, "m", NULL), "12");
    ck_assert_str_eq(kvg_json_str(o, "n", NULL), "");
    kvg_yaml_docs_free(&docs);
}
END_TEST

START_TEST(yaml_multi_document_lines)
{
    kvg_yaml_docs docs = parse_ok(
        "# comment\n---\nkind: A\nspec:\n  list:\n  - x: 1\n  - y/z: 2\n---\n---\n"
        "kind: B\n");
    ck_assert_uint_eq(docs.count, 3);
    ck_assert_int_eq(docs.docs[0].line, 2);
    ck_assert_ptr_null(docs.docs[1].obj);
    ck_assert_int_eq(docs.docs[2].index, 2);
    ck_assert_str_eq(kvg_json_str(docs.docs[2].obj, "kind", NULL), "B");
    ck_assert_int_eq(kvg_yaml_line(&docs, "/0/spec"), 4);
    ck_assert_int_eq(kvg_yaml_line(&docs, "/0/spec/list/0/x"), 6);
    ck_assert_int_eq(kvg_yaml_line(&docs, "/0/spec/list/1/y~1z"), 7);
    ck_assert_int_eq(kvg_yaml_line(&docs, "/2/kind"), 10);
    ck_assert_int_eq(kvg_yaml_line(&docs, "/0/nope"), 0);
    kvg_yaml_docs_free(&docs);
}
END_TEST

START_TEST(yaml_errors_name_file_and_line)
{
    kvg_yaml_docs docs;
    kvg_diag d;
    const char *bad = "a: 1\nb: [1, 2\nc: 3\n";
    ck_assert_int_eq(kvg_yaml_parse(bad, strlen(bad), "x.yaml", &docs, &d), KVG_EPARSE);
    ck_assert_ptr_nonnull(strstr(d.msg, "x.yaml:"));
    ck_assert_ptr_null(docs.docs);
    const char *alias = "a: &x [1]\nb: *x\n";
    ck_assert_int_eq(kvg_yaml_parse(alias, strlen(alias), "y.yaml", &docs, &d), KVG_EPARSE);
    ck_assert_ptr_nonnull(strstr(d.msg, "y.yaml:2:4: YAML aliases"));
    const char *complex = "? [a]\n: 1\n";
    ck_assert_int_eq(kvg_yaml_parse(complex, strlen(complex), "z", &docs, &d), KVG_EPARSE);
    ck_assert_ptr_nonnull(strstr(d.msg, "complex mapping keys"));
}
END_TEST

START_TEST(yaml_duplicate_keys_are_refused)
{
    kvg_yaml_docs docs;
    kvg_diag d;
    const char *dup = "spec:\n  a: 1\n  b: 2\n  a: 3\n";
    ck_assert_int_eq(kvg_yaml_parse(dup, strlen(dup), "d.yaml", &docs, &d), KVG_EPARSE);
    ck_assert_str_eq(d.msg, "d.yaml:4: mapping key \"a\" already defined");
    const char *nulls = "a:\na:\n";
    ck_assert_int_eq(kvg_yaml_parse(nulls, strlen(nulls), "n", &docs, &d), KVG_EPARSE);
    const char *ok = "a: {x: 1}\nb: {x: 2}\n";
    ck_assert_int_eq(kvg_yaml_parse(ok, strlen(ok), "ok", &docs, &d), KVG_OK);
    kvg_yaml_docs_free(&docs);
}
END_TEST

START_TEST(json_bare_scalars_parse)
{
    json_object *o = NULL;
    ck_assert_int_eq(kvg_json_parse("5", 1, 0, &o, NULL), KVG_OK);
    ck_assert_int_eq(json_object_get_int(o), 5);
    json_object_put(o);
    ck_assert_int_eq(kvg_json_parse("null", 4, 0, &o, NULL), KVG_OK);
    ck_assert_ptr_null(o);
    ck_assert_int_eq(kvg_json_parse(" true ", 6, 0, &o, NULL), KVG_OK);
    ck_assert(json_object_get_boolean(o));
    json_object_put(o);
    kvg_diag d;
    ck_assert_int_eq(kvg_json_parse("5x", 2, 0, &o, &d), KVG_EPARSE);
    ck_assert_int_eq(kvg_json_parse("", 0, 0, &o, &d), KVG_EPARSE);
}
END_TEST

START_TEST(yaml_depth_is_bounded)
{
    kvg_buf b;
    kvg_buf_init(&b, 0);
    for (int i = 0; i < 100; i++)
        kvg_buf_puts(&b, "[");
    kvg_yaml_docs docs;
    kvg_diag d;
    ck_assert_int_eq(kvg_yaml_parse(b.data, b.len, "deep", &docs, &d), KVG_EPARSE);
    ck_assert_ptr_nonnull(strstr(d.msg, "nesting deeper than 64"));
    kvg_buf_free(&b);
}
END_TEST

START_TEST(yaml_json_input_and_no_lines)
{
    const char *j = "{\"kind\": \"List\", \"items\": [{\"a\": 1}]}";
    kvg_yaml_docs docs;
    ck_assert_int_eq(kvg_yaml_parse_ex(j, strlen(j), "j", false, &docs, NULL), KVG_OK);
    ck_assert_ptr_null(docs.lines);
    ck_assert_uint_eq(docs.count, 1);
    ck_assert_int_eq(json_object_array_length(kvg_json_array(docs.docs[0].obj, "items", NULL)), 1);
    kvg_yaml_docs_free(&docs);
}
END_TEST

START_TEST(base64_round_trip)
{
    const char *cases[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        kvg_buf b, r;
        kvg_buf_init(&b, 0);
        kvg_buf_init(&r, 0);
        ck_assert_int_eq(kvg_base64_encode(cases[i], strlen(cases[i]), &b), KVG_OK);
        ck_assert_str_eq(b.data ? b.data : "", enc[i]);
        ck_assert_int_eq(kvg_base64_decode(enc[i], strlen(enc[i]), &r), KVG_OK);
        ck_assert_uint_eq(r.len, strlen(cases[i]));
        ck_assert(r.len == 0 || !memcmp(r.data, cases[i], r.len));
        kvg_buf_free(&b);
        kvg_buf_free(&r);
    }
    kvg_buf r;
    kvg_buf_init(&r, 0);
    ck_assert_int_eq(kvg_base64_decode("Zm9\nvYmFy", 9, &r), KVG_OK);
    ck_assert_str_eq(r.data, "foobar");
    kvg_buf_reset(&r);
    ck_assert_int_eq(kvg_base64_decode("Zm9", 3, &r), KVG_EPARSE);
    ck_assert_int_eq(kvg_base64_decode("Zm9*", 4, &r), KVG_EPARSE);
    kvg_buf_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, err_strings_cover_every_code);
    tcase_add_test(tc, diag_prefix_keeps_message);
    tcase_add_test(tc, buf_respects_limit);
    tcase_add_test(tc, buf_grows_past_initial_capacity);
    tcase_add_test(tc, buf_read_missing_file_names_it);
    tcase_add_test(tc, json_paths_are_type_checked);
    tcase_add_test(tc, json_parse_errors_name_position);
    tcase_add_test(tc, yaml_scalars_resolve_like_kubernetes);
    tcase_add_test(tc, yaml_multi_document_lines);
    tcase_add_test(tc, yaml_errors_name_file_and_line);
    tcase_add_test(tc, yaml_depth_is_bounded);
    tcase_add_test(tc, yaml_duplicate_keys_are_refused);
    tcase_add_test(tc, json_bare_scalars_parse);
    tcase_add_test(tc, yaml_json_input_and_no_lines);
    tcase_add_test(tc, base64_round_trip);
    suite_add_tcase(s, tc);
    return kvg_test_run(s);
}
