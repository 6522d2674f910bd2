/* Train a fusion model on a labelled cohort file and diagnose the patients of another:
 * the library without the driver. Usage: train_diagnose TRAIN.h5 TEST.h5
 * (cohort files from `mmdx ingest --labels`). */
#include <stdio.h>
#include <mmdx/mmdx.h>

static int fail(const mmdx_error_t *err)
{
    char buf[1024];
    mmdx_error_format(err, buf, sizeof(buf));
    fprintf(stderr, "train_diagnose: %s\n", buf);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: train_diagnose TRAIN.h5 TEST.h5\n");
        return 2;
    }
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_cohort_t *train = NULL, *test = NULL;
    mmdx_model_t *model = NULL;
    mmdx_error_t err;
    mmdx_error_clear(&err);
    if (!ctx || mmdx_cohort_load(ctx, argv[1], &train, &err) != MMDX_OK ||
        mmdx_cohort_load(ctx, argv[2], &test, &err) != MMDX_OK)
        return fail(&err);
    /* default priors; every target of the training labels is modelled */
    if (mmdx_model_alloc(ctx, mmdx_cohort_space(train), NULL, &model, &err) != MMDX_OK ||
        mmdx_model_fit(model, train, &err) != 0)
        return fail(&err);
    mmdx_pred_t *pred = mmdx_pred_alloc();
    const mmdx_space_t *space = mmdx_model_space(model);
    for (size_t i = 0; i < mmdx_cohort_n_patients(test) && i < 5; i++) {
        for (size_t t = 0; t < mmdx_space_n_targets(space); t++) {
            if (mmdx_model_predict(model, test, i, t, pred, &err) != MMDX_OK)
                return fail(&err);
            size_t k = mmdx_pred_best_class(pred);
            double lo, hi;
            mmdx_pred_interval(pred, k, &lo, &hi);
            printf("%s %s=%s p=%.3f [%.3f, %.3f]", mmdx_pred_patient(pred), mmdx_pred_target_name(pred),
                   mmdx_pred_class_name(pred, k), mmdx_pred_prob(pred, k), lo, hi);
            for (size_t m = 0; m < mmdx_pred_n_modalities(pred); m++)
                printf(" %s:%+.2f", mmdx_pred_modality(pred, m), mmdx_pred_evidence(pred, k, m));
            printf("%s\n", mmdx_pred_flags(pred) & MMDX_PRED_OOD ? " (unusual patient)" : "");
        }
    }
    mmdx_pred_free(pred);
    mmdx_model_free(model);
    mmdx_cohort_free(test);
    mmdx_cohort_free(train);
    mmdx_ctx_free(ctx);
    return 0;
}
