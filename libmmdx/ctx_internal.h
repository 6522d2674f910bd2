/* Internal: the context structure, shared by the core (ctx.c) and the plugin host
 * (plugin.c, source.c). Not installed. */
#ifndef MMDX_CTX_INTERNAL_H
#define MMDX_CTX_INTERNAL_H

#include "mmdx/ctx.h"

struct mmdx_ctx {
    mmdx_error_t first_error;   /* first error since the last clear */
    mmdx_log_fn log_fn;
    void *log_user;
    mmdx_log_level_t log_level;
    int threads;
    uint64_t seed;
    char *data_dir;             /* owned; NULL: $MMDX_DATA_DIR or MMDX_DATA_DIR */
    /* Plugin registry: created lazily by plugin.c on first use (it registers the
     * built-ins then); ctx.c only frees it through registry_free. */
    void *registry;
    void (*registry_free)(void *registry);
};

#endif
