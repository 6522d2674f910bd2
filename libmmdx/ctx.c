/* The library context: first-error slot, log callback, threads, seed, data directory.
 * The plugin registry lives in plugin.c; the context only frees it. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_version.h>
#include <hdf5.h>
#include <htslib/hts.h>
#include <jansson.h>
#include <libxml/xmlversion.h>

#include "config.h"
#include "ctx_internal.h"
#include "mmdx/version.h"

#ifndef MMDX_DATA_DIR
#define MMDX_DATA_DIR "/usr/local/share/mmdx"
#endif

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static char dep_versions[1024];

static void init_once_fn(void)
{
    unsigned maj = 0, min = 0, rel = 0;
    int n;
    /* GSL's default handler aborts the process; the library reports status codes instead. */
    gsl_set_error_handler_off();
    /* HDF5 prints its error stack to stderr by default; we translate it (h5err.c). */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    H5get_libversion(&maj, &min, &rel);
    n = snprintf(dep_versions, sizeof dep_versions,
                 "gsl %s\nhdf5 %u.%u.%u\nhtslib %s\nlibxml2 %s\njansson %s\n", gsl_version, maj, min,
                 rel, hts_version(), LIBXML_DOTTED_VERSION, JANSSON_VERSION);
#ifdef MMDX_BUILD_DEPS
    if (n > 0 && (size_t)n < sizeof dep_versions)
        snprintf(dep_versions + n, sizeof dep_versions - (size_t)n, "configure: %s\n", MMDX_BUILD_DEPS);
#else
    (void)n;
#endif
}

int mmdx_init(void)
{
    return pthread_once(&init_once, init_once_fn) == 0 ? MMDX_OK : MMDX_ESTATE;
}

mmdx_ctx_t *mmdx_ctx_alloc(void)
{
    mmdx_ctx_t *ctx;
    if (mmdx_init() != MMDX_OK)
        return NULL;
    ctx = mmdx_calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return NULL;
    ctx->log_level = MMDX_LOG_WARN;
    ctx->threads = 1;
    ctx->seed = 0;
    return ctx;
}

void mmdx_ctx_free(mmdx_ctx_t *ctx)
{
    if (ctx == NULL)
        return;
    if (ctx->registry && ctx->registry_free)
        ctx->registry_free(ctx->registry);
    mmdx_free(ctx->data_dir);
    mmdx_free(ctx);
}

void mmdx_ctx_set_log(mmdx_ctx_t *ctx, mmdx_log_fn fn, void *user, mmdx_log_level_t max_level)
{
    if (ctx == NULL)
        return;
    ctx->log_fn = fn;
    ctx->log_user = user;
    ctx->log_level = max_level;
}

void mmdx_ctx_log(mmdx_ctx_t *ctx, mmdx_log_level_t level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (ctx == NULL || ctx->log_fn == NULL || level > ctx->log_level || fmt == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ctx->log_fn(ctx->log_user, level, msg);
}

const mmdx_error_t *mmdx_ctx_error(const mmdx_ctx_t *ctx)
{
    static const mmdx_error_t none;
    return ctx ? &ctx->first_error : &none;
}

int mmdx_ctx_set_error(mmdx_ctx_t *ctx, const mmdx_error_t *err)
{
    if (err == NULL)
        return MMDX_EINVAL;
    if (ctx && ctx->first_error.code == MMDX_OK && err->code != MMDX_OK)
        ctx->first_error = *err;
    return err->code;
}

void mmdx_ctx_clear_error(mmdx_ctx_t *ctx)
{
    if (ctx)
        mmdx_error_clear(&ctx->first_error);
}

void mmdx_ctx_set_threads(mmdx_ctx_t *ctx, int n)
{
    if (ctx)
        ctx->threads = n < 1 ? 1 : n;
}

int mmdx_ctx_threads(const mmdx_ctx_t *ctx)
{
    return ctx ? ctx->threads : 1;
}

void mmdx_ctx_set_seed(mmdx_ctx_t *ctx, uint64_t seed)
{
    if (ctx)
        ctx->seed = seed;
}

uint64_t mmdx_ctx_seed(const mmdx_ctx_t *ctx)
{
    return ctx ? ctx->seed : 0;
}

int mmdx_ctx_set_data_dir(mmdx_ctx_t *ctx, const char *dir)
{
    char *copy = NULL;
    if (ctx == NULL)
        return MMDX_EINVAL;
    if (dir != NULL) {
        copy = mmdx_strdup(dir);
        if (copy == NULL)
            return MMDX_ENOMEM;
    }
    mmdx_free(ctx->data_dir);
    ctx->data_dir = copy;
    return MMDX_OK;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *mmdx_ctx_data_dir(const mmdx_ctx_t *ctx)
{
    const char *env;
    if (ctx && ctx->data_dir)
        return ctx->data_dir;
    env = getenv("MMDX_DATA_DIR");
    if (env && env[0])
        return env;
#ifdef MMDX_SOURCE_DATA_DIR
    /* Not installed yet (programs run from the build tree): the source tree's data/
     * rather than a directory that does not exist. An installed directory always wins. */
    if (!is_dir(MMDX_DATA_DIR) && is_dir(MMDX_SOURCE_DATA_DIR))
        return MMDX_SOURCE_DATA_DIR;
#else
    (void)is_dir;
#endif
    return MMDX_DATA_DIR;
}

const char *mmdx_version(void)
{
    return MMDX_VERSION_STRING;
}

const char *mmdx_dependency_versions(void)
{
    if (mmdx_init() != MMDX_OK)
        return "";
    return dep_versions;
}
