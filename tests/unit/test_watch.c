/* Watch-stream parser: events cut at every possible chunk boundary,
 * bookmarks, ERROR events (410 and others), garbage, size limit. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/json.h"
#include "kvguard/kube.h"
#include "testlib.h"

typedef struct seen {
    char log[4096]; /* "TYPE name rv;" per event */
    int n;
    int fail_at;    /* return KVG_ECANCELED on this event (1-based), 0 never */
} seen;

static kvg_err record(kvg_watch_event *ev, void *ud)
{
    seen *s = ud;
    const char *name = kvg_json_str(ev->object, "metadata", "name", NULL);
    const char *rv = kvg_json_str(ev->object, "metadata", "resourceVersion",
                                  NULL);
    size_t l = strlen(s->log);
    snprintf(s->log + l, sizeof s->log - l, "%s %s %s;",
             kvg_watch_type_name(ev->type), name ? name : "-", rv ? rv : "-");
    json_object_put(ev->object);
    s->n++;
    return s->n == s->fail_at ? KVG_ECANCELED : KVG_OK;
}

static const char STREAM[] =
    "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":"
    "{\"name\":\"a\",\"resourceVersion\":\"10\"}}}\n"
    "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Pod\",\"metadata\":"
    "{\"name\":\"a\",\"resourceVersion\":\"11\"},\"spec\":{\"x\":\"caf\xc3\xa9\"}}}\n"
    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"metadata\":"
    "{\"resourceVersion\":\"15\"}}}\n"
    "{\"type\":\"DELETED\",\"object\":{\"kind\":\"Pod\",\"metadata\":"
    "{\"name\":\"a\",\"resourceVersion\":\"16\"}}}\n";

static const char WANT[] =
    "ADDED a 10;MODIFIED a 11;BOOKMARK - 15;DELETED a 16;";

static kvg_err feed_all(kvg_watch_parser *p, const char *s, size_t n,
                        size_t chunk, kvg_diag *d)
{
    for (size_t off = 0; off < n; off += chunk) {
        size_t k = n - off < chunk ? n - off : chunk;
        kvg_err e = kvg_watch_parser_feed(p, s + off, k, d);
        if (e != KVG_OK)
            return e;
    }
    return kvg_watch_parser_finish(p, d);
}

START_TEST(whole_stream)
{
    seen s = {0};
    kvg_watch_parser p;
    kvg_diag d;
    kvg_watch_parser_init(&p, 0, record, &s);
    ck_assert_int_eq(feed_all(&p, STREAM, strlen(STREAM), strlen(STREAM), &d),
                     KVG_OK);
    ck_assert_str_eq(s.log, WANT);
    kvg_watch_parser_free(&p);
}
END_TEST

START_TEST(byte_by_byte)
{
    seen s = {0};
    kvg_watch_parser p;
    kvg_diag d;
    kvg_watch_parser_init(&p, 0, record, &s);
    ck_assert_int_eq(feed_all(&p, STREAM, strlen(STREAM), 1, &d), KVG_OK);
    ck_assert_str_eq(s.log, WANT);
    kvg_watch_parser_free(&p);
}
END_TEST

/* Every split point, including inside the UTF-8 sequence and on '\n'. */
START_TEST(every_split)
{
    size_t n = strlen(STREAM);
    for (size_t cut = 0; cut <= n; cut++) {
        seen s = {0};
        kvg_watch_parser p;
        kvg_diag d;
        kvg_watch_parser_init(&p, 0, record, &s);
        ck_assert_int_eq(kvg_watch_parser_feed(&p, STREAM, cut, &d), KVG_OK);
        ck_assert_int_eq(kvg_watch_parser_feed(&p, STREAM + cut, n - cut, &d),
                         KVG_OK);
        ck_assert_int_eq(kvg_watch_parser_finish(&p, &d), KVG_OK);
        ck_assert_msg(strcmp(s.log, WANT) == 0, "cut %zu: %s", cut, s.log);
        kvg_watch_parser_free(&p);
    }
}
END_TEST

START_TEST(blank_lines_and_crlf)
{
    const char *in = "\n  \r\n{\"type\":\"ADDED\",\"object\":{\"metadata\":"
                     "{\"name\":\"b\",\"resourceVersion\":\"3\"}}}\r\n\n";
    seen s = {0};
    kvg_watch_parser p;
    kvg_diag d;
    kvg_watch_parser_init(&p, 0, record, &s);
    ck_assert_int_eq(feed_all(&p, in, strlen(in), 3, &d), KVG_OK);
    ck_assert_str_eq(s.log, "ADDED b 3;");
    kvg_watch_parser_free(&p);
}
END_TEST

START_TEST(error_410_is_gone)
{
    const char *in =
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\","
        "\"resourceVersion\":\"5\"}}}\n"
        "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":"
        "\"v1\",\"status\":\"Failure\",\"message\":\"too old resource "
        "version: 5 (1200)\",\"reason\":\"Expired\",\"code\":410}}\n"
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"late\"}}}\n";
    seen s = {0};
    kvg_watch_parser p;
    kvg_diag d;
    kvg_watch_parser_init(&p, 0, record, &s);
    ck_assert_int_eq(kvg_watch_parser_feed(&p, in, strlen(in), &d), KVG_EGONE);
    ck_assert_str_eq(s.log, "ADDED a 5;"); /* nothing after the ERROR */
    ck_assert_int_eq(p.status.code, 410);
    ck_assert_str_eq(p.status.reason, "Expired");
    ck_assert_str_eq(p.status.message, "too old resource version: 5 (1200)");
    ck_assert_ptr_nonnull(strstr(d.msg, "watch line 2"));
    ck_assert_ptr_nonnull(strstr(d.msg, "too old resource version"));
    /* sticky */
    ck_assert_int_eq(kvg_watch_parser_feed(&p, "\n", 1, &d), KVG_EGONE);
    ck_assert_int_eq(kvg_watch_parser_finish(&p, &d), KVG_EGONE);
    kvg_watch_parser_free(&p);
}
END_TEST

/* Older apiservers said "Gone" with code 410 too; the code alone decides. */
START_TEST(error_codes)
{
    struct { const char *obj; kvg_err want; } cases[] = {
        {"{\"kind\":\"Status\",\"code\":410,\"reason\":\"Gone\"}", KVG_EGONE},
        {"{\"kind\":\"Status\",\"code\":410}", KVG_EGONE},
        {"{\"kind\":\"Status\",\"reason\":\"Expired\"}", KVG_EGONE},
        {"{\"kind\":\"Status\",\"code\":500,\"reason\":\"InternalError\","
         "\"message\":\"etcd down\"}", KVG_EAPI},
        {"{\"kind\":\"Status\",\"code\":404,\"reason\":\"NotFound\"}", KVG_EAPI},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char line[512];
        snprintf(line, sizeof line, "{\"type\":\"ERROR\",\"object\":%s}\n",
                 cases[i].obj);
        seen s = {0};
        kvg_watch_parser p;
        kvg_diag d;
        kvg_watch_parser_init(&p, 0, record, &s);
        ck_assert_int_eq(kvg_watch_parser_feed(&p, line, strlen(line), &d),
                         cases[i].want);
        ck_assert_int_eq(s.n, 0);
        kvg_watch_parser_free(&p);
    }
}
END_TEST

START_TEST(garbage_lines)
{
    const char *bad[] = {
        "this is not json\n",
        "{\"type\":\"ADDED\"}\n",                        /* no object */
        "{\"object\":{}}\n",                             /* no type */
        "{\"type\":\"ADDED\",\"object\":\"str\"}\n",      /* object not a map */
        "{\"type\":\"EXPLODED\",\"object\":{}}\n",       /* unknown type */
        "{\"type\":\"ADDED\",\"object\":{}} trailing\n", /* junk after */
        "[1,2,3]\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        seen s = {0};
        kvg_watch_parser p;
        kvg_diag d;
        const char *ok = "{\"type\":\"ADDED\",\"object\":{\"metadata\":"
                         "{\"name\":\"x\"}}}\n";
        kvg_watch_parser_init(&p, 0, record, &s);
        ck_assert_int_eq(kvg_watch_parser_feed(&p, ok, strlen(ok), &d), KVG_OK);
        ck_assert_int_eq(kvg_watch_parser_feed(&p, bad[i], strlen(bad[i]), &d),
                         KVG_EPARSE);
        ck_assert_msg(strstr(d.msg, "watch line 2") != NULL, "%s", d.msg);
        ck_assert_int_eq(s.n, 1);
        kvg_watch_parser_free(&p);
    }
}
END_TEST

START_TEST(line_over_limit)
{
    char big[400];
    memset(big, ' ', sizeof big);
    memcpy(big, "{\"type\":\"ADDED\",\"object\":{\"pad\":\"", 34);
    /* no newline anywhere: the parser must give up, not buffer forever */
    seen s = {0};
    kvg_watch_parser p;
    kvg_diag d;
    kvg_watch_parser_init(&p, 100, record, &s);
    kvg_err e = KVG_OK;
    for (size_t i = 0; i < sizeof big && e == KVG_OK; i += 7)
        e = kvg_watch_parser_feed(&p, big + i, sizeof big - i < 7 ? sizeof big - i : 7, &d);
    ck_assert_int_eq(e, KVG_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(d.msg, "exceeds 100 bytes"));
    ck_assert_uint_le(p.line.len, 100);
    kvg_watch_parser_free(&p);

    /* exactly at the limit is fine */
    char line[101];
    const char *head = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"";
    size_t hl = strlen(head);
    memcpy(line, head, hl);
    memset(line + hl, 'n', 100 - hl - 4);
    memcpy(line + 96, "\"}}}", 4);
    line[100] = '\n';
    memset(&s, 0, sizeof s);
    kvg_watch_parser_init(&p, 100, record, &s);
    ck_assert_int_eq(feed_all(&p, line, sizeof line, 9, &d), KVG_OK);
    ck_assert_int_eq(s.n, 1);
    kvg_watch_parser_free(&p);
}
END_TEST

START_TEST(stream_cut_inside_event)
{
    const char *in = "{\"type\":\"ADDED\",\"object\":{\"metadata\":"
                     "{\"name\":\"a\"}}}\n{\"type\":\"ADD";
    seen s = {0};
    kvg_watch_parser p;
    kvg_diag d;
    kvg_watch_parser_init(&p, 0, record, &s);
    ck_assert_int_eq(kvg_watch_parser_feed(&p, in, strlen(in), &d), KVG_OK);
    ck_assert_int_eq(kvg_watch_parser_finish(&p, &d), KVG_EIO);
    ck_assert_ptr_nonnull(strstr(d.msg, "inside an event"));
    ck_assert_int_eq(s.n, 1);
    kvg_watch_parser_free(&p);

    /* a complete last event without its newline still counts */
    const char *tail = "{\"type\":\"DELETED\",\"object\":{\"metadata\":"
                       "{\"name\":\"z\",\"resourceVersion\":\"9\"}}}";
    memset(&s, 0, sizeof s);
    kvg_watch_parser_init(&p, 0, record, &s);
    ck_assert_int_eq(feed_all(&p, tail, strlen(tail), 5, &d), KVG_OK);
    ck_assert_str_eq(s.log, "DELETED z 9;");
    kvg_watch_parser_free(&p);
}
END_TEST

START_TEST(callback_error_stops)
{
    seen s = {.fail_at = 2};
    kvg_watch_parser p;
    kvg_diag d;
    kvg_watch_parser_init(&p, 0, record, &s);
    ck_assert_int_eq(kvg_watch_parser_feed(&p, STREAM, strlen(STREAM), &d),
                     KVG_ECANCELED);
    ck_assert_int_eq(s.n, 2);
    ck_assert_int_eq(kvg_watch_parser_finish(&p, &d), KVG_ECANCELED);
    kvg_watch_parser_free(&p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("watch");
    TCase *tc = tcase_create("parser");
    tcase_add_test(tc, whole_stream);
    tcase_add_test(tc, byte_by_byte);
    tcase_add_test(tc, every_split);
    tcase_add_test(tc, blank_lines_and_crlf);
    tcase_add_test(tc, error_410_is_gone);
    tcase_add_test(tc, error_codes);
    tcase_add_test(tc, garbage_lines);
    tcase_add_test(tc, line_over_limit);
    tcase_add_test(tc, stream_cut_inside_event);
    tcase_add_test(tc, callback_error_stops);
    suite_add_tcase(s, tc);
    return kvg_test_run(s);
}
