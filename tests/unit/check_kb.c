/* Check suite of the knowledge base loader: the shipped KB loads and every rule is
 * cited; the schema and the meaning checks refuse bad KBs, each with a clear error
 * naming file, rule or element, and line. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmdx/mmdx.h"
#include "mmdx/kb.h"

static char default_kb[4096];

static void setup(void)
{
    const char *d = getenv("MMDX_DATA_DIR");
    ck_assert_msg(d != NULL, "MMDX_DATA_DIR is not set (run through make check)");
    snprintf(default_kb, sizeof default_kb, "%s/kb/default.xml", d);
}

/* A small valid KB; %s slots: extra features, treatment body (after the indication). */
#define KB_TMPL \
    "<?xml version=\"1.0\"?>\n" \
    "<kb xmlns=\"urn:mmdx:kb:1\" name=\"t\" version=\"1\" scale=\"points\">\n" \
    "<sources><source id=\"s1\" org=\"CPIC\" year=\"2022\" title=\"Test guideline\"/></sources>\n" \
    "<features>\n" \
    "<feature id=\"lab:loinc:98979-8\" label=\"eGFR\" kind=\"continuous\" unit=\"mL/min\"/>\n" \
    "<feature id=\"pgx:CYP2C19\" label=\"CYP2C19\" kind=\"categorical\"><level>Poor Metabolizer</level>" \
    "<level>Normal Metabolizer</level></feature>\n" \
    "%s</features>\n" \
    "<targets default-department=\"GP\"><target name=\"cad\" label=\"CAD\" department=\"Cardiology\" " \
    "urgency=\"urgent\" threshold=\"0.5\"/></targets>\n" \
    "<treatments>\n" \
    "<treatment id=\"drug\" name=\"Drug\" harm=\"1\">\n" \
    "<indication target=\"cad\" min-posterior=\"0.5\" benefit=\"5\"><cite source=\"s1\" section=\"T1\"/></indication>\n" \
    "%s" \
    "</treatment>\n" \
    "</treatments>\n" \
    "</kb>\n"

static const char *rule_ok =
    "<rule id=\"r1\" action=\"avoid\"><when><lt feature=\"lab:loinc:98979-8\" value=\"30\"/></when>"
    "<advice>Do not.</advice><cite source=\"s1\" section=\"T2\"/></rule>\n";

static int load_str(const char *features, const char *body, mmdx_kb_t **kb, mmdx_error_t *err)
{
    char buf[8192];
    snprintf(buf, sizeof buf, KB_TMPL, features, body);
    mmdx_error_clear(err);
    return mmdx_kb_load_memory(NULL, buf, strlen(buf), "bad.xml", kb, err);
}

/* Load a bad KB; it must fail with @p code, name the file, give a line, and its message
 * must contain @p needle. */
static void expect_refused(const char *features, const char *body, int code, const char *needle)
{
    mmdx_kb_t *kb = (mmdx_kb_t *)0x1;
    mmdx_error_t err;
    char line[1024];
    int rc = load_str(features, body, &kb, &err);
    mmdx_error_format(&err, line, sizeof line);
    ck_assert_msg(rc == code, "expected %s, got %s: %s", mmdx_strerror(code), mmdx_strerror(rc), line);
    ck_assert_ptr_null(kb);
    ck_assert_int_eq(err.code, code);
    ck_assert_str_eq(err.file, "bad.xml");
    ck_assert_msg(err.line > 0, "no line in: %s", line);
    ck_assert_msg(strstr(err.message, needle) != NULL, "'%s' not in: %s", needle, line);
}

START_TEST(test_template_is_valid)
{
    mmdx_kb_t *kb = NULL;
    mmdx_error_t err;
    int rc = load_str("", rule_ok, &kb, &err);
    ck_assert_msg(rc == MMDX_OK, "%s", err.message);
    ck_assert_uint_eq(mmdx_kb_n_rules(kb), 1);
    mmdx_kb_rule_info_t r;
    ck_assert_int_eq(mmdx_kb_rule(kb, 0, &r), MMDX_OK);
    ck_assert_str_eq(r.id, "r1");
    ck_assert_str_eq(r.treatment, "drug");
    ck_assert_int_eq(r.action, MMDX_KB_AVOID);
    ck_assert_str_eq(r.condition, "lab:loinc:98979-8 < 30");
    ck_assert_str_eq(r.citation, "CPIC 2022, T2");
    ck_assert_int_eq(r.line, 12);
    ck_assert_int_eq(mmdx_kb_rule(kb, 1, &r), MMDX_EINVAL);
    mmdx_kb_free(kb);
}
END_TEST

START_TEST(test_default_kb_loads)
{
    mmdx_kb_t *kb = NULL;
    mmdx_error_t err;
    mmdx_error_clear(&err);
    int rc = mmdx_kb_load(NULL, default_kb, &kb, &err);
    ck_assert_msg(rc == MMDX_OK, "%s:%ld: %s", err.file, err.line, err.message);
    ck_assert_str_eq(mmdx_kb_name(kb), "mmdx-default");
    ck_assert_uint_ge(mmdx_kb_n_treatments(kb), 14);
    ck_assert_uint_ge(mmdx_kb_n_rules(kb), 30);
    /* the gene-drug pairs and renal drugs the issue lists are all there */
    const char *must[] = {"clopidogrel", "simvastatin", "atorvastatin", "rosuvastatin", "fluvastatin", "warfarin",
                          "azathioprine", "mercaptopurine", "fluorouracil", "capecitabine", "abacavir",
                          "metformin", "sglt2i", "sitagliptin"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        ck_assert_msg(mmdx_kb_find_treatment(kb, must[i]) >= 0, "%s missing", must[i]);
    ck_assert_int_eq(mmdx_kb_find_treatment(kb, "aspirin-free-lunch"), -1);
    /* every rule cites organisation, year and section */
    for (size_t i = 0; i < mmdx_kb_n_rules(kb); i++) {
        mmdx_kb_rule_info_t r;
        int year = 0;
        char org[32];
        ck_assert_int_eq(mmdx_kb_rule(kb, i, &r), MMDX_OK);
        ck_assert_msg(sscanf(r.citation, "%31s %d,", org, &year) == 2 && year >= 2010 && year <= 2026,
                      "rule %s: citation '%s'", r.id, r.citation);
        ck_assert_msg(strlen(strchr(r.citation, ',')) > 3, "rule %s has no section", r.id);
        ck_assert_msg(strlen(r.guideline) > 10, "rule %s", r.id);
        ck_assert_msg(strlen(r.advice) > 10, "rule %s", r.id);
        ck_assert_int_gt(r.line, 0);
    }
    /* triage: the demo targets have departments */
    int seen = 0;
    for (size_t i = 0; i < mmdx_kb_n_targets(kb); i++) {
        mmdx_kb_target_info_t t;
        ck_assert_int_eq(mmdx_kb_target(kb, i, &t), MMDX_OK);
        if (!strcmp(t.name, "t2d") || !strcmp(t.name, "ckd") || !strcmp(t.name, "cad")) {
            seen++;
            ck_assert(strlen(t.department) > 3);
        }
    }
    ck_assert_int_eq(seen, 3);
    mmdx_kb_free(kb);
}
END_TEST

START_TEST(test_not_well_formed)
{
    expect_refused("", "<rule id=\"r1\" action=\"avoid\"><when></rule>\n", MMDX_EFORMAT, "mismatch");
}
END_TEST

START_TEST(test_schema_missing_cite)
{
    expect_refused("",
                   "<rule id=\"r1\" action=\"avoid\"><when><lt feature=\"lab:loinc:98979-8\" value=\"30\"/></when>"
                   "<advice>Do not.</advice></rule>\n",
                   MMDX_EFORMAT, "cite");
}
END_TEST

START_TEST(test_schema_unknown_element)
{
    expect_refused("", "<dose mg=\"5\"/>\n", MMDX_EFORMAT, "dose");
}
END_TEST

START_TEST(test_schema_bad_action)
{
    expect_refused("",
                   "<rule id=\"r1\" action=\"maybe\"><when><lt feature=\"lab:loinc:98979-8\" value=\"30\"/></when>"
                   "<advice>Do not.</advice><cite source=\"s1\" section=\"T2\"/></rule>\n",
                   MMDX_EFORMAT, "rule");
}
END_TEST

START_TEST(test_schema_probability_out_of_range)
{
    char buf[8192];
    mmdx_kb_t *kb = NULL;
    mmdx_error_t err;
    snprintf(buf, sizeof buf, KB_TMPL, "", rule_ok);
    char *p = strstr(buf, "min-posterior=\"0.5\"");
    ck_assert_ptr_nonnull(p);
    memcpy(p, "min-posterior=\"1.5\"", 19);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_kb_load_memory(NULL, buf, strlen(buf), "bad.xml", &kb, &err), MMDX_EFORMAT);
    ck_assert_int_eq(err.line, 11);
    ck_assert_ptr_null(kb);
}
END_TEST

START_TEST(test_schema_bad_attribute_located)
{
    char buf[8192];
    mmdx_kb_t *kb = NULL;
    mmdx_error_t err;
    snprintf(buf, sizeof buf, KB_TMPL, "", rule_ok);
    char *p = strstr(buf, "urgency=\"urgent\"");
    ck_assert_ptr_nonnull(p);
    memcpy(p, "urgency=\"whenev\"", 16);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_kb_load_memory(NULL, buf, strlen(buf), "bad.xml", &kb, &err), MMDX_EFORMAT);
    /* libxml2 reports a vague unlocated error first; the located one is kept */
    ck_assert_int_eq(err.line, 8);
    ck_assert_msg(strcmp(err.object, "target") == 0, "%s: %s", err.object, err.message);
    ck_assert_msg(strstr(err.message, "urgency") != NULL, "%s", err.message);
}
END_TEST

START_TEST(test_doctype_refused)
{
    const char *xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE kb [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
                      "<kb xmlns=\"urn:mmdx:kb:1\">&x;</kb>\n";
    mmdx_kb_t *kb = NULL;
    mmdx_error_t err;
    mmdx_error_clear(&err);
    int rc = mmdx_kb_load_memory(NULL, xml, strlen(xml), "evil.xml", &kb, &err);
    ck_assert_int_eq(rc, MMDX_ESECURITY);
    ck_assert_str_eq(err.file, "evil.xml");
    ck_assert(strstr(err.message, "DOCTYPE") != NULL);
    ck_assert_int_eq(err.line, 2);
    ck_assert_ptr_null(kb);
}
END_TEST

START_TEST(test_undeclared_feature)
{
    expect_refused("",
                   "<rule id=\"r9\" action=\"avoid\"><when><lt feature=\"lab:loinc:62238-1\" value=\"30\"/></when>"
                   "<advice>Do not.</advice><cite source=\"s1\" section=\"T2\"/></rule>\n",
                   MMDX_EFORMAT, "undeclared feature 'lab:loinc:62238-1'");
}
END_TEST

START_TEST(test_undeclared_target)
{
    char buf[8192];
    mmdx_kb_t *kb = NULL;
    mmdx_error_t err;
    snprintf(buf, sizeof buf, KB_TMPL, "", rule_ok);
    char *p = strstr(buf, "indication target=\"cad\"");
    memcpy(p, "indication target=\"xyz\"", 23);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_kb_load_memory(NULL, buf, strlen(buf), "bad.xml", &kb, &err), MMDX_EFORMAT);
    ck_assert(strstr(err.message, "undeclared target 'xyz'") != NULL);
    ck_assert_str_eq(err.object, "drug");
    ck_assert_int_eq(err.line, 11);
}
END_TEST

START_TEST(test_undeclared_level)
{
    expect_refused("",
                   "<rule id=\"r2\" action=\"avoid\"><when><in feature=\"pgx:CYP2C19\"><level>Slow</level></in></when>"
                   "<advice>Do not.</advice><cite source=\"s1\" section=\"T2\"/></rule>\n",
                   MMDX_EFORMAT, "'Slow' is not a declared level");
}
END_TEST

START_TEST(test_undeclared_source)
{
    expect_refused("",
                   "<rule id=\"r1\" action=\"avoid\"><when><lt feature=\"lab:loinc:98979-8\" value=\"30\"/></when>"
                   "<advice>Do not.</advice><cite source=\"s2\" section=\"T2\"/></rule>\n",
                   MMDX_EFORMAT, "undeclared source 's2'");
}
END_TEST

START_TEST(test_test_kind_mismatch)
{
    expect_refused("",
                   "<rule id=\"r1\" action=\"avoid\"><when><lt feature=\"pgx:CYP2C19\" value=\"1\"/></when>"
                   "<advice>Do not.</advice><cite source=\"s1\" section=\"T2\"/></rule>\n",
                   MMDX_EFORMAT, "categorical");
    expect_refused("",
                   "<rule id=\"r1\" action=\"avoid\"><when><in feature=\"lab:loinc:98979-8\"><level>x</level></in></when>"
                   "<advice>Do not.</advice><cite source=\"s1\" section=\"T2\"/></rule>\n",
                   MMDX_EFORMAT, "needs a categorical feature");
}
END_TEST

START_TEST(test_unknown_namespace)
{
    expect_refused("<feature id=\"labs:egfr\" label=\"x\" kind=\"continuous\"/>\n", rule_ok, MMDX_EFORMAT,
                   "no known namespace");
}
END_TEST

START_TEST(test_duplicate_rule)
{
    char body[2048];
    snprintf(body, sizeof body, "%s%s", rule_ok, rule_ok);
    expect_refused("", body, MMDX_EDUP, "rule 'r1' is declared twice");
}
END_TEST

START_TEST(test_duplicate_feature)
{
    expect_refused("<feature id=\"lab:loinc:98979-8\" label=\"eGFR again\" kind=\"continuous\"/>\n", rule_ok, MMDX_EDUP,
                   "declared twice");
}
END_TEST

START_TEST(test_contradictory_rules)
{
    const char *body =
        "<rule id=\"pm-avoid\" action=\"avoid\"><when><in feature=\"pgx:CYP2C19\"><level>Poor Metabolizer</level></in></when>"
        "<advice>Do not.</advice><cite source=\"s1\" section=\"T2\"/></rule>\n"
        "<rule id=\"pm-use\" action=\"use\"><when><in feature=\"pgx:CYP2C19\"><level>Poor Metabolizer</level>"
        "<level>Normal Metabolizer</level></in></when>"
        "<advice>Do.</advice><cite source=\"s1\" section=\"T2\"/></rule>\n";
    expect_refused("", body, MMDX_EINVAL, "contradictory rules for 'drug': 'pm-avoid' (line 12) says avoid and 'pm-use'");
}
END_TEST

START_TEST(test_disjoint_avoid_use_allowed)
{
    const char *body =
        "<rule id=\"pm-avoid\" action=\"avoid\"><when><in feature=\"pgx:CYP2C19\"><level>Poor Metabolizer</level></in></when>"
        "<advice>Do not.</advice><cite source=\"s1\" section=\"T2\"/></rule>\n"
        "<rule id=\"nm-use\" action=\"use\"><when><in feature=\"pgx:CYP2C19\"><level>Normal Metabolizer</level></in></when>"
        "<advice>Do.</advice><cite source=\"s1\" section=\"T2\"/></rule>\n"
        "<rule id=\"low-avoid\" action=\"avoid\"><when><lt feature=\"lab:loinc:98979-8\" value=\"30\"/></when>"
        "<advice>Do not.</advice><cite source=\"s1\" section=\"T2\"/></rule>\n"
        "<rule id=\"high-use\" action=\"use\"><when><ge feature=\"lab:loinc:98979-8\" value=\"30\"/></when>"
        "<advice>Do.</advice><cite source=\"s1\" section=\"T2\"/></rule>\n";
    mmdx_kb_t *kb = NULL;
    mmdx_error_t err;
    ck_assert_msg(load_str("", body, &kb, &err) == MMDX_OK, "%s", err.message);
    ck_assert_uint_eq(mmdx_kb_n_rules(kb), 4);
    mmdx_kb_free(kb);
    /* but overlapping ranges conflict: < 30 and <= 40 share [0, 30) */
    const char *clash =
        "<rule id=\"low-avoid\" action=\"avoid\"><when><lt feature=\"lab:loinc:98979-8\" value=\"30\"/></when>"
        "<advice>Do not.</advice><cite source=\"s1\" section=\"T2\"/></rule>\n"
        "<rule id=\"mid-use\" action=\"use\"><when><le feature=\"lab:loinc:98979-8\" value=\"40\"/></when>"
        "<advice>Do.</advice><cite source=\"s1\" section=\"T2\"/></rule>\n";
    expect_refused("", clash, MMDX_EINVAL, "contradictory");
}
END_TEST

START_TEST(test_rule_never_holds)
{
    expect_refused("",
                   "<rule id=\"r1\" action=\"adjust\"><when><lt feature=\"lab:loinc:98979-8\" value=\"10\"/>"
                   "<gt feature=\"lab:loinc:98979-8\" value=\"20\"/></when>"
                   "<advice>Halve.</advice><cite source=\"s1\" section=\"T2\"/></rule>\n",
                   MMDX_EFORMAT, "can never hold");
}
END_TEST

START_TEST(test_non_finite_number)
{
    expect_refused("",
                   "<rule id=\"r1\" action=\"avoid\"><when><lt feature=\"lab:loinc:98979-8\" value=\"NaN\"/></when>"
                   "<advice>Do not.</advice><cite source=\"s1\" section=\"T2\"/></rule>\n",
                   MMDX_EFORMAT, "not a finite number");
}
END_TEST

START_TEST(test_missing_file_and_schema)
{
    mmdx_kb_t *kb = NULL;
    mmdx_error_t err;
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_kb_load(NULL, "/nonexistent/kb.xml", &kb, &err), MMDX_ENOTFOUND);
    ck_assert_str_eq(err.file, "/nonexistent/kb.xml");
    ck_assert_ptr_null(kb);

    /* a data directory without the schema: the error names the schema path */
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(mmdx_ctx_set_data_dir(ctx, "/nonexistent-data"), MMDX_OK);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_kb_load(ctx, default_kb, &kb, &err), MMDX_ENOTFOUND);
    ck_assert_str_eq(err.file, "/nonexistent-data/kb/kb.rng");
    ck_assert_int_eq(mmdx_ctx_error(ctx)->code, MMDX_ENOTFOUND);
    mmdx_ctx_free(ctx);
}
END_TEST

START_TEST(test_check_space)
{
    mmdx_kb_t *kb = NULL;
    mmdx_error_t err;
    size_t absent = 99, j;
    const char *cls[] = {"0", "1"};
    mmdx_space_t *sp = mmdx_space_alloc();
    ck_assert_int_eq(load_str("", rule_ok, &kb, &err), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_feature(sp, "lab:loinc:98979-8", MMDX_KIND_CONTINUOUS, "mL/min", MMDX_TRANSFORM_NONE, &j), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_target(sp, "cad", 2, cls, &j), MMDX_OK);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_kb_check_space(kb, sp, &absent, &err), MMDX_OK);
    ck_assert_uint_eq(absent, 1); /* pgx:CYP2C19 is not in the space */
    mmdx_space_free(sp);

    /* the space has CYP2C19 as a dosage: refused, naming the feature */
    sp = mmdx_space_alloc();
    ck_assert_int_eq(mmdx_space_add_feature(sp, "pgx:CYP2C19", MMDX_KIND_DOSAGE, NULL, MMDX_TRANSFORM_NONE, &j), MMDX_OK);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_kb_check_space(kb, sp, &absent, &err), MMDX_ESPACE);
    ck_assert_str_eq(err.object, "pgx:CYP2C19");
    mmdx_space_free(sp);

    /* a target whose classes lack the KB's class */
    const char *abc[] = {"a", "b"};
    sp = mmdx_space_alloc();
    ck_assert_int_eq(mmdx_space_add_target(sp, "cad", 2, abc, &j), MMDX_OK);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_kb_check_space(kb, sp, &absent, &err), MMDX_ESPACE);
    ck_assert_str_eq(err.object, "cad");
    mmdx_space_free(sp);
    mmdx_kb_free(kb);
}
END_TEST

/* Allocation failures are reported, never survived by accident: fail the Nth
 * allocation for N = 1, 2, ... until the load succeeds. */
static long alloc_countdown = -1;
static void *fail_malloc(size_t n) { return alloc_countdown-- == 0 ? NULL : malloc(n); }
static void *fail_realloc(void *p, size_t n) { return alloc_countdown-- == 0 ? NULL : realloc(p, n); }

START_TEST(test_allocation_failures)
{
    int ok = 0;
    for (long n = 0; n < 10000 && !ok; n++) {
        mmdx_kb_t *kb = NULL;
        mmdx_error_t err;
        mmdx_error_clear(&err);
        alloc_countdown = n;
        mmdx_set_allocator(fail_malloc, fail_realloc, free);
        int rc = mmdx_kb_load(NULL, default_kb, &kb, &err);
        mmdx_set_allocator(NULL, NULL, NULL);
        alloc_countdown = -1;
        if (rc == MMDX_OK) {
            ok = 1;
            ck_assert_ptr_nonnull(kb);
            ck_assert_int_gt(n, 2);
        } else {
            ck_assert_msg(rc == MMDX_ENOMEM, "n=%ld: %s (%s)", n, mmdx_strerror(rc), err.message);
            ck_assert_ptr_null(kb);
        }
        mmdx_kb_free(kb);
    }
    ck_assert(ok);
}
END_TEST

static Suite *kb_suite(void)
{
    Suite *s = suite_create("kb");
    TCase *tc = tcase_create("load");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_template_is_valid);
    tcase_add_test(tc, test_default_kb_loads);
    tcase_add_test(tc, test_not_well_formed);
    tcase_add_test(tc, test_schema_missing_cite);
    tcase_add_test(tc, test_schema_unknown_element);
    tcase_add_test(tc, test_schema_bad_action);
    tcase_add_test(tc, test_schema_probability_out_of_range);
    tcase_add_test(tc, test_schema_bad_attribute_located);
    tcase_add_test(tc, test_doctype_refused);
    tcase_add_test(tc, test_undeclared_feature);
    tcase_add_test(tc, test_undeclared_target);
    tcase_add_test(tc, test_undeclared_level);
    tcase_add_test(tc, test_undeclared_source);
    tcase_add_test(tc, test_test_kind_mismatch);
    tcase_add_test(tc, test_unknown_namespace);
    tcase_add_test(tc, test_duplicate_rule);
    tcase_add_test(tc, test_duplicate_feature);
    tcase_add_test(tc, test_contradictory_rules);
    tcase_add_test(tc, test_disjoint_avoid_use_allowed);
    tcase_add_test(tc, test_rule_never_holds);
    tcase_add_test(tc, test_non_finite_number);
    tcase_add_test(tc, test_missing_file_and_schema);
    tcase_add_test(tc, test_check_space);
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(kb_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
