/* Test helper for tests/e2e/decision_suggest.sh: fit a fusion model on a cohort file and
 * save it (what `mmdx train --cohort` does, kept here so the decision e2e test does not
 * depend on another room's command). Usage: decision_fit COHORT.h5 MODEL.h5 */
#include <stdio.h>

#include <mmdx/mmdx.h>

int main(int argc, char **argv)
{
    mmdx_error_t err;
    mmdx_cohort_t *c = NULL;
    mmdx_model_t *m = NULL;
    char buf[1024];
    int rc;
    if (argc != 3) {
        fprintf(stderr, "usage: decision_fit COHORT.h5 MODEL.h5\n");
        return 2;
    }
    mmdx_error_clear(&err);
    if ((rc = mmdx_cohort_load(NULL, argv[1], &c, &err)) == MMDX_OK &&
        (rc = mmdx_model_alloc(NULL, mmdx_cohort_space(c), NULL, &m, &err)) == MMDX_OK &&
        (rc = mmdx_model_fit(m, c, &err)) == MMDX_OK)
        rc = mmdx_model_save(m, argv[2], &err);
    if (rc != MMDX_OK) {
        mmdx_error_format(&err, buf, sizeof buf);
        fprintf(stderr, "decision_fit: %s\n", buf);
    }
    mmdx_model_free(m);
    mmdx_cohort_free(c);
    return rc == MMDX_OK ? 0 : 2;
}
