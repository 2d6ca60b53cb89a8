/* Unit tests of Kubernetes quantity parsing (src/policy/quantity.c). */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/quantity.h"
#include "testlib.h"

static int64_t value(const char *s)
{
    kvg_quantity q;
    kvg_diag d;
    kvg_err e = kvg_quantity_parse(s, &q, &d);
    if (e != KVG_OK)
        ck_abort_msg("%s: %s", s, d.msg);
    return kvg_quantity_value(&q);
}

static kvg_err parse_err(const char *s, kvg_diag *d)
{
    kvg_quantity q;
    return kvg_quantity_parse(s, &q, d);
}

START_TEST(suffixes)
{
    ck_assert_int_eq(value("0"), 0);
    ck_assert_int_eq(value("1"), 1);
    ck_assert_int_eq(value("1Ki"), 1024);
    ck_assert_int_eq(value("1Mi"), 1048576);
    ck_assert_int_eq(value("10Gi"), 10737418240LL);
    ck_assert_int_eq(value("2Ti"), 2199023255552LL);
    ck_assert_int_eq(value("1Pi"), 1125899906842624LL);
    ck_assert_int_eq(value("1Ei"), 1152921504606846976LL);
    ck_assert_int_eq(value("1k"), 1000);
    ck_assert_int_eq(value("500M"), 500000000);
    ck_assert_int_eq(value("9G"), 9000000000LL);
    ck_assert_int_eq(value("1T"), 1000000000000LL);
    ck_assert_int_eq(value("1P"), 1000000000000000LL);
    ck_assert_int_eq(value("1E"), 1000000000000000000LL); /* exa, not an exponent */
    ck_assert_int_eq(value("100M"), 100000000);
}
END_TEST

START_TEST(decimals_exponents_and_milli)
{
    ck_assert_int_eq(value("1.5Gi"), 1610612736LL);
    ck_assert_int_eq(value("1.5G"), 1500000000LL);
    ck_assert_int_eq(value("0.5Ki"), 512);
    ck_assert_int_eq(value(".5k"), 500);
    ck_assert_int_eq(value("5."), 5);
    ck_assert_int_eq(value("1e3"), 1000);
    ck_assert_int_eq(value("1E3"), 1000);
    ck_assert_int_eq(value("1.5e+2"), 150);
    ck_assert_int_eq(value("12e-1"), 2);  /* 1.2 rounds up */
    ck_assert_int_eq(value("100m"), 1);   /* 0.1 rounds up */
    ck_assert_int_eq(value("1000m"), 1);
    ck_assert_int_eq(value("+1Gi"), 1073741824LL);
    ck_assert_int_eq(value("-1k"), -1000);
    ck_assert_int_eq(value("0.0001"), 1); /* below 1m: rounds up */
    ck_assert_int_eq(value("00010Mi"), 10485760);
}
END_TEST

START_TEST(compare_exactly)
{
    kvg_quantity a, b;
    ck_assert_int_eq(kvg_quantity_parse("1Gi", &a, NULL), KVG_OK);
    ck_assert_int_eq(kvg_quantity_parse("1073741824", &b, NULL), KVG_OK);
    ck_assert_int_eq(kvg_quantity_cmp(&a, &b), 0);
    ck_assert_int_eq(kvg_quantity_parse("1G", &b, NULL), KVG_OK);
    ck_assert_int_eq(kvg_quantity_cmp(&a, &b), 1);
    ck_assert_int_eq(kvg_quantity_cmp(&b, &a), -1);
    ck_assert_int_eq(kvg_quantity_parse("1073741823999m", &b, NULL), KVG_OK);
    ck_assert_int_eq(kvg_quantity_cmp(&a, &b), 1);
    /* exact to 20 significant digits, then rounded up */
    ck_assert_int_eq(kvg_quantity_parse("12345678901234567890", &a, NULL), KVG_OK);
    ck_assert_int_eq(kvg_quantity_parse("12345678901234567891", &b, NULL), KVG_OK);
    ck_assert_int_eq(kvg_quantity_cmp(&a, &b), -1);
    ck_assert_int_eq(kvg_quantity_value(&a), INT64_MAX);
    ck_assert_int_eq(kvg_quantity_parse("1.000000000000000000001", &a, NULL), KVG_OK);
    ck_assert_int_eq(kvg_quantity_parse("1", &b, NULL), KVG_OK);
    ck_assert_int_eq(kvg_quantity_cmp(&a, &b), 1);
}
END_TEST

START_TEST(errors_name_the_problem)
{
    kvg_diag d;
    ck_assert_int_eq(parse_err("", &d), KVG_EPARSE);
    ck_assert_int_eq(parse_err("Gi", &d), KVG_EPARSE);
    ck_assert_ptr_nonnull(strstr(d.msg, "expected a number"));
    ck_assert_int_eq(parse_err("10GB", &d), KVG_EPARSE);
    ck_assert_ptr_nonnull(strstr(d.msg, "unknown suffix 'GB'"));
    ck_assert_int_eq(parse_err("10 Gi", &d), KVG_EPARSE);
    ck_assert_int_eq(parse_err("1e", &d), KVG_EPARSE);
    ck_assert_int_eq(parse_err("1.2.3", &d), KVG_EPARSE);
    ck_assert_int_eq(parse_err("1ki", &d), KVG_EPARSE);
    ck_assert_int_eq(parse_err("--1", &d), KVG_EPARSE);
    ck_assert_int_eq(parse_err("1e99", &d), KVG_ETOOBIG);
    ck_assert_int_eq(parse_err("99999999999999999999Ei", &d), KVG_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(d.msg, "too large"));
    ck_assert_int_eq(parse_err(NULL, &d), KVG_EPARSE);
    /* tiny values are fine (they round up to 1m) */
    kvg_quantity q;
    ck_assert_int_eq(kvg_quantity_parse("1e-99", &q, &d), KVG_OK);
    ck_assert_int_eq(kvg_quantity_value(&q), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("quantity");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, suffixes);
    tcase_add_test(tc, decimals_exponents_and_milli);
    tcase_add_test(tc, compare_exactly);
    tcase_add_test(tc, errors_name_the_problem);
    suite_add_tcase(s, tc);
    return kvg_test_run(s);
}
