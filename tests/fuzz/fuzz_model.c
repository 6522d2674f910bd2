/* Fuzz the model-file loader (HDF5, docs/fusion.md) and, when a model loads and is
 * fitted, predict every target for two patients (all missing; every feature 1.0), which
 * checks that a loaded model is self-consistent enough to be used. */
#include "fuzz_common.h"

#include <math.h>

static void predict_all(const mmdx_model_t *m)
{
    const mmdx_space_t *space = mmdx_model_space(m);
    mmdx_cohort_t *c = space ? mmdx_cohort_alloc(space, 2) : NULL;
    if (!c)
        return;
    if (mmdx_cohort_set_id(c, 0, "missing") != MMDX_OK || mmdx_cohort_set_id(c, 1, "ones") != MMDX_OK) {
        mmdx_cohort_free(c);
        return;
    }
    for (size_t j = 0; j < mmdx_cohort_n_features(c); j++) {
        mmdx_cohort_set_missing(c, 0, j);
        mmdx_cohort_set(c, 1, j, 1.0, 0);
    }
    mmdx_pred_t *p = mmdx_pred_alloc();
    for (size_t t = 0; p && t < mmdx_space_n_targets(space); t++)
        for (size_t i = 0; i < 2; i++) {
            mmdx_error_t err;
            mmdx_error_clear(&err);
            if (mmdx_model_predict(m, c, i, t, p, &err) != MMDX_OK)
                continue;
            for (size_t k = 0; k < mmdx_pred_n_classes(p); k++)
                if (!isfinite(mmdx_pred_prob(p, k)))
                    __builtin_trap(); /* never NaN in a report */
        }
    mmdx_pred_free(p);
    mmdx_cohort_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mmdx_model_t *m = NULL;
    mmdx_error_t err;
    mmdx_error_clear(&err);
    /* an HDF5 file image (HDF5's core driver), nothing on disk */
    if (mmdx_model_load_memory(fuzz_ctx(), data, size, "fuzz-model.h5", &m, &err) == MMDX_OK &&
        mmdx_model_is_fitted(m))
        predict_all(m);
    mmdx_model_free(m);
    mmdx_ctx_clear_error(fuzz_ctx());
    return 0;
}
