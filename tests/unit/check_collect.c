/* Check suite: the collector (sink): rows, columns, aggregation, frozen mode, rejects,
 * dense blocks and the per-file staging used by mmdx_collect_file(). */
#include <check.h>
#include <math.h>
#include <string.h>

#include <mmdx/mmdx.h>

#include "collect_internal.h" /* staging, normally driven by mmdx_collect_file() */

static mmdx_obs_t obs(const char *patient, const char *feature, double value, int64_t time)
{
    mmdx_obs_t o;
    memset(&o, 0, sizeof o);
    o.patient = patient;
    o.feature = feature;
    o.kind = MMDX_OBS_CONTINUOUS;
    o.value = value;
    o.time = time;
    o.provenance = "labs.xml:12";
    return o;
}

static int send(mmdx_collect_t *col, mmdx_obs_t o)
{
    const mmdx_sink_t *sink = mmdx_collect_sink(col);
    return sink->obs(sink->data, &o);
}

static double value_of(mmdx_collect_t *col, const char *patient, const char *feature, int *present)
{
    mmdx_cohort_t *c = NULL;
    double v = NAN;
    long i, j;
    ck_assert_int_eq(mmdx_collect_to_cohort(col, &c, NULL), MMDX_OK);
    i = mmdx_cohort_find(c, patient);
    j = mmdx_space_find_feature(mmdx_cohort_space(c), feature);
    ck_assert_int_ge(i, 0);
    ck_assert_int_ge(j, 0);
    *present = mmdx_cohort_get(c, (size_t)i, (size_t)j, &v);
    mmdx_cohort_free(c);
    return v;
}

START_TEST(test_agg_parse)
{
    mmdx_agg_t a;
    ck_assert_int_eq(mmdx_agg_parse("latest", &a), MMDX_OK);
    ck_assert_int_eq(a, MMDX_AGG_LATEST);
    ck_assert_int_eq(mmdx_agg_parse("mean", &a), MMDX_OK);
    ck_assert_int_eq(a, MMDX_AGG_MEAN);
    ck_assert_int_eq(mmdx_agg_parse("min", &a), MMDX_OK);
    ck_assert_int_eq(a, MMDX_AGG_MIN);
    ck_assert_int_eq(mmdx_agg_parse("max", &a), MMDX_OK);
    ck_assert_int_eq(a, MMDX_AGG_MAX);
    ck_assert_int_eq(mmdx_agg_parse("median", &a), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_agg_parse(NULL, &a), MMDX_EINVAL);
}
END_TEST

/* The same three results under each policy: 5 at t=200, 3 at t=100, 9 at t=150. */
static double aggregate(mmdx_agg_t policy, unsigned *count)
{
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_collect_t *col = mmdx_collect_alloc(NULL, s, policy);
    int present;
    double v;
    ck_assert_int_eq(send(col, obs("P1", "lab:loinc:1", 5, 200)), MMDX_OK);
    ck_assert_int_eq(send(col, obs("P1", "lab:loinc:1", 3, 100)), MMDX_OK);
    ck_assert_int_eq(send(col, obs("P1", "lab:loinc:1", 9, 150)), MMDX_OK);
    v = value_of(col, "P1", "lab:loinc:1", &present);
    ck_assert(present);
    *count = mmdx_collect_count(col, 0, 0);
    ck_assert_uint_eq(mmdx_collect_n_observations(col), 3);
    mmdx_collect_free(col);
    mmdx_space_free(s);
    return v;
}

START_TEST(test_policies)
{
    unsigned n;
    ck_assert_double_eq(aggregate(MMDX_AGG_LATEST, &n), 5);
    ck_assert_uint_eq(n, 3);
    ck_assert_double_eq_tol(aggregate(MMDX_AGG_MEAN, &n), 17.0 / 3, 1e-12);
    ck_assert_uint_eq(n, 3);
    ck_assert_double_eq(aggregate(MMDX_AGG_MIN, &n), 3);
    ck_assert_double_eq(aggregate(MMDX_AGG_MAX, &n), 9);
}
END_TEST

START_TEST(test_latest_ties_and_unknown_times)
{
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_collect_t *col = mmdx_collect_alloc(NULL, s, MMDX_AGG_LATEST);
    int present;
    /* a tie: the last read wins */
    ck_assert_int_eq(send(col, obs("P1", "lab:x:a", 1, 100)), MMDX_OK);
    ck_assert_int_eq(send(col, obs("P1", "lab:x:a", 2, 100)), MMDX_OK);
    ck_assert_double_eq(value_of(col, "P1", "lab:x:a", &present), 2);
    /* unknown time: the last read wins */
    ck_assert_int_eq(send(col, obs("P1", "lab:x:a", 3, MMDX_TIME_UNKNOWN)), MMDX_OK);
    ck_assert_double_eq(value_of(col, "P1", "lab:x:a", &present), 3);
    /* an older result after it does not win once times are known again */
    ck_assert_int_eq(send(col, obs("P1", "lab:x:b", 7, 500)), MMDX_OK);
    ck_assert_int_eq(send(col, obs("P1", "lab:x:b", 8, 400)), MMDX_OK);
    ck_assert_double_eq(value_of(col, "P1", "lab:x:b", &present), 7);
    ck_assert_uint_eq(mmdx_collect_count(col, 0, 1), 2);
    mmdx_collect_free(col);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_latest_block_then_timed)
{
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_collect_t *col = mmdx_collect_alloc(NULL, s, MMDX_AGG_LATEST);
    const mmdx_sink_t *sink = mmdx_collect_sink(col);
    const char *patients[] = {"P1", "P2"}, *features[] = {"lab:x:a"};
    const double values[] = {1, 2};
    mmdx_block_t b = {2, 1, patients, features, NULL, values, "x.h5"};
    int present;
    /* block values have no time; a timed result after them replaces them (unknown time) */
    ck_assert_int_eq(sink->block(sink->data, &b), MMDX_OK);
    ck_assert_int_eq(send(col, obs("P1", "lab:x:a", 10, 1000)), MMDX_OK);
    ck_assert_double_eq(value_of(col, "P1", "lab:x:a", &present), 10);
    /* and an older timed result does not replace the newer one */
    ck_assert_int_eq(send(col, obs("P1", "lab:x:a", 11, 500)), MMDX_OK);
    ck_assert_double_eq(value_of(col, "P1", "lab:x:a", &present), 10);
    ck_assert_double_eq(value_of(col, "P2", "lab:x:a", &present), 2);
    ck_assert_uint_eq(mmdx_collect_count(col, 0, 0), 3);
    mmdx_collect_free(col);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_rows_columns_censor_nan)
{
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_collect_t *col = mmdx_collect_alloc(NULL, s, MMDX_AGG_LATEST);
    const mmdx_sink_t *sink = mmdx_collect_sink(col);
    mmdx_cohort_t *c = NULL;
    mmdx_obs_t o = obs("B", "lab:x:1", 0.5, 10);
    double v;
    o.censor = MMDX_CENSOR_LEFT;
    o.unit = "mg/dL";
    ck_assert_int_eq(sink->obs(sink->data, &o), MMDX_OK);
    ck_assert_int_eq(send(col, obs("A", "lab:x:2", NAN, 10)), MMDX_OK); /* tested, no value */
    ck_assert_int_eq(sink->patient(sink->data, "C"), MMDX_OK);
    ck_assert_int_eq(send(col, obs("A", "lab:x:1", 4, 10)), MMDX_OK);
    ck_assert_uint_eq(mmdx_collect_n_patients(col), 3);
    ck_assert_uint_eq(mmdx_space_n_features(s), 2);
    ck_assert_str_eq(mmdx_space_feature_unit(s, 0), "mg/dL");
    ck_assert_int_eq(mmdx_collect_to_cohort(col, &c, NULL), MMDX_OK);
    /* first-seen order */
    ck_assert_str_eq(mmdx_cohort_id(c, 0), "B");
    ck_assert_str_eq(mmdx_cohort_id(c, 1), "A");
    ck_assert_str_eq(mmdx_cohort_id(c, 2), "C");
    ck_assert_int_eq(mmdx_cohort_get(c, 0, 0, &v), 1);
    ck_assert_double_eq(v, 0.5);
    ck_assert_uint_eq(mmdx_cohort_flags_const(c, 0)[0], MMDX_VAL_CENSOR_LEFT);
    ck_assert_int_eq(mmdx_cohort_get(c, 1, 1, &v), 0);
    ck_assert_int_eq(mmdx_cohort_get(c, 2, 0, &v), 0);
    ck_assert_uint_eq(mmdx_collect_count(col, 1, 1), 0);
    ck_assert_uint_eq(mmdx_collect_count(col, 99, 0), 0);
    mmdx_cohort_free(c);
    mmdx_collect_free(col);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_categorical_and_frozen)
{
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_collect_t *col = mmdx_collect_alloc(NULL, s, MMDX_AGG_MEAN);
    mmdx_obs_t o = obs("P1", "demo:sex", 0, MMDX_TIME_UNKNOWN);
    int present;
    o.kind = MMDX_OBS_CATEGORICAL;
    o.level = "male";
    ck_assert_int_eq(send(col, o), MMDX_OK);
    o.patient = "P2";
    o.level = "female";
    ck_assert_int_eq(send(col, o), MMDX_OK);
    o.level = "male"; /* a categorical value is never averaged: the last one stands */
    ck_assert_int_eq(send(col, o), MMDX_OK);
    ck_assert_uint_eq(mmdx_space_n_levels(s, 0), 2);
    ck_assert_double_eq(value_of(col, "P2", "demo:sex", &present), 0); /* "male" is level 0 */
    /* frozen: unknown features and levels are counted, not added */
    mmdx_collect_set_frozen(col, 1);
    ck_assert_int_eq(send(col, obs("P3", "lab:new:1", 1, 0)), MMDX_OK);
    o.level = "other";
    ck_assert_int_eq(send(col, o), MMDX_OK);
    ck_assert_uint_eq(mmdx_space_n_features(s), 1);
    ck_assert_uint_eq(mmdx_space_n_levels(s, 0), 2);
    ck_assert_uint_eq(mmdx_collect_n_ignored(col), 2);
    ck_assert_uint_eq(mmdx_collect_n_patients(col), 3); /* P3 is still a patient */
    mmdx_collect_free(col);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_rejects)
{
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_collect_t *col = mmdx_collect_alloc(NULL, s, MMDX_AGG_LATEST);
    const mmdx_sink_t *sink = mmdx_collect_sink(col);
    const char *patient, *file, *reason;
    long record;
    int code;
    mmdx_obs_t o;
    ck_assert_int_eq(send(col, obs("P1", "lab:x:1", 1, 0)), MMDX_OK);
    /* the adapter rejects a record of a patient seen nowhere else: still a row */
    ck_assert_int_eq(sink->reject(sink->data, "P2", "labs.xml", 7, MMDX_EFORMAT, "no value"), MMDX_OK);
    /* the collector rejects: bad patient id, kind clash, unit clash, infinite value */
    ck_assert_int_eq(send(col, obs("", "lab:x:1", 1, 0)), MMDX_OK);
    o = obs("P3", "lab:x:1", 1, 0);
    o.kind = MMDX_OBS_BINARY;
    ck_assert_int_eq(send(col, o), MMDX_OK);
    o = obs("P1", "lab:x:2", 1, 0);
    o.unit = "mmol/L";
    ck_assert_int_eq(send(col, o), MMDX_OK);
    o.unit = "mg/dL";
    ck_assert_int_eq(send(col, o), MMDX_OK);
    ck_assert_int_eq(send(col, obs("P4", "lab:x:1", INFINITY, 0)), MMDX_OK);
    ck_assert_int_eq(send(col, obs("P5", "nonamespace", 1, 0)), MMDX_OK);

    ck_assert_uint_eq(mmdx_collect_n_rejects(col), 6);
    ck_assert_int_eq(mmdx_collect_reject(col, 0, &patient, &file, &record, &code, &reason), MMDX_OK);
    ck_assert_str_eq(patient, "P2");
    ck_assert_str_eq(file, "labs.xml");
    ck_assert_int_eq(record, 7);
    ck_assert_int_eq(code, MMDX_EFORMAT);
    ck_assert_str_eq(reason, "no value");
    ck_assert_int_eq(mmdx_collect_reject(col, 1, &patient, &file, &record, &code, &reason), MMDX_OK);
    ck_assert_str_eq(patient, "");
    ck_assert_str_eq(file, "labs.xml"); /* from the provenance "labs.xml:12" */
    ck_assert_int_eq(record, 12);
    ck_assert_int_eq(mmdx_collect_reject(col, 2, &patient, NULL, NULL, &code, &reason), MMDX_OK);
    ck_assert_str_eq(patient, "P3");
    ck_assert_int_eq(code, MMDX_EDUP);
    ck_assert_int_eq(mmdx_collect_reject(col, 3, NULL, NULL, NULL, &code, &reason), MMDX_OK);
    ck_assert_int_eq(code, MMDX_EUNIT);
    ck_assert_int_eq(mmdx_collect_reject(col, 4, NULL, NULL, NULL, &code, NULL), MMDX_OK);
    ck_assert_int_eq(code, MMDX_ERANGE);
    ck_assert_int_eq(mmdx_collect_reject(col, 5, NULL, NULL, NULL, &code, NULL), MMDX_OK);
    ck_assert_int_eq(code, MMDX_EINVAL);
    ck_assert_int_eq(mmdx_collect_reject(col, 6, NULL, NULL, NULL, NULL, NULL), MMDX_EINVAL);
    /* every patient named is a row: P1 P2 P3 P4 P5 (not the empty id) */
    ck_assert_uint_eq(mmdx_collect_n_patients(col), 5);
    mmdx_collect_free(col);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_block)
{
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_collect_t *col = mmdx_collect_alloc(NULL, s, MMDX_AGG_MEAN);
    const mmdx_sink_t *sink = mmdx_collect_sink(col);
    const char *patients[] = {"P1", "P2", "P3"};
    const char *features[] = {"img:ct:a", "img:ct:b"};
    const char *units[] = {"mm", NULL};
    const double values[] = {1, 2, NAN, 4, 5, 6};
    mmdx_block_t b = {3, 2, patients, features, units, values, "ct.h5"};
    mmdx_cohort_t *c = NULL;
    double v;
    ck_assert_int_eq(sink->block(sink->data, &b), MMDX_OK);
    ck_assert_int_eq(sink->block(sink->data, &b), MMDX_OK); /* twice: the mean is unchanged, counts 2 */
    ck_assert_uint_eq(mmdx_collect_n_observations(col), 10);
    ck_assert_int_eq(mmdx_collect_to_cohort(col, &c, NULL), MMDX_OK);
    ck_assert_uint_eq(mmdx_cohort_n_patients(c), 3);
    ck_assert_int_eq(mmdx_cohort_get(c, 2, 1, &v), 1);
    ck_assert_double_eq(v, 6);
    ck_assert_int_eq(mmdx_cohort_get(c, 1, 0, &v), 0);
    ck_assert_uint_eq(mmdx_collect_count(col, 0, 1), 2);
    ck_assert_str_eq(mmdx_space_feature_unit(s, 0), "mm");
    mmdx_cohort_free(c);
    mmdx_collect_free(col);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_stage_rollback_keeps_patients)
{
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_collect_t *col = mmdx_collect_alloc(NULL, s, MMDX_AGG_MEAN);
    const char *patient, *file, *reason;
    int present, code;
    long record;
    ck_assert_int_eq(send(col, obs("P1", "lab:x:1", 10, 0)), MMDX_OK);
    ck_assert_int_eq(send(col, obs("P2", "lab:x:1", 20, 0)), MMDX_OK);
    /* a file that is read fine is kept */
    mmdx_collect_stage_begin(col);
    ck_assert_int_eq(send(col, obs("P2", "lab:x:1", 30, 0)), MMDX_OK);
    mmdx_collect_stage_commit(col);
    ck_assert_double_eq(value_of(col, "P2", "lab:x:1", &present), 25);
    /* a file that fails half-way: its observations go, its patients stay */
    mmdx_collect_stage_begin(col);
    ck_assert_int_eq(send(col, obs("P1", "lab:x:1", 1000, 0)), MMDX_OK); /* changes an old cell */
    ck_assert_int_eq(send(col, obs("P3", "lab:x:1", 5, 0)), MMDX_OK);    /* a new patient */
    ck_assert_int_eq(send(col, obs("P3", "lab:x:new", 5, 0)), MMDX_OK);  /* a new feature */
    ck_assert_int_eq(send(col, obs("P1", "lab:x:1", 2000, 0)), MMDX_OK);
    ck_assert_uint_eq(mmdx_space_n_features(s), 2);
    ck_assert_int_eq(mmdx_collect_stage_rollback(col, "bad.xml", MMDX_EFORMAT, "element not closed at line 9"),
                     MMDX_OK);
    ck_assert_double_eq(value_of(col, "P1", "lab:x:1", &present), 10);
    ck_assert_uint_eq(mmdx_collect_count(col, 0, 0), 1);
    ck_assert_double_eq(value_of(col, "P2", "lab:x:1", &present), 25);
    value_of(col, "P3", "lab:x:1", &present);
    ck_assert(!present);
    ck_assert_uint_eq(mmdx_space_n_features(s), 1); /* lab:x:new came only from the bad file */
    ck_assert_uint_eq(mmdx_collect_n_patients(col), 3);
    ck_assert_uint_eq(mmdx_collect_n_observations(col), 3);
    /* both patients it named are in the rejects, with the file and the reason */
    ck_assert_uint_eq(mmdx_collect_n_rejects(col), 2);
    ck_assert_int_eq(mmdx_collect_reject(col, 0, &patient, &file, &record, &code, &reason), MMDX_OK);
    ck_assert_str_eq(patient, "P1");
    ck_assert_str_eq(file, "bad.xml");
    ck_assert_int_eq(code, MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(reason, "element not closed at line 9"));
    ck_assert_int_eq(mmdx_collect_reject(col, 1, &patient, NULL, NULL, NULL, NULL), MMDX_OK);
    ck_assert_str_eq(patient, "P3");
    /* the collector goes on normally afterwards */
    ck_assert_int_eq(send(col, obs("P3", "lab:x:1", 7, 0)), MMDX_OK);
    ck_assert_double_eq(value_of(col, "P3", "lab:x:1", &present), 7);
    mmdx_collect_free(col);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_many_patients)
{
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_collect_t *col = mmdx_collect_alloc(NULL, s, MMDX_AGG_LATEST);
    mmdx_cohort_t *c = NULL;
    char id[32];
    double v;
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "P%d", i);
        ck_assert_int_eq(send(col, obs(id, i % 2 ? "lab:x:odd" : "lab:x:even", i, 0)), MMDX_OK);
    }
    ck_assert_int_eq(mmdx_collect_to_cohort(col, &c, NULL), MMDX_OK);
    ck_assert_uint_eq(mmdx_cohort_n_patients(c), 5000);
    ck_assert_int_eq(mmdx_cohort_get(c, 4999, 1, &v), 1);
    ck_assert_double_eq(v, 4999);
    ck_assert_int_eq(mmdx_cohort_get(c, 4999, 0, &v), 0);
    mmdx_cohort_free(c);
    mmdx_collect_free(col);
    mmdx_space_free(s);
}
END_TEST

static mmdx_obs_t obs_at(const char *patient, const char *feature, const char *prov)
{
    mmdx_obs_t o = obs(patient, feature, 1, 0);
    o.provenance = prov;
    return o;
}

/* The basis: distinct input records per patient, derived values left out, the cap, a
 * too-small buffer, unknown patients and rollback. */
START_TEST(test_basis)
{
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_collect_t *col = mmdx_collect_alloc(NULL, s, MMDX_AGG_LATEST);
    const mmdx_sink_t *sink = mmdx_collect_sink(col);
    const char *patients[] = {"P1", "P2"};
    const char *features[] = {"img:ct:a", "img:ct:b"};
    const double values[] = {1, 2, NAN, NAN};
    mmdx_block_t b = {2, 2, patients, features, NULL, values, "ct.h5"};
    char buf[64], tiny[8], prov[64];
    size_t total = 99;
    ck_assert_int_eq(send(col, obs_at("P1", "lab:x:1", "labs.xml:12")), MMDX_OK);
    ck_assert_int_eq(send(col, obs_at("P1", "lab:x:2", "labs.xml:13")), MMDX_OK);
    ck_assert_int_eq(send(col, obs_at("P1", "lab:x:2", "labs.xml:13")), MMDX_OK); /* the same record again */
    ck_assert_int_eq(send(col, obs_at("P1", "lab:x:3", "derived:CKD-EPI 2021 from lab:x:1")), MMDX_OK);
    ck_assert_int_eq(send(col, obs_at("P1", "pgx:x", "v.vcf:chr1:12345")), MMDX_OK);
    ck_assert_int_eq(sink->block(sink->data, &b), MMDX_OK); /* P2 has only NaN: no record */
    ck_assert_uint_eq(mmdx_collect_n_basis(col, "P1", &total), 4);
    ck_assert_uint_eq(total, 4);
    ck_assert_int_eq(mmdx_collect_basis(col, "P1", 0, buf, sizeof buf), MMDX_OK);
    ck_assert_str_eq(buf, "labs.xml:12");
    ck_assert_int_eq(mmdx_collect_basis(col, "P1", 1, buf, sizeof buf), MMDX_OK);
    ck_assert_str_eq(buf, "labs.xml:13");
    ck_assert_int_eq(mmdx_collect_basis(col, "P1", 2, buf, sizeof buf), MMDX_OK);
    ck_assert_str_eq(buf, "v.vcf:chr1:12345");
    ck_assert_int_eq(mmdx_collect_basis(col, "P1", 3, buf, sizeof buf), MMDX_OK);
    ck_assert_str_eq(buf, "ct.h5");
    ck_assert_int_eq(mmdx_collect_basis(col, "P1", 4, buf, sizeof buf), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_collect_basis(col, "P1", 0, tiny, sizeof tiny), MMDX_ERANGE);
    ck_assert_str_eq(tiny, "labs.xm");
    ck_assert_uint_eq(mmdx_collect_n_basis(col, "P2", &total), 0);
    ck_assert_uint_eq(mmdx_collect_n_basis(col, "nobody", &total), 0);
    ck_assert_uint_eq(total, 0);
    ck_assert_int_eq(mmdx_collect_basis(col, "nobody", 0, buf, sizeof buf), MMDX_EINVAL);
    /* the cap: the first MMDX_COLLECT_BASIS_MAX records kept, all counted */
    for (int k = 0; k < 2 * MMDX_COLLECT_BASIS_MAX; k++) {
        snprintf(prov, sizeof prov, "big.xml:%d", k + 1);
        ck_assert_int_eq(send(col, obs_at("P3", "lab:x:1", prov)), MMDX_OK);
    }
    ck_assert_uint_eq(mmdx_collect_n_basis(col, "P3", &total), MMDX_COLLECT_BASIS_MAX);
    ck_assert_uint_eq(total, 2 * MMDX_COLLECT_BASIS_MAX);
    ck_assert_int_eq(mmdx_collect_basis(col, "P3", MMDX_COLLECT_BASIS_MAX - 1, buf, sizeof buf), MMDX_OK);
    snprintf(prov, sizeof prov, "big.xml:%d", MMDX_COLLECT_BASIS_MAX);
    ck_assert_str_eq(buf, prov);
    /* a failed input's records leave the basis with its observations */
    mmdx_collect_stage_begin(col);
    ck_assert_int_eq(send(col, obs_at("P1", "lab:x:1", "bad.xml:3")), MMDX_OK);
    ck_assert_int_eq(send(col, obs_at("P4", "lab:x:1", "bad.xml:4")), MMDX_OK);
    ck_assert_uint_eq(mmdx_collect_n_basis(col, "P1", NULL), 5);
    ck_assert_int_eq(mmdx_collect_stage_rollback(col, "bad.xml", MMDX_EFORMAT, "cut"), MMDX_OK);
    ck_assert_uint_eq(mmdx_collect_n_basis(col, "P1", &total), 4);
    ck_assert_uint_eq(total, 4);
    ck_assert_uint_eq(mmdx_collect_n_basis(col, "P4", &total), 0);
    ck_assert_uint_eq(total, 0);
    mmdx_collect_free(col);
    mmdx_space_free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("collect");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    tcase_add_test(tc, test_agg_parse);
    tcase_add_test(tc, test_policies);
    tcase_add_test(tc, test_latest_ties_and_unknown_times);
    tcase_add_test(tc, test_latest_block_then_timed);
    tcase_add_test(tc, test_rows_columns_censor_nan);
    tcase_add_test(tc, test_categorical_and_frozen);
    tcase_add_test(tc, test_rejects);
    tcase_add_test(tc, test_block);
    tcase_add_test(tc, test_stage_rollback_keeps_patients);
    tcase_add_test(tc, test_many_patients);
    tcase_add_test(tc, test_basis);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
