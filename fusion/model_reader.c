/* Training from a cohort file in chunks: one pass over the file per training pass, so
 * memory does not grow with the number of patients. (Its own file: programs that never
 * train from files do not link the cohort file reader.) */
#include "mmdx/model.h"

int mmdx_model_fit_reader(mmdx_model_t *m, mmdx_cohort_reader_t *reader, size_t chunk_rows, mmdx_error_t *err)
{
    if (!m || !reader || chunk_rows == 0) {
        return mmdx_error_set(err, MMDX_EINVAL, "", "", 0, "no model, no reader or zero chunk size");
    }
    int rc;
    do {
        rc = mmdx_cohort_reader_rewind(reader);
        if (rc != MMDX_OK) {
            return mmdx_error_set(err, rc, "", "", 0, "cannot rewind the cohort file");
        }
        mmdx_cohort_t *chunk = NULL;
        while ((rc = mmdx_cohort_reader_next(reader, chunk_rows, &chunk, err)) == 1) {
            rc = mmdx_model_accumulate(m, chunk, err);
            mmdx_cohort_free(chunk);
            chunk = NULL;
            if (rc != MMDX_OK) {
                return rc;
            }
        }
        if (rc < 0) {
            return rc;
        }
        rc = mmdx_model_step(m, err);
    } while (rc == 1);
    return rc;
}
