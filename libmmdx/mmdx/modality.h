/**
 * @file modality.h
 * @brief The modality plugin ABI: observations, the sink they go to, the host table,
 *        the method table and the descriptor a plugin exports.
 *
 * A modality (adapter) only translates an input file into observations. It never
 * sees models. It is built twice from the same source: into libmmdx.a as a built-in
 * and as a loadable module. A loadable module never links against libmmdx: everything
 * it needs from the host comes through the mmdx_host_t table passed to init().
 *
 * A plugin exports one function, named after its file stem without the `mmdx_`
 * prefix, through MMDX_MODALITY_EXPORT:
 *
 * @code
 * static const mmdx_modality_desc_t desc = { MMDX_ABI_MAJOR, MMDX_ABI_MINOR, sizeof desc,
 *     "foo", "1.0", "MIT", "Foo files", "foo", {init, fini, probe, open, read, close} };
 * MMDX_MODALITY_EXPORT(foo) { return &desc; }
 * @endcode
 *
 * The host refuses a descriptor whose abi_major differs from its own, whose
 * struct_size is smaller than it needs, or whose required methods are NULL.
 */
#ifndef MMDX_MODALITY_H
#define MMDX_MODALITY_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "common.h"
#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Censoring of an observed value: exact, or only a bound is known. */
typedef enum {
    MMDX_CENSOR_NONE = 0,
    MMDX_CENSOR_LEFT = 1, /**< true value is below `value` (reported as "<value") */
    MMDX_CENSOR_RIGHT = 2 /**< true value is above `value` (reported as ">value") */
} mmdx_censor_t;

/** Kind hints an adapter gives for a feature it introduces (see mmdx_kind_t). */
#define MMDX_OBS_CONTINUOUS 0
#define MMDX_OBS_BINARY 1 /**< 0 or 1 */
#define MMDX_OBS_DOSAGE 2 /**< genotype dosage 0, 1 or 2 */
#define MMDX_OBS_CATEGORICAL 3 /**< a level name (mmdx_obs_t.level) */

/** Time value meaning "not known". */
#define MMDX_TIME_UNKNOWN INT64_MIN

/**
 * One observation. All strings are borrowed for the duration of the sink call.
 * A categorical observation has `level` set and `value` ignored.
 */
typedef struct mmdx_obs {
    const char *patient;    /**< patient id as in the input */
    const char *feature;    /**< namespaced feature id */
    int kind;               /**< MMDX_OBS_* */
    double value;           /**< in `unit`; NaN means "tested, no value" (treated as missing) */
    const char *unit;       /**< canonical unit (UCUM) or NULL */
    const char *level;      /**< categorical level, or NULL */
    int censor;             /**< mmdx_censor_t */
    int64_t time;           /**< seconds since 1970-01-01 UTC, or MMDX_TIME_UNKNOWN */
    const char *provenance; /**< "file:line" or derivation ("derived:CKD-EPI 2021 from lab:loinc:2160-0") */
} mmdx_obs_t;

/**
 * A dense block of observations: n patients by d features, row-major, NaN = missing.
 * For adapters whose input is already a matrix (imaging features): one call per row chunk
 * instead of n*d observations.
 */
typedef struct mmdx_block {
    size_t n; /**< patients (rows) */
    size_t d; /**< features (columns) */
    const char *const *patients; /**< [n] */
    const char *const *features; /**< [d] namespaced ids */
    const char *const *units;    /**< [d] or NULL */
    const double *values;        /**< [n*d] row-major: values[i*d + j] */
    const char *provenance;      /**< file name */
} mmdx_block_t;

/**
 * Where an adapter sends what it reads. Every callback returns MMDX_OK to go on or a
 * negative status to stop reading (the adapter returns that status from read()).
 */
typedef struct mmdx_sink {
    void *data; /**< passed to every callback */
    int (*obs)(void *data, const mmdx_obs_t *obs); /**< one observation */
    int (*block)(void *data, const mmdx_block_t *block); /**< a dense block; may be NULL (adapters then send one observation per value) */
    /**
     * A record that could not be used. @p patient may be NULL when not known;
     * @p record is a 1-based line or record number (0 unknown); @p code an MMDX_E* status.
     */
    int (*reject)(void *data, const char *patient, const char *file, long record, int code,
                  const char *reason);
    /** A patient seen in the input (so a patient with no usable record is not lost). */
    int (*patient)(void *data, const char *patient);
    void *reserved[4]; /**< zero; for future callbacks */
} mmdx_sink_t;

/** Functions the host lends to plugins (a plugin never links against libmmdx). */
typedef struct mmdx_host {
    unsigned abi_major; /**< the host's MMDX_ABI_MAJOR */
    unsigned abi_minor; /**< the host's MMDX_ABI_MINOR */
    size_t struct_size; /**< sizeof(mmdx_host_t) of the host */
    void *(*malloc)(size_t size); /**< the library's allocator */
    void *(*realloc)(void *ptr, size_t size); /**< the library's reallocator */
    void (*free)(void *ptr); /**< the library's free */
    /** Log a message (never patient ids) through the context's callback. */
    void (*log)(void *host_data, int level, const char *msg);
    void *host_data; /**< pass to log */
    /** Directory of the project's data tables (units, terms, PGx definitions). */
    const char *data_dir;
    /** Worker threads the caller allows. */
    int threads;
    void *reserved[8]; /**< zero; for future members */
} mmdx_host_t;

/** Methods of a modality. init, open, read and close are required. */
typedef struct mmdx_modality_ops {
    /** Called once after loading; @p state_out receives plugin-global state (may be NULL). */
    int (*init)(const mmdx_host_t *host, void **state_out, mmdx_error_t *err);
    void (*fini)(void *state); /**< optional: free the state of init */
    /**
     * Score 0..100 how likely @p path (first @p n bytes in @p head) is this modality's format;
     * 0 means "not mine". Optional (NULL: never auto-detected).
     */
    int (*probe)(void *state, const char *path, const unsigned char *head, size_t n);
    /**
     * Open an input. @p options is a NULL-terminated list of "key=value" strings
     * (unknown keys are an error naming the key). New source in @p src_out.
     */
    int (*open)(void *state, const char *path, const char *const *options, void **src_out,
                mmdx_error_t *err);
    /** Stream the whole input into @p sink. Records that fail go to sink->reject. */
    int (*read)(void *src, const mmdx_sink_t *sink, mmdx_error_t *err);
    void (*close)(void *src); /**< close a source of open */
    void *reserved[8]; /**< zero; for future members */
} mmdx_modality_ops_t;

/** What a plugin exports. */
typedef struct mmdx_modality_desc {
    uint16_t abi_major;      /**< MMDX_ABI_MAJOR the plugin was built with */
    uint16_t abi_minor;      /**< MMDX_ABI_MINOR the plugin was built with */
    uint32_t struct_size;    /**< sizeof(mmdx_modality_desc_t) at build time */
    const char *name;        /**< short name, e.g. "hdf5" */
    const char *version;     /**< plugin version */
    const char *license;     /**< SPDX id */
    const char *description; /**< one line */
    const char *input;       /**< driver option it serves: "imaging", "labs", "variants" or another */
    mmdx_modality_ops_t ops; /**< the methods */
    void *reserved[8]; /**< zero; for future members */
} mmdx_modality_desc_t;

/** Type of the exported mmdx_modality_NAME_get_desc() function. */
typedef const mmdx_modality_desc_t *(*mmdx_modality_get_desc_fn)(void);

/**
 * Fill @p err unless it already holds an error (the first error is kept). For plugins,
 * which cannot call mmdx_error_set() because they never link against libmmdx.
 * @return @p code.
 */
static inline int mmdx_modality_error(mmdx_error_t *err, int code, const char *file, const char *object,
                                      long line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;
static inline int mmdx_modality_error(mmdx_error_t *err, int code, const char *file, const char *object,
                                      long line, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || err->code != 0)
        return code;
    err->code = code;
    snprintf(err->file, sizeof err->file, "%s", file ? file : "");
    snprintf(err->object, sizeof err->object, "%s", object ? object : "");
    err->line = line;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}

#if defined(__GNUC__) && __GNUC__ >= 4
#define MMDX_MODALITY_VISIBLE __attribute__((visibility("default")))
#else
/** Empty where symbol visibility is not supported. */
#define MMDX_MODALITY_VISIBLE
#endif
#ifdef __cplusplus
#define MMDX_MODALITY_LINKAGE extern "C"
#else
/** Empty in C. */
#define MMDX_MODALITY_LINKAGE
#endif
/** Define the exported descriptor function of modality @p name. */
#define MMDX_MODALITY_EXPORT(name)                                                                 \
    MMDX_MODALITY_LINKAGE MMDX_MODALITY_VISIBLE const mmdx_modality_desc_t *mmdx_modality_##name##_get_desc(void); \
    MMDX_MODALITY_LINKAGE MMDX_MODALITY_VISIBLE const mmdx_modality_desc_t *mmdx_modality_##name##_get_desc(void)

#ifdef __cplusplus
}
#endif
#endif
