/* EHR batch job: score every patient of a FHIR R4 bulk file of lab results with a trained
 * model and write one FHIR Bundle of RiskAssessments (one per patient and target).
 * Usage: ehr_batch MODEL.h5 LABS.xml OUT.xml     (MODEL.h5 from `mmdx train`)
 * Exit 0 when all records were used, 1 when some were rejected (listed on stderr), 2 on error.
 * Decision support, not a diagnosis: the output says so too. */
#include <stdio.h>
#include <mmdx/mmdx.h>

static int fail(const char *what, const mmdx_error_t *err)
{
    char buf[1024];
    mmdx_error_format(err, buf, sizeof buf);
    fprintf(stderr, "ehr_batch: %s: %s\n", what, buf);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: ehr_batch MODEL.h5 LABS.xml OUT.xml\n");
        return 2;
    }
    mmdx_error_t err = {0};
    mmdx_ctx_t *ctx = mmdx_ctx_alloc(); /* built-in modalities; data dir from $MMDX_DATA_DIR */
    mmdx_model_t *model = NULL;
    if (!ctx || mmdx_model_load(ctx, argv[1], &model, &err) != MMDX_OK)
        return fail(argv[1], &err);
    /* Read the labs into the model's own feature space, frozen: a code the model was not
     * trained on is counted and ignored instead of growing the space. */
    mmdx_space_t *space = mmdx_space_clone(mmdx_model_space(model));
    mmdx_collect_t *col = mmdx_collect_alloc(ctx, space, MMDX_AGG_LATEST);
    mmdx_cohort_t *cohort = NULL;
    if (!col)
        return 2;
    mmdx_collect_set_frozen(col, 1);
    if (mmdx_collect_file(col, "labs", argv[2], NULL, &err) != MMDX_OK ||
        mmdx_collect_to_cohort(col, &cohort, &err) != MMDX_OK)
        return fail(argv[2], &err);
    /* The writer keeps everything in a temporary file until close succeeds. */
    mmdx_writer_options_t opt;
    mmdx_writer_options_init(&opt);
    opt.title = "ehr-batch"; /* Bundle.identifier; no timestamp, so re-runs are byte-identical */
    mmdx_writer_t *w = NULL;
    if (mmdx_writer_open(MMDX_WRITER_FHIR, argv[3], &opt, &w, &err) != MMDX_OK)
        return fail(argv[3], &err);
    size_t T = mmdx_space_n_targets(mmdx_model_space(model));
    mmdx_pred_t *preds[16] = {NULL}; /* one per target, reused for every patient */
    if (T > 16) {
        fprintf(stderr, "ehr_batch: the model has %zu targets; this example handles 16\n", T);
        return mmdx_writer_abort(w), 2;
    }
    for (size_t t = 0; t < T; t++)
        preds[t] = mmdx_pred_alloc();
    for (size_t i = 0; i < mmdx_cohort_n_patients(cohort); i++) {
        for (size_t t = 0; t < T; t++)
            if (mmdx_model_predict(model, cohort, i, t, preds[t], &err) != MMDX_OK)
                return mmdx_writer_abort(w), fail("predict", &err);
        mmdx_writer_patient_t p = {mmdx_cohort_id(cohort, i), (const mmdx_pred_t *const *)preds, T, NULL, NULL, 0, NULL, 0};
        if (mmdx_writer_write(w, &p, &err) != MMDX_OK)
            return mmdx_writer_abort(w), fail("write", &err);
    }
    if (mmdx_writer_close(w, &err) != MMDX_OK)
        return fail(argv[3], &err);
    /* Every patient is in the output or named here with the reason. */
    size_t n_rej = mmdx_collect_n_rejects(col);
    for (size_t k = 0; k < n_rej; k++) {
        const char *pat, *file, *reason;
        long rec;
        int code;
        if (mmdx_collect_reject(col, k, &pat, &file, &rec, &code, &reason) == MMDX_OK)
            fprintf(stderr, "ehr_batch: rejected: %s record %ld (patient %s): %s\n", file, rec, pat, reason);
    }
    printf("ehr_batch: %zu patients, %zu targets -> %s (%zu records rejected)\n",
           mmdx_cohort_n_patients(cohort), T, argv[3], n_rej);
    for (size_t t = 0; t < 16; t++)
        mmdx_pred_free(preds[t]);
    mmdx_cohort_free(cohort);
    mmdx_collect_free(col);
    mmdx_space_free(space);
    mmdx_model_free(model);
    mmdx_ctx_free(ctx);
    return n_rej ? 1 : 0;
}
