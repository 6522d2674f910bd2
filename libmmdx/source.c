/* Sources: one input opened through a registered modality, chosen by name, by the
 * driver input it serves, or by probing the file's first bytes. */
#define _XOPEN_SOURCE 700
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "file_id.h"
#include "mmdx/source.h"
#include "registry.h"

/* bytes handed to the probes */
#define PROBE_BYTES 4096

struct mmdx_source {
    mmdx_ctx_t *ctx;
    const mmdx_registry_entry_t *entry;
    void *handle;
    char *path;
    mmdx_file_id_t id; /* the input as it was before the adapter opened it */
};

/* Bring an adapter's status into the contract: negative MMDX_E* codes only, and an
 * error that names the file even when the adapter left it blank. */
static int adapter_status(int rc, mmdx_error_t *aerr, const char *path, const char *modality, const char *what)
{
    if (rc == MMDX_OK)
        return MMDX_OK;
    if (rc > 0) {
        mmdx_error_clear(aerr);
        return mmdx_error_set(aerr, MMDX_EPLUGIN, path, modality, 0,
                              "modality %s: %s returned %d, not a status code", modality, what, rc);
    }
    if (aerr->code == MMDX_OK)
        mmdx_error_set(aerr, rc, path, modality, 0, "modality %s: %s failed: %s", modality, what,
                       mmdx_strerror(rc));
    else if (aerr->file[0] == '\0')
        snprintf(aerr->file, sizeof aerr->file, "%s", path);
    aerr->code = rc;
    return rc;
}

/* Copy @p from into the caller's error (unless it holds one) and the context's slot (if any). */
static int report(mmdx_ctx_t *ctx, mmdx_error_t *err, const mmdx_error_t *from)
{
    if (err && err->code == MMDX_OK)
        *err = *from;
    if (ctx)
        mmdx_ctx_set_error(ctx, from);
    return from->code;
}

static void list_names(mmdx_registry_entry_t *const *v, size_t n, int probing, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && off < size; i++) {
        if (probing && v[i]->desc->ops.probe == NULL)
            continue;
        int w = snprintf(buf + off, size - off, "%s%s", off ? ", " : "", v[i]->desc->name);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    if (buf[0] == '\0')
        snprintf(buf, size, "none");
}

static int detect(mmdx_ctx_t *ctx, const char *path, const mmdx_registry_entry_t **out, mmdx_error_t *err)
{
    unsigned char head[PROBE_BYTES];
    size_t n_entries;
    mmdx_registry_entry_t *const *v = mmdx_registry_entries(ctx, &n_entries);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return mmdx_error_set(err, errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, path, NULL, 0,
                              "cannot open: %s", strerror(errno));
    size_t n = fread(head, 1, sizeof head, f);
    int read_error = ferror(f);
    int saved = errno;
    fclose(f);
    if (read_error)
        return mmdx_error_set(err, MMDX_EIO, path, NULL, 0, "cannot read: %s", strerror(saved));
    int best = 0;
    for (size_t i = 0; i < n_entries; i++) {
        if (v[i]->desc->ops.probe == NULL)
            continue;
        int score = v[i]->desc->ops.probe(v[i]->state, path, head, n);
        if (score > 100)
            score = 100;
        if (score > best) {
            best = score;
            *out = v[i];
        }
    }
    if (best == 0) {
        char names[512];
        list_names(v, n_entries, 1, names, sizeof names);
        return mmdx_error_set(err, MMDX_EFORMAT, path, NULL, 0,
                              "no modality recognises this file (tried: %s)", names);
    }
    return MMDX_OK;
}

int mmdx_source_detect(mmdx_ctx_t *ctx, const char *path, const char **name, mmdx_error_t *err)
{
    mmdx_error_t e;
    const mmdx_registry_entry_t *entry = NULL;
    mmdx_error_clear(&e);
    if (name)
        *name = NULL;
    if (ctx == NULL || path == NULL || name == NULL) {
        mmdx_error_set(&e, MMDX_EINVAL, path, NULL, 0, "mmdx_source_detect: missing context, path or output");
        return report(ctx, err, &e);
    }
    if (detect(ctx, path, &entry, &e) != MMDX_OK)
        return report(ctx, err, &e);
    *name = entry->desc->name;
    return MMDX_OK;
}

int mmdx_source_open(mmdx_ctx_t *ctx, const char *modality, const char *path, const char *const *options,
                     mmdx_source_t **out, mmdx_error_t *err)
{
    static const char *const no_options[] = {NULL};
    mmdx_error_t e;
    mmdx_error_clear(&e);
    if (out)
        *out = NULL;
    if (ctx == NULL || path == NULL || out == NULL) {
        mmdx_error_set(&e, MMDX_EINVAL, path, modality, 0, "mmdx_source_open: missing context, path or output");
        return report(ctx, err, &e);
    }
    const mmdx_registry_entry_t *entry = NULL;
    if (modality) {
        entry = mmdx_registry_lookup(ctx, modality);
        if (entry == NULL) {
            size_t n;
            char names[512];
            mmdx_registry_entry_t *const *v = mmdx_registry_entries(ctx, &n);
            list_names(v, n, 0, names, sizeof names);
            mmdx_error_set(&e, MMDX_ENOTFOUND, path, modality, 0,
                           "no modality named or serving '%s' (available: %s)", modality, names);
            return report(ctx, err, &e);
        }
    } else if (detect(ctx, path, &entry, &e) != MMDX_OK) {
        return report(ctx, err, &e);
    }

    mmdx_source_t *src = mmdx_calloc(1, sizeof *src);
    char *copy = mmdx_strdup(path);
    if (src == NULL || copy == NULL) {
        mmdx_free(src);
        mmdx_free(copy);
        mmdx_error_set(&e, MMDX_ENOMEM, path, entry->desc->name, 0, "out of memory");
        return report(ctx, err, &e);
    }
    void *handle = NULL;
    /* taken before the adapter opens the file: some adapters read much of it in open() */
    mmdx_file_id_t id;
    mmdx_file_id_take(path, &id);
    int rc = entry->desc->ops.open(entry->state, path, options ? options : no_options, &handle, &e);
    if (adapter_status(rc, &e, path, entry->desc->name, "open") != MMDX_OK) {
        mmdx_free(src);
        mmdx_free(copy);
        return report(ctx, err, &e);
    }
    src->ctx = ctx;
    src->entry = entry;
    src->handle = handle;
    src->path = copy;
    src->id = id;
    *out = src;
    return MMDX_OK;
}

/* The caller's sink, wrapped to remember the first status one of its callbacks returned:
 * when the adapter stops because the sink said so, the sink's owner already knows why,
 * and a generic "read failed" must not cover its more precise reason. */
typedef struct sink_wrap {
    const mmdx_sink_t *inner;
    int status;
} sink_wrap_t;

static int seen(sink_wrap_t *w, int rc)
{
    if (rc != MMDX_OK && w->status == MMDX_OK)
        w->status = rc;
    return rc;
}
static int w_obs(void *data, const mmdx_obs_t *obs)
{
    sink_wrap_t *w = data;
    return seen(w, w->inner->obs(w->inner->data, obs));
}
static int w_block(void *data, const mmdx_block_t *block)
{
    sink_wrap_t *w = data;
    if (w->inner->block == NULL)
        return seen(w, MMDX_EINVAL);
    return seen(w, w->inner->block(w->inner->data, block));
}
static int w_reject(void *data, const char *patient, const char *file, long record, int code, const char *reason)
{
    sink_wrap_t *w = data;
    return seen(w, w->inner->reject(w->inner->data, patient, file, record, code, reason));
}
static int w_patient(void *data, const char *patient)
{
    sink_wrap_t *w = data;
    return w->inner->patient ? seen(w, w->inner->patient(w->inner->data, patient)) : MMDX_OK;
}

int mmdx_source_read(mmdx_source_t *src, const mmdx_sink_t *sink, mmdx_error_t *err)
{
    mmdx_error_t e;
    mmdx_error_clear(&e);
    if (src == NULL || sink == NULL || sink->obs == NULL || sink->reject == NULL) {
        mmdx_error_set(&e, MMDX_EINVAL, src ? src->path : NULL, NULL, 0,
                       "mmdx_source_read: missing source, sink or sink callback");
        return report(src ? src->ctx : NULL, err, &e);
    }
    sink_wrap_t w = {sink, MMDX_OK};
    mmdx_sink_t wrapped = {&w, w_obs, w_block, w_reject, w_patient, {NULL}};
    int rc = src->entry->desc->ops.read(src->handle, &wrapped, &e);
    if (rc != MMDX_OK && rc == w.status && e.code == MMDX_OK)
        return rc; /* stopped by the sink: its owner has the reason */
    /* a file written to, truncated or replaced while the adapter read it gave a mix of
     * old and new contents (or a spurious parse error): the read fails either way */
    mmdx_error_t changed;
    mmdx_error_clear(&changed);
    if (mmdx_file_id_check(src->path, &src->id, src->entry->desc->name, &changed) != MMDX_OK) {
        if (rc != MMDX_OK) {
            /* the change most likely caused the adapter's error: both in the message */
            char first[sizeof e.message];
            adapter_status(rc, &e, src->path, src->entry->desc->name, "read");
            snprintf(first, sizeof first, "%s", changed.message);
            snprintf(changed.message, sizeof changed.message, "%.200s; the read failed: %.250s", first,
                     e.message);
        }
        return report(src->ctx, err, &changed);
    }
    if (adapter_status(rc, &e, src->path, src->entry->desc->name, "read") != MMDX_OK)
        return report(src->ctx, err, &e);
    return MMDX_OK;
}

const char *mmdx_source_modality(const mmdx_source_t *src)
{
    return src ? src->entry->desc->name : NULL;
}

void mmdx_source_close(mmdx_source_t *src)
{
    if (src == NULL)
        return;
    src->entry->desc->ops.close(src->handle);
    mmdx_free(src->path);
    mmdx_free(src);
}
