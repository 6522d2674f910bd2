/* The next best test: missing modalities and lab codes ranked by the expected drop in
 * posterior entropy, with the expectation supplied by the fusion model's callback. */
#include <math.h>
#include <string.h>

#include "decision_internal.h"

static int is_feature_id(const char *s)
{
    const char *a = strchr(s, ':');
    return a && strchr(a + 1, ':') != NULL;
}

static int is_missing(const mmdx_case_t *c, const char *cand)
{
    if (is_feature_id(cand)) {
        mmdx_fact_t fact = {0};
        return !(c->fact && c->fact(c->fact_user, cand, &fact) == 1);
    }
    return !(c->modality && c->modality(c->modality_user, cand) == 1);
}

int mmdx_next_best_test(const mmdx_case_t *patient, const char *const *candidates, size_t n_candidates,
                        mmdx_entropy_fn fn, void *user, mmdx_advice_t *advice, mmdx_error_t *err)
{
    mmdx_test_gain_t *tests;
    size_t n = 0;
    double h0;
    int rc;
    if (patient == NULL || fn == NULL || advice == NULL || (n_candidates && candidates == NULL))
        return mmdx_error_set(err, MMDX_EINVAL, "", "", 0, "NULL argument");
    if ((rc = decision_check_case(patient, err)) != MMDX_OK)
        return rc;
    tests = mmdx_calloc(n_candidates ? n_candidates : 1, sizeof *tests);
    if (tests == NULL)
        return mmdx_error_set(err, MMDX_ENOMEM, "", "", 0, "out of memory");
    h0 = mmdx_case_entropy(patient);
    for (size_t i = 0; i < n_candidates; i++) {
        const char *cand = candidates[i];
        double after = NAN;
        if (cand == NULL || !*cand) {
            rc = mmdx_error_set(err, MMDX_EINVAL, "", "", (long)i + 1, "candidate %zu is empty", i);
            goto fail;
        }
        if (!is_missing(patient, cand))
            continue;
        for (size_t k = 0; k < n; k++)
            if (strcmp(tests[k].candidate, cand) == 0)
                goto next;
        if ((rc = fn(user, patient, cand, &after)) != MMDX_OK) {
            mmdx_error_set(err, rc, "", cand, 0, "expected entropy of candidate '%s' failed", cand);
            goto fail;
        }
        if (!isfinite(after) || after < 0) {
            rc = mmdx_error_set(err, MMDX_ENUMERIC, "", cand, 0,
                                "expected entropy of candidate '%s' is %g, not a finite entropy", cand, after);
            goto fail;
        }
        /* expected to tell nothing (the model's callback gives a gain of at least zero; a
         * gain at or below zero is nothing to learn): not a test worth ordering */
        if (!(h0 - after > 0))
            continue;
        tests[n].candidate = mmdx_strdup(cand);
        if (tests[n].candidate == NULL) {
            rc = mmdx_error_set(err, MMDX_ENOMEM, "", "", 0, "out of memory");
            goto fail;
        }
        tests[n].entropy_after = after;
        tests[n].gain = h0 - after;
        n++;
    next:;
    }
    /* insertion sort by gain, stable so the caller's order breaks ties */
    for (size_t i = 1; i < n; i++) {
        mmdx_test_gain_t x = tests[i];
        size_t j = i;
        while (j > 0 && x.gain > tests[j - 1].gain) {
            tests[j] = tests[j - 1];
            j--;
        }
        tests[j] = x;
    }
    for (size_t i = 0; i < advice->n_tests; i++)
        mmdx_free(advice->tests[i].candidate);
    mmdx_free(advice->tests);
    advice->tests = tests;
    advice->n_tests = n;
    advice->entropy = h0;
    return MMDX_OK;
fail:
    for (size_t k = 0; k < n; k++)
        mmdx_free(tests[k].candidate);
    mmdx_free(tests);
    return rc;
}
