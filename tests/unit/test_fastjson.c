/* Unit tests of the request path's hand-written JSON: the body parser of
 * src/admission/fastparse.c must give json-c's tree or decline, and
 * kvg_buf_json_str must escape as json-c serializes. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "admission/internal.h"
#include "kvguard/admission.h"
#include "kvguard/buf.h"
#include "testlib.h"

static char *jsonc_text(json_object *o)
{
    return strdup(json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* What json-c itself makes of text, strict as the decoder parses. */
static json_object *jsonc_parse(const char *text)
{
    json_tokener *tok = json_tokener_new_ex(64);
    json_object *o;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    o = json_tokener_parse_ex(tok, text, (int)strlen(text));
    json_tokener_free(tok);
    return o;
}

static void same_as_jsonc(const char *text)
{
    json_object *fast = NULL, *ref = jsonc_parse(text);
    ck_assert_msg(ref, "json-c refuses %s", text);
    ck_assert_msg(kvg_review_parse_fast(text, strlen(text), &fast) == KVG_OK,
                  "declined: %s", text);
    char *a = jsonc_text(fast), *b = jsonc_text(ref);
    ck_assert_str_eq(a, b);
    ck_assert(json_object_equal(fast, ref));
    free(a);
    free(b);
    json_object_put(fast);
    json_object_put(ref);
}

static void declined(const char *text)
{
    json_object *fast = (json_object *)1;
    ck_assert_msg(kvg_review_parse_fast(text, strlen(text), &fast) ==
                      KVG_EUNSUPPORTED, "accepted: %s", text);
    ck_assert_ptr_null(fast);
}

START_TEST(fast_parse_matches_jsonc)
{
    same_as_jsonc("{}");
    same_as_jsonc(" \r\n\t{ \"a\" : [ ] , \"b\":{ } }\n ");
    same_as_jsonc("{\"s\":\"plain\",\"e\":\"q\\\"b\\\\s\\/n\\nt\\tr\\rb\\bf\\f\"}");
    same_as_jsonc("{\"u\":\"\\u00e9\\u20AC\\u0041\\u007f\\u0080\\u07ff\\u0800\\uffff\"}");
    same_as_jsonc("{\"raw\":\"caf\xc3\xa9 \xe2\x82\xac\",\"k\\u00e9y\":1}");
    same_as_jsonc("{\"i\":[0,-0,7,-12,123456789012345678,-123456789012345678]}");
    same_as_jsonc("{\"t\":true,\"f\":false,\"n\":null,\"a\":[null,true,[],{}]}");
    /* a duplicate key keeps its first place and takes the last value */
    same_as_jsonc("{\"a\":1,\"b\":2,\"a\":{\"x\":\"y\"}}");
    char nested[128] = "{\"a\":";
    for (int i = 0; i < 40; i++)
        strcat(nested, "[");
    strcat(nested, "1");
    for (int i = 0; i < 40; i++)
        strcat(nested, "]");
    same_as_jsonc(strcat(nested, "}"));
    /* a long key and a long escaped value (the scratch buffer's paths) */
    char big[4096] = "{\"";
    memset(big + 2, 'k', 300);
    strcpy(big + 302, "\":\"");
    for (int i = 0; i < 500; i++)
        strcat(big, "\\\"x");
    strcat(big, "\"}");
    same_as_jsonc(big);
}
END_TEST

START_TEST(fast_parse_declines_the_unusual)
{
    declined("");
    declined("[1]");
    declined("\"s\"");
    declined("{\"d\":1.5}");
    declined("{\"d\":1e3}");
    declined("{\"big\":1234567890123456789}");
    /* past int64 while reading: no overflow (UBSan), declined (found by fuzzing) */
    declined("{\"big\":-99999999999999999999999999}");
    declined("{\"z\":01}");
    declined("{\"m\":-}");
    declined("{\"s\":\"\\ud83d\\ude00\"}");
    declined("{\"s\":\"\\u0000\"}");
    declined("{\"s\":\"\\x\"}");
    declined("{\"s\":\"\\u12g4\"}");
    declined("{\"s\":\"tab\there\"}");
    declined("{'s':1}");
    declined("{\"a\":1,}");
    declined("{\"a\":[1,]}");
    declined("{\"a\" 1}");
    declined("{\"a\":1} x");
    declined("{\"a\":1}{}");
    declined("{\"a\":tru}");
    declined("{\"a\":nul}");
    declined("{/*c*/\"a\":1}");
    declined("{\"a\":\"unterminated}");
    declined("{\"a\":[1,2}");
    char deep[256] = "{\"a\":";
    for (int i = 0; i < 60; i++)
        strcat(deep, "[");
    for (int i = 0; i < 60; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    declined(deep);
}
END_TEST

/* A declined body gets json-c's own error, as before the fast path. */
START_TEST(declined_body_keeps_jsonc_errors)
{
    kvg_review rv;
    kvg_diag d = {{0}};
    const char *text = "{\"apiVersion\":\"admission.k8s.io/v1\",\n \"kind\":,}";
    ck_assert_int_eq(kvg_review_decode(text, strlen(text), &rv, &d), KVG_EPARSE);
    ck_assert_msg(!strncmp(d.msg, "not JSON: line 2 column", 23), "%s", d.msg);
}
END_TEST

START_TEST(json_str_escapes_as_jsonc)
{
    char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    /* every byte, NUL included, alone and inside text */
    for (int i = 0; i < 256; i++) {
        char s[3] = {'a', all[i], 'b'};
        for (size_t len = 1; len <= 3; len++) {
            const char *p = len == 1 ? &all[i] : s;
            json_object *o = json_object_new_string_len(p, (int)len);
            kvg_buf b;
            kvg_buf_init(&b, 0);
            ck_assert_int_eq(kvg_buf_json_str(&b, p, len), KVG_OK);
            char *want = jsonc_text(o);
            ck_assert_msg(b.len == strlen(want) && !memcmp(b.data, want, b.len),
                          "byte %d: got %s want %s", i, b.data, want);
            free(want);
            kvg_buf_free(&b);
            json_object_put(o);
        }
    }
}
END_TEST

START_TEST(json_field_and_truncate)
{
    kvg_buf b;
    kvg_buf_init(&b, 0);
    ck_assert_int_eq(kvg_buf_json_field(&b, "{\"a\":", "x/y"), KVG_OK);
    ck_assert_int_eq(kvg_buf_json_field(&b, ",\"b\":", NULL), KVG_OK);
    ck_assert_str_eq(b.data, "{\"a\":\"x/y\",\"b\":\"\"");
    kvg_buf_truncate(&b, 4);
    ck_assert_str_eq(b.data, "{\"a\"");
    kvg_buf_truncate(&b, 100);
    ck_assert_uint_eq(b.len, 4);
    kvg_buf_free(&b);
    /* a string that does not fit leaves the error to the caller */
    kvg_buf_init(&b, 4);
    ck_assert_int_eq(kvg_buf_json_str(&b, "abcdef", 6), KVG_ETOOBIG);
    kvg_buf_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fastjson");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, fast_parse_matches_jsonc);
    tcase_add_test(tc, fast_parse_declines_the_unusual);
    tcase_add_test(tc, declined_body_keeps_jsonc_errors);
    tcase_add_test(tc, json_str_escapes_as_jsonc);
    tcase_add_test(tc, json_field_and_truncate);
    suite_add_tcase(s, tc);
    return kvg_test_run(s);
}
