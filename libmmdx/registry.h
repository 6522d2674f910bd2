/* Internal: the plugin registry behind plugin.h and source.h. Not installed.
 *
 * The registry is made lazily the first time a context's plugins are used (it registers
 * the built-ins then) and hangs off ctx->registry; ctx.c frees it through
 * ctx->registry_free. Entries are allocated one by one so a source can keep a pointer
 * to its entry while the registry grows. */
#ifndef MMDX_REGISTRY_H
#define MMDX_REGISTRY_H

#include "mmdx/ctx.h"
#include "mmdx/modality.h"

typedef struct mmdx_registry_entry {
    const mmdx_modality_desc_t *desc; /* borrowed from the module (or the library) */
    void *state;                      /* from ops.init */
    void *dl;                         /* dlopen handle, NULL for a built-in */
    char *origin;                     /* "built-in" or the file path; owned */
    char *data_dir;                   /* host.data_dir points here; owned */
    mmdx_host_t host;                 /* lent to the plugin for its whole life */
} mmdx_registry_entry_t;

/* The context's registry entries (made on first use). NULL count when out of memory. */
mmdx_registry_entry_t *const *mmdx_registry_entries(mmdx_ctx_t *ctx, size_t *n);
/* Entry of the modality named @p name, else the first serving input @p name; NULL if none. */
mmdx_registry_entry_t *mmdx_registry_lookup(mmdx_ctx_t *ctx, const char *name);

/* The built-in descriptor functions compiled into this libmmdx.a (builtins.c);
 * NULL-terminated. */
extern const mmdx_modality_get_desc_fn mmdx_builtin_modalities[];

#endif
