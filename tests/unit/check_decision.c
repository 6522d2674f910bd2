#define _POSIX_C_SOURCE 200809L /* open_memstream */
/* Check suite of the decision layer: hand-built patients whose right answer is known
 * from the guideline text, every shipped rule firing on a crafted patient, eGFR
 * boundaries, pharmacogenomic exclusions, insufficient evidence, triage and the next
 * best test with a toy entropy callback. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmdx/mmdx.h"
#include "../../fusion/kb_internal.h"

#define EGFR "lab:loinc:98979-8"

static mmdx_kb_t *kb;

static void setup(void)
{
    char path[4096];
    mmdx_error_t err;
    const char *d = getenv("MMDX_DATA_DIR");
    ck_assert_msg(d != NULL, "MMDX_DATA_DIR is not set (run through make check)");
    snprintf(path, sizeof path, "%s/kb/default.xml", d);
    mmdx_error_clear(&err);
    ck_assert_msg(mmdx_kb_load(NULL, path, &kb, &err) == MMDX_OK, "%s:%ld: %s", err.file, err.line, err.message);
}

static void teardown(void)
{
    mmdx_kb_free(kb);
    kb = NULL;
}

/* A patient: posteriors plus a facts table. */
typedef struct patient {
    mmdx_posterior_t post[16];
    size_t n;
    mmdx_facts_t *facts;
    mmdx_case_t c;
} patient_t;

static void pt_init(patient_t *p)
{
    memset(p, 0, sizeof *p);
    p->facts = mmdx_facts_alloc();
    ck_assert_ptr_nonnull(p->facts);
}

static void pt_post(patient_t *p, const char *target, double m, double lo, double hi)
{
    ck_assert_uint_lt(p->n, 16);
    p->post[p->n++] = (mmdx_posterior_t){target, "1", m, lo, hi};
}

static const mmdx_case_t *pt_case(patient_t *p)
{
    p->c.posteriors = p->post;
    p->c.n_posteriors = p->n;
    p->c.fact = mmdx_facts_fact;
    p->c.fact_user = p->facts;
    p->c.modality = mmdx_facts_modality;
    p->c.modality_user = p->facts;
    return &p->c;
}

static void pt_free(patient_t *p)
{
    mmdx_facts_free(p->facts);
}

static mmdx_advice_t *decide(patient_t *p)
{
    mmdx_advice_t *a = NULL;
    mmdx_error_t err;
    mmdx_error_clear(&err);
    ck_assert_msg(mmdx_decide(kb, pt_case(p), &a, &err) == MMDX_OK, "%s", err.message);
    ck_assert_ptr_nonnull(a);
    return a;
}

static const mmdx_suggestion_t *item(const mmdx_advice_t *a, const char *treatment)
{
    for (size_t i = 0; i < a->n_items; i++)
        if (strcmp(a->items[i].treatment, treatment) == 0)
            return &a->items[i];
    return NULL;
}

static const mmdx_fired_t *fired(const mmdx_suggestion_t *s, const char *rule)
{
    for (size_t i = 0; s && i < s->n_fired; i++)
        if (strcmp(s->fired[i].rule, rule) == 0)
            return &s->fired[i];
    return NULL;
}

/* ------------------------------------------------------------------ guideline cases */

START_TEST(test_cyp2c19_poor_metabolizer_acs)
{
    patient_t p;
    pt_init(&p);
    pt_post(&p, "cad", 0.92, 0.85, 0.97);
    ck_assert_int_eq(mmdx_facts_set_level(p.facts, "pgx:CYP2C19", "Poor Metabolizer", "*2/*2"), MMDX_OK);
    mmdx_advice_t *a = decide(&p);
    const mmdx_suggestion_t *clo = item(a, "clopidogrel"), *tic = item(a, "ticagrelor");
    ck_assert_ptr_nonnull(clo);
    ck_assert_int_eq(clo->status, MMDX_ADVICE_EXCLUDED);
    const mmdx_fired_t *f = fired(clo, "clopidogrel-cyp2c19-poor");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f->unknown, 0);
    ck_assert_int_eq(f->action, MMDX_KB_AVOID);
    ck_assert_str_eq(f->reason, "avoid clopidogrel: CYP2C19 *2/*2, poor metabolizer (CPIC 2022)");
    ck_assert(strstr(f->alternative, "ticagrelor") != NULL);
    ck_assert(strncmp(f->citation, "CPIC 2022, ", 11) == 0);
    ck_assert_ptr_null(fired(clo, "clopidogrel-cyp2c19-normal"));
    /* the alternative is suggested and ranked above the excluded drug */
    ck_assert_ptr_nonnull(tic);
    ck_assert_int_eq(tic->status, MMDX_ADVICE_SUGGESTED);
    ck_assert(tic < clo);
    mmdx_advice_free(a);

    /* a normal metabolizer keeps clopidogrel, with the standard-dose rule listed */
    ck_assert_int_eq(mmdx_facts_set_level(p.facts, "pgx:CYP2C19", "Normal Metabolizer", "*1/*1"), MMDX_OK);
    a = decide(&p);
    clo = item(a, "clopidogrel");
    ck_assert_int_eq(clo->status, MMDX_ADVICE_SUGGESTED);
    ck_assert_ptr_nonnull(fired(clo, "clopidogrel-cyp2c19-normal"));
    ck_assert_ptr_null(fired(clo, "clopidogrel-cyp2c19-poor"));
    mmdx_advice_free(a);
    pt_free(&p);
}
END_TEST

/* eGFR as the source sees it: without a genotype, clopidogrel is not excluded but carries
 * "unknown: check CYP2C19"; missing evidence is never taken as false. */
START_TEST(test_missing_genotype_is_unknown)
{
    patient_t p;
    pt_init(&p);
    pt_post(&p, "cad", 0.9, 0.8, 0.95);
    pt_post(&p, "t2d", 0.9, 0.8, 0.95);
    mmdx_advice_t *a = decide(&p);
    const mmdx_suggestion_t *clo = item(a, "clopidogrel"), *met = item(a, "metformin");
    ck_assert_int_eq(clo->status, MMDX_ADVICE_SUGGESTED);
    size_t unknown = 0;
    for (size_t i = 0; i < clo->n_fired; i++) {
        ck_assert_int_eq(clo->fired[i].unknown, 1);
        unknown++;
    }
    ck_assert_uint_eq(unknown, 1); /* one note per missing feature, not one per rule */
    ck_assert_str_eq(clo->fired[0].reason,
                     "unknown: check CYP2C19 (pgx:CYP2C19) before prescribing clopidogrel (CPIC 2022)");
    ck_assert_int_eq(met->status, MMDX_ADVICE_SUGGESTED);
    ck_assert_uint_ge(met->n_fired, 1);
    ck_assert_str_eq(met->fired[0].reason,
                     "unknown: check eGFR (lab:loinc:98979-8) before prescribing metformin (KDIGO 2022)");
    mmdx_advice_free(a);
    pt_free(&p);
}
END_TEST

static const mmdx_suggestion_t *metformin_at(patient_t *p, double egfr, mmdx_advice_t **a)
{
    ck_assert_int_eq(mmdx_facts_set_value(p->facts, EGFR, egfr), MMDX_OK);
    *a = decide(p);
    return item(*a, "metformin");
}

START_TEST(test_egfr_thresholds)
{
    patient_t p;
    mmdx_advice_t *a;
    const mmdx_suggestion_t *m;
    pt_init(&p);
    pt_post(&p, "t2d", 0.9, 0.8, 0.95);

    m = metformin_at(&p, 25, &a);
    ck_assert_int_eq(m->status, MMDX_ADVICE_EXCLUDED);
    ck_assert_str_eq(fired(m, "metformin-egfr-below-30")->reason,
                     "avoid metformin: eGFR 25 mL/min/{1.73_m2} (< 30) (KDIGO 2022)");
    ck_assert_uint_eq(m->n_fired, 1);
    mmdx_advice_free(a);

    m = metformin_at(&p, 30, &a); /* the boundary belongs to the 30-44 band */
    ck_assert_int_eq(m->status, MMDX_ADVICE_SUGGESTED);
    ck_assert_ptr_null(fired(m, "metformin-egfr-below-30"));
    ck_assert_ptr_nonnull(fired(m, "metformin-egfr-30-44"));
    ck_assert_str_eq(fired(m, "metformin-egfr-30-44")->reason,
                     "adjust dose of metformin: eGFR 30 mL/min/{1.73_m2} (>= 30, < 45) (KDIGO 2022)");
    mmdx_advice_free(a);

    m = metformin_at(&p, 44.9, &a);
    ck_assert_ptr_nonnull(fired(m, "metformin-egfr-30-44"));
    mmdx_advice_free(a);

    m = metformin_at(&p, 45, &a);
    ck_assert_ptr_null(fired(m, "metformin-egfr-30-44"));
    ck_assert_ptr_nonnull(fired(m, "metformin-egfr-45-59"));
    ck_assert_int_eq(fired(m, "metformin-egfr-45-59")->action, MMDX_KB_CAUTION);
    mmdx_advice_free(a);

    m = metformin_at(&p, 90, &a);
    ck_assert_int_eq(m->status, MMDX_ADVICE_SUGGESTED);
    ck_assert_uint_eq(m->n_fired, 0);
    /* SGLT2 inhibitor: kept at 90, refused below 20 */
    ck_assert_int_eq(item(a, "sglt2i")->status, MMDX_ADVICE_SUGGESTED);
    mmdx_advice_free(a);
    m = metformin_at(&p, 15, &a);
    ck_assert_int_eq(item(a, "sglt2i")->status, MMDX_ADVICE_EXCLUDED);
    ck_assert_ptr_nonnull(fired(item(a, "sitagliptin"), "sitagliptin-egfr-below-30"));
    ck_assert_int_eq(item(a, "sitagliptin")->status, MMDX_ADVICE_SUGGESTED);
    mmdx_advice_free(a);
    pt_free(&p);
}
END_TEST

/* Censored values: "eGFR < 15" settles "< 30" but not ">= 10"; "> 90" settles ">= 45". */
START_TEST(test_censored_values)
{
    patient_t p;
    pt_init(&p);
    pt_post(&p, "t2d", 0.9, 0.8, 0.95);
    ck_assert_int_eq(mmdx_facts_set_censored(p.facts, EGFR, 15, MMDX_VAL_CENSOR_LEFT), MMDX_OK);
    mmdx_advice_t *a = decide(&p);
    const mmdx_suggestion_t *m = item(a, "metformin");
    ck_assert_int_eq(m->status, MMDX_ADVICE_EXCLUDED);
    ck_assert_str_eq(fired(m, "metformin-egfr-below-30")->reason,
                     "avoid metformin: eGFR < 15 mL/min/{1.73_m2} (< 30) (KDIGO 2022)");
    ck_assert_ptr_null(fired(m, "metformin-egfr-30-44")); /* >= 30 is false for any value below 15 */
    /* SGLT2 inhibitors: "< 20" holds */
    ck_assert_int_eq(item(a, "sglt2i")->status, MMDX_ADVICE_EXCLUDED);
    mmdx_advice_free(a);

    ck_assert_int_eq(mmdx_facts_set_censored(p.facts, EGFR, 25, MMDX_VAL_CENSOR_LEFT), MMDX_OK);
    a = decide(&p);
    /* below 25: "< 30" holds, but sitagliptin's "< 30" holds too, and SGLT2's "< 20" is unknown */
    ck_assert_int_eq(item(a, "metformin")->status, MMDX_ADVICE_EXCLUDED);
    const mmdx_fired_t *f = fired(item(a, "sglt2i"), "sglt2i-egfr-below-20");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f->unknown, 1);
    ck_assert_int_eq(item(a, "sglt2i")->status, MMDX_ADVICE_SUGGESTED);
    mmdx_advice_free(a);

    ck_assert_int_eq(mmdx_facts_set_censored(p.facts, EGFR, 90, MMDX_VAL_CENSOR_RIGHT), MMDX_OK);
    a = decide(&p);
    ck_assert_uint_eq(item(a, "metformin")->n_fired, 0); /* every eGFR band is settled false */
    mmdx_advice_free(a);
    ck_assert_int_eq(mmdx_facts_set_censored(p.facts, EGFR, 90, 0), MMDX_EINVAL);
    pt_free(&p);
}
END_TEST

START_TEST(test_tpmt_poor_metabolizer)
{
    patient_t p;
    pt_init(&p);
    pt_post(&p, "all", 0.97, 0.93, 0.99);
    pt_post(&p, "ibd", 0.9, 0.8, 0.96);
    ck_assert_int_eq(mmdx_facts_set_level(p.facts, "pgx:TPMT", "Poor Metabolizer", "*3A/*3A"), MMDX_OK);
    ck_assert_int_eq(mmdx_facts_set_level(p.facts, "pgx:NUDT15", "Normal Metabolizer", "*1/*1"), MMDX_OK);
    mmdx_advice_t *a = decide(&p);
    const mmdx_suggestion_t *mp = item(a, "mercaptopurine"), *aza = item(a, "azathioprine");
    /* malignancy: a drastic dose reduction, not an exclusion */
    ck_assert_int_eq(mp->status, MMDX_ADVICE_SUGGESTED);
    const mmdx_fired_t *f = fired(mp, "mercaptopurine-tpmt-poor");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f->action, MMDX_KB_ADJUST);
    ck_assert(strstr(f->advice, "tenfold") != NULL);
    ck_assert_str_eq(f->reason, "adjust dose of mercaptopurine: TPMT *3A/*3A, poor metabolizer (CPIC 2018)");
    ck_assert_ptr_null(fired(mp, "mercaptopurine-nudt15-poor"));
    /* non-malignant: choose another drug */
    ck_assert_int_eq(aza->status, MMDX_ADVICE_EXCLUDED);
    ck_assert_ptr_nonnull(fired(aza, "azathioprine-tpmt-poor"));
    mmdx_advice_free(a);
    pt_free(&p);
}
END_TEST

START_TEST(test_abacavir_outside_call)
{
    patient_t p;
    pt_init(&p);
    pt_post(&p, "hiv", 0.99, 0.98, 1.0);
    mmdx_advice_t *a = decide(&p);
    const mmdx_suggestion_t *ab = item(a, "abacavir");
    ck_assert_int_eq(ab->status, MMDX_ADVICE_SUGGESTED);
    ck_assert_uint_eq(ab->n_fired, 1);
    ck_assert_int_eq(ab->fired[0].unknown, 1);
    ck_assert(strstr(ab->fired[0].reason, "check HLA-B*57:01") != NULL);
    mmdx_advice_free(a);
    ck_assert_int_eq(mmdx_facts_set_value(p.facts, "pgx:HLA-B*57:01", 1), MMDX_OK);
    a = decide(&p);
    ab = item(a, "abacavir");
    ck_assert_int_eq(ab->status, MMDX_ADVICE_EXCLUDED);
    ck_assert_str_eq(fired(ab, "abacavir-hla-b5701-positive")->reason, "avoid abacavir: HLA-B*57:01 positive (CPIC 2014)");
    mmdx_advice_free(a);
    ck_assert_int_eq(mmdx_facts_set_value(p.facts, "pgx:HLA-B*57:01", 0), MMDX_OK);
    a = decide(&p);
    ab = item(a, "abacavir");
    ck_assert_int_eq(ab->status, MMDX_ADVICE_SUGGESTED);
    ck_assert_ptr_nonnull(fired(ab, "abacavir-hla-b5701-negative"));
    mmdx_advice_free(a);
    pt_free(&p);
}
END_TEST

/* Pregnancy: a conjunction over sex, age and pregnancy status. A man is never asked; a
 * young woman without a pregnancy status is; every missing feature is named. */
START_TEST(test_pregnancy_three_valued)
{
    patient_t p;
    pt_init(&p);
    pt_post(&p, "af", 0.9, 0.8, 0.95);
    mmdx_advice_t *a = decide(&p);
    const mmdx_fired_t *f = fired(item(a, "warfarin"), "warfarin-pregnancy");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f->unknown, 1);
    ck_assert_str_eq(f->reason, "unknown: check sex (demo:sex), age (demo:age) and pregnancy status (demo:pregnant) "
                                "before prescribing warfarin (ESC 2018)");
    mmdx_advice_free(a);

    ck_assert_int_eq(mmdx_facts_set_value(p.facts, "demo:sex", 1), MMDX_OK); /* male */
    a = decide(&p);
    ck_assert_ptr_null(fired(item(a, "warfarin"), "warfarin-pregnancy"));
    mmdx_advice_free(a);

    ck_assert_int_eq(mmdx_facts_set_value(p.facts, "demo:sex", 0), MMDX_OK);
    ck_assert_int_eq(mmdx_facts_set_value(p.facts, "demo:age", 31), MMDX_OK);
    a = decide(&p);
    f = fired(item(a, "warfarin"), "warfarin-pregnancy");
    ck_assert_str_eq(f->reason, "unknown: check pregnancy status (demo:pregnant) before prescribing warfarin (ESC 2018)");
    ck_assert_int_eq(item(a, "warfarin")->status, MMDX_ADVICE_SUGGESTED);
    mmdx_advice_free(a);

    ck_assert_int_eq(mmdx_facts_set_value(p.facts, "demo:pregnant", 1), MMDX_OK);
    a = decide(&p);
    f = fired(item(a, "warfarin"), "warfarin-pregnancy");
    ck_assert_str_eq(f->reason, "avoid warfarin: female; age 31 a (< 55); pregnant or planning pregnancy (ESC 2018)");
    ck_assert_int_eq(item(a, "warfarin")->status, MMDX_ADVICE_EXCLUDED);
    mmdx_advice_free(a);

    ck_assert_int_eq(mmdx_facts_set_value(p.facts, "demo:age", 62), MMDX_OK);
    a = decide(&p);
    ck_assert_ptr_null(fired(item(a, "warfarin"), "warfarin-pregnancy"));
    mmdx_advice_free(a);
    pt_free(&p);
}
END_TEST

START_TEST(test_insufficient_evidence)
{
    patient_t p;
    pt_init(&p);
    ck_assert_int_eq(mmdx_facts_set_value(p.facts, EGFR, 90), MMDX_OK);
    pt_post(&p, "t2d", 0.58, 0.21, 0.88); /* wide interval across the 0.5 threshold */
    mmdx_advice_t *a = decide(&p);
    const mmdx_suggestion_t *m = item(a, "metformin");
    ck_assert_int_eq(m->status, MMDX_ADVICE_INSUFFICIENT);
    ck_assert_str_eq(mmdx_advice_status_name(m->status), "insufficient evidence");
    ck_assert_double_eq(m->threshold, 0.5);
    ck_assert(m->p_above > 0.5 && m->p_above < 0.9);
    ck_assert_str_eq(m->target, "t2d");
    mmdx_advice_free(a);

    /* the same mean with a narrow interval is a confident suggestion */
    p.post[0] = (mmdx_posterior_t){"t2d", "1", 0.58, 0.53, 0.63};
    a = decide(&p);
    m = item(a, "metformin");
    ck_assert_int_eq(m->status, MMDX_ADVICE_SUGGESTED);
    ck_assert(m->p_above > 0.99);
    mmdx_advice_free(a);

    /* wholly below: not listed */
    p.post[0] = (mmdx_posterior_t){"t2d", "1", 0.2, 0.1, 0.35};
    a = decide(&p);
    ck_assert_ptr_null(item(a, "metformin"));
    mmdx_advice_free(a);
    pt_free(&p);
}
END_TEST

START_TEST(test_ranking_by_expected_benefit)
{
    patient_t p;
    pt_init(&p);
    ck_assert_int_eq(mmdx_facts_set_value(p.facts, EGFR, 40), MMDX_OK);
    ck_assert_int_eq(mmdx_facts_set_level(p.facts, "pgx:CYP2C19", "Poor Metabolizer", NULL), MMDX_OK);
    pt_post(&p, "t2d", 0.9, 0.8, 0.95);
    pt_post(&p, "ckd", 0.8, 0.7, 0.9);
    pt_post(&p, "cad", 0.55, 0.3, 0.8);
    mmdx_advice_t *a = decide(&p);
    int last = -1;
    double prev = INFINITY;
    for (size_t i = 0; i < a->n_items; i++) {
        const mmdx_suggestion_t *s = &a->items[i];
        int rank = s->status == MMDX_ADVICE_SUGGESTED ? 0 : s->status == MMDX_ADVICE_INSUFFICIENT ? 1 : 2;
        ck_assert_int_ge(rank, last);
        if (rank != last)
            prev = INFINITY;
        ck_assert_msg(s->benefit <= prev, "%s out of order", s->treatment);
        prev = s->benefit;
        last = rank;
    }
    /* SGLT2 inhibitor: two indications, so its benefit sums both (0.8*8 + 0.9*4 - 1.5) */
    const mmdx_suggestion_t *sg = item(a, "sglt2i");
    ck_assert_double_eq_tol(sg->benefit, 0.8 * 8 + 0.9 * 4 - 1.5, 1e-12);
    ck_assert_str_eq(a->items[0].treatment, "sglt2i");
    ck_assert_int_eq(item(a, "atorvastatin")->status, MMDX_ADVICE_SUGGESTED); /* via ckd */
    ck_assert_int_eq(item(a, "rosuvastatin")->status, MMDX_ADVICE_INSUFFICIENT); /* cad only */
    ck_assert_int_eq(item(a, "clopidogrel")->status, MMDX_ADVICE_EXCLUDED);
    mmdx_advice_free(a);
    pt_free(&p);
}
END_TEST

/* ------------------------------------------------------------------ every shipped rule */

/* A fact that makes every test of rule r on feature f hold. */
static void satisfy(const mmdx_kb_t *k, const kb_rule_t *r, size_t f, mmdx_facts_t *facts)
{
    const kb_feature_t *kf = &k->features[f];
    double lo = -1e9, hi = 1e9;
    int lo_open = 0, hi_open = 0;
    uint64_t mask = ~(uint64_t)0;
    for (size_t i = 0; i < r->n_tests; i++) {
        const kb_test_t *t = &r->tests[i];
        if (t->feature != f)
            continue;
        switch (t->op) {
        case KB_LT: if (t->value <= hi) { hi = t->value; hi_open = 1; } break;
        case KB_LE: if (t->value < hi) { hi = t->value; hi_open = 0; } break;
        case KB_GT: if (t->value >= lo) { lo = t->value; lo_open = 1; } break;
        case KB_GE: if (t->value > lo) { lo = t->value; lo_open = 0; } break;
        case KB_EQ: lo = hi = t->value; lo_open = hi_open = 0; break;
        case KB_IN: mask &= t->mask; break;
        }
    }
    if (kf->kind == MMDX_KIND_CATEGORICAL) {
        for (size_t l = 0; l < kf->n_levels; l++)
            if (mask >> l & 1) {
                ck_assert_int_eq(mmdx_facts_set_level(facts, kf->id, kf->levels[l], "*x/*y"), MMDX_OK);
                return;
            }
        ck_abort_msg("rule %s: no level satisfies it", r->id);
    }
    double v;
    if (lo == hi)
        v = lo;
    else if (lo <= -1e9)
        v = hi_open ? hi - 1 : hi;
    else if (hi >= 1e9)
        v = lo_open ? lo + 1 : lo;
    else
        v = (lo + hi) / 2;
    (void)lo_open;
    ck_assert_int_eq(mmdx_facts_set_value(facts, kf->id, v), MMDX_OK);
}

START_TEST(test_every_shipped_rule_fires)
{
    ck_assert_uint_gt(kb->n_rules, 0);
    for (size_t ri = 0; ri < kb->n_rules; ri++) {
        const kb_rule_t *r = &kb->rules[ri];
        const kb_treatment_t *tr = &kb->treatments[r->treatment];
        patient_t p;
        pt_init(&p);
        for (size_t k = 0; k < tr->n_ind; k++)
            pt_post(&p, kb->targets[tr->ind[k].target].name, 0.95, 0.9, 0.99);
        for (size_t i = 0; i < r->n_tests; i++)
            satisfy(kb, r, r->tests[i].feature, p.facts);
        mmdx_advice_t *a = decide(&p);
        const mmdx_suggestion_t *s = item(a, tr->id);
        ck_assert_msg(s != NULL, "rule %s: treatment %s not considered", r->id, tr->id);
        const mmdx_fired_t *f = fired(s, r->id);
        ck_assert_msg(f != NULL, "rule %s did not fire", r->id);
        ck_assert_int_eq(f->unknown, 0);
        ck_assert_str_eq(f->citation, r->citation);
        ck_assert_msg(strstr(f->reason, mmdx_kb_action_name(r->action)) || r->action != MMDX_KB_AVOID, "%s", f->reason);
        if (r->action == MMDX_KB_AVOID)
            ck_assert_msg(s->status == MMDX_ADVICE_EXCLUDED, "rule %s: %s not excluded", r->id, tr->id);
        else
            ck_assert_msg(s->status == MMDX_ADVICE_SUGGESTED, "rule %s: %s is %s", r->id, tr->id,
                          mmdx_advice_status_name(s->status));
        mmdx_advice_free(a);

        /* and it stays silent when its first test is false */
        const kb_test_t *t0 = &r->tests[0];
        const kb_feature_t *f0 = &kb->features[t0->feature];
        int broken = 1;
        if (t0->op == KB_IN) {
            size_t l = 0;
            while (l < f0->n_levels && (t0->mask >> l & 1))
                l++;
            if (l < f0->n_levels)
                ck_assert_int_eq(mmdx_facts_set_level(p.facts, f0->id, f0->levels[l], NULL), MMDX_OK);
            else
                broken = 0;
        } else {
            double v = t0->op == KB_LT || t0->op == KB_LE ? t0->value + 1
                       : t0->op == KB_GT || t0->op == KB_GE ? t0->value - 1
                       : f0->kind == MMDX_KIND_BINARY ? 1 - t0->value : t0->value + 1;
            ck_assert_int_eq(mmdx_facts_set_value(p.facts, f0->id, v), MMDX_OK);
        }
        if (broken) {
            a = decide(&p);
            ck_assert_msg(fired(item(a, tr->id), r->id) == NULL, "rule %s fired with its test false", r->id);
            mmdx_advice_free(a);
        }
        pt_free(&p);
    }
}
END_TEST

/* ------------------------------------------------------------------ triage */

START_TEST(test_triage)
{
    patient_t p;
    pt_init(&p);
    pt_post(&p, "t2d", 0.9, 0.8, 0.95);
    pt_post(&p, "cad", 0.7, 0.6, 0.8);
    pt_post(&p, "ckd", 0.3, 0.2, 0.4);
    mmdx_advice_t *a = decide(&p);
    ck_assert_str_eq(a->triage.department, "Endocrinology and diabetes");
    ck_assert_str_eq(a->triage.target, "t2d");
    ck_assert_int_eq(a->triage.urgency, MMDX_URGENCY_SOON);
    ck_assert_double_eq(a->triage.p, 0.9);
    mmdx_advice_free(a);

    p.post[1].p = 0.95, p.post[1].ci_high = 0.99;
    a = decide(&p);
    ck_assert_str_eq(a->triage.department, "Cardiology");
    ck_assert_str_eq(mmdx_urgency_name(a->triage.urgency), "urgent");
    mmdx_advice_free(a);

    /* a tie goes to the more urgent target */
    p.post[0].p = 0.95, p.post[0].ci_high = 0.99;
    a = decide(&p);
    ck_assert_str_eq(a->triage.target, "cad");
    mmdx_advice_free(a);

    /* nothing crosses: the KB's default */
    for (size_t i = 0; i < p.n; i++)
        p.post[i] = (mmdx_posterior_t){p.post[i].target, "1", 0.1, 0.05, 0.2};
    a = decide(&p);
    ck_assert_str_eq(a->triage.department, "General practice");
    ck_assert_int_eq(a->triage.urgency, MMDX_URGENCY_ROUTINE);
    ck_assert_ptr_null(a->triage.target);
    ck_assert_uint_eq(a->n_items, 0);
    mmdx_advice_free(a);
    pt_free(&p);
}
END_TEST

/* ------------------------------------------------------------------ next best test */

/* Toy model: observing HbA1c settles t2d (its entropy drops to 0.05); CT halves the
 * entropy of cad; anything else leaves the entropy as it is. */
typedef struct toy {
    int calls;
    int fail_on_ct;
} toy_t;

static int toy_entropy(void *user, const mmdx_case_t *c, const char *cand, double *after)
{
    toy_t *t = user;
    double h = mmdx_case_entropy(c);
    t->calls++;
    if (strcmp(cand, "lab:loinc:4548-4") == 0)
        *after = 0.05 + (h - log(2)); /* t2d at 0.5 carries log 2 */
    else if (strcmp(cand, "img:ct") == 0) {
        if (t->fail_on_ct)
            return MMDX_ENUMERIC;
        *after = h - 0.2;
    } else if (strcmp(cand, "lab:loinc:8302-2") == 0)
        *after = h + 0.05; /* an approximate model can expect a little more entropy */
    else
        *after = h;
    return MMDX_OK;
}

START_TEST(test_next_best_test)
{
    patient_t p;
    toy_t toy = {0, 0};
    mmdx_error_t err;
    const char *cands[] = {"img:ct",     "lab:loinc:2160-0",  "lab:loinc:4548-4",
                           "img:retina", "lab:loinc:13457-7", "lab:loinc:8302-2"};
    pt_init(&p);
    pt_post(&p, "t2d", 0.5, 0.2, 0.8);
    pt_post(&p, "cad", 0.3, 0.1, 0.5);
    ck_assert_int_eq(mmdx_facts_set_value(p.facts, "lab:loinc:2160-0", 1.1), MMDX_OK); /* creatinine known */
    ck_assert_int_eq(mmdx_facts_set_modality(p.facts, "img:retina"), MMDX_OK);
    mmdx_advice_t *a = decide(&p);
    double h0 = log(2) + (-(0.3 * log(0.3) + 0.7 * log(0.7)));
    ck_assert_double_eq_tol(a->entropy, h0, 1e-12);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_next_best_test(pt_case(&p), cands, 6, toy_entropy, &toy, a, &err), MMDX_OK);
    ck_assert_int_eq(toy.calls, 4); /* creatinine and retina are present: not asked */
    /* LDL (13457-7, gain 0) and height (8302-2, gain below 0) tell nothing: not listed */
    ck_assert_uint_eq(a->n_tests, 2);
    ck_assert_str_eq(a->tests[0].candidate, "lab:loinc:4548-4"); /* the decisive lab */
    ck_assert_double_eq_tol(a->tests[0].gain, log(2) - 0.05, 1e-12);
    ck_assert_str_eq(a->tests[1].candidate, "img:ct");
    ck_assert_double_eq_tol(a->tests[1].gain, 0.2, 1e-12);

    /* a failing callback stops the ranking with its status and keeps the old ranking */
    toy.fail_on_ct = 1;
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_next_best_test(pt_case(&p), cands, 6, toy_entropy, &toy, a, &err), MMDX_ENUMERIC);
    ck_assert_str_eq(err.object, "img:ct");
    ck_assert_uint_eq(a->n_tests, 2);
    mmdx_advice_free(a);
    pt_free(&p);
}
END_TEST

START_TEST(test_entropy)
{
    mmdx_posterior_t post[3] = {{"a", "1", 0.5, 0.4, 0.6}, {"b", "x", 0.2, 0.1, 0.3}, {"b", "y", 0.3, 0.2, 0.4}};
    mmdx_case_t c = {post, 1, NULL, NULL, NULL, NULL};
    ck_assert_double_eq_tol(mmdx_case_entropy(&c), log(2), 1e-12);
    c.n_posteriors = 3; /* b: 0.2, 0.3 and the rest 0.5 */
    ck_assert_double_eq_tol(mmdx_case_entropy(&c), log(2) - (0.2 * log(0.2) + 0.3 * log(0.3) + 0.5 * log(0.5)), 1e-12);
    post[0].p = 1;
    post[0].ci_high = 1;
    c.n_posteriors = 1;
    ck_assert_double_eq_tol(mmdx_case_entropy(&c), 0, 1e-12);
}
END_TEST

START_TEST(test_bad_posteriors)
{
    patient_t p;
    mmdx_advice_t *a = (mmdx_advice_t *)0x1;
    mmdx_error_t err;
    pt_init(&p);
    pt_post(&p, "t2d", 0.9, 0.95, 0.99); /* mean outside its interval */
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_decide(kb, pt_case(&p), &a, &err), MMDX_EINVAL);
    ck_assert_ptr_null(a);
    ck_assert_str_eq(err.object, "t2d");
    p.post[0] = (mmdx_posterior_t){"t2d", "1", NAN, 0, 1};
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_decide(kb, pt_case(&p), &a, &err), MMDX_EINVAL);
    p.post[0] = (mmdx_posterior_t){"t2d", "1", 1.2, 0, 1};
    ck_assert_int_eq(mmdx_decide(kb, pt_case(&p), &a, NULL), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_decide(NULL, pt_case(&p), &a, NULL), MMDX_EINVAL);
    pt_free(&p);
}
END_TEST

/* ------------------------------------------------------------------ cohort rows */

START_TEST(test_cohort_row_facts)
{
    mmdx_space_t *sp = mmdx_space_alloc();
    size_t jg, jd, je, jx, lv, lpm, ldip;
    ck_assert_int_eq(mmdx_space_add_feature(sp, "pgx:CYP2C19", MMDX_KIND_CATEGORICAL, NULL, MMDX_TRANSFORM_NONE, &jg), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_level(sp, jg, "Normal Metabolizer", &lv), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_level(sp, jg, "Poor Metabolizer", &lpm), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_feature(sp, "pgx:CYP2C19:diplotype", MMDX_KIND_CATEGORICAL, NULL, MMDX_TRANSFORM_NONE, &jd), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_level(sp, jd, "*1/*1", &lv), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_level(sp, jd, "*2/*3", &ldip), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_feature(sp, EGFR, MMDX_KIND_CONTINUOUS, "mL/min/{1.73_m2}", MMDX_TRANSFORM_NONE, &je), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_feature(sp, "img:ct:calcium", MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, &jx), MMDX_OK);
    mmdx_cohort_t *c = mmdx_cohort_alloc(sp, 2);
    ck_assert_ptr_nonnull(c);
    mmdx_cohort_set(c, 1, jg, (double)lpm, 0);
    mmdx_cohort_set(c, 1, jd, (double)ldip, 0);
    mmdx_cohort_set(c, 1, je, 22, MMDX_VAL_CENSOR_LEFT); /* reported as "< 22" */
    mmdx_cohort_set(c, 0, jx, 100, 0);

    mmdx_cohort_row_t row = {c, 1};
    mmdx_fact_t f;
    ck_assert_int_eq(mmdx_cohort_row_fact(&row, "pgx:CYP2C19", &f), 1);
    ck_assert_str_eq(f.level, "Poor Metabolizer");
    ck_assert_str_eq(f.detail, "*2/*3");
    ck_assert_int_eq(f.censor, 0);
    ck_assert_int_eq(mmdx_cohort_row_fact(&row, EGFR, &f), 1);
    ck_assert_double_eq(f.value, 22);
    ck_assert_int_eq(f.censor, MMDX_VAL_CENSOR_LEFT);
    ck_assert_ptr_null(f.level);
    ck_assert_int_eq(mmdx_cohort_row_fact(&row, "img:ct:calcium", &f), 0);
    ck_assert_int_eq(mmdx_cohort_row_fact(&row, "lab:loinc:0000-0", &f), 0);
    ck_assert_int_eq(mmdx_cohort_row_modality(&row, "img:ct"), 0);
    ck_assert_int_eq(mmdx_cohort_row_modality(&row, "gen"), 1);
    ck_assert_int_eq(mmdx_cohort_row_modality(&row, "lab"), 1);
    row.row = 0;
    ck_assert_int_eq(mmdx_cohort_row_modality(&row, "img:ct"), 1);
    ck_assert_int_eq(mmdx_cohort_row_fact(&row, "pgx:CYP2C19", &f), 0);
    row.row = 1;

    mmdx_posterior_t post[] = {{"cad", "1", 0.9, 0.8, 0.95}, {"t2d", "1", 0.9, 0.8, 0.95}};
    mmdx_case_t cs = {post, 2, mmdx_cohort_row_fact, &row, mmdx_cohort_row_modality, &row};
    mmdx_advice_t *a = NULL;
    ck_assert_int_eq(mmdx_decide(kb, &cs, &a, NULL), MMDX_OK);
    ck_assert_str_eq(fired(item(a, "clopidogrel"), "clopidogrel-cyp2c19-poor")->reason,
                     "avoid clopidogrel: CYP2C19 *2/*3, poor metabolizer (CPIC 2022)");
    ck_assert_int_eq(item(a, "metformin")->status, MMDX_ADVICE_EXCLUDED);
    mmdx_advice_free(a);
    mmdx_cohort_free(c);
    mmdx_space_free(sp);
}
END_TEST

/* ------------------------------------------------------------------ output formats */

START_TEST(test_output_formats)
{
    patient_t p;
    char *json = NULL, *buf = NULL;
    size_t len = 0;
    pt_init(&p);
    pt_post(&p, "cad", 0.92, 0.85, 0.97);
    ck_assert_int_eq(mmdx_facts_set_level(p.facts, "pgx:CYP2C19", "Poor Metabolizer", "*2/*2"), MMDX_OK);
    mmdx_advice_t *a = decide(&p);

    FILE *out = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(mmdx_advice_write_tsv(a, "P\t1", out), MMDX_OK);
    fclose(out);
    /* every row has the header's 11 columns; one triage row, one per treatment, one per rule */
    size_t rows = 0, rules = 0, treatments = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        size_t tabs = 0;
        for (char *c = line; *c; c++)
            tabs += *c == '\t';
        ck_assert_uint_eq(tabs, 10);
        rows++;
        rules += strstr(line, "\trule\t") != NULL;
        treatments += strstr(line, "\ttreatment\t") != NULL;
        ck_assert(strncmp(line, "P 1\t", 4) == 0); /* the tab in the id became a space */
        if (strstr(line, "\trule\t") && strstr(line, "avoid clopidogrel"))
            ck_assert(strstr(line, "\tavoid\tavoid clopidogrel: CYP2C19 *2/*2, poor metabolizer (CPIC 2022)\t") != NULL);
    }
    size_t want_rules = 0;
    for (size_t i = 0; i < a->n_items; i++)
        want_rules += a->items[i].n_fired;
    ck_assert_uint_eq(treatments, a->n_items);
    ck_assert_uint_eq(rules, want_rules);
    ck_assert_uint_eq(rows, 1 + a->n_items + want_rules);
    free(buf);

    /* the summary columns a diagnose table appends */
    buf = NULL;
    out = open_memstream(&buf, &len);
    ck_assert_int_eq(mmdx_advice_write_columns(a, 3, out), MMDX_OK);
    fclose(out);
    size_t tabs = 0, htabs = 0;
    for (char *c = buf; *c; c++)
        tabs += *c == '\t';
    for (const char *c = mmdx_advice_columns_header(); *c; c++)
        htabs += *c == '\t';
    ck_assert_uint_eq(tabs, htabs);
    ck_assert(strncmp(buf, "Cardiology\turgent\t", 18) == 0);
    ck_assert_msg(strstr(buf, "\tclopidogrel (avoid clopidogrel: CYP2C19 *2/*2, poor metabolizer (CPIC 2022))") != NULL, "%s", buf);
    ck_assert_msg(strstr(buf, "ticagrelor") != NULL, "%s", buf);
    ck_assert(buf[strlen(buf) - 1] == '-'); /* no next best test ranked */
    free(buf);

    ck_assert_int_eq(mmdx_advice_to_json(a, "P1", &json), MMDX_OK);
    json_error_t jerr;
    json_t *root = json_loads(json, 0, &jerr);
    ck_assert_msg(root != NULL, "%s", jerr.text);
    ck_assert_str_eq(json_string_value(json_object_get(root, "patient_id")), "P1");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(root, "triage"), "department")), "Cardiology");
    json_t *items = json_object_get(root, "treatments");
    ck_assert_uint_eq(json_array_size(items), a->n_items);
    int found = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        if (strcmp(json_string_value(json_object_get(it, "treatment")), "clopidogrel") == 0) {
            ck_assert_str_eq(json_string_value(json_object_get(it, "status")), "excluded");
            json_t *r = json_array_get(json_object_get(it, "rules"), 0);
            ck_assert_str_eq(json_string_value(json_object_get(r, "reason")),
                             "avoid clopidogrel: CYP2C19 *2/*2, poor metabolizer (CPIC 2022)");
            ck_assert(json_is_false(json_object_get(r, "unknown")));
            found = 1;
        }
    }
    ck_assert(found);
    json_decref(root);
    mmdx_free(json);
    mmdx_advice_free(a);
    pt_free(&p);
}
END_TEST

/* Allocation failures in the engine are reported as ENOMEM, never a crash or a leak. */
static long countdown = -1;
static void *fail_malloc(size_t n) { return countdown-- == 0 ? NULL : malloc(n); }
static void *fail_realloc(void *p, size_t n) { return countdown-- == 0 ? NULL : realloc(p, n); }

START_TEST(test_decide_allocation_failures)
{
    patient_t p;
    int ok = 0;
    pt_init(&p);
    pt_post(&p, "cad", 0.9, 0.8, 0.95);
    pt_post(&p, "t2d", 0.9, 0.8, 0.95);
    ck_assert_int_eq(mmdx_facts_set_value(p.facts, EGFR, 35), MMDX_OK);
    for (long n = 0; n < 1000 && !ok; n++) {
        mmdx_advice_t *a = NULL;
        countdown = n;
        mmdx_set_allocator(fail_malloc, fail_realloc, free);
        int rc = mmdx_decide(kb, pt_case(&p), &a, NULL);
        mmdx_set_allocator(NULL, NULL, NULL);
        countdown = -1;
        if (rc == MMDX_OK)
            ok = 1;
        else
            ck_assert_int_eq(rc, MMDX_ENOMEM);
        mmdx_advice_free(a);
    }
    ck_assert(ok);
    pt_free(&p);
}
END_TEST

static Suite *decision_suite(void)
{
    Suite *s = suite_create("decision");
    TCase *tc = tcase_create("engine");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_cyp2c19_poor_metabolizer_acs);
    tcase_add_test(tc, test_missing_genotype_is_unknown);
    tcase_add_test(tc, test_egfr_thresholds);
    tcase_add_test(tc, test_censored_values);
    tcase_add_test(tc, test_tpmt_poor_metabolizer);
    tcase_add_test(tc, test_abacavir_outside_call);
    tcase_add_test(tc, test_pregnancy_three_valued);
    tcase_add_test(tc, test_insufficient_evidence);
    tcase_add_test(tc, test_ranking_by_expected_benefit);
    tcase_add_test(tc, test_every_shipped_rule_fires);
    tcase_add_test(tc, test_triage);
    tcase_add_test(tc, test_next_best_test);
    tcase_add_test(tc, test_entropy);
    tcase_add_test(tc, test_bad_posteriors);
    tcase_add_test(tc, test_cohort_row_facts);
    tcase_add_test(tc, test_output_formats);
    tcase_add_test(tc, test_decide_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(decision_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
