/* Check suite of the writers (writer.h): TSV columns, JSON Lines fields, FHIR structure
 * (RELAX NG of the Bundle/RiskAssessment subset), HTML well-formedness, disclaimer, SVG
 * and Korean strings, byte-identical reruns, failures before work and nothing half-written.
 * The predictions come from a small model fitted on a synthetic cohort. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "mmdx/mmdx.h"
#include "mmdx/writer.h"

#define NP 240 /* training patients */
#define NT 2   /* targets */
#define NX 3   /* patients written */

static const char *const feature_ids[] = {"lab:loinc:2345-7", "lab:loinc:4548-4", "lab:loinc:2093-3",
                                          "img:retina:tortuosity", "demo:age"};
#define NF (sizeof(feature_ids) / sizeof(feature_ids[0]))

/* Everything a test needs: a fitted model, the patients to write, their predictions and advice. */
typedef struct fixture {
    mmdx_ctx_t *ctx;
    mmdx_space_t *space;
    mmdx_model_t *model;
    mmdx_cohort_t *test;           /* NX patients */
    mmdx_pred_t *pred[NX][NT];
    mmdx_advice_t *advice[NX];
    mmdx_kb_t *kb;
    mmdx_terms_t *terms;
    char dir[256];
} fixture_t;

static fixture_t fx;

static uint64_t rng_state;
static double unif(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((rng_state >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void)
{
    return sqrt(-2 * log(unif())) * cos(6.283185307179586 * unif());
}

/* Fill row i: t2d driven by glucose and HbA1c, cad by cholesterol, retina and age. */
static void make_row(mmdx_cohort_t *c, size_t i, int labels)
{
    double z[NF];
    for (size_t j = 0; j < NF; j++)
        z[j] = gauss();
    double v[NF] = {100 + 25 * z[0], 5.8 + 0.8 * (0.6 * z[0] + 0.8 * z[1]), 190 + 35 * z[2], 1.0 + 0.2 * z[3],
                    55 + 12 * z[4]};
    for (size_t j = 0; j < NF; j++)
        mmdx_cohort_set(c, i, j, v[j], 0);
    if (labels) {
        double l0 = -0.5 + 1.6 * z[0] + 1.2 * z[1], l1 = -0.3 + 1.0 * z[2] + 1.1 * z[3] + 0.7 * z[4];
        mmdx_cohort_set_label(c, i, 0, unif() < 1 / (1 + exp(-l0)));
        mmdx_cohort_set_label(c, i, 1, unif() < 1 / (1 + exp(-l1)));
    }
}

/* A fake next-best-test entropy: each candidate is worth a fixed share of the entropy. */
static int fake_entropy(void *user, const mmdx_case_t *patient, const char *candidate, double *after)
{
    (void)user;
    *after = mmdx_case_entropy(patient) * (strchr(candidate, ':') ? 0.7 : 0.5);
    return MMDX_OK;
}

static void setup(void)
{
    static const char *const cls[] = {"0", "1"};
    const char *data = getenv("MMDX_DATA_DIR");
    char path[512];
    mmdx_error_t err = {0};
    mmdx_error_clear(&err);
    memset(&fx, 0, sizeof(fx));
    rng_state = 12345;
    ck_assert_ptr_nonnull(fx.ctx = mmdx_ctx_alloc());
    ck_assert_ptr_nonnull(fx.space = mmdx_space_alloc());
    for (size_t j = 0; j < NF; j++)
        ck_assert_int_eq(mmdx_space_add_feature(fx.space, feature_ids[j], MMDX_KIND_CONTINUOUS, NULL,
                                                MMDX_TRANSFORM_NONE, NULL),
                         MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_target(fx.space, "t2d", 2, cls, NULL), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_target(fx.space, "cad", 2, cls, NULL), MMDX_OK);
    mmdx_cohort_t *train = mmdx_cohort_alloc(fx.space, NP);
    ck_assert_ptr_nonnull(train);
    for (size_t i = 0; i < NP; i++) {
        snprintf(path, sizeof(path), "train-%zu", i);
        ck_assert_int_eq(mmdx_cohort_set_id(train, i, path), MMDX_OK);
        make_row(train, i, 1);
    }
    ck_assert_int_eq(mmdx_model_alloc(fx.ctx, fx.space, NULL, &fx.model, &err), MMDX_OK);
    ck_assert_msg(mmdx_model_fit(fx.model, train, &err) == MMDX_OK, "fit: %s", err.message);
    mmdx_cohort_free(train);

    /* test patients: a complete one, one without imaging, one far out of distribution;
     * ids with characters XML and HTML must escape */
    static const char *const ids[NX] = {"P-001", "P<2>&\"x\"", "P.003"};
    ck_assert_ptr_nonnull(fx.test = mmdx_cohort_alloc(fx.space, NX));
    for (size_t i = 0; i < NX; i++) {
        ck_assert_int_eq(mmdx_cohort_set_id(fx.test, i, ids[i]), MMDX_OK);
        make_row(fx.test, i, 0);
    }
    mmdx_cohort_set_missing(fx.test, 1, 3);
    mmdx_cohort_set(fx.test, 2, 0, 900, 0);
    mmdx_cohort_set(fx.test, 2, 2, 900, 0);

    ck_assert_ptr_nonnull(data);
    snprintf(path, sizeof(path), "%s/kb/default.xml", data);
    ck_assert_msg(mmdx_kb_load(NULL, path, &fx.kb, &err) == MMDX_OK, "kb: %s", err.message);
    snprintf(path, sizeof(path), "%s/terms.tsv", data);
    ck_assert_msg(mmdx_terms_load(path, &fx.terms, &err) == MMDX_OK, "terms: %s", err.message);

    static const char *const candidates[] = {"img:retina", "lab:loinc:2160-0", "lab"};
    for (size_t i = 0; i < NX; i++) {
        mmdx_posterior_t post[NT];
        for (size_t t = 0; t < NT; t++) {
            ck_assert_ptr_nonnull(fx.pred[i][t] = mmdx_pred_alloc());
            ck_assert_int_eq(mmdx_model_predict(fx.model, fx.test, i, t, fx.pred[i][t], &err), MMDX_OK);
            post[t].target = mmdx_pred_target_name(fx.pred[i][t]);
            post[t].cls = "1";
            post[t].p = mmdx_pred_prob(fx.pred[i][t], 1);
            mmdx_pred_interval(fx.pred[i][t], 1, &post[t].ci_low, &post[t].ci_high);
        }
        mmdx_cohort_row_t row = {fx.test, i};
        mmdx_case_t c = {post, NT, mmdx_cohort_row_fact, &row, mmdx_cohort_row_modality, &row};
        ck_assert_msg(mmdx_decide(fx.kb, &c, &fx.advice[i], &err) == MMDX_OK, "decide: %s", err.message);
        ck_assert_int_eq(mmdx_next_best_test(&c, candidates, 3, fake_entropy, NULL, fx.advice[i], &err), MMDX_OK);
    }
    snprintf(fx.dir, sizeof(fx.dir), "/tmp/check_writer.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(fx.dir));
}

static void teardown(void)
{
    char cmd[300];
    for (size_t i = 0; i < NX; i++) {
        for (size_t t = 0; t < NT; t++)
            mmdx_pred_free(fx.pred[i][t]);
        mmdx_advice_free(fx.advice[i]);
    }
    mmdx_cohort_free(fx.test);
    mmdx_model_free(fx.model);
    mmdx_space_free(fx.space);
    mmdx_kb_free(fx.kb);
    mmdx_terms_free(fx.terms);
    mmdx_ctx_free(fx.ctx);
    /* MMDX_WRITER_KEEP=1 keeps the outputs for a look */
    if (getenv("MMDX_WRITER_KEEP")) {
        fprintf(stderr, "check_writer: outputs kept in %s\n", fx.dir);
        return;
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", fx.dir);
}

typedef struct unrep {
    int n;
    char last[256];
} unrep_t;

static void count_unrep(void *user, const char *patient, const char *what)
{
    unrep_t *u = user;
    (void)patient;
    u->n++;
    snprintf(u->last, sizeof(u->last), "%s", what);
}

/* Write all NX patients in @p format to dir/name; returns the path (static buffer). */
static const char *write_all(mmdx_writer_format_t format, const char *name, mmdx_writer_options_t *opt, int advice)
{
    static char path[512];
    mmdx_writer_t *w = NULL;
    mmdx_error_t err = {0};
    mmdx_error_clear(&err);
    snprintf(path, sizeof(path), "%s/%s", fx.dir, name);
    ck_assert_msg(mmdx_writer_open(format, path, opt, &w, &err) == MMDX_OK, "open: %s", err.message);
    for (size_t i = 0; i < NX; i++) {
        const char *notes[] = {"labs.xml:12: unit 'mg' cannot be converted"};
        mmdx_writer_patient_t p = {mmdx_cohort_id(fx.test, i), (const mmdx_pred_t *const *)fx.pred[i], NT,
                                   advice ? fx.advice[i] : NULL, NULL, 0, i == 1 ? notes : NULL, i == 1};
        ck_assert_msg(mmdx_writer_write(w, &p, &err) == MMDX_OK, "write: %s", err.message);
    }
    ck_assert_uint_eq(mmdx_writer_n_patients(w), NX);
    ck_assert_msg(mmdx_writer_close(w, &err) == MMDX_OK, "close: %s", err.message);
    return path;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

static size_t count_fields(const char *line, size_t len)
{
    size_t n = 1;
    for (size_t k = 0; k < len; k++)
        n += line[k] == '\t';
    return n;
}

/* ------------------------------------------------------------------ TSV */

START_TEST(test_tsv_columns)
{
    mmdx_writer_options_t opt;
    unrep_t u = {0};
    mmdx_writer_options_init(&opt);
    opt.unrepresented = count_unrep;
    opt.unrepresented_user = &u;
    char *s = slurp(write_all(MMDX_WRITER_TSV, "out.tsv", &opt, 1), NULL);
    char *save = NULL, *line = strtok_r(s, "\n", &save);
    const char *expect_head = "patient_id\ttarget\tclass\tprobability\tci_low\tci_high\t";
    ck_assert_ptr_nonnull(line);
    ck_assert_msg(strncmp(line, expect_head, strlen(expect_head)) == 0, "header: %s", line);
    /* one evidence column per model modality, in the model's order, then the fixed tail */
    char want[512] = "patient_id\ttarget\tclass\tprobability\tci_low\tci_high";
    for (size_t m = 0; m < mmdx_model_n_modalities(fx.model); m++) {
        strcat(want, "\tevidence:");
        strcat(want, mmdx_model_modality(fx.model, m));
    }
    strcat(want, "\tmissing_modalities\tmissing_features\ttop_features\tood_pvalue\tflags");
    ck_assert_str_eq(line, want);
    size_t ncol = count_fields(line, strlen(line)), rows = 0;
    ck_assert_uint_ge(mmdx_model_n_modalities(fx.model), 3);
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        ck_assert_uint_eq(count_fields(line, strlen(line)), ncol);
        char pid[64], target[16], cls[8];
        double p, lo, hi;
        /* the ids of patient 2 hold no tab, so sscanf up to tabs works */
        ck_assert_int_eq(sscanf(line, "%63[^\t]\t%15[^\t]\t%7[^\t]\t%lf\t%lf\t%lf", pid, target, cls, &p, &lo, &hi), 6);
        size_t i = rows / (2 * NT), t = rows / 2 % NT, k = rows % 2;
        ck_assert_str_eq(pid, mmdx_cohort_id(fx.test, i));
        ck_assert_str_eq(target, t == 0 ? "t2d" : "cad");
        ck_assert_str_eq(cls, k == 0 ? "0" : "1");
        ck_assert_double_eq_tol(p, mmdx_pred_prob(fx.pred[i][t], k), 1e-5);
        ck_assert(lo <= p + 1e-6 && p <= hi + 1e-6);
        rows++;
    }
    ck_assert_uint_eq(rows, NX * NT * 2);
    /* TSV has no columns for the advice or the notes: reported, not dropped silently */
    ck_assert_int_eq(u.n, NX + 1);
    free(s);
}
END_TEST

START_TEST(test_tsv_missing_modality_and_advice_file)
{
    mmdx_writer_options_t opt;
    char apath[512];
    unrep_t u = {0};
    mmdx_writer_options_init(&opt);
    snprintf(apath, sizeof(apath), "%s/advice.tsv", fx.dir);
    opt.advice_path = apath;
    opt.unrepresented = count_unrep;
    opt.unrepresented_user = &u;
    char *s = slurp(write_all(MMDX_WRITER_TSV, "out.tsv", &opt, 1), NULL);
    ck_assert_int_eq(u.n, 1); /* only the note now */
    /* patient 1 has no imaging: NA evidence and the modality listed as missing */
    char *row = strstr(s, "\nP<2>&\"x\"\tt2d\t1\t");
    ck_assert_ptr_nonnull(row);
    ck_assert_ptr_nonnull(strstr(row, "\tNA\t"));
    ck_assert_ptr_nonnull(strstr(row, "img:retina"));
    free(s);
    char *a = slurp(apath, NULL);
    ck_assert_msg(strncmp(a, mmdx_advice_tsv_header(), strlen(mmdx_advice_tsv_header())) == 0, "advice header");
    ck_assert_ptr_nonnull(strstr(a, "\nP-001\ttriage\t"));
    ck_assert_ptr_nonnull(strstr(a, "\nP.003\ttest\t"));
    free(a);
}
END_TEST

START_TEST(test_tsv_advice_columns)
{
    mmdx_writer_options_t opt;
    unrep_t u = {0};
    mmdx_writer_t *w;
    mmdx_error_t err = {0};
    char path[512];
    mmdx_writer_options_init(&opt);
    opt.advice_columns = 1;
    opt.unrepresented = count_unrep;
    opt.unrepresented_user = &u;
    snprintf(path, sizeof(path), "%s/cols.tsv", fx.dir);
    ck_assert_int_eq(mmdx_writer_open(MMDX_WRITER_TSV, path, &opt, &w, &err), MMDX_OK);
    for (size_t i = 0; i < NX; i++) {
        /* the last patient without advice: its columns are "-" */
        mmdx_writer_patient_t p = {mmdx_cohort_id(fx.test, i), (const mmdx_pred_t *const *)fx.pred[i], NT,
                                   i + 1 < NX ? fx.advice[i] : NULL, NULL, 0, NULL, 0};
        ck_assert_int_eq(mmdx_writer_write(w, &p, &err), MMDX_OK);
    }
    ck_assert_int_eq(mmdx_writer_close(w, &err), MMDX_OK);
    ck_assert_int_eq(u.n, 0); /* the advice is represented */
    char *s = slurp(path, NULL), *save = NULL, *line = strtok_r(s, "\n", &save);
    const char *cols = mmdx_advice_columns_header();
    size_t hl = strlen(line), cl = strlen(cols), ncol = count_fields(line, hl), n_adv = count_fields(cols, cl), rows = 0;
    ck_assert_msg(hl > cl && strcmp(line + hl - cl, cols) == 0 && line[hl - cl - 1] == '\t', "header: %s", line);
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        ck_assert_uint_eq(count_fields(line, strlen(line)), ncol);
        size_t i = rows / (2 * NT);
        /* the first advice column is the triage department, or "-" without advice */
        const char *c = line;
        for (size_t k = 0; k < ncol - n_adv; k++)
            c = strchr(c, '\t') + 1;
        if (i + 1 < NX)
            ck_assert_msg(strncmp(c, fx.advice[i]->triage.department, strlen(fx.advice[i]->triage.department)) == 0,
                          "triage column: %s", c);
        else
            ck_assert_msg(strncmp(c, "-\t-", 3) == 0, "no advice: %s", c);
        rows++;
    }
    ck_assert_uint_eq(rows, NX * NT * 2);
    free(s);
    /* not for other formats */
    ck_assert_int_eq(mmdx_writer_check(MMDX_WRITER_JSONL, path, &opt, &err), MMDX_EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ JSONL */

START_TEST(test_jsonl_fields)
{
    char *s = slurp(write_all(MMDX_WRITER_JSONL, "out.jsonl", NULL, 1), NULL);
    char *save = NULL, *line;
    size_t n = 0;
    for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
        json_error_t jerr;
        json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
        ck_assert_msg(o != NULL, "line %zu: %s", n + 1, jerr.text);
        ck_assert_str_eq(json_string_value(json_object_get(o, "patient_id")), mmdx_cohort_id(fx.test, n));
        json_t *preds = json_object_get(o, "predictions");
        ck_assert_uint_eq(json_array_size(preds), NT);
        for (size_t t = 0; t < NT; t++) {
            json_t *pr = json_array_get(preds, t);
            ck_assert_str_eq(json_string_value(json_object_get(pr, "target")), t == 0 ? "t2d" : "cad");
            json_t *classes = json_object_get(pr, "classes");
            ck_assert_uint_eq(json_array_size(classes), 2);
            double sum = 0;
            for (size_t k = 0; k < 2; k++) {
                json_t *c = json_array_get(classes, k);
                double p = json_real_value(json_object_get(c, "probability"));
                ck_assert_double_eq_tol(p, mmdx_pred_prob(fx.pred[n][t], k), 1e-5);
                ck_assert(json_real_value(json_object_get(c, "ci_low")) <= p + 1e-6);
                ck_assert(json_real_value(json_object_get(c, "ci_high")) >= p - 1e-6);
                json_t *ev = json_object_get(c, "evidence");
                ck_assert_uint_eq(json_object_size(ev), mmdx_model_n_modalities(fx.model));
                ck_assert(json_is_null(json_object_get(ev, "img:retina")) == (n == 1));
                ck_assert(json_is_array(json_object_get(c, "top_features")));
                sum += p;
            }
            ck_assert_double_eq_tol(sum, 1, 1e-4);
            ck_assert(json_is_array(json_object_get(pr, "missing_modalities")));
            ck_assert_uint_eq(json_array_size(json_object_get(pr, "missing_modalities")), n == 1);
            ck_assert(json_is_object(json_object_get(pr, "ood")));
            ck_assert(json_is_array(json_object_get(pr, "flags")));
        }
        ck_assert(json_is_boolean(json_object_get(json_object_get(json_array_get(preds, 0), "ood"), "flagged")));
        json_t *adv = json_object_get(o, "advice");
        ck_assert(json_is_object(adv));
        ck_assert(json_is_object(json_object_get(adv, "triage")));
        ck_assert(json_is_array(json_object_get(adv, "treatments")));
        ck_assert_uint_eq(json_array_size(json_object_get(adv, "next_best_tests")), fx.advice[n]->n_tests);
        ck_assert_ptr_null(json_object_get(adv, "patient_id"));
        ck_assert_uint_eq(json_array_size(json_object_get(o, "notes")), n == 1);
        ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(o, "disclaimer")), "not a diagnosis"));
        json_decref(o);
    }
    ck_assert_uint_eq(n, NX);
    free(s);
}
END_TEST

/* ------------------------------------------------------------------ FHIR */

static int xml_errors;
static void count_xml_error(void *user, xmlErrorPtr e)
{
    (void)user;
    (void)e;
    xml_errors++;
}

static const char *srcdir(void)
{
    const char *s = getenv("MMDX_SRCDIR");
    if (s == NULL)
        s = getenv("srcdir");
    return s ? s : ".";
}

static int rng_validate(xmlDocPtr doc)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/tests/data/fhir_riskassessment.rng", srcdir());
    xmlRelaxNGParserCtxtPtr pc = xmlRelaxNGNewParserCtxt(path);
    ck_assert_ptr_nonnull(pc);
    xmlRelaxNGPtr schema = xmlRelaxNGParse(pc);
    ck_assert_msg(schema != NULL, "cannot parse %s", path);
    xmlRelaxNGValidCtxtPtr vc = xmlRelaxNGNewValidCtxt(schema);
    int rc = xmlRelaxNGValidateDoc(vc, doc);
    xmlRelaxNGFreeValidCtxt(vc);
    xmlRelaxNGFree(schema);
    xmlRelaxNGFreeParserCtxt(pc);
    return rc;
}

static xmlXPathObjectPtr xpath(xmlDocPtr doc, const char *expr)
{
    xmlXPathContextPtr xc = xmlXPathNewContext(doc);
    ck_assert_ptr_nonnull(xc);
    xmlXPathRegisterNs(xc, BAD_CAST "f", BAD_CAST "http://hl7.org/fhir");
    xmlXPathRegisterNs(xc, BAD_CAST "h", BAD_CAST "http://www.w3.org/1999/xhtml");
    xmlXPathRegisterNs(xc, BAD_CAST "s", BAD_CAST "http://www.w3.org/2000/svg");
    xmlXPathObjectPtr r = xmlXPathEvalExpression(BAD_CAST expr, xc);
    xmlXPathFreeContext(xc);
    ck_assert_msg(r != NULL, "xpath %s", expr);
    return r;
}

static double xpath_num(xmlDocPtr doc, const char *expr)
{
    xmlXPathObjectPtr r = xpath(doc, expr);
    double v = xmlXPathCastToNumber(r);
    xmlXPathFreeObject(r);
    return v;
}

START_TEST(test_fhir_structure)
{
    mmdx_writer_options_t opt;
    mmdx_writer_options_init(&opt);
    opt.title = "batch-7";
    opt.timestamp = "2026-01-02T03:04:05Z";
    const char *path = write_all(MMDX_WRITER_FHIR, "out.xml", &opt, 1);
    xml_errors = 0;
    xmlSetStructuredErrorFunc(NULL, count_xml_error);
    xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
    xmlSetStructuredErrorFunc(NULL, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert_int_eq(xml_errors, 0);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    ck_assert_str_eq((const char *)root->name, "Bundle");
    ck_assert_ptr_nonnull(root->ns);
    ck_assert_str_eq((const char *)root->ns->href, "http://hl7.org/fhir");
    ck_assert_int_eq(rng_validate(doc), 0);
    ck_assert_double_eq(xpath_num(doc, "count(/f:Bundle/f:entry/f:resource/f:RiskAssessment)"), NX * NT);
    ck_assert_double_eq(xpath_num(doc, "count(//f:RiskAssessment[f:status/@value='final'])"), NX * NT);
    ck_assert_double_eq(xpath_num(doc, "count(//f:prediction/f:probabilityDecimal)"), NX * NT);
    ck_assert_double_eq(xpath_num(doc, "count(//f:prediction/f:qualitativeRisk/f:coding/f:system[@value="
                                       "'http://terminology.hl7.org/CodeSystem/risk-probability'])"),
                        NX * NT);
    /* the probability written is the model's, for each patient and target */
    for (size_t i = 0; i < NX; i++) {
        for (size_t t = 0; t < NT; t++) {
            char expr[256];
            snprintf(expr, sizeof(expr), "number(/f:Bundle/f:entry[%zu]/f:resource/f:RiskAssessment/f:prediction/"
                                         "f:probabilityDecimal/@value)",
                     i * NT + t + 1);
            ck_assert_double_eq_tol(xpath_num(doc, expr), mmdx_pred_prob(fx.pred[i][t], 1), 1e-6);
        }
    }
    /* subject: a reference for FHIR-shaped ids, an identifier otherwise */
    ck_assert_double_eq(xpath_num(doc, "count(//f:subject/f:reference[@value='Patient/P-001'])"), NT);
    ck_assert_double_eq(xpath_num(doc, "count(//f:subject/f:identifier/f:value[@value='P<2>&\"x\"'])"), NT);
    /* the disclaimer on every RiskAssessment, suggestions and notes as notes */
    ck_assert_double_eq(xpath_num(doc, "count(//f:RiskAssessment[f:note/f:text[contains(@value,'not a diagnosis')]])"),
                        NX * NT);
    ck_assert(xpath_num(doc, "count(//f:note/f:text[starts-with(@value,'triage:')])") == NX);
    ck_assert(xpath_num(doc, "count(//f:note/f:text[contains(@value,'cannot be converted')])") == 1);
    ck_assert(xpath_num(doc, "count(//f:occurrenceDateTime)") == NX * NT);
    /* fullUrls unique */
    ck_assert(xpath_num(doc, "count(//f:entry[f:fullUrl/@value = preceding-sibling::f:entry/f:fullUrl/@value])") == 0);

    /* the schema is not vacuous: status moved after subject is refused */
    xmlNodePtr ra = NULL;
    xmlXPathObjectPtr r = xpath(doc, "/f:Bundle/f:entry[1]/f:resource/f:RiskAssessment/f:status");
    ck_assert_int_eq(r->nodesetval->nodeNr, 1);
    xmlNodePtr status = r->nodesetval->nodeTab[0];
    xmlXPathFreeObject(r);
    ra = status->parent;
    xmlUnlinkNode(status);
    xmlAddChild(ra, status);
    xmlSetStructuredErrorFunc(NULL, count_xml_error);
    ck_assert_int_ne(rng_validate(doc), 0);
    xmlSetStructuredErrorFunc(NULL, NULL);
    xmlFreeDoc(doc);
}
END_TEST

/* ------------------------------------------------------------------ HTML */

static int html_errors;
static void count_html_error(void *user, xmlErrorPtr e)
{
    (void)user;
    /* SVG elements are unknown to libxml2's HTML 4 parser; anything else is an error */
    if (e->code != XML_HTML_UNKNOWN_TAG)
        html_errors++;
}

static void check_html(const char *path, const char *lang)
{
    size_t len;
    char *s = slurp(path, &len);
    /* HTML parser */
    html_errors = 0;
    xmlSetStructuredErrorFunc(NULL, count_html_error);
    htmlDocPtr h = htmlReadMemory(s, (int)len, path, "UTF-8", HTML_PARSE_NONET);
    xmlSetStructuredErrorFunc(NULL, NULL);
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(html_errors, 0);
    xmlFreeDoc(h);
    /* and well-formed XML (polyglot), which lets XPath count the SVG elements */
    xml_errors = 0;
    xmlSetStructuredErrorFunc(NULL, count_xml_error);
    xmlDocPtr doc = xmlReadMemory(s, (int)len, path, "UTF-8", XML_PARSE_NONET);
    xmlSetStructuredErrorFunc(NULL, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert_int_eq(xml_errors, 0);
    char expr[128];
    snprintf(expr, sizeof(expr), "count(/h:html[@lang='%s'])", lang);
    ck_assert_double_eq(xpath_num(doc, expr), 1);
    ck_assert_double_eq(xpath_num(doc, "count(//h:section[@class='patient'])"), NX);
    /* the overview: a header row and one row per patient, linking to its section */
    ck_assert_double_eq(xpath_num(doc, "count(//h:table[@class='overview']/h:tr)"), NX + 1);
    ck_assert_double_eq(xpath_num(doc, "count(//h:table[@class='overview']//h:a[substring(@href,2) = "
                                       "//h:section/@id])"),
                        NX);
    /* per patient: one posterior chart and one contribution chart per target */
    ck_assert_double_eq(xpath_num(doc, "count(//s:svg[@class='posterior'])"), NX);
    ck_assert_double_eq(xpath_num(doc, "count(//s:svg[@class='contributions'])"), NX * NT);
    /* a bar and a credible-interval line per target */
    ck_assert_double_eq(xpath_num(doc, "count(//s:svg[@class='posterior']//s:rect[@class='bar'])"), NX * NT);
    ck_assert_double_eq(xpath_num(doc, "count(//s:svg[@class='posterior']//s:line[@class='ci'])"), NX * NT);
    /* bar widths are the probabilities */
    snprintf(expr, sizeof(expr), "number((//s:svg[@class='posterior'])[1]//s:rect[@class='bar'][1]/@width)");
    ck_assert_double_eq_tol(xpath_num(doc, expr), 380 * mmdx_pred_prob(fx.pred[0][0], 1), 0.06);
    ck_assert_double_eq(xpath_num(doc, "count(//h:p[@class='disclaimer'])"), 2);
    ck_assert(xpath_num(doc, "count(//h:table[@class='suggestions'])") >= 1);
    ck_assert_double_eq(xpath_num(doc, "count(//h:ol[@class='next-test'])"), NX);
    /* the escaped id comes back intact */
    ck_assert_double_eq(xpath_num(doc, "count(//h:h2[contains(.,'P<2>&\"x\"')])"), 1);
    xmlFreeDoc(doc);
    free(s);
}

START_TEST(test_html_en)
{
    mmdx_writer_options_t opt;
    mmdx_writer_options_init(&opt);
    opt.terms = fx.terms;
    const char *path = write_all(MMDX_WRITER_HTML, "report.html", &opt, 1);
    check_html(path, "en");
    char *s = slurp(path, NULL);
    ck_assert_ptr_nonnull(strstr(s, "not a diagnosis"));
    ck_assert_ptr_nonnull(strstr(s, "Posterior probabilities"));
    ck_assert_ptr_nonnull(strstr(s, "credible interval"));
    ck_assert_ptr_nonnull(strstr(s, "Glucose [Mass/volume]")); /* display names through terms */
    ck_assert_ptr_null(strstr(s, "<script"));
    ck_assert_ptr_null(strstr(s, "http://") == NULL ? NULL : strstr(s, "src=\"http"));
    free(s);
}
END_TEST

START_TEST(test_html_ko)
{
    mmdx_writer_options_t opt;
    mmdx_writer_options_init(&opt);
    opt.terms = fx.terms;
    opt.lang = "ko";
    const char *path = write_all(MMDX_WRITER_HTML, "report-ko.html", &opt, 1);
    check_html(path, "ko");
    char *s = slurp(path, NULL);
    ck_assert_ptr_nonnull(strstr(s, "진단이 아닙니다"));
    ck_assert_ptr_nonnull(strstr(s, "사후 확률"));
    ck_assert_ptr_nonnull(strstr(s, "치료 제안"));
    ck_assert_ptr_nonnull(strstr(s, "포도당")); /* Korean lab name from the term dictionary */
    ck_assert_ptr_null(strstr(s, "Posterior probabilities"));
    free(s);
}
END_TEST

START_TEST(test_html_without_kb)
{
    mmdx_writer_options_t opt;
    mmdx_writer_options_init(&opt);
    char *s = slurp(write_all(MMDX_WRITER_HTML, "nokb.html", &opt, 0), NULL);
    ck_assert_ptr_nonnull(strstr(s, "No knowledge base was given"));
    ck_assert_ptr_nonnull(strstr(s, "lab:loinc:2345-7")); /* ids when no terms are given */
    free(s);
}
END_TEST

/* ------------------------------------------------------------------ files */

START_TEST(test_rerun_identical)
{
    static const mmdx_writer_format_t formats[] = {MMDX_WRITER_TSV, MMDX_WRITER_JSONL, MMDX_WRITER_FHIR,
                                                   MMDX_WRITER_HTML};
    for (size_t k = 0; k < 4; k++) {
        mmdx_writer_options_t opt;
        size_t l1, l2;
        mmdx_writer_options_init(&opt);
        opt.terms = fx.terms;
        char *a = slurp(write_all(formats[k], "a.out", &opt, 1), &l1);
        char *b = slurp(write_all(formats[k], "b.out", &opt, 1), &l2);
        ck_assert_uint_eq(l1, l2);
        ck_assert_msg(memcmp(a, b, l1) == 0, "%s differs on rerun", mmdx_writer_format_name(formats[k]));
        ck_assert_uint_gt(l1, 100);
        free(a);
        free(b);
    }
}
END_TEST

/* Entries of fx.dir (to see that nothing was left behind). */
static int n_entries(void)
{
    DIR *d = opendir(fx.dir);
    struct dirent *e;
    int n = 0;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

START_TEST(test_unwritable_fails_first)
{
    mmdx_writer_t *w = (mmdx_writer_t *)&w;
    mmdx_error_t err = {0};
    char path[512];
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_writer_open(MMDX_WRITER_HTML, "/nonexistent-mmdx-dir/sub/report.html", NULL, &w, &err),
                     MMDX_EIO);
    ck_assert_ptr_null(w);
    ck_assert_ptr_nonnull(strstr(err.message, "nonexistent-mmdx-dir"));
    /* a path through a regular file (not writable for root either) */
    snprintf(path, sizeof(path), "%s/plain", fx.dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/plain/out.tsv", fx.dir);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_writer_open(MMDX_WRITER_TSV, path, NULL, &w, &err), MMDX_EIO);
    /* a good output with a bad advice path: neither file is created */
    mmdx_writer_options_t opt;
    mmdx_writer_options_init(&opt);
    opt.advice_path = "/nonexistent-mmdx-dir/advice.tsv";
    snprintf(path, sizeof(path), "%s/out.tsv", fx.dir);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_writer_open(MMDX_WRITER_TSV, path, &opt, &w, &err), MMDX_EIO);
    ck_assert_int_eq(n_entries(), 1);
    /* unknown language and format */
    mmdx_writer_options_init(&opt);
    opt.lang = "fr";
    ck_assert_int_eq(mmdx_writer_open(MMDX_WRITER_HTML, path, &opt, &w, &err), MMDX_EINVAL);
    mmdx_writer_options_init(&opt);
    static const char *const bad_times[] = {"yesterday", "2026-01-02", "2026-01-02T03:04:05", "2026-01-02T03:04:05+9",
                                            "2026-01-02T03:04:05.Z"};
    for (size_t k = 0; k < sizeof(bad_times) / sizeof(bad_times[0]); k++) {
        opt.timestamp = bad_times[k];
        ck_assert_msg(mmdx_writer_open(MMDX_WRITER_FHIR, path, &opt, &w, &err) == MMDX_EINVAL, "%s", bad_times[k]);
    }
    opt.timestamp = "2026-01-02T03:04:05.25+09:00";
    ck_assert_int_eq(mmdx_writer_check(MMDX_WRITER_FHIR, path, &opt, &err), MMDX_OK);
    ck_assert_int_eq(mmdx_writer_check(MMDX_WRITER_FHIR, "/nonexistent-mmdx-dir/x.xml", &opt, &err), MMDX_EIO);
    ck_assert_int_eq(n_entries(), 1);
    ck_assert_int_eq(mmdx_writer_open(MMDX_WRITER_FHIR, path, &opt, &w, &err), MMDX_OK);
    mmdx_writer_abort(w);
    mmdx_writer_format_t fmt;
    ck_assert_int_eq(mmdx_writer_format_parse("pdf", &fmt), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_writer_format_parse("fhir", &fmt), MMDX_OK);
    ck_assert_int_eq(fmt, MMDX_WRITER_FHIR);
    ck_assert_int_eq(n_entries(), 1);
}
END_TEST

START_TEST(test_nothing_half_written)
{
    char path[512];
    mmdx_writer_t *w;
    mmdx_error_t err = {0};
    mmdx_writer_patient_t p = {"P-001", (const mmdx_pred_t *const *)fx.pred[0], NT, fx.advice[0], NULL, 0, NULL, 0};
    snprintf(path, sizeof(path), "%s/old.xml", fx.dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("old\n", f);
    fclose(f);
    for (int format = 0; format < 4; format++) {
        /* abort after a patient: the old file is untouched, no temporary left */
        mmdx_error_clear(&err);
        ck_assert_int_eq(mmdx_writer_open((mmdx_writer_format_t)format, path, NULL, &w, &err), MMDX_OK);
        ck_assert_int_eq(mmdx_writer_write(w, &p, &err), MMDX_OK);
        mmdx_writer_abort(w);
        char *s = slurp(path, NULL);
        ck_assert_str_eq(s, "old\n");
        free(s);
        ck_assert_int_eq(n_entries(), 1);
    }
    /* a prediction of another patient is refused */
    mmdx_writer_patient_t bad = p;
    bad.patient_id = "P.003";
    ck_assert_int_eq(mmdx_writer_open(MMDX_WRITER_JSONL, path, NULL, &w, &err), MMDX_OK);
    mmdx_error_clear(&err);
    ck_assert_int_eq(mmdx_writer_write(w, &bad, &err), MMDX_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "another patient"));
    mmdx_writer_abort(w);
    /* TSV: a prediction whose modalities differ from the header fails the writer; close
     * then refuses to commit */
    mmdx_writer_options_t opt;
    static const char *const mods[] = {"lab", "img:ct"};
    mmdx_writer_options_init(&opt);
    opt.modalities = mods;
    opt.n_modalities = 2;
    ck_assert_int_eq(mmdx_writer_open(MMDX_WRITER_TSV, path, &opt, &w, &err), MMDX_OK);
    mmdx_error_clear(&err);
    p.advice = NULL;
    ck_assert_int_eq(mmdx_writer_write(w, &p, &err), MMDX_ESPACE);
    ck_assert_int_eq(mmdx_writer_write(w, &p, &err), MMDX_ESTATE);
    ck_assert_int_eq(mmdx_writer_close(w, &err), MMDX_ESTATE);
    char *s = slurp(path, NULL);
    ck_assert_str_eq(s, "old\n");
    free(s);
    ck_assert_int_eq(n_entries(), 1);
}
END_TEST

START_TEST(test_empty_batch)
{
    static const char *const mods[] = {"lab", "img:retina"};
    mmdx_writer_options_t opt;
    mmdx_writer_t *w;
    mmdx_error_t err = {0};
    char path[512];
    for (int format = 0; format < 4; format++) {
        mmdx_writer_options_init(&opt);
        if (format == MMDX_WRITER_TSV) {
            opt.modalities = mods;
            opt.n_modalities = 2;
        }
        snprintf(path, sizeof(path), "%s/empty.%d", fx.dir, format);
        ck_assert_int_eq(mmdx_writer_open((mmdx_writer_format_t)format, path, &opt, &w, &err), MMDX_OK);
        ck_assert_int_eq(mmdx_writer_close(w, &err), MMDX_OK);
        size_t len;
        char *s = slurp(path, &len);
        if (format == MMDX_WRITER_TSV)
            ck_assert_str_eq(s, "patient_id\ttarget\tclass\tprobability\tci_low\tci_high\tevidence:lab\t"
                                "evidence:img:retina\tmissing_modalities\tmissing_features\ttop_features\t"
                                "ood_pvalue\tflags\n");
        else if (format == MMDX_WRITER_JSONL)
            ck_assert_uint_eq(len, 0);
        else {
            xmlDocPtr doc = xmlReadMemory(s, (int)len, path, "UTF-8", XML_PARSE_NONET);
            ck_assert_ptr_nonnull(doc);
            if (format == MMDX_WRITER_FHIR)
                ck_assert_int_eq(rng_validate(doc), 0);
            xmlFreeDoc(doc);
        }
        free(s);
    }
}
END_TEST

/* Allocation N fails (SQLite-style): every format either completes or reports the
 * failure, and a failed run leaves nothing behind. */
static long alloc_countdown = -1;
static void *failing_malloc(size_t n)
{
    if (alloc_countdown == 0)
        return NULL;
    if (alloc_countdown > 0)
        alloc_countdown--;
    return malloc(n);
}
static void *failing_realloc(void *p, size_t n)
{
    if (alloc_countdown == 0)
        return NULL;
    if (alloc_countdown > 0)
        alloc_countdown--;
    return realloc(p, n);
}

START_TEST(test_allocation_failures)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/oom.out", fx.dir);
    for (int format = 0; format < 4; format++) {
        int done = 0, failures = 0;
        for (long n = 0; !done && n < 100000; n++) {
            mmdx_writer_options_t opt;
            mmdx_writer_t *w = NULL;
            mmdx_error_t err = {0};
            int rc;
            mmdx_writer_options_init(&opt);
            opt.terms = fx.terms;
            mmdx_error_clear(&err);
            alloc_countdown = n;
            mmdx_set_allocator(failing_malloc, failing_realloc, free);
            rc = mmdx_writer_open((mmdx_writer_format_t)format, path, &opt, &w, &err);
            for (size_t i = 0; rc == MMDX_OK && i < NX; i++) {
                mmdx_writer_patient_t p = {mmdx_cohort_id(fx.test, i), (const mmdx_pred_t *const *)fx.pred[i], NT,
                                           fx.advice[i], NULL, 0, NULL, 0};
                rc = mmdx_writer_write(w, &p, &err);
            }
            if (rc == MMDX_OK)
                rc = mmdx_writer_close(w, &err);
            else
                mmdx_writer_abort(w);
            mmdx_set_allocator(NULL, NULL, NULL);
            if (rc == MMDX_OK) {
                done = 1;
                ck_assert_int_eq(access(path, F_OK), 0);
                unlink(path);
            } else {
                failures++;
                ck_assert_msg(rc == MMDX_ENOMEM || rc == MMDX_ESTATE, "%s, allocation %ld: %s (%s)",
                              mmdx_writer_format_name((mmdx_writer_format_t)format), n, mmdx_strerror(rc), err.message);
                ck_assert_int_eq(access(path, F_OK), -1);
            }
            ck_assert_int_eq(n_entries(), 0);
        }
        ck_assert_msg(done, "%s never completed", mmdx_writer_format_name((mmdx_writer_format_t)format));
        ck_assert_int_gt(failures, 0);
    }
}
END_TEST

static Suite *writer_suite(void)
{
    Suite *s = suite_create("writer");
    TCase *tc = tcase_create("formats");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_tsv_columns);
    tcase_add_test(tc, test_tsv_missing_modality_and_advice_file);
    tcase_add_test(tc, test_tsv_advice_columns);
    tcase_add_test(tc, test_jsonl_fields);
    tcase_add_test(tc, test_fhir_structure);
    tcase_add_test(tc, test_html_en);
    tcase_add_test(tc, test_html_ko);
    tcase_add_test(tc, test_html_without_kb);
    tcase_add_test(tc, test_rerun_identical);
    tcase_add_test(tc, test_unwritable_fails_first);
    tcase_add_test(tc, test_nothing_half_written);
    tcase_add_test(tc, test_empty_batch);
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(writer_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
