/* Three sites train one model without sharing patients: exact federated training with
 * mmdx_model_accumulate / mmdx_model_merge / mmdx_model_step. The sites are simulated by
 * cutting one labelled cohort into thirds; only model files (sums: counts, moments,
 * gradients, Hessians) travel between them. The result is compared with the model fitted
 * on the pooled cohort, which federated training must reproduce.
 * Usage: three_sites COHORT.h5 DIR   (COHORT.h5 from `mmdx ingest --labels`; DIR for the
 * exchanged files; DIR/federated.h5 is the final model, usable with `mmdx diagnose`). */
#include <math.h>
#include <stdio.h>
#include <mmdx/mmdx.h>

#define CHECK(call) do { if ((call) < 0) { char msg_[1024]; mmdx_error_format(&err, msg_, sizeof msg_); \
    fprintf(stderr, "three_sites: %s\n", msg_); return 2; } } while (0)

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: three_sites COHORT.h5 DIR\n");
        return 2;
    }
    mmdx_error_t err = {0};
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_cohort_t *all = NULL, *site[3];
    mmdx_model_t *coord = NULL, *pooled = NULL;
    char state[4096], agg[4096];
    snprintf(state, sizeof state, "%s/federated.h5", argv[2]);
    CHECK(mmdx_cohort_load(ctx, argv[1], &all, &err));
    size_t n = mmdx_cohort_n_patients(all), third = n / 3;
    for (int s = 0; s < 3; s++) /* site s holds its own patients only */
        site[s] = mmdx_cohort_slice(all, s * third, s < 2 ? third : n - 2 * third);
    /* The coordinator writes the starting state: space, targets, options; no patients. */
    CHECK(mmdx_model_alloc(ctx, mmdx_cohort_space(all), NULL, &coord, &err));
    int more = 1;
    while (more == 1) {
        CHECK(mmdx_model_save(coord, state, &err)); /* sent to every site */
        mmdx_model_free(coord);
        coord = NULL;
        for (int s = 0; s < 3; s++) {
            mmdx_model_t *m = NULL; /* at site s: load the state, add local patients, send back */
            CHECK(mmdx_model_load(ctx, state, &m, &err));
            mmdx_model_clear_aggregates(m);
            CHECK(mmdx_model_accumulate(m, site[s], &err));
            snprintf(agg, sizeof agg, "%s/site%d.h5", argv[2], s + 1);
            CHECK(mmdx_model_save(m, agg, &err));
            mmdx_model_free(m);
            CHECK(mmdx_model_load(ctx, agg, &m, &err)); /* at the coordinator: sum them */
            if (!coord)
                coord = m;
            else {
                CHECK(mmdx_model_merge(coord, m, &err));
                mmdx_model_free(m);
            }
        }
        CHECK(more = mmdx_model_step(coord, &err)); /* 1: another round, 0: fitted */
    }
    CHECK(mmdx_model_save(coord, state, &err));
    printf("three_sites: %zu + %zu + %zu patients, %u passes -> %s\n", mmdx_cohort_n_patients(site[0]),
           mmdx_cohort_n_patients(site[1]), mmdx_cohort_n_patients(site[2]), mmdx_model_pass(coord), state);
    /* The same model fitted on the pooled data: the probabilities must agree. */
    CHECK(mmdx_model_alloc(ctx, mmdx_cohort_space(all), NULL, &pooled, &err));
    CHECK(mmdx_model_fit(pooled, all, &err));
    mmdx_pred_t *a = mmdx_pred_alloc(), *b = mmdx_pred_alloc();
    for (size_t t = 0; t < mmdx_space_n_targets(mmdx_model_space(coord)); t++) {
        double maxdiff = 0;
        for (size_t i = 0; i < n; i++) {
            CHECK(mmdx_model_predict(coord, all, i, t, a, &err));
            CHECK(mmdx_model_predict(pooled, all, i, t, b, &err));
            maxdiff = fmax(maxdiff, fabs(mmdx_pred_prob(a, 1) - mmdx_pred_prob(b, 1)));
        }
        printf("target %s: max |p(federated) - p(pooled)| = %.2e\n", mmdx_pred_target_name(a), maxdiff);
    }
    mmdx_pred_free(a);
    mmdx_pred_free(b);
    for (int s = 0; s < 3; s++)
        mmdx_cohort_free(site[s]);
    mmdx_cohort_free(all);
    mmdx_model_free(coord);
    mmdx_model_free(pooled);
    mmdx_ctx_free(ctx);
    return 0;
}
