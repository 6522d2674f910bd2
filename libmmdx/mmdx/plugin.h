/**
 * @file plugin.h
 * @brief The plugin host: registry of built-in and loaded modalities.
 *
 * Search order for mmdx_plugin_load(): an explicit path (contains '/'), then each
 * directory of $MMDX_PLUGIN_PATH (colon-separated), then the configured plugin
 * directory (`mmdx version` prints it). A module file `mmdx_NAME.so` must export
 * `mmdx_modality_NAME_get_desc`. A loaded module with the same name as a built-in
 * replaces it in this context (close the sources opened through the built-in first).
 *
 * The registry of a context is made on its first use (any mmdx_plugin_* or
 * mmdx_source_* call); the built-ins are initialised then, and every modality gets the
 * context's data directory and thread count as they are at its registration: set them
 * before. A built-in whose init fails is logged (MMDX_LOG_ERROR) and left out.
 */
#ifndef MMDX_PLUGIN_H
#define MMDX_PLUGIN_H

#include "ctx.h"
#include "modality.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Load a plugin by path or name ("hdf5" finds mmdx_hdf5.so on the search path),
 * check its ABI and run its init.
 * @return MMDX_OK; MMDX_ENOTFOUND (no such file on the search path), MMDX_EPLUGIN
 *         (not loadable, symbol missing, init failed), MMDX_EABI (major mismatch).
 *         The error (naming the file) goes to @p err and the context's slot.
 */
MMDX_EXPORT int mmdx_plugin_load(mmdx_ctx_t *ctx, const char *path_or_name, mmdx_error_t *err) MMDX_WARN_UNUSED;

/** Load every `mmdx_*.so` in the search path; errors are logged, counted in @p n_failed. */
MMDX_EXPORT int mmdx_plugin_load_all(mmdx_ctx_t *ctx, size_t *n_loaded, size_t *n_failed);

/** Register a descriptor directly (built-ins use this). Checks the ABI like a load. */
MMDX_EXPORT int mmdx_plugin_register(mmdx_ctx_t *ctx, const mmdx_modality_desc_t *desc,
                                     const char *origin, mmdx_error_t *err) MMDX_WARN_UNUSED;

/** Number of registered modalities (built-in and loaded). */
MMDX_EXPORT size_t mmdx_plugin_count(const mmdx_ctx_t *ctx);
/** Borrowed descriptor of the i-th registered modality. */
MMDX_EXPORT const mmdx_modality_desc_t *mmdx_plugin_desc(const mmdx_ctx_t *ctx, size_t i);
/** "built-in" or the file path it was loaded from. Borrowed. */
MMDX_EXPORT const char *mmdx_plugin_origin(const mmdx_ctx_t *ctx, size_t i);
/** Index of the modality named @p name, or -1. */
MMDX_EXPORT long mmdx_plugin_find(const mmdx_ctx_t *ctx, const char *name);
/** Index of the modality serving driver input @p input ("imaging", "labs", "variants"), or -1. */
MMDX_EXPORT long mmdx_plugin_find_input(const mmdx_ctx_t *ctx, const char *input);
/** The configured plugin directory. Static storage. */
MMDX_EXPORT const char *mmdx_plugin_dir(void);

#ifdef __cplusplus
}
#endif
#endif
