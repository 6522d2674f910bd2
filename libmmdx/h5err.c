/* HDF5 keeps a stack of errors from the API call down to the failing routine; the
 * innermost description usually names the real cause ("file signature not found",
 * "bad object header"), the outermost the call that failed. */
#include <stdio.h>
#include <string.h>

#include <hdf5.h>

#include "h5err.h"

typedef struct walk {
    char outer[128];
    char inner[256];
} walk_t;

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    walk_t *w = data;
    if (n == 0)
        snprintf(w->outer, sizeof w->outer, "%s", e->func_name ? e->func_name : "");
    snprintf(w->inner, sizeof w->inner, "%s", e->desc ? e->desc : "");
    return 0;
}

int mmdx_h5err_report(mmdx_error_t *err, int code, const char *file, const char *object, const char *what)
{
    walk_t w;
    memset(&w, 0, sizeof w);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, &w);
    H5Eclear2(H5E_DEFAULT);
    if (w.inner[0])
        return mmdx_error_set(err, code, file, object, 0, "%s: %s (HDF5 %s)", what, w.inner, w.outer);
    return mmdx_error_set(err, code, file, object, 0, "%s", what);
}

hid_t mmdx_h5err_keep(void)
{
    return H5Eget_current_stack();
}

void mmdx_h5err_restore(hid_t kept)
{
    if (kept >= 0)
        H5Eset_current_stack(kept); /* also closes the kept copy */
}
