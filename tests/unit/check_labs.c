/* Check suite of the laboratory modality (modalities/hl7) and the term dictionary.
 *
 * The adapter is driven through its descriptor's ops with a sink of our own, the way the
 * plugin host drives it. Conformance runs over every file of $MMDX_TESTDATA/hl7 (skipped
 * with a message when absent); the bad-input cases are small documents written here. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <check.h>
#include <dirent.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mmdx/mmdx.h"
#include "../../modalities/hl7/hl7.h"

const mmdx_modality_desc_t *mmdx_modality_hl7_get_desc(void);

/* ------------------------------------------------------------------ a recording sink */

typedef struct rec_obs {
    char patient[128], feature[256], unit[64], level[128], prov[512];
    int kind, censor;
    double value;
    int64_t time;
} rec_obs_t;

typedef struct rec_rej {
    char patient[128], file[512], reason[512];
    long record;
    int code;
} rec_rej_t;

typedef struct rec {
    rec_obs_t *obs;
    size_t n_obs, cap_obs;
    rec_rej_t *rej;
    size_t n_rej, cap_rej;
    char patients[64][128];
    size_t n_patients;
    int stop_after; /* > 0: the sink asks to stop after this many observations */
} rec_t;

static void cpy(char *d, size_t n, const char *s)
{
    snprintf(d, n, "%s", s ? s : "");
}

static int on_obs(void *data, const mmdx_obs_t *o)
{
    rec_t *r = data;
    if (r->n_obs == r->cap_obs) {
        r->cap_obs = r->cap_obs ? 2 * r->cap_obs : 256;
        r->obs = realloc(r->obs, r->cap_obs * sizeof *r->obs);
        ck_assert_ptr_nonnull(r->obs);
    }
    rec_obs_t *x = &r->obs[r->n_obs++];
    cpy(x->patient, sizeof x->patient, o->patient);
    cpy(x->feature, sizeof x->feature, o->feature);
    cpy(x->unit, sizeof x->unit, o->unit);
    cpy(x->level, sizeof x->level, o->level);
    cpy(x->prov, sizeof x->prov, o->provenance);
    x->kind = o->kind;
    x->censor = o->censor;
    x->value = o->value;
    x->time = o->time;
    if (r->stop_after && (int)r->n_obs >= r->stop_after)
        return MMDX_EINVAL;
    return MMDX_OK;
}

static int on_reject(void *data, const char *patient, const char *file, long record, int code, const char *reason)
{
    rec_t *r = data;
    if (r->n_rej == r->cap_rej) {
        r->cap_rej = r->cap_rej ? 2 * r->cap_rej : 16;
        r->rej = realloc(r->rej, r->cap_rej * sizeof *r->rej);
        ck_assert_ptr_nonnull(r->rej);
    }
    rec_rej_t *x = &r->rej[r->n_rej++];
    cpy(x->patient, sizeof x->patient, patient);
    cpy(x->file, sizeof x->file, file);
    cpy(x->reason, sizeof x->reason, reason);
    x->record = record;
    x->code = code;
    return MMDX_OK;
}

static int on_patient(void *data, const char *patient)
{
    rec_t *r = data;
    if (r->n_patients < 64)
        cpy(r->patients[r->n_patients++], 128, patient);
    return MMDX_OK;
}

static void rec_free(rec_t *r)
{
    free(r->obs);
    free(r->rej);
    memset(r, 0, sizeof *r);
}

static char last_log[1024];
static void on_log(void *host_data, int level, const char *msg)
{
    (void)host_data;
    (void)level;
    snprintf(last_log, sizeof last_log, "%s", msg);
}

static const char *data_dir(void)
{
    const char *d = getenv("MMDX_DATA_DIR");
    return d && *d ? d : "data";
}

static mmdx_host_t host;
static const mmdx_modality_desc_t *desc;
static void *state;
static char scratch[512];

static void setup(void)
{
    host = (mmdx_host_t){MMDX_ABI_MAJOR, MMDX_ABI_MINOR, sizeof host, malloc, realloc, free, on_log, NULL,
                         data_dir(), 1, {0}};
    desc = mmdx_modality_hl7_get_desc();
    mmdx_error_t err = {0};
    ck_assert_int_eq(desc->ops.init(&host, &state, &err), MMDX_OK);
    const char *t = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/mmdx-labs-XXXXXX", t && *t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(scratch));
}

static void teardown(void)
{
    desc->ops.fini(state);
    state = NULL;
    DIR *d = opendir(scratch);
    struct dirent *e;
    char p[1024];
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", scratch, e->d_name);
            unlink(p);
        }
    if (d)
        closedir(d);
    rmdir(scratch);
}

/* Read @p path with options (NULL-terminated, may be NULL) into @p r. */
static int run(const char *path, const char *const *opts, rec_t *r, mmdx_error_t *err)
{
    void *src = NULL;
    mmdx_error_clear(err);
    last_log[0] = '\0';
    int rc = desc->ops.open(state, path, opts, &src, err);
    if (rc != MMDX_OK)
        return rc;
    mmdx_sink_t sink = {r, on_obs, NULL, on_reject, on_patient, {0}};
    rc = desc->ops.read(src, &sink, err);
    desc->ops.close(src);
    return rc;
}

static const char *write_doc(const char *name, const char *text)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", scratch, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static const rec_obs_t *find(const rec_t *r, const char *patient, const char *feature)
{
    const rec_obs_t *hit = NULL;
    for (size_t i = 0; i < r->n_obs; i++)
        if (strcmp(r->obs[i].feature, feature) == 0 && (!patient || strcmp(r->obs[i].patient, patient) == 0))
            hit = &r->obs[i]; /* the last one */
    return hit;
}

static size_t count(const rec_t *r, const char *feature)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_obs; i++)
        n += strcmp(r->obs[i].feature, feature) == 0;
    return n;
}

static const rec_rej_t *find_reject(const rec_t *r, const char *needle)
{
    for (size_t i = 0; i < r->n_rej; i++)
        if (strstr(r->rej[i].reason, needle))
            return &r->rej[i];
    return NULL;
}

static const char *testdata(char *buf, size_t n, const char *rel)
{
    const char *t = getenv("MMDX_TESTDATA");
    snprintf(buf, n, "%s/hl7/%s", t && *t ? t : "../shared/data", rel);
    return access(buf, R_OK) == 0 ? buf : NULL;
}

#define NEED(var, rel)                                                                                 \
    char var##_buf[1024];                                                                              \
    const char *var = testdata(var##_buf, sizeof var##_buf, rel);                                     \
    if (!var) {                                                                                        \
        fprintf(stderr, "check_labs: %s not found (set MMDX_TESTDATA); skipped\n", rel);              \
        return;                                                                                        \
    }

/* ------------------------------------------------------------------ clinical helpers */

START_TEST(test_loinc_check_digit)
{
    ck_assert(mmdx_hl7_loinc_valid("2345-7"));
    ck_assert(mmdx_hl7_loinc_valid("10368-9"));
    ck_assert(mmdx_hl7_loinc_valid("98979-8"));
    ck_assert(mmdx_hl7_loinc_valid("718-7"));
    ck_assert(mmdx_hl7_loinc_valid("28-1"));
    ck_assert(!mmdx_hl7_loinc_valid("2345-8"));   /* wrong check digit */
    ck_assert(!mmdx_hl7_loinc_valid("xx625-4"));  /* the deliberately bad code of the v2 example */
    ck_assert(!mmdx_hl7_loinc_valid("20995-1"));  /* wrong check digit in a NIST test message */
    ck_assert(!mmdx_hl7_loinc_valid("23457"));
    ck_assert(!mmdx_hl7_loinc_valid("12345678-9"));
    ck_assert(!mmdx_hl7_loinc_valid("2345-77"));
}
END_TEST

START_TEST(test_egfr_worked_values)
{
    /* CKD-EPI 2021 (Inker et al., NEJM 2021), computed by hand from the published equation:
     * 50 y woman, Scr 1.0 -> 68.6 (calculators print 69); 60 y man, 1.0 -> 86.2 (86);
     * 30 y woman, 0.5 (below kappa) -> 129.3; 70 y man, 2.5 -> 27.0; 45 y man, 0.8 -> 111.2 */
    ck_assert_double_eq_tol(mmdx_hl7_egfr_ckdepi2021(1.0, 50, 1), 68.633, 0.01);
    ck_assert_double_eq_tol(mmdx_hl7_egfr_ckdepi2021(1.0, 60, 0), 86.163, 0.01);
    ck_assert_double_eq_tol(mmdx_hl7_egfr_ckdepi2021(0.5, 30, 1), 129.317, 0.01);
    ck_assert_double_eq_tol(mmdx_hl7_egfr_ckdepi2021(2.5, 70, 0), 26.964, 0.01);
    ck_assert_double_eq_tol(mmdx_hl7_egfr_ckdepi2021(0.8, 45, 0), 111.222, 0.01);
    ck_assert(isnan(mmdx_hl7_egfr_ckdepi2021(0.0, 50, 1)));
    ck_assert(isnan(mmdx_hl7_egfr_ckdepi2021(1.0, 12, 1))); /* adults only */
    ck_assert_double_eq_tol(mmdx_hl7_bmi(177, 86), 27.4506, 0.001);
    ck_assert(isnan(mmdx_hl7_bmi(0, 86)));
}
END_TEST

START_TEST(test_times_and_numbers)
{
    int64_t t;
    ck_assert_int_eq(mmdx_hl7_parse_time("2013-04-02T09:30:10+01:00", &t), 0);
    ck_assert_int_eq(t, 1364891410);
    ck_assert_int_eq(mmdx_hl7_parse_time("200808151030-0700", &t), 0);
    ck_assert_int_eq(t, 1218821400);
    ck_assert_int_eq(mmdx_hl7_parse_time("20070526", &t), 0);
    ck_assert_int_eq(t, 1180137600);
    ck_assert_int_eq(mmdx_hl7_parse_time("2007-05", &t), 0);
    ck_assert_int_eq(mmdx_hl7_parse_time("2013-02-30", &t), -1);
    ck_assert_int_eq(mmdx_hl7_parse_time("yesterday", &t), -1);
    ck_assert_int_eq(mmdx_hl7_parse_time("2013-04-02T25:00:00Z", &t), -1);
    ck_assert_int_eq(mmdx_hl7_completed_years(1180137600, 1218821400), 1);
    double v;
    int c;
    ck_assert_int_eq(mmdx_hl7_parse_number(" 6.3 ", &v), 0);
    ck_assert_double_eq(v, 6.3);
    ck_assert_int_eq(mmdx_hl7_parse_number("0x10", &v), -1);
    ck_assert_int_eq(mmdx_hl7_parse_number("nan", &v), -1);
    ck_assert_int_eq(mmdx_hl7_parse_number("inf", &v), -1);
    ck_assert_int_eq(mmdx_hl7_parse_number("1e999", &v), -1);
    ck_assert_int_eq(mmdx_hl7_parse_number("5,2", &v), -1);
    ck_assert_int_eq(mmdx_hl7_parse_censored("<5", &v, &c), 0);
    ck_assert(v == 5 && c == MMDX_CENSOR_LEFT);
    ck_assert_int_eq(mmdx_hl7_parse_censored(">= 1000", &v, &c), 0);
    ck_assert(v == 1000 && c == MMDX_CENSOR_RIGHT);
    ck_assert_int_eq(mmdx_hl7_parse_censored("<<5", &v, &c), -1);
}
END_TEST

/* ------------------------------------------------------------------ unit table */

static hl7_units_t *units;
static void units_setup(void)
{
    mmdx_error_t err = {0};
    char p[1024];
    snprintf(p, sizeof p, "%s/units.tsv", data_dir());
    host = (mmdx_host_t){MMDX_ABI_MAJOR, MMDX_ABI_MINOR, sizeof host, malloc, realloc, free, NULL, NULL, data_dir(),
                         1, {0}};
    ck_assert_int_eq(mmdx_hl7_units_load(&host, p, &units, &err), MMDX_OK);
}
static void units_teardown(void)
{
    mmdx_hl7_units_free(units);
}

static double conv(const char *loinc, const char *unit, double v, int expect_rc)
{
    const char *canon = NULL;
    char why[256] = "";
    int rc = mmdx_hl7_units_convert(units, loinc, unit, &v, &canon, why, sizeof why);
    ck_assert_msg(rc == expect_rc, "%s in %s: rc %d (%s)", loinc, unit, rc, why);
    return v;
}

START_TEST(test_unit_conversions)
{
    ck_assert_uint_ge(mmdx_hl7_units_count(units), 150);
    ck_assert_str_eq(mmdx_hl7_units_canonical(units, "2345-7"), "mg/dL");
    ck_assert_str_eq(mmdx_hl7_units_canonical(units, "4548-4"), "%");
    ck_assert_double_eq_tol(conv("2345-7", "mmol/L", 5.5, MMDX_OK), 99.088, 0.001);   /* glucose */
    ck_assert_double_eq_tol(conv("2345-7", "mg/dL", 99, MMDX_OK), 99, 1e-12);
    ck_assert_double_eq_tol(conv("2160-0", "umol/L", 88.42, MMDX_OK), 1.0, 1e-4);      /* creatinine */
    ck_assert_double_eq_tol(conv("14682-9", "mmol/L", 0.09, MMDX_OK), 90, 1e-9);       /* generic prefix */
    ck_assert_double_eq_tol(conv("4548-4", "mmol/mol", 48, MMDX_OK), 6.543, 0.001);    /* HbA1c IFCC->NGSP */
    ck_assert_double_eq_tol(conv("2093-3", "mmol/L", 5.0, MMDX_OK), 193.35, 0.01);     /* cholesterol */
    ck_assert_double_eq_tol(conv("2571-8", "mmol/L", 1.5, MMDX_OK), 132.855, 0.001);   /* triglycerides */
    ck_assert_double_eq_tol(conv("718-7", "g/L", 140, MMDX_OK), 14.0, 1e-9);           /* haemoglobin */
    ck_assert_double_eq_tol(conv("6690-2", "x10*9/L", 4.6, MMDX_OK), 4.6, 1e-12);      /* alias */
    ck_assert_double_eq_tol(conv("6690-2", "K/uL", 4.6, MMDX_OK), 4.6, 1e-12);         /* alias then scale */
    ck_assert_double_eq_tol(conv("15074-8", "mmol/l", 6.3, MMDX_OK), 6.3, 1e-12);      /* case of l */
    ck_assert_double_eq_tol(conv("8302-2", "[in_i]", 70, MMDX_OK), 177.8, 1e-9);
    ck_assert_double_eq_tol(conv("8310-5", "[degF]", 98.6, MMDX_OK), 37.0, 0.001);     /* affine */
    conv("6299-2", "md/dL", 10, MMDX_EUNIT);    /* the C-CDA example's typo */
    conv("2345-7", "mg", 10, MMDX_EUNIT);       /* wrong dimension */
    conv("2345-7", "", 10, MMDX_EUNIT);         /* no unit */
    conv("2744-1", "", 7.4, MMDX_OK);           /* pH has none */
    conv("9999-4", "mg/dL", 1, MMDX_ENOTFOUND); /* not in the table */
    double lo, hi;
    ck_assert_int_eq(mmdx_hl7_units_range(units, "2345-7", &lo, &hi), 1);
    ck_assert(lo > 0 && hi > 1000 && hi < 10000);
    ck_assert_int_eq(mmdx_hl7_units_range(units, "787-2", &lo, &hi), 0); /* no range: anything goes */
    const char *canon;
    char why[256];
    double v = 1;
    ck_assert_int_eq(mmdx_hl7_units_convert(units, "6299-2", "md/dL", &v, &canon, why, sizeof why), MMDX_EUNIT);
    ck_assert_ptr_nonnull(strstr(why, "md/dL"));
    ck_assert_ptr_nonnull(strstr(why, "mg/dL"));
}
END_TEST

/* Every LOINC code of both tables passes the check digit, and the dictionary covers every
 * analyte of the unit table in both languages. */
START_TEST(test_tables_consistent)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/units.tsv", data_dir());
    FILE *f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    mmdx_terms_t *t = NULL;
    mmdx_error_t err = {0};
    char tp[1024];
    snprintf(tp, sizeof tp, "%s/terms.tsv", data_dir());
    ck_assert_int_eq(mmdx_terms_load(tp, &t, &err), MMDX_OK);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char kind[16], code[64];
        if (sscanf(line, "%15[^\t]\t%63[^\t]", kind, code) != 2 || (strcmp(kind, "canon") && strcmp(kind, "conv")))
            continue;
        ck_assert_msg(mmdx_hl7_loinc_valid(code), "units.tsv: %s fails the LOINC check digit", code);
        ck_assert_msg(mmdx_terms_display(t, code, "en") && mmdx_terms_display(t, code, "ko"),
                      "terms.tsv has no English and Korean name for %s", code);
        n++;
    }
    fclose(f);
    ck_assert_int_gt(n, 150);
    f = fopen(tp, "r");
    while (fgets(line, sizeof line, f)) {
        char kind[16], code[64];
        if (sscanf(line, "%15[^\t]\t%63[^\t]", kind, code) == 2 && strcmp(kind, "term") == 0)
            ck_assert_msg(mmdx_hl7_loinc_valid(code), "terms.tsv: %s fails the LOINC check digit", code);
    }
    fclose(f);
    mmdx_terms_free(t);
}
END_TEST

START_TEST(test_unit_table_errors)
{
    char dir[512];
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/mmdx-units-XXXXXX", t && *t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char p[1024];
    snprintf(p, sizeof p, "%s/u.tsv", dir);
    FILE *f = fopen(p, "w");
    fputs("canon\t2345-7\tmg/dL\t1\t0\tok\nconv\t2345-7\tmmol/L\tabc\t0\tbad factor\n", f);
    fclose(f);
    hl7_units_t *u = NULL;
    mmdx_error_t err = {0};
    ck_assert_int_eq(mmdx_hl7_units_load(&host, p, &u, &err), MMDX_EFORMAT);
    ck_assert_int_eq(err.line, 2);
    ck_assert_ptr_null(u);
    f = fopen(p, "w");
    fputs("conv\t2345-7\tmmol/L\t18\t0\tno canon line\n", f);
    fclose(f);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_hl7_units_load(&host, p, &u, &err), MMDX_EFORMAT);
    f = fopen(p, "w");
    fputs("canon\t2345-7\tmg/dL\t1\t0\tok\nrange\t2345-7\tmg/dL\t3000\t5\tmin above max\n", f);
    fclose(f);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_hl7_units_load(&host, p, &u, &err), MMDX_EFORMAT);
    ck_assert_int_eq(err.line, 2);
    f = fopen(p, "w");
    fputs("canon\t2345-7\tmg/dL\t1\t0\tok\nrange\t2345-7\tmmol/L\t1\t100\tnot canonical\n", f);
    fclose(f);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_hl7_units_load(&host, p, &u, &err), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "canonical"));
    mmdx_error_clear(&err);
    snprintf(p, sizeof p, "%s/missing.tsv", dir);
    ck_assert_int_eq(mmdx_hl7_units_load(&host, p, &u, &err), MMDX_ENOTFOUND);
    snprintf(p, sizeof p, "%s/u.tsv", dir);
    unlink(p);
    rmdir(dir);
}
END_TEST

/* ------------------------------------------------------------------ terms */

START_TEST(test_terms)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/terms.tsv", data_dir());
    mmdx_terms_t *t = NULL;
    mmdx_error_t err = {0};
    ck_assert_int_eq(mmdx_terms_load(p, &t, &err), MMDX_OK);
    ck_assert_uint_ge(mmdx_terms_n_codes(t), 150);
    ck_assert_uint_ge(mmdx_terms_n_local(t), 100);
    ck_assert_ptr_nonnull(strstr(mmdx_terms_display(t, "2345-7", "ko"), "포도당"));
    ck_assert_ptr_nonnull(strstr(mmdx_terms_display(t, "2345-7", "en"), "Glucose"));
    ck_assert_str_eq(mmdx_terms_display(t, "2345-7", NULL), mmdx_terms_display(t, "2345-7", "en"));
    ck_assert_ptr_nonnull(strstr(mmdx_terms_display(t, "4548-4", "ko"), "당화혈색소"));
    ck_assert_ptr_nonnull(strstr(mmdx_terms_feature_display(t, "lab:loinc:98979-8", "ko"), "사구체여과율"));
    ck_assert_str_eq(mmdx_terms_feature_display(t, "demo:age", "ko"), "나이 (세)");
    ck_assert_ptr_null(mmdx_terms_display(t, "2345-7", "fr"));
    ck_assert_ptr_null(mmdx_terms_display(t, "0000-0", "en"));
    ck_assert_str_eq(mmdx_terms_local_to_loinc(t, "혈당"), "2345-7");
    ck_assert_str_eq(mmdx_terms_local_to_loinc(t, "크레아티닌"), "2160-0");
    ck_assert_str_eq(mmdx_terms_local_to_loinc(t, "hba1c"), "4548-4");  /* ASCII case ignored */
    ck_assert_str_eq(mmdx_terms_local_to_loinc(t, "  GLU "), "2345-7"); /* blanks ignored */
    ck_assert_str_eq(mmdx_terms_local_to_loinc(t, "당화혈색소"), "4548-4");
    ck_assert_ptr_null(mmdx_terms_local_to_loinc(t, "no such test"));
    /* every local name points at a code the dictionary names in both languages */
    mmdx_terms_free(t);
    mmdx_terms_free(NULL);
}
END_TEST

START_TEST(test_terms_errors)
{
    mmdx_terms_t *t = NULL;
    mmdx_error_t err = {0};
    const char *p = write_doc("t1.tsv", "term\t2345-7\tGlucose\t포도당\nterm\t2160-0\tCreatinine\n");
    ck_assert_int_eq(mmdx_terms_load(p, &t, &err), MMDX_EFORMAT);
    ck_assert_int_eq(err.line, 2);
    ck_assert_ptr_null(t);
    mmdx_error_clear(&err);
    p = write_doc("t2.tsv", "term\t2345-7\tGlucose\t포도당\nterm\t2345-7\tGlucose again\t혈당\n");
    ck_assert_int_eq(mmdx_terms_load(p, &t, &err), MMDX_EDUP);
    mmdx_error_clear(&err);
    p = write_doc("t3.tsv", "term\t2345-7\tGlucose\t포도당\nlocal\tGLU\t9999-9\n");
    ck_assert_int_eq(mmdx_terms_load(p, &t, &err), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "9999-9"));
    mmdx_error_clear(&err);
    p = write_doc("t4.tsv", "synonym\tGLU\t2345-7\n");
    ck_assert_int_eq(mmdx_terms_load(p, &t, &err), MMDX_EFORMAT);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_terms_load("/nonexistent/terms.tsv", &t, &err), MMDX_ENOTFOUND);
}
END_TEST

/* ------------------------------------------------------------------ descriptor, probe, plugin */

START_TEST(test_descriptor_and_probe)
{
    ck_assert_int_eq(desc->abi_major, MMDX_ABI_MAJOR);
    ck_assert_uint_eq(desc->struct_size, sizeof(mmdx_modality_desc_t));
    ck_assert_str_eq(desc->name, "hl7");
    ck_assert_str_eq(desc->input, "labs");
    const char *fhir = "<?xml version=\"1.0\"?>\n<Bundle xmlns=\"http://hl7.org/fhir\"><type value=\"collection\"/>";
    const char *v2 = "<ORU_R01 xmlns=\"urn:hl7-org:v2xml\"><MSH>";
    const char *cda = "<?xml version=\"1.0\"?><!-- note --><ClinicalDocument xmlns=\"urn:hl7-org:v3\">";
    const char *frag = "<section>\n<templateId root=\"2.16.840.1.113883.10.20.22.2.3.1\"/>";
    const char *other = "<svg xmlns=\"http://www.w3.org/2000/svg\">";
    const char *text = "##fileformat=VCFv4.2\n";
    ck_assert_int_ge(desc->ops.probe(state, "a.xml", (const unsigned char *)fhir, strlen(fhir)), 90);
    ck_assert_int_ge(desc->ops.probe(state, "a.xml", (const unsigned char *)v2, strlen(v2)), 90);
    ck_assert_int_ge(desc->ops.probe(state, "a.xml", (const unsigned char *)cda, strlen(cda)), 90);
    int f = desc->ops.probe(state, "a.xml", (const unsigned char *)frag, strlen(frag));
    ck_assert(f > 0 && f < 90);
    ck_assert_int_le(desc->ops.probe(state, "a.svg", (const unsigned char *)other, strlen(other)), 1);
    ck_assert_int_eq(desc->ops.probe(state, "a.vcf", (const unsigned char *)text, strlen(text)), 0);
}
END_TEST

START_TEST(test_plugin_module)
{
    const char *b = getenv("MMDX_BUILDDIR");
    char p[1024];
    snprintf(p, sizeof p, "%s/modalities/hl7/.libs/mmdx_hl7.so", b && *b ? b : ".");
    void *h = dlopen(p, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "check_labs: plugin %s not built (%s); skipped\n", p, dlerror());
        return;
    }
    mmdx_modality_get_desc_fn fn;
    *(void **)&fn = dlsym(h, "mmdx_modality_hl7_get_desc");
    ck_assert(fn != NULL);
    ck_assert_ptr_null(dlsym(h, "mmdx_terms_load_with")); /* only the descriptor is exported */
    const mmdx_modality_desc_t *d = fn();
    ck_assert_str_eq(d->name, "hl7");
    void *st = NULL, *src = NULL;
    mmdx_error_t err = {0};
    ck_assert_int_eq(d->ops.init(&host, &st, &err), MMDX_OK);
    const char *doc = write_doc("p.xml", "<Observation xmlns=\"http://hl7.org/fhir\"><status value=\"final\"/>"
                                         "<code><coding><system value=\"http://loinc.org\"/><code value=\"2345-7\"/>"
                                         "</coding></code><subject><reference value=\"Patient/p1\"/></subject>"
                                         "<valueQuantity><value value=\"5.5\"/><unit value=\"mmol/L\"/></valueQuantity>"
                                         "</Observation>");
    ck_assert_int_eq(d->ops.open(st, doc, NULL, &src, &err), MMDX_OK);
    rec_t r = {0};
    mmdx_sink_t sink = {&r, on_obs, NULL, on_reject, on_patient, {0}};
    ck_assert_int_eq(d->ops.read(src, &sink, &err), MMDX_OK);
    d->ops.close(src);
    d->ops.fini(st);
    ck_assert_uint_eq(r.n_obs, 1);
    ck_assert_double_eq_tol(r.obs[0].value, 99.088, 0.001);
    rec_free(&r);
    dlclose(h);
}
END_TEST

/* ------------------------------------------------------------------ conformance on real files */

START_TEST(test_every_shared_file_reads)
{
    const char *t = getenv("MMDX_TESTDATA");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/hl7", t && *t ? t : "../shared/data");
    static const char *const sub[] = {"fhir-r4", "fhir-dstu2", "v2xml", "ccda"};
    int files = 0;
    for (size_t k = 0; k < 4; k++) {
        char d[1100];
        snprintf(d, sizeof d, "%s/%s", dir, sub[k]);
        DIR *dd = opendir(d);
        if (!dd)
            continue;
        struct dirent *e;
        while ((e = readdir(dd))) {
            if (!strstr(e->d_name, ".xml"))
                continue;
            char p[2200];
            snprintf(p, sizeof p, "%s/%s", d, e->d_name);
            rec_t r = {0};
            mmdx_error_t err;
            int frag = strstr(e->d_name, "_section") != NULL;
            int rc = run(p, NULL, &r, &err);
            if (frag) {
                /* fragments without a namespace declaration: malformed with a clear message ... */
                ck_assert_msg(rc == MMDX_EFORMAT, "%s: %d", p, rc);
                ck_assert_ptr_nonnull(strstr(err.message, "namespace"));
                ck_assert_str_eq(err.file, p);
                ck_assert_uint_eq(r.n_obs, 0);
                rec_free(&r);
                /* ... or read where the documented option allows */
                const char *opts[] = {"fragments=1", "patient=frag", NULL};
                rc = run(p, opts, &r, &err);
            }
            ck_assert_msg(rc == MMDX_OK, "%s: %s", p, err.message);
            ck_assert_msg(r.n_obs + r.n_rej > 0 || strstr(e->d_name, "Bundle-f001"), "%s: nothing read", p);
            for (size_t i = 0; i < r.n_obs; i++) {
                ck_assert_msg(strncmp(r.obs[i].feature, "lab:", 4) == 0 || strncmp(r.obs[i].feature, "demo:", 5) == 0,
                              "%s: feature %s", p, r.obs[i].feature);
                ck_assert(r.obs[i].patient[0]);
            }
            for (size_t i = 0; i < r.n_rej; i++) {
                ck_assert_str_eq(r.rej[i].file, p);
                ck_assert_int_gt(r.rej[i].record, 0);
                ck_assert(r.rej[i].reason[0]);
            }
            ck_assert_ptr_nonnull(strstr(last_log, "results"));
            rec_free(&r);
            files++;
        }
        closedir(dd);
    }
    if (!files)
        fprintf(stderr, "check_labs: no files under %s; conformance skipped\n", dir);
    else
        ck_assert_int_ge(files, 25);
}
END_TEST

START_TEST(test_fhir_r4_single_observations)
{
    NEED(f001, "fhir-r4/Observation-f001.xml");
    rec_t r = {0};
    mmdx_error_t err;
    ck_assert_int_eq(run(f001, NULL, &r, &err), MMDX_OK);
    const rec_obs_t *o = find(&r, "f001", "lab:loinc:15074-8");
    ck_assert_ptr_nonnull(o);
    ck_assert_double_eq_tol(o->value, 6.3, 1e-12);
    ck_assert_str_eq(o->unit, "mmol/L");
    ck_assert_int_eq(o->time, 1364891410); /* effectivePeriod.start 2013-04-02T09:30:10+01:00 */
    ck_assert_uint_eq(r.n_patients, 1);
    rec_free(&r);

    /* a local code system mapped to LOINC through the term dictionary, umol/L to mg/dL */
    NEED(f204, "fhir-r4/Observation-f204.xml");
    ck_assert_int_eq(run(f204, NULL, &r, &err), MMDX_OK);
    o = find(&r, "f201", "lab:loinc:2160-0");
    ck_assert_ptr_nonnull(o);
    ck_assert_double_eq_tol(o->value, 122.0 / 88.42, 1e-4);
    ck_assert_str_eq(o->unit, "mg/dL");
    rec_free(&r);

    /* components, with a comparator on one of them */
    NEED(f205, "fhir-r4/Observation-f205.xml");
    ck_assert_int_eq(run(f205, NULL, &r, &err), MMDX_OK);
    ck_assert_uint_eq(count(&r, "lab:loinc:48642-3"), 1);
    o = find(&r, "f201", "lab:loinc:48643-1");
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(o->censor, MMDX_CENSOR_RIGHT);
    ck_assert_str_eq(o->unit, "mL/min/{1.73_m2}");
    rec_free(&r);

    /* valueString on a SNOMED-coded observation: categorical */
    NEED(tpmt, "fhir-r4/Observation-example-TPMT-diplotype.xml");
    ck_assert_int_eq(run(tpmt, NULL, &r, &err), MMDX_OK);
    o = find(&r, "example", "lab:snomed:363779003");
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(o->kind, MMDX_OBS_CATEGORICAL);
    ck_assert_str_eq(o->level, "*1/*4");
    rec_free(&r);
}
END_TEST

START_TEST(test_fhir_r4_bundles)
{
    NEED(ghp, "fhir-r4/Bundle-ghp.xml");
    rec_t r = {0};
    mmdx_error_t err;
    ck_assert_int_eq(run(ghp, NULL, &r, &err), MMDX_OK);
    ck_assert_uint_eq(r.n_obs, 48); /* 51 Observations, 3 of them panels without a value */
    ck_assert_uint_eq(r.n_rej, 0);
    ck_assert_ptr_nonnull(strstr(last_log, "3 without value"));
    const rec_obs_t *o = find(&r, "pat2", "lab:loinc:718-7");
    ck_assert_ptr_nonnull(o);
    ck_assert_double_eq_tol(o->value, 17.6, 1e-9); /* 176 g/L */
    ck_assert_str_eq(o->unit, "g/dL");
    o = find(&r, "pat2", "lab:loinc:6690-2");
    ck_assert_double_eq_tol(o->value, 4.6, 1e-12);
    ck_assert_str_eq(o->unit, "10*9/L");
    rec_free(&r);

    NEED(lip, "fhir-r4/Bundle-lipids.xml");
    ck_assert_int_eq(run(lip, NULL, &r, &err), MMDX_OK);
    ck_assert_uint_eq(r.n_obs, 4);
    o = find(&r, "pat2", "lab:loinc:13457-7"); /* LDL 4.6 mmol/L -> mg/dL */
    ck_assert_double_eq_tol(o->value, 4.6 * 38.67, 1e-6);
    o = find(&r, "pat2", "lab:loinc:2085-9");
    ck_assert_double_eq_tol(o->value, 1.3 * 38.67, 1e-6);
    rec_free(&r);

    NEED(lri, "fhir-r4/Bundle-lri-example.xml");
    ck_assert_int_eq(run(lri, NULL, &r, &err), MMDX_OK);
    o = find(&r, "example", "lab:loinc:28-1"); /* MIC "<0.06 ug/ml" */
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(o->censor, MMDX_CENSOR_LEFT);
    ck_assert_double_eq_tol(o->value, 0.06, 1e-12);
    ck_assert_str_eq(o->unit, "ug/mL");
    ck_assert_uint_eq(count(&r, "lab:loinc:664-3"), 8); /* Gram stain components */
    o = find(&r, "example", "lab:loinc:624-7");
    ck_assert_int_eq(o->kind, MMDX_OBS_CATEGORICAL);
    rec_free(&r);
}
END_TEST

START_TEST(test_fhir_dstu2)
{
    NEED(dr, "fhir-dstu2/diagnosticreport-examples.xml");
    rec_t r = {0};
    mmdx_error_t err;
    ck_assert_int_eq(run(dr, NULL, &r, &err), MMDX_OK);
    /* 365 contained Observations; a handful use a local antibiotic code without unit */
    ck_assert_uint_ge(r.n_obs, 340);
    ck_assert_uint_eq(count(&r, "lab:loinc:2951-2"), 14);
    const rec_obs_t *o = &r.obs[0]; /* first report: sodium 140 mmol/L (units, DSTU2) */
    ck_assert_str_eq(o->feature, "lab:loinc:2951-2");
    ck_assert_double_eq(o->value, 140);
    ck_assert_str_eq(o->unit, "mmol/L");
    ck_assert_str_ne(o->patient, "");                 /* inherited from the report's subject */
    ck_assert_int_ne(o->time, MMDX_TIME_UNKNOWN);      /* and its diagnosticDateTime */
    o = find(&r, NULL, "lab:loinc:14682-9");          /* creatinine 0.09 mmol/L -> umol/L */
    ck_assert_str_eq(o->unit, "umol/L");
    ck_assert_double_gt(o->value, 10);
    rec_free(&r);
    NEED(egfr, "fhir-dstu2/observation-example-f205-egfr.xml");
    ck_assert_int_eq(run(egfr, NULL, &r, &err), MMDX_OK);
    o = find(&r, "f201", "lab:loinc:69405-9");
    ck_assert_ptr_nonnull(o);
    ck_assert_double_eq(o->value, 54);
    ck_assert_str_eq(o->unit, "mL/min/{1.73_m2}");
    rec_free(&r);
}
END_TEST

START_TEST(test_v2xml)
{
    NEED(tc1, "v2xml/ORU_R01_2.5.1_SampleTestCase1.xml");
    rec_t r = {0};
    mmdx_error_t err;
    ck_assert_int_eq(run(tc1, NULL, &r, &err), MMDX_OK);
    const rec_obs_t *o = find(&r, "9817566735", "lab:loinc:10368-9");
    ck_assert_ptr_nonnull(o);
    ck_assert_double_eq(o->value, 50);
    ck_assert_str_eq(o->unit, "ug/dL");
    ck_assert_int_eq(o->time, 1218821400); /* OBX-14 200808151030-0700 */
    o = find(&r, "9817566735", "demo:sex");
    ck_assert_double_eq(o->value, 1); /* PID-8 M */
    o = find(&r, "9817566735", "demo:age");
    ck_assert_double_eq_tol(o->value, (1218821400.0 - 1180137600.0) / (365.2425 * 86400), 1e-9);
    rec_free(&r);

    NEED(tc3, "v2xml/ORU_R01_2.5.1_SampleTestCase3.xml"); /* OBX-11 C (corrected), unit ug/dl */
    ck_assert_int_eq(run(tc3, NULL, &r, &err), MMDX_OK);
    o = find(&r, NULL, "lab:loinc:10368-9");
    ck_assert_double_eq(o->value, 25);
    ck_assert_str_eq(o->unit, "ug/dL");
    rec_free(&r);

    NEED(tc6, "v2xml/ORU_R01_2.5.1_SampleTestCase6.xml");
    ck_assert_int_eq(run(tc6, NULL, &r, &err), MMDX_OK);
    ck_assert_str_eq(find(&r, "987488015", "lab:loinc:17576-0")->level, "Not Isolated");
    const rec_rej_t *j = find_reject(&r, "20995-1");
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(j->patient, "987488015");
    rec_free(&r);

    NEED(bad, "v2xml/realm-cj-badloinc.xml");
    ck_assert_int_eq(run(bad, NULL, &r, &err), MMDX_OK);
    j = find_reject(&r, "xx625-4");
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(j->code, MMDX_EFORMAT);
    ck_assert_int_gt(j->record, 0);
    rec_free(&r);

    NEED(hcv, "v2xml/ORU_R01_2.5.1_SampleTestCase5.xml");
    ck_assert_int_eq(run(hcv, NULL, &r, &err), MMDX_OK);
    o = find(&r, "686774009", "lab:loinc:10676-5");
    ck_assert_double_eq(o->value, 850000);
    ck_assert_str_eq(o->unit, "[IU]/mL"); /* iU/mL */
    rec_free(&r);
}
END_TEST

START_TEST(test_ccda)
{
    NEED(full, "ccda/consultation_note_full.xml");
    rec_t r = {0};
    mmdx_error_t err;
    ck_assert_int_eq(run(full, NULL, &r, &err), MMDX_OK);
    const char *pid = "444-22-2222";
    ck_assert_double_eq_tol(find(&r, pid, "lab:loinc:718-7")->value, 13.2, 1e-12);
    ck_assert_ptr_null(find(&r, pid, "lab:loinc:3094-0")); /* statusCode active: skipped */
    ck_assert_ptr_nonnull(strstr(last_log, "1 preliminary"));
    ck_assert_double_eq(find(&r, pid, "demo:sex")->value, 0);
    /* BMI from the latest height and weight (2012-09-10: 177 cm, 86 kg) */
    const rec_obs_t *o = find(&r, pid, "lab:loinc:39156-5");
    ck_assert_ptr_nonnull(o);
    ck_assert_double_eq_tol(o->value, 86.0 / (1.77 * 1.77), 1e-9);
    ck_assert_ptr_nonnull(strstr(o->prov, "derived:BMI"));
    ck_assert_uint_eq(count(&r, "lab:loinc:8480-6"), 2);
    rec_free(&r);

    const char *opts[] = {"fragments=1", "patient=P1", NULL};
    NEED(lt, "ccda/less_than_section.xml");
    ck_assert_int_eq(run(lt, opts, &r, &err), MMDX_OK);
    o = find(&r, "P1", "lab:loinc:42637-9"); /* IVL_PQ [0, 5] pg/mL: below 5 */
    ck_assert_int_eq(o->censor, MMDX_CENSOR_LEFT);
    ck_assert_double_eq(o->value, 5);
    ck_assert_str_eq(o->unit, "pg/mL");
    rec_free(&r);
    NEED(gt, "ccda/greater_than_section.xml");
    ck_assert_int_eq(run(gt, opts, &r, &err), MMDX_OK);
    o = find(&r, "P1", "lab:loinc:32016-8"); /* IVL_PQ (500, +inf) mg/dL: above 500 */
    ck_assert_int_eq(o->censor, MMDX_CENSOR_RIGHT);
    ck_assert_double_eq(o->value, 500);
    rec_free(&r);
    NEED(bmp, "ccda/bmp_troponin_section.xml");
    ck_assert_int_eq(run(bmp, opts, &r, &err), MMDX_OK);
    const rec_rej_t *j = find_reject(&r, "md/dL"); /* the unit typo: rejected, never used as is */
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(j->code, MMDX_EUNIT);
    ck_assert_ptr_null(find(&r, "P1", "lab:loinc:6299-2"));
    /* blood glucose "185 mmol/L" (a mg/dL value with the wrong unit) converts to 3333 mg/dL:
     * implausible, rejected with the suspected cause */
    j = find_reject(&r, "implausible");
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(j->code, MMDX_ERANGE);
    ck_assert_ptr_nonnull(strstr(j->reason, "lab:loinc:2339-0"));
    ck_assert_ptr_null(find(&r, "P1", "lab:loinc:2339-0"));
    ck_assert_uint_eq(count(&r, "lab:loinc:6598-7"), 2);
    ck_assert_double_eq(find(&r, "P1", "lab:loinc:2947-0")->value, 140);
    rec_free(&r);
    NEED(nn, "ccda/non_numeric_section.xml");
    ck_assert_int_eq(run(nn, opts, &r, &err), MMDX_OK);
    ck_assert_ptr_nonnull(find_reject(&r, "Unable to calculate"));
    ck_assert_double_eq(find(&r, "P1", "lab:loinc:3043-7")->value, 450);
    rec_free(&r);
    /* fragments read without a patient: every result is rejected for want of one */
    const char *opt1[] = {"fragments=1", NULL};
    ck_assert_int_eq(run(nn, opt1, &r, &err), MMDX_OK);
    ck_assert_uint_eq(r.n_obs, 0);
    ck_assert_ptr_nonnull(find_reject(&r, "no patient"));
    rec_free(&r);
}
END_TEST

/* ------------------------------------------------------------------ synthetic documents */

#define FHIR_OBS(id, status, code, value, unit, date)                                                  \
    "<entry><resource><Observation><id value=\"" id "\"/><status value=\"" status "\"/>"                \
    "<code><coding><system value=\"http://loinc.org\"/><code value=\"" code "\"/></coding></code>"     \
    "<subject><reference value=\"Patient/p1\"/></subject><effectiveDateTime value=\"" date "\"/>"      \
    "<valueQuantity><value value=\"" value "\"/><unit value=\"" unit "\"/></valueQuantity>"            \
    "</Observation></resource></entry>\n"

static const char *const PATIENT_F =
    "<entry><fullUrl value=\"urn:uuid:aaaa\"/><resource><Patient><id value=\"p1\"/>"
    "<gender value=\"female\"/><birthDate value=\"1970-06-15\"/></Patient></resource></entry>\n";

START_TEST(test_status_filtering)
{
    char doc[8192];
    snprintf(doc, sizeof doc,
             "<Bundle xmlns=\"http://hl7.org/fhir\">\n%s" FHIR_OBS("a", "final", "2345-7", "100", "mg/dL", "2020-01-01")
                 FHIR_OBS("b", "preliminary", "2345-7", "400", "mg/dL", "2020-01-02")
                     FHIR_OBS("c", "cancelled", "2345-7", "1", "mg/dL", "2020-01-03")
                         FHIR_OBS("d", "entered-in-error", "2345-7", "2", "mg/dL", "2020-01-04")
                             FHIR_OBS("e", "amended", "2093-3", "190", "mg/dL", "2020-01-05")
                                 FHIR_OBS("f", "corrected", "2085-9", "50", "mg/dL", "2020-01-05")
                                     FHIR_OBS("g", "registered", "2085-9", "70", "mg/dL", "2020-01-06") "</Bundle>\n",
             PATIENT_F);
    rec_t r = {0};
    mmdx_error_t err;
    ck_assert_int_eq(run(write_doc("status.xml", doc), NULL, &r, &err), MMDX_OK);
    ck_assert_uint_eq(count(&r, "lab:loinc:2345-7"), 1);
    ck_assert_double_eq(find(&r, "p1", "lab:loinc:2345-7")->value, 100);
    ck_assert_uint_eq(count(&r, "lab:loinc:2093-3"), 1);
    ck_assert_double_eq(find(&r, "p1", "lab:loinc:2085-9")->value, 50);
    ck_assert_ptr_nonnull(strstr(last_log, "7 results, 3 used"));
    ck_assert_ptr_nonnull(strstr(last_log, "2 preliminary, 1 cancelled, 1 entered-in-error"));
    ck_assert_uint_eq(r.n_rej, 0);
    rec_free(&r);
}
END_TEST

START_TEST(test_derived_egfr)
{
    char doc[8192];
    /* woman born 1970-06-15; creatinine 88.42 umol/L (1.00 mg/dL) on 2020-06-01 at 49 */
    snprintf(doc, sizeof doc,
             "<Bundle xmlns=\"http://hl7.org/fhir\">\n%s" FHIR_OBS("a", "final", "2160-0", "1.4", "mg/dL", "2019-01-01")
                 FHIR_OBS("b", "final", "2160-0", "88.42", "umol/L", "2020-06-01T08:00:00Z")
                     FHIR_OBS("c", "final", "8302-2", "160", "cm", "2020-06-01")
                         FHIR_OBS("d", "final", "29463-7", "64", "kg", "2020-06-01") "</Bundle>\n",
             PATIENT_F);
    rec_t r = {0};
    mmdx_error_t err;
    ck_assert_int_eq(run(write_doc("egfr.xml", doc), NULL, &r, &err), MMDX_OK);
    const rec_obs_t *o = find(&r, "p1", "lab:loinc:98979-8");
    ck_assert_ptr_nonnull(o);
    ck_assert_double_eq_tol(o->value, mmdx_hl7_egfr_ckdepi2021(1.0, 49, 1), 0.01);
    ck_assert_double_eq_tol(o->value, 142 * pow(1.0 / 0.7, -1.2) * pow(0.9938, 49) * 1.012, 0.01);
    ck_assert_str_eq(o->unit, "mL/min/{1.73_m2}");
    ck_assert_ptr_nonnull(strstr(o->prov, "CKD-EPI 2021"));
    ck_assert_ptr_nonnull(strstr(o->prov, "lab:loinc:2160-0"));
    ck_assert_ptr_nonnull(strstr(o->prov, "age 49"));
    ck_assert_ptr_nonnull(strstr(o->prov, "female"));
    o = find(&r, "p1", "lab:loinc:39156-5");
    ck_assert_double_eq_tol(o->value, 25.0, 1e-9);
    o = find(&r, "p1", "demo:age");
    ck_assert_double_eq_tol(o->value, 49.96, 0.01);
    ck_assert_double_eq(find(&r, "p1", "demo:sex")->value, 0);
    rec_free(&r);

    /* no sex: no eGFR (the equation needs it) */
    snprintf(doc, sizeof doc,
             "<Bundle xmlns=\"http://hl7.org/fhir\">\n<entry><resource><Patient><id value=\"p1\"/>"
             "<birthDate value=\"1970-06-15\"/></Patient></resource></entry>" FHIR_OBS("a", "final", "2160-0", "1.0",
                                                                                  "mg/dL", "2020-06-01") "</Bundle>");
    ck_assert_int_eq(run(write_doc("egfr2.xml", doc), NULL, &r, &err), MMDX_OK);
    ck_assert_ptr_null(find(&r, "p1", "lab:loinc:98979-8"));
    rec_free(&r);
}
END_TEST

START_TEST(test_bad_records_rest_is_read)
{
    char doc[8192];
    snprintf(doc, sizeof doc,
             "<Bundle xmlns=\"http://hl7.org/fhir\">\n%s" FHIR_OBS("a", "final", "2345-7", "12,5", "mg/dL", "2020-01-01")
                 FHIR_OBS("b", "final", "2345-7", "abc", "mg/dL", "2020-01-01")
                     FHIR_OBS("c", "final", "2345-7", "5", "furlongs", "2020-01-01")
                         FHIR_OBS("d", "final", "2345-8", "5", "mg/dL", "2020-01-01")
                             FHIR_OBS("e", "final", "2345-7", "5", "mg/dL", "2020-13-45")
                                 FHIR_OBS("f", "final", "2345-7", "NaN", "mg/dL", "2020-01-01")
                                     "<entry><resource><Observation><status value=\"final\"/><code><coding><system "
                                     "value=\"http://loinc.org\"/><code value=\"2345-7\"/></coding></code>"
                                     "<valueQuantity><value value=\"5\"/><unit value=\"mg/dL\"/></valueQuantity>"
                                     "</Observation></resource></entry>\n" FHIR_OBS("ok", "final", "2345-7", "&lt;5",
                                                                                    "mg/dL", "2020-01-02")
                                         FHIR_OBS("z", "final", "2093-3", "200", "mg/dL", "2020-01-02") "</Bundle>\n",
             PATIENT_F);
    rec_t r = {0};
    mmdx_error_t err;
    ck_assert_int_eq(run(write_doc("bad.xml", doc), NULL, &r, &err), MMDX_OK);
    ck_assert_uint_eq(r.n_rej, 7);
    ck_assert_ptr_nonnull(find_reject(&r, "'12,5'"));
    ck_assert_ptr_nonnull(find_reject(&r, "'abc'"));
    const rec_rej_t *j = find_reject(&r, "furlongs");
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(j->code, MMDX_EUNIT);
    ck_assert_int_eq(j->record, 5); /* the line of its Observation */
    ck_assert_str_eq(j->patient, "p1");
    ck_assert_ptr_nonnull(find_reject(&r, "2345-8"));
    ck_assert_ptr_nonnull(find_reject(&r, "2020-13-45"));
    ck_assert_ptr_nonnull(find_reject(&r, "'NaN'"));
    j = find_reject(&r, "no patient");
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(j->patient, "");
    /* the records after the bad ones are still read; "<5" written into the value itself (not
     * as comparator) is read as a censored value */
    ck_assert_double_eq(find(&r, "p1", "lab:loinc:2093-3")->value, 200);
    ck_assert_uint_eq(count(&r, "lab:loinc:2345-7"), 1);
    ck_assert_int_eq(find(&r, "p1", "lab:loinc:2345-7")->censor, MMDX_CENSOR_LEFT);
    rec_free(&r);
}
END_TEST

START_TEST(test_v2_censored_and_sn)
{
    const char *doc =
        "<?xml version=\"1.0\"?>\n<ORU_R01_BATCH xmlns=\"urn:hl7-org:v2xml\">\n"
        "<ORU_R01><ORU_R01.PATIENT_RESULT><ORU_R01.PATIENT><PID><PID.3><CX.1>X1</CX.1></PID.3>"
        "<PID.7><TS.1>19600101</TS.1></PID.7><PID.8>F</PID.8></PID></ORU_R01.PATIENT>\n"
        "<ORU_R01.ORDER_OBSERVATION><OBR><OBR.7><TS.1>20200301</TS.1></OBR.7></OBR>\n"
        "<ORU_R01.OBSERVATION><OBX><OBX.2>NM</OBX.2><OBX.3><CE.1>1988-5</CE.1><CE.3>LN</CE.3></OBX.3>"
        "<OBX.5>&lt;5</OBX.5><OBX.6><CE.1>mg/L</CE.1></OBX.6><OBX.11>F</OBX.11></OBX></ORU_R01.OBSERVATION>\n"
        "<ORU_R01.OBSERVATION><OBX><OBX.2>SN</OBX.2><OBX.3><CE.1>33762-6</CE.1><CE.3>LN</CE.3></OBX.3>"
        "<OBX.5><SN.1>&gt;</SN.1><SN.2>35000</SN.2></OBX.5><OBX.6><CE.1>pg/mL</CE.1></OBX.6><OBX.11>F</OBX.11>"
        "</OBX></ORU_R01.OBSERVATION>\n"
        "<ORU_R01.OBSERVATION><OBX><OBX.2>NM</OBX.2><OBX.3><CE.1>GLU</CE.1><CE.2>Glucose</CE.2><CE.3>L</CE.3>"
        "<CE.4>2345-7</CE.4><CE.6>LN</CE.6></OBX.3><OBX.5>5.5</OBX.5><OBX.6><CE.1>mmol/L</CE.1></OBX.6>"
        "<OBX.11>C</OBX.11></OBX></ORU_R01.OBSERVATION>\n"
        "<ORU_R01.OBSERVATION><OBX><OBX.2>NM</OBX.2><OBX.3><CE.1>CREA</CE.1><CE.3>99LAB</CE.3></OBX.3>"
        "<OBX.5>1.1</OBX.5><OBX.6><CE.1>mg/dL</CE.1></OBX.6><OBX.11>F</OBX.11></OBX></ORU_R01.OBSERVATION>\n"
        "<ORU_R01.OBSERVATION><OBX><OBX.2>NM</OBX.2><OBX.3><CE.1>혈당</CE.1><CE.3>99LAB</CE.3></OBX.3>"
        "<OBX.5>7.0</OBX.5><OBX.6><CE.1>mmol/L</CE.1></OBX.6><OBX.11>P</OBX.11></OBX></ORU_R01.OBSERVATION>\n"
        "<ORU_R01.OBSERVATION><OBX><OBX.2>SN</OBX.2><OBX.3><CE.1>2345-7</CE.1><CE.3>LN</CE.3></OBX.3>"
        "<OBX.5><SN.2>1</SN.2><SN.3>:</SN.3><SN.4>2</SN.4></OBX.5><OBX.11>F</OBX.11></OBX></ORU_R01.OBSERVATION>\n"
        "</ORU_R01.ORDER_OBSERVATION></ORU_R01.PATIENT_RESULT></ORU_R01>\n"
        "<ORU_R01><ORU_R01.PATIENT_RESULT><ORU_R01.ORDER_OBSERVATION>"
        "<ORU_R01.OBSERVATION><OBX><OBX.2>NM</OBX.2><OBX.3><CE.1>2345-7</CE.1><CE.3>LN</CE.3></OBX.3>"
        "<OBX.5>90</OBX.5><OBX.6><CE.1>mg/dL</CE.1></OBX.6><OBX.11>F</OBX.11></OBX></ORU_R01.OBSERVATION>"
        "</ORU_R01.ORDER_OBSERVATION></ORU_R01.PATIENT_RESULT></ORU_R01>\n"
        "</ORU_R01_BATCH>\n";
    rec_t r = {0};
    mmdx_error_t err;
    ck_assert_int_eq(run(write_doc("v2.xml", doc), NULL, &r, &err), MMDX_OK);
    const rec_obs_t *o = find(&r, "X1", "lab:loinc:1988-5");
    ck_assert_int_eq(o->censor, MMDX_CENSOR_LEFT);
    ck_assert_double_eq(o->value, 5);
    ck_assert_int_eq(o->time, 1583020800); /* OBR-7 when OBX-14 is absent */
    o = find(&r, "X1", "lab:loinc:33762-6");
    ck_assert_int_eq(o->censor, MMDX_CENSOR_RIGHT);
    ck_assert_double_eq(o->value, 35000);
    o = find(&r, "X1", "lab:loinc:2345-7"); /* alternate LOINC coding of OBX-3 */
    ck_assert_double_eq_tol(o->value, 5.5 * 18.016, 1e-9);
    o = find(&r, "X1", "lab:loinc:2160-0"); /* local code CREA mapped through the dictionary */
    ck_assert_ptr_nonnull(o);
    ck_assert_double_eq(o->value, 1.1);
    ck_assert_ptr_nonnull(find(&r, "X1", "lab:loinc:98979-8")); /* derived from it */
    ck_assert_ptr_nonnull(find_reject(&r, "ratios"));
    ck_assert_ptr_nonnull(strstr(last_log, "1 preliminary"));
    /* the second message has no PID: its result is rejected, naming the reason */
    ck_assert_ptr_nonnull(find_reject(&r, "no patient"));
    rec_free(&r);
}
END_TEST

START_TEST(test_truncated)
{
    static char doc[200000];
    size_t n = (size_t)snprintf(doc, sizeof doc, "<Bundle xmlns=\"http://hl7.org/fhir\">\n%s", PATIENT_F);
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(doc + n, sizeof doc - n, "%s",
                              FHIR_OBS("a", "final", "2345-7", "100", "mg/dL", "2020-01-01")
                                  FHIR_OBS("b", "final", "2093-3", "190", "mg/dL", "2020-01-01"));
    snprintf(doc + n, sizeof doc - n, "<entry><resource><Observation><status value=\"fin");
    const char *p = write_doc("trunc.xml", doc);
    rec_t r = {0};
    mmdx_error_t err;
    ck_assert_int_eq(run(p, NULL, &r, &err), MMDX_ETRUNC);
    ck_assert_uint_eq(r.n_obs, 0); /* nothing kept by default */
    ck_assert_uint_eq(r.n_patients, 0);
    ck_assert_str_eq(err.file, p);
    ck_assert_int_eq(err.line, 403);
    ck_assert_ptr_nonnull(strstr(err.message, "truncated"));
    ck_assert_ptr_nonnull(strstr(err.message, "partial=1"));
    rec_free(&r);
    const char *opts[] = {"partial=1", NULL};
    ck_assert_int_eq(run(p, opts, &r, &err), MMDX_ETRUNC);
    /* kept on request; libxml2 parses a few kilobytes ahead, so the last records before the
     * break may be lost with it */
    ck_assert_uint_ge(count(&r, "lab:loinc:2345-7"), 180);
    ck_assert_uint_le(count(&r, "lab:loinc:2345-7"), 200);
    ck_assert_int_eq(err.line, 403);
    rec_free(&r);
    /* truncated between elements, after a complete record */
    snprintf(doc, sizeof doc, "<Bundle xmlns=\"http://hl7.org/fhir\">\n%s", PATIENT_F);
    ck_assert_int_eq(run(write_doc("trunc2.xml", doc), NULL, &r, &err), MMDX_ETRUNC);
    rec_free(&r);
}
END_TEST

START_TEST(test_malformed_files)
{
    rec_t r = {0};
    mmdx_error_t err;
    /* wrong namespace */
    ck_assert_int_eq(run(write_doc("ns.xml", "<Bundle xmlns=\"http://hl7.org/fhir/R5-wrong\"><entry/></Bundle>"), NULL, &r,
                         &err),
                     MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "http://hl7.org/fhir/R5-wrong"));
    ck_assert_ptr_nonnull(strstr(err.file, "ns.xml"));
    /* no namespace */
    ck_assert_int_eq(run(write_doc("nons.xml", "<Bundle><entry/></Bundle>"), NULL, &r, &err), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "no namespace"));
    /* not XML */
    ck_assert_int_eq(run(write_doc("junk.xml", "this is not xml\n"), NULL, &r, &err), MMDX_EFORMAT);
    /* malformed in the middle: error names file and line */
    ck_assert_int_eq(run(write_doc("mid.xml", "<Bundle xmlns=\"http://hl7.org/fhir\">\n<entry>\n<x></y>\n</entry>\n"
                                              "</Bundle>\n"),
                         NULL, &r, &err),
                     MMDX_EFORMAT);
    ck_assert_int_eq(err.line, 3);
    /* empty file */
    ck_assert_int_eq(run(write_doc("empty.xml", ""), NULL, &r, &err), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "empty"));
    /* undeclared prefix in a document that claims a namespace */
    ck_assert_int_eq(run(write_doc("prefix.xml", "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><component><section>"
                                                 "<entry><observation><value xsi:type=\"PQ\" value=\"1\"/>"
                                                 "</observation></entry></section></component></ClinicalDocument>"),
                         NULL, &r, &err),
                     MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "namespace"));
    /* bytes libxml2 cannot decode: an error, and nothing printed (libxml2 2.9 reports input
     * decoding errors through its thread-global handlers, which the adapter routes) */
    {
        char ep[1100];
        snprintf(ep, sizeof ep, "%s/enc.xml", scratch);
        FILE *f = fopen(ep, "wb");
        static const char enc[] = "<\0\0\0\0\0\0\0\0\0\0\0\0\0\0?xml version=\"1.0\"?>"
                                  "<Bundle xmlns=\"http://hl7.org/fhir\"/>";
        fwrite(enc, 1, sizeof enc - 1, f);
        fclose(f);
        char errpath[1100];
        snprintf(errpath, sizeof errpath, "%s/stderr.txt", scratch);
        fflush(stderr);
        int saved = dup(2);
        FILE *ef = fopen(errpath, "w");
        dup2(fileno(ef), 2);
        int rc = run(ep, NULL, &r, &err);
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        fclose(ef);
        ck_assert_int_eq(rc, MMDX_EFORMAT);
        struct stat sb;
        ck_assert_int_eq(stat(errpath, &sb), 0);
        ck_assert_msg(sb.st_size == 0, "libxml2 printed to stderr");
    }
    /* no such file, unknown option */
    void *src = NULL;
    mmdx_error_clear(&err);
    ck_assert_int_eq(desc->ops.open(state, "/nonexistent/x.xml", NULL, &src, &err), MMDX_ENOTFOUND);
    ck_assert_str_eq(err.file, "/nonexistent/x.xml");
    const char *bad[] = {"colour=blue", NULL};
    mmdx_error_clear(&err);
    ck_assert_int_eq(desc->ops.open(state, write_doc("o.xml", "<a/>"), bad, &src, &err), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "colour=blue"));
    ck_assert_uint_eq(r.n_obs, 0);
    rec_free(&r);
}
END_TEST

START_TEST(test_security)
{
    rec_t r = {0};
    mmdx_error_t err;
    char secret[1100];
    snprintf(secret, sizeof secret, "%s/secret.txt", scratch);
    write_doc("secret.txt", "TOP-SECRET");
    char xxe[4096];
    snprintf(xxe, sizeof xxe,
             "<?xml version=\"1.0\"?>\n<!DOCTYPE Observation [<!ENTITY x SYSTEM \"file://%s\">]>\n"
             "<Observation xmlns=\"http://hl7.org/fhir\"><status value=\"final\"/><code><coding><system "
             "value=\"http://loinc.org\"/><code value=\"2345-7\"/></coding></code><subject><reference "
             "value=\"Patient/&x;\"/></subject><valueQuantity><value value=\"1\"/><unit value=\"mg/dL\"/>"
             "</valueQuantity></Observation>\n",
             secret);
    ck_assert_int_eq(run(write_doc("xxe.xml", xxe), NULL, &r, &err), MMDX_ESECURITY);
    ck_assert_uint_eq(r.n_obs, 0);
    ck_assert_uint_eq(r.n_patients, 0);
    const char *laughs =
        "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
        "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
        "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">"
        "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
        "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">"
        "<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">"
        "<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">"
        "<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">"
        "<!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">"
        "<!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">]>\n"
        "<Observation xmlns=\"http://hl7.org/fhir\"><id value=\"&lol9;\"/></Observation>\n";
    ck_assert_int_eq(run(write_doc("lol.xml", laughs), NULL, &r, &err), MMDX_ESECURITY);
    ck_assert_ptr_nonnull(strstr(err.message, "refused"));
    /* nesting depth */
    size_t n = 0;
    static char deep[20000];
    n += (size_t)sprintf(deep + n, "<Bundle xmlns=\"http://hl7.org/fhir\">");
    for (int i = 0; i < 1000; i++)
        n += (size_t)sprintf(deep + n, "<a>");
    for (int i = 0; i < 1000; i++)
        n += (size_t)sprintf(deep + n, "</a>");
    sprintf(deep + n, "</Bundle>");
    int rc = run(write_doc("deep.xml", deep), NULL, &r, &err);
    ck_assert_msg(rc == MMDX_ESECURITY, "deep nesting: %d %s", rc, err.message);
    /* an over-long value is a rejected record, not a crash or a silently cut value */
    static char longv[8192];
    char big[2000];
    memset(big, '9', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    snprintf(longv, sizeof longv,
             "<Bundle xmlns=\"http://hl7.org/fhir\">%s" FHIR_OBS("a", "final", "2345-7", "%s", "mg/dL", "2020-01-01")
                 "</Bundle>",
             PATIENT_F, big);
    ck_assert_int_eq(run(write_doc("long.xml", longv), NULL, &r, &err), MMDX_OK);
    ck_assert_ptr_nonnull(find_reject(&r, "too long"));
    ck_assert_uint_eq(count(&r, "lab:loinc:2345-7"), 0);
    rec_free(&r);
}
END_TEST

START_TEST(test_interpretation_only)
{
    const char *doc =
        "<Observation xmlns=\"http://hl7.org/fhir\"><status value=\"final\"/><code><coding><system "
        "value=\"http://loinc.org\"/><code value=\"5198-7\"/></coding></code><subject><reference "
        "value=\"Patient/p9\"/></subject><interpretation><coding><system "
        "value=\"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation\"/><code value=\"POS\"/>"
        "</coding></interpretation><referenceRange><low><value value=\"1\"/></low></referenceRange></Observation>";
    rec_t r = {0};
    mmdx_error_t err;
    ck_assert_int_eq(run(write_doc("interp.xml", doc), NULL, &r, &err), MMDX_OK);
    const rec_obs_t *o = find(&r, "p9", "lab:loinc:5198-7");
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(o->kind, MMDX_OBS_CATEGORICAL);
    ck_assert_str_eq(o->level, "POS");
    ck_assert_uint_eq(r.n_obs, 1); /* the reference range is not a value */
    rec_free(&r);
    /* a code given only as Korean text, mapped through the dictionary's local names */
    doc = "<Observation xmlns=\"http://hl7.org/fhir\"><status value=\"final\"/><code><text value=\"당화혈색소\"/>"
          "</code><subject><reference value=\"Patient/p9\"/></subject><valueQuantity><value value=\"53\"/>"
          "<unit value=\"mmol/mol\"/></valueQuantity></Observation>";
    ck_assert_int_eq(run(write_doc("ko.xml", doc), NULL, &r, &err), MMDX_OK);
    o = find(&r, "p9", "lab:loinc:4548-4");
    ck_assert_ptr_nonnull(o);
    ck_assert_double_eq_tol(o->value, 0.09148 * 53 + 2.152, 1e-9);
    rec_free(&r);
    doc = "<Observation xmlns=\"http://hl7.org/fhir\"><status value=\"final\"/><code><text value=\"mystery\"/>"
          "</code><subject><reference value=\"Patient/p9\"/></subject><valueQuantity><value value=\"1\"/>"
          "</valueQuantity></Observation>";
    ck_assert_int_eq(run(write_doc("nocode.xml", doc), NULL, &r, &err), MMDX_OK);
    ck_assert_ptr_nonnull(find_reject(&r, "'mystery' is not a known local name"));
    rec_free(&r);
}
END_TEST

START_TEST(test_sink_stop)
{
    char doc[8192];
    snprintf(doc, sizeof doc,
             "<Bundle xmlns=\"http://hl7.org/fhir\">\n%s" FHIR_OBS("a", "final", "2345-7", "100", "mg/dL", "2020-01-01")
                 FHIR_OBS("b", "final", "2093-3", "190", "mg/dL", "2020-01-01")
                     FHIR_OBS("c", "final", "2085-9", "50", "mg/dL", "2020-01-01") "</Bundle>\n",
             PATIENT_F);
    rec_t r = {0};
    r.stop_after = 2;
    mmdx_error_t err;
    ck_assert_int_eq(run(write_doc("stop.xml", doc), NULL, &r, &err), MMDX_EINVAL);
    ck_assert_uint_eq(r.n_obs, 2);
    rec_free(&r);
}
END_TEST

START_TEST(test_demo_cohort_labs)
{
    const char *b = getenv("MMDX_BUILDDIR");
    char p[1024];
    snprintf(p, sizeof p, "%s/data/demo/generated/train/labs.xml", b && *b ? b : ".");
    if (access(p, R_OK) != 0) {
        fprintf(stderr, "check_labs: %s not generated; skipped\n", p);
        return;
    }
    rec_t r = {0};
    mmdx_error_t err;
    ck_assert_int_eq(run(p, NULL, &r, &err), MMDX_OK);
    ck_assert_uint_gt(count(&r, "lab:loinc:98979-8"), 100);
    ck_assert_uint_gt(count(&r, "demo:age"), 100);
    ck_assert_ptr_nonnull(find_reject(&r, "md/dL")); /* the generator's unit typo */
    ck_assert_ptr_null(strstr(last_log, " 0 preliminary"));
    /* every glucose is in mg/dL whatever the lab reported, and plausible */
    for (size_t i = 0; i < r.n_obs; i++)
        if (strcmp(r.obs[i].feature, "lab:loinc:2345-7") == 0) {
            ck_assert_str_eq(r.obs[i].unit, "mg/dL");
            ck_assert(r.obs[i].value > 30 && r.obs[i].value < 600);
        }
    rec_free(&r);
}
END_TEST

/* Through the core: detection among the registered modalities, the collector's policies. */
static double collect_value(const char *path, mmdx_agg_t policy, const char *feature, unsigned *count,
                            size_t *n_rejects)
{
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(mmdx_ctx_set_data_dir(ctx, data_dir()), MMDX_OK);
    mmdx_space_t *space = mmdx_space_alloc();
    mmdx_collect_t *col = mmdx_collect_alloc(ctx, space, policy);
    mmdx_error_t err = {0};
    int rc = mmdx_collect_file(col, NULL, path, NULL, &err); /* detected, not named */
    ck_assert_msg(rc == MMDX_OK, "%s", err.message);
    *n_rejects = mmdx_collect_n_rejects(col);
    mmdx_cohort_t *c = NULL;
    ck_assert_int_eq(mmdx_collect_to_cohort(col, &c, &err), MMDX_OK);
    long j = mmdx_space_find_feature(space, feature);
    ck_assert_int_ge(j, 0);
    double v = NAN;
    ck_assert_int_eq(mmdx_cohort_get(c, 0, (size_t)j, &v), 1); /* present */
    *count = mmdx_collect_count(col, 0, (size_t)j);
    mmdx_cohort_free(c);
    mmdx_collect_free(col);
    mmdx_space_free(space);
    mmdx_ctx_free(ctx);
    return v;
}

START_TEST(test_through_core)
{
    char doc[8192];
    snprintf(doc, sizeof doc,
             "<?xml version=\"1.0\"?>\n<Bundle xmlns=\"http://hl7.org/fhir\">\n%s"
             FHIR_OBS("a", "final", "2345-7", "5.0", "mmol/L", "2020-03-01")
             FHIR_OBS("b", "final", "2345-7", "110", "mg/dL", "2020-01-01")
             FHIR_OBS("c", "final", "2345-7", "130", "mg/dL", "2020-02-01")
             FHIR_OBS("d", "final", "2345-7", "9", "furlongs", "2020-04-01") "</Bundle>\n",
             PATIENT_F);
    const char *p = write_doc("core.xml", doc);
    unsigned n;
    size_t rej;
    double v = collect_value(p, MMDX_AGG_LATEST, "lab:loinc:2345-7", &n, &rej);
    ck_assert_double_eq_tol(v, 5.0 * 18.016, 1e-9); /* the latest (March), converted */
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(rej, 1);
    v = collect_value(p, MMDX_AGG_MEAN, "lab:loinc:2345-7", &n, &rej);
    ck_assert_double_eq_tol(v, (90.08 + 110 + 130) / 3, 1e-9);
    v = collect_value(p, MMDX_AGG_MIN, "lab:loinc:2345-7", &n, &rej);
    ck_assert_double_eq_tol(v, 90.08, 1e-9);
    v = collect_value(p, MMDX_AGG_MAX, "lab:loinc:2345-7", &n, &rej);
    ck_assert_double_eq_tol(v, 130, 1e-9);
    v = collect_value(p, MMDX_AGG_LATEST, "demo:sex", &n, &rej);
    ck_assert_double_eq(v, 0);
}
END_TEST

/* Every host allocation failing in turn: reported as MMDX_ENOMEM, never a crash or a leak
 * (the sanitizer build checks the leaks). */
static long fail_at, n_alloc;
static void *fail_malloc(size_t n)
{
    return ++n_alloc == fail_at ? NULL : malloc(n);
}
static void *fail_realloc(void *p, size_t n)
{
    return ++n_alloc == fail_at ? NULL : realloc(p, n);
}

START_TEST(test_allocation_failures)
{
    char doc[8192];
    snprintf(doc, sizeof doc,
             "<Bundle xmlns=\"http://hl7.org/fhir\">\n%s"
             "<entry><resource><DiagnosticReport><contained><Observation><status value=\"final\"/><code><coding>"
             "<system value=\"http://loinc.org\"/><code value=\"2160-0\"/></coding></code><valueQuantity><value "
             "value=\"1.1\"/><unit value=\"mg/dL\"/></valueQuantity></Observation></contained><subject><reference "
             "value=\"urn:uuid:aaaa\"/></subject><effectiveDateTime value=\"2020-01-01\"/></DiagnosticReport>"
             "</resource></entry>" FHIR_OBS("b", "final", "8302-2", "170", "cm", "2020-01-01")
                 FHIR_OBS("c", "final", "29463-7", "70", "kg", "2020-01-01") "</Bundle>\n",
             PATIENT_F);
    const char *p = write_doc("alloc.xml", doc);
    mmdx_host_t h = host;
    h.malloc = fail_malloc;
    h.realloc = fail_realloc;
    int ok = 0;
    for (fail_at = 1; fail_at < 400 && !ok; fail_at++) {
        n_alloc = 0;
        void *st = NULL, *src = NULL;
        mmdx_error_t err = {0};
        int rc = desc->ops.init(&h, &st, &err);
        if (rc == MMDX_OK) {
            rc = desc->ops.open(st, p, NULL, &src, &err);
            if (rc == MMDX_OK) {
                rec_t r = {0};
                mmdx_sink_t sink = {&r, on_obs, NULL, on_reject, on_patient, {0}};
                rc = desc->ops.read(src, &sink, &err);
                if (rc == MMDX_OK) {
                    ck_assert_ptr_nonnull(find(&r, "p1", "lab:loinc:98979-8"));
                    ck_assert_ptr_nonnull(find(&r, "p1", "lab:loinc:39156-5"));
                    ok = 1;
                }
                rec_free(&r);
                desc->ops.close(src);
            }
            desc->ops.fini(st);
        }
        ck_assert_msg(rc == MMDX_OK || rc == MMDX_ENOMEM, "allocation %ld failing gave %d (%s)", fail_at, rc,
                      err.message);
        if (rc == MMDX_ENOMEM)
            ck_assert_msg(err.code == MMDX_ENOMEM, "allocation %ld: ENOMEM not reported in err", fail_at);
    }
    ck_assert_msg(ok, "never succeeded");
    ck_assert_int_gt(fail_at, 5); /* several allocations were made to fail on the way */
}
END_TEST

static Suite *labs_suite(void)
{
    Suite *s = suite_create("labs");
    TCase *tc = tcase_create("helpers");
    tcase_add_test(tc, test_loinc_check_digit);
    tcase_add_test(tc, test_egfr_worked_values);
    tcase_add_test(tc, test_times_and_numbers);
    suite_add_tcase(s, tc);
    tc = tcase_create("units");
    tcase_add_checked_fixture(tc, units_setup, units_teardown);
    tcase_add_test(tc, test_unit_conversions);
    tcase_add_test(tc, test_unit_table_errors);
    tcase_add_test(tc, test_tables_consistent);
    suite_add_tcase(s, tc);
    tc = tcase_create("adapter");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_terms);
    tcase_add_test(tc, test_terms_errors);
    tcase_add_test(tc, test_descriptor_and_probe);
    tcase_add_test(tc, test_plugin_module);
    tcase_add_test(tc, test_every_shared_file_reads);
    tcase_add_test(tc, test_fhir_r4_single_observations);
    tcase_add_test(tc, test_fhir_r4_bundles);
    tcase_add_test(tc, test_fhir_dstu2);
    tcase_add_test(tc, test_v2xml);
    tcase_add_test(tc, test_ccda);
    tcase_add_test(tc, test_status_filtering);
    tcase_add_test(tc, test_derived_egfr);
    tcase_add_test(tc, test_bad_records_rest_is_read);
    tcase_add_test(tc, test_v2_censored_and_sn);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_malformed_files);
    tcase_add_test(tc, test_security);
    tcase_add_test(tc, test_sink_stop);
    tcase_add_test(tc, test_interpretation_only);
    tcase_add_test(tc, test_demo_cohort_labs);
    tcase_add_test(tc, test_through_core);
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(labs_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
