/**
 * @file ctx.h
 * @brief The library context: first-error slot, log callback, plugin registry, threads, seed.
 *
 * A context is not locked: use one per thread, or guard it. Objects made with a
 * context keep a borrowed pointer to it; free them before the context.
 */
#ifndef MMDX_CTX_H
#define MMDX_CTX_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The context: error state, log callback, plugin registry, threads, seed, data directory (opaque). */
typedef struct mmdx_ctx mmdx_ctx_t;

/** Log levels passed to the log callback. */
typedef enum { MMDX_LOG_ERROR = 0, MMDX_LOG_WARN = 1, MMDX_LOG_INFO = 2, MMDX_LOG_DEBUG = 3 } mmdx_log_level_t;

/** Log callback. @p msg is borrowed for the duration of the call; it never holds patient ids. */
typedef void (*mmdx_log_fn)(void *user, mmdx_log_level_t level, const char *msg);

/**
 * One-time library initialisation: turns off GSL's aborting error handler and
 * HDF5's automatic error printing. Idempotent; mmdx_ctx_alloc() calls it.
 * @return MMDX_OK or a negative status.
 */
MMDX_EXPORT int mmdx_init(void);

/**
 * New context with the built-in modalities registered, no log callback (silent),
 * one thread and seed 0. New; free with mmdx_ctx_free(). NULL when out of memory.
 */
MMDX_EXPORT mmdx_ctx_t *mmdx_ctx_alloc(void);
/** Free a context. NULL is a no-op. */
MMDX_EXPORT void mmdx_ctx_free(mmdx_ctx_t *ctx);

/** Set the log callback (NULL: silent) and the most verbose level passed to it. */
MMDX_EXPORT void mmdx_ctx_set_log(mmdx_ctx_t *ctx, mmdx_log_fn fn, void *user, mmdx_log_level_t max_level);
/** Log through the context's callback (printf-style). Used by the library and plugins. */
MMDX_EXPORT void mmdx_ctx_log(mmdx_ctx_t *ctx, mmdx_log_level_t level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/** The first error recorded since the last mmdx_ctx_clear_error(). Borrowed; code MMDX_OK when none. */
MMDX_EXPORT const mmdx_error_t *mmdx_ctx_error(const mmdx_ctx_t *ctx);
/** Record @p err in the first-error slot unless one is already held. Returns err->code. */
MMDX_EXPORT int mmdx_ctx_set_error(mmdx_ctx_t *ctx, const mmdx_error_t *err);
/** Forget the recorded error. */
MMDX_EXPORT void mmdx_ctx_clear_error(mmdx_ctx_t *ctx);

/** Worker threads for numerical and decompression work (>= 1). */
MMDX_EXPORT void mmdx_ctx_set_threads(mmdx_ctx_t *ctx, int n);
/** Worker threads allowed. */
MMDX_EXPORT int mmdx_ctx_threads(const mmdx_ctx_t *ctx);
/** Seed for every random choice (CV folds, bootstrap), so runs are reproducible. */
MMDX_EXPORT void mmdx_ctx_set_seed(mmdx_ctx_t *ctx, uint64_t seed);
/** Random seed. */
MMDX_EXPORT uint64_t mmdx_ctx_seed(const mmdx_ctx_t *ctx);

/**
 * Directory holding the project's tables (units, terms, PGx definitions, KB).
 * Defaults to $MMDX_DATA_DIR, else the installed data directory; when that does not
 * exist (a program run from the build tree before `make install`), the source tree's
 * data/ directory. Copied.
 */
MMDX_EXPORT int mmdx_ctx_set_data_dir(mmdx_ctx_t *ctx, const char *dir);
/** Borrowed; valid until the next set or the context is freed. */
MMDX_EXPORT const char *mmdx_ctx_data_dir(const mmdx_ctx_t *ctx);

/** Library version string ("0.1.0"). Static storage. */
MMDX_EXPORT const char *mmdx_version(void);
/** Versions of the dependencies compiled in and found at run time, one "name version" per line. Static storage. */
MMDX_EXPORT const char *mmdx_dependency_versions(void);

#ifdef __cplusplus
}
#endif
#endif
