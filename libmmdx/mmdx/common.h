/**
 * @file common.h
 * @brief Status codes, the structured error, the allocator hook and export macros.
 *
 * Every status-returning function returns MMDX_OK (0) or a negative MMDX_E* code.
 * Details (file, record, line, reason) go into a caller-owned mmdx_error_t or the
 * context's first-error slot. The library never prints, never exits, never aborts.
 */
#ifndef MMDX_COMMON_H
#define MMDX_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define MMDX_EXPORT __attribute__((visibility("default")))
#define MMDX_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define MMDX_EXPORT
#define MMDX_WARN_UNUSED
#endif

/** Status codes. MMDX_OK is 0; errors are negative. */
enum {
    MMDX_OK = 0,
    MMDX_ENOMEM = -1,     /**< an allocation failed */
    MMDX_EINVAL = -2,     /**< invalid argument (a caller bug) */
    MMDX_EIO = -3,        /**< reading or writing a file failed */
    MMDX_EFORMAT = -4,    /**< input is malformed or not of the expected format */
    MMDX_ENOTFOUND = -5,  /**< a named item (file, dataset, feature, patient) does not exist */
    MMDX_EDUP = -6,       /**< a duplicate id */
    MMDX_ERANGE = -7,     /**< a value is out of range (Inf, negative count, ...) */
    MMDX_EUNIT = -8,      /**< a unit cannot be converted */
    MMDX_EABI = -9,       /**< a plugin was built for another ABI */
    MMDX_EPLUGIN = -10,   /**< a plugin could not be loaded or failed to initialise */
    MMDX_ENUMERIC = -11,  /**< a numerical method failed (singular, did not converge) */
    MMDX_EVERSION = -12,  /**< a file was written by an incompatible version */
    MMDX_ESPACE = -13,    /**< feature spaces or targets do not match */
    MMDX_ESECURITY = -14, /**< input refused for safety (external entity, limit exceeded) */
    MMDX_ETRUNC = -15,    /**< input ended early */
    MMDX_ESTATE = -16,    /**< call made in the wrong state (e.g. predict before finalize) */
    MMDX_EREJECT = -17    /**< one record was rejected; processing of the rest goes on */
};

/** Name of a status code ("out of memory", ...). Never NULL; static storage. */
MMDX_EXPORT const char *mmdx_strerror(int code);

/**
 * A structured error, filled by the first failure of an operation.
 * Caller-owned; pass NULL where details are not wanted.
 */
typedef struct mmdx_error {
    int code;           /**< MMDX_E* status */
    char file[256];     /**< input or output file involved, or "" */
    char object[128];   /**< dataset, element, feature or patient involved, or "" */
    long line;          /**< 1-based line or record number, or 0 when not known */
    char message[512];  /**< human-readable reason */
} mmdx_error_t;

/** Reset an error struct to "no error". NULL is allowed. */
MMDX_EXPORT void mmdx_error_clear(mmdx_error_t *err);

/**
 * Record an error unless @p err already holds one (the first error is the useful one).
 * @return @p code, so callers can write `return mmdx_error_set(err, MMDX_EIO, ...)`.
 */
MMDX_EXPORT int mmdx_error_set(mmdx_error_t *err, int code, const char *file, const char *object,
                               long line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/** Format an error as "file:line: object: message (code name)" into @p buf. */
MMDX_EXPORT size_t mmdx_error_format(const mmdx_error_t *err, char *buf, size_t size);

/**
 * Allocator hook. All library allocations go through these three functions, so a
 * test can make the Nth allocation fail. Pass NULLs to restore malloc/realloc/free.
 * Set before any object is allocated; objects must be freed with the allocator
 * that allocated them. Not thread-safe: call at start-up only.
 */
typedef void *(*mmdx_malloc_fn)(size_t size);
/** Replacement for realloc(). */
typedef void *(*mmdx_realloc_fn)(void *ptr, size_t size);
/** Replacement for free(). */
typedef void (*mmdx_free_fn)(void *ptr);
/** Route every allocation of the library through @p m, @p r and @p f (NULL restores the default); call before any other function. */
MMDX_EXPORT void mmdx_set_allocator(mmdx_malloc_fn m, mmdx_realloc_fn r, mmdx_free_fn f);

/** Allocation through the hook (for plugins and callers that hand memory to the library). */
MMDX_EXPORT void *mmdx_malloc(size_t size);
/** Zeroed allocation through the allocator hooks. */
MMDX_EXPORT void *mmdx_calloc(size_t n, size_t size);
/** Reallocation through the allocator hooks. */
MMDX_EXPORT void *mmdx_realloc(void *ptr, size_t size);
/** Free through the allocator hooks; NULL is a no-op. */
MMDX_EXPORT void mmdx_free(void *ptr);
/** strdup through the hook. New; free with mmdx_free(). NULL on ENOMEM or NULL input. */
MMDX_EXPORT char *mmdx_strdup(const char *s);

#ifdef __cplusplus
}
#endif
#endif
