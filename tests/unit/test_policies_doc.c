/* docs/policies.md cannot drift from the rule table: every rule has a section
 * with its object kind, lookup flag and default action, and every section
 * names a rule. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvguard/policy.h"
#include "testlib.h"

static char *doc;

/* The text of "### name" up to the next heading, or NULL. */
static char *section(const char *name)
{
    char heading[128];
    snprintf(heading, sizeof heading, "\n### %s\n", name);
    const char *start = strstr(doc, heading);
    if (!start)
        return NULL;
    start += strlen(heading);
    const char *end = strstr(start, "\n#");
    size_t len = end ? (size_t)(end - start) : strlen(start);
    return strndup(start, len);
}

START_TEST(every_rule_is_documented_as_in_the_code)
{
    for (int i = 0; i < KVG_RULE_COUNT; i++) {
        const kvg_rule_info *ri = kvg_rule_info_get((kvg_rule_id)i);
        char *sec = section(ri->name);
        ck_assert_msg(sec, "docs/policies.md has no section '### %s'", ri->name);
        char want[256];
        snprintf(want, sizeof want, "- Default action: `%s`", kvg_action_name(ri->default_action));
        ck_assert_msg(strstr(sec, want), "%s: docs say otherwise than '%s'", ri->name, want);
        snprintf(want, sizeof want, "- Object: %s\n", ri->object_kind);
        ck_assert_msg(strstr(sec, want), "%s: docs do not say '%s'", ri->name, want);
        snprintf(want, sizeof want, "- Lookups: %s\n", ri->needs_lookup ? "yes" : "no");
        ck_assert_msg(strstr(sec, want), "%s: docs do not say '%s'", ri->name, want);
        free(sec);
    }
}
END_TEST

START_TEST(every_section_names_a_rule)
{
    int sections = 0;
    for (const char *p = strstr(doc, "\n### "); p; p = strstr(p + 1, "\n### ")) {
        char name[128];
        ck_assert_int_eq(sscanf(p + 5, "%127s", name), 1);
        kvg_rule_id id;
        ck_assert_msg(kvg_rule_find(name, &id) == KVG_OK,
                      "docs/policies.md documents '%s', which is not a rule", name);
        sections++;
    }
    ck_assert_int_eq(sections, KVG_RULE_COUNT);
}
END_TEST

int main(void)
{
    doc = kvg_test_read_source("docs/policies.md", NULL);
    Suite *s = suite_create("policies_doc");
    TCase *tc = tcase_create("doc");
    tcase_add_test(tc, every_rule_is_documented_as_in_the_code);
    tcase_add_test(tc, every_section_names_a_rule);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free(doc);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
