/* Unit tests of the power state of a VM (SPEC §5, src/policy/power.c):
 * every run intent against every VMI situation. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/internal.h"
#include "testlib.h"

static json_object *vm_with(const char *spec_json)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"metadata\":{\"name\":\"vm\",\"namespace\":\"ns\"},\"spec\":%s}",
             spec_json);
    json_object *o = json_tokener_parse(text);
    ck_assert_msg(o != NULL, "bad test JSON %s", text);
    return o;
}

static json_object *vmi_in(const char *phase)
{
    char text[256];
    if (phase)
        snprintf(text, sizeof text, "{\"metadata\":{\"name\":\"vm\"},"
                 "\"status\":{\"phase\":\"%s\"}}", phase);
    else
        snprintf(text, sizeof text, "{\"metadata\":{\"name\":\"vm\"}}");
    return json_tokener_parse(text);
}

/* spec JSON, VMI phase ("-" no VMI, NULL a VMI without phase), expected. */
typedef struct power_case {
    const char *spec;
    const char *phase;
    bool on;
} power_case;

static const power_case cases[] = {
    /* running: true keeps the VM on even before/after a VMI */
    {"{\"running\":true}", "-", true},
    {"{\"running\":true}", "Succeeded", true},
    {"{\"running\":true}", "Running", true},
    /* running: false: the VMI decides */
    {"{\"running\":false}", "-", false},
    {"{\"running\":false}", "Running", true},
    {"{\"running\":false}", "Succeeded", false},
    {"{\"running\":false}", "Failed", false},
    /* Always and RerunOnFailure restart */
    {"{\"runStrategy\":\"Always\"}", "-", true},
    {"{\"runStrategy\":\"Always\"}", "Failed", true},
    {"{\"runStrategy\":\"RerunOnFailure\"}", "-", true},
    {"{\"runStrategy\":\"RerunOnFailure\"}", "Succeeded", true},
    /* Halted, Manual, Once: judged by the VMI alone */
    {"{\"runStrategy\":\"Halted\"}", "-", false},
    {"{\"runStrategy\":\"Halted\"}", "Running", true}, /* still stopping */
    {"{\"runStrategy\":\"Manual\"}", "-", false},
    {"{\"runStrategy\":\"Manual\"}", "Scheduling", true},
    {"{\"runStrategy\":\"Manual\"}", "Scheduled", true},
    {"{\"runStrategy\":\"Manual\"}", "Pending", true},
    {"{\"runStrategy\":\"Manual\"}", "Succeeded", false},
    {"{\"runStrategy\":\"Once\"}", "Running", true},
    {"{\"runStrategy\":\"Once\"}", "Succeeded", false},
    {"{\"runStrategy\":\"Once\"}", "Failed", false},
    {"{\"runStrategy\":\"Once\"}", "-", false},
    /* a VMI that has no phase yet, or Unknown, is on */
    {"{\"runStrategy\":\"Manual\"}", NULL, true},
    {"{\"runStrategy\":\"Manual\"}", "Unknown", true},
    /* runStrategy wins over running */
    {"{\"runStrategy\":\"Halted\",\"running\":true}", "-", false},
    {"{\"runStrategy\":\"Always\",\"running\":false}", "-", true},
    /* malformed intents are ignored, the VMI decides */
    {"{\"running\":\"true\"}", "-", false},
    {"{\"runStrategy\":42}", "-", false},
    {"{\"runStrategy\":\"Sometimes\"}", "Running", true},
    {"{}", "-", false},
    {"\"not an object\"", "-", false},
};

START_TEST(power_table)
{
    const power_case *pc = &cases[_i];
    json_object *vm = vm_with(pc->spec);
    json_object *vmi = pc->phase && !strcmp(pc->phase, "-") ? NULL : vmi_in(pc->phase);
    kvg_power pw;
    kvg_power_state(vm, vmi, &pw);
    ck_assert_msg(pw.on == pc->on, "spec %s, VMI %s: got %s (%s), want %s",
                  pc->spec, pc->phase ? pc->phase : "(no phase)",
                  pw.on ? "on" : "off", pw.why, pc->on ? "on" : "off");
    ck_assert_msg(pw.why[0] != '\0', "no explanation");
    if (vmi)
        ck_assert_ptr_nonnull(pw.vmi_phase);
    else
        ck_assert_ptr_null(pw.vmi_phase);
    json_object_put(vm);
    json_object_put(vmi);
}
END_TEST

START_TEST(no_vm_only_vmi)
{
    kvg_power pw;
    json_object *vmi = vmi_in("Running");
    kvg_power_state(NULL, vmi, &pw);
    ck_assert(pw.on);
    kvg_power_state(NULL, NULL, &pw);
    ck_assert(!pw.on);
    json_object_put(vmi);
}
END_TEST

START_TEST(why_names_the_intent)
{
    kvg_power pw;
    json_object *vm = vm_with("{\"runStrategy\":\"Always\"}");
    kvg_power_state(vm, NULL, &pw);
    ck_assert_msg(strstr(pw.why, "Always") != NULL, "why: %s", pw.why);
    ck_assert_str_eq(pw.intent, "runStrategy: Always");
    json_object_put(vm);
    vm = vm_with("{\"running\":false}");
    json_object *vmi = vmi_in("Running");
    kvg_power_state(vm, vmi, &pw);
    ck_assert_msg(strstr(pw.why, "Running") != NULL, "why: %s", pw.why);
    json_object_put(vm);
    json_object_put(vmi);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("power");
    TCase *tc = tcase_create("state");
    tcase_add_loop_test(tc, power_table, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, no_vm_only_vmi);
    tcase_add_test(tc, why_names_the_intent);
    suite_add_tcase(s, tc);
    return kvg_test_run(s);
}
