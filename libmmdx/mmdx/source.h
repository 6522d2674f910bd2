/**
 * @file source.h
 * @brief One opened input read through a modality adapter.
 */
#ifndef MMDX_SOURCE_H
#define MMDX_SOURCE_H

#include "ctx.h"
#include "modality.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One input opened through a modality adapter (opaque). */
typedef struct mmdx_source mmdx_source_t;

/**
 * Open @p path with modality @p modality (a registered name, or the driver input it
 * serves such as "imaging"), or detect it from the content (the highest probe score)
 * when @p modality is NULL. @p options: NULL-terminated "key=value" list or NULL.
 * New source in @p out; close with mmdx_source_close().
 * @return MMDX_OK, MMDX_ENOTFOUND (no such modality / file), MMDX_EFORMAT (no modality
 *         recognises the file) or the adapter's error; details in @p err.
 */
MMDX_EXPORT int mmdx_source_open(mmdx_ctx_t *ctx, const char *modality, const char *path,
                                 const char *const *options, mmdx_source_t **out,
                                 mmdx_error_t *err) MMDX_WARN_UNUSED;
/**
 * The modality mmdx_source_open() would pick for @p path when given no name: the
 * registered one whose probe scores the file's first bytes highest. Its name goes to
 * @p name (borrowed; valid while the modality stays registered).
 * @return MMDX_OK, MMDX_ENOTFOUND / MMDX_EIO (file), MMDX_EFORMAT (nobody recognises it).
 */
MMDX_EXPORT int mmdx_source_detect(mmdx_ctx_t *ctx, const char *path, const char **name,
                                   mmdx_error_t *err) MMDX_WARN_UNUSED;

/**
 * Stream the whole input into @p sink (obs and reject callbacks required; block and
 * patient optional). @return MMDX_OK or a negative status. When a sink callback stopped
 * the read, its status comes back and @p err is left to the sink's owner, who knows why;
 * any other failure is described in @p err (naming the file) and the context's slot.
 * When the input is a regular file, its identity (device, inode, size, modification and
 * status-change times) taken by mmdx_source_open() is compared after the adapter's read:
 * a file changed while being read gives MMDX_EIO, "changed while being read" and what
 * changed. Pipes and other non-regular files are read without this check.
 */
MMDX_EXPORT int mmdx_source_read(mmdx_source_t *src, const mmdx_sink_t *sink, mmdx_error_t *err) MMDX_WARN_UNUSED;
/** Name of the modality reading this source. Borrowed. */
MMDX_EXPORT const char *mmdx_source_modality(const mmdx_source_t *src);
/** NULL is a no-op. */
MMDX_EXPORT void mmdx_source_close(mmdx_source_t *src);

#ifdef __cplusplus
}
#endif
#endif
