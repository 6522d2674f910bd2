/* mmdx_collect_file(): one input through its adapter into the collector. Kept apart from
 * collect.c so a program using only the collector does not pull in the plugin host. */
#include <string.h>

#include "collect_internal.h"
#include "mmdx/ctx.h"
#include "mmdx/source.h"

int mmdx_collect_file(mmdx_collect_t *col, const char *modality, const char *path, const char *const *options,
                      mmdx_error_t *err)
{
    mmdx_error_t local = {0};
    mmdx_source_t *src = NULL;
    int rc, rrc;
    if (col == NULL || path == NULL)
        return mmdx_error_set(err, MMDX_EINVAL, path, NULL, 0, "mmdx_collect_file: NULL argument");
    rc = mmdx_source_open(mmdx_collect_ctx(col), modality, path, options, &src, &local);
    if (rc != MMDX_OK) {
        if (local.code == MMDX_OK)
            mmdx_error_set(&local, rc, path, NULL, 0, "cannot open: %s", mmdx_strerror(rc));
        if (err && err->code == MMDX_OK)
            *err = local;
        mmdx_ctx_set_error(mmdx_collect_ctx(col), &local);
        return rc;
    }
    /* stage what the source sends: a source that fails half-way must not leave half
     * its observations behind, but the patients it named must not be lost either */
    mmdx_collect_stage_begin(col);
    rc = mmdx_source_read(src, mmdx_collect_sink(col), &local);
    mmdx_source_close(src);
    if (rc == MMDX_OK) {
        mmdx_collect_stage_commit(col);
        return MMDX_OK;
    }
    if (local.code == MMDX_OK) {
        const mmdx_error_t *se = mmdx_collect_sink_error(col);
        if (se->code != MMDX_OK)
            local = *se;
        else
            mmdx_error_set(&local, rc, path, NULL, 0, "read failed: %s", mmdx_strerror(rc));
    }
    if (local.file[0] == '\0')
        snprintf(local.file, sizeof local.file, "%s", path);
    rrc = mmdx_collect_stage_rollback(col, path, rc, local.message);
    if (rrc != MMDX_OK) {
        /* a patient of the failed file could not be listed: that loss must not pass silently */
        char reason[sizeof local.message];
        snprintf(reason, sizeof reason, "%s", local.message);
        mmdx_error_clear(&local);
        mmdx_error_set(&local, rrc, path, NULL, 0, "out of memory listing the patients of a failed input (%s)",
                       reason);
        rc = rrc;
    }
    if (err && err->code == MMDX_OK)
        *err = local;
    mmdx_ctx_set_error(mmdx_collect_ctx(col), &local);
    return rc;
}
