/* HDF5 error containment: silence automatic printing, translate the error stack. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <hdf5.h>
#include "hdf5_errstack.h"

void mmdx_hdf5_silence(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

typedef struct {
    char *buf;
    size_t size, len;
    unsigned count;
} walk_t;

static void append(walk_t *w, const char *s)
{
    if (w->len + 1 >= w->size)
        return;
    int k = snprintf(w->buf + w->len, w->size - w->len, "%s", s);
    if (k < 0)
        return;
    w->len += (size_t)k;
    if (w->len >= w->size)
        w->len = w->size - 1;
}

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    walk_t *w = data;
    char maj[96] = "", min[96] = "";
    (void)n;
    /* The innermost entry carries the cause; the outermost names the API call. Keep at
     * most three entries so the message stays readable. */
    if (w->count >= 3)
        return 0;
    if (H5Eget_msg(e->maj_num, NULL, maj, sizeof maj) < 0)
        maj[0] = '\0';
    if (H5Eget_msg(e->min_num, NULL, min, sizeof min) < 0)
        min[0] = '\0';
    if (w->count > 0)
        append(w, "; ");
    append(w, min[0] ? min : (maj[0] ? maj : "error"));
    if (e->desc && e->desc[0]) {
        append(w, ": ");
        append(w, e->desc);
    }
    if (e->func_name && e->func_name[0]) {
        append(w, " in ");
        append(w, e->func_name);
    }
    w->count++;
    return 0;
}

size_t mmdx_hdf5_errstack(char *buf, size_t size)
{
    walk_t w = {buf, size, 0, 0};
    /* Taking a copy of the stack also clears it. */
    hid_t stack = H5Eget_current_stack();
    if (buf && size > 0)
        buf[0] = '\0';
    if (stack < 0)
        return 0;
    if (buf && size > 0)
        (void)H5Ewalk2(stack, H5E_WALK_UPWARD, walk_cb, &w);
    H5Eclose_stack(stack);
    return w.len;
}

int mmdx_hdf5_error(mmdx_error_t *err, int code, const char *file, const char *object,
                  const char *fmt, ...)
{
    char stack[320];
    va_list ap;
    /* Always consume the stack so a later error does not report this one's cause. */
    size_t n = mmdx_hdf5_errstack(stack, sizeof stack);
    if (err == NULL || err->code != 0)
        return code;
    err->code = code;
    snprintf(err->file, sizeof err->file, "%s", file ? file : "");
    snprintf(err->object, sizeof err->object, "%s", object ? object : "");
    err->line = 0;
    va_start(ap, fmt);
    int k = vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    if (k >= 0 && n > 0 && (size_t)k + 1 < sizeof err->message)
        snprintf(err->message + k, sizeof err->message - (size_t)k, " (HDF5: %s)", stack);
    return code;
}
