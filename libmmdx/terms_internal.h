/* Internal: loading a term dictionary with an explicit allocator, so the laboratory
 * plugin (which never links against libmmdx) can use the same code through its host
 * table. Not installed. */
#ifndef MMDX_TERMS_INTERNAL_H
#define MMDX_TERMS_INTERNAL_H

#include "mmdx/terms.h"

#if defined(__GNUC__) && __GNUC__ >= 4
#define MMDX_TERMS_HIDDEN __attribute__((visibility("hidden")))
#else
#define MMDX_TERMS_HIDDEN
#endif

typedef struct mmdx_terms_alloc {
    void *(*malloc)(size_t size);
    void *(*realloc)(void *ptr, size_t size);
    void (*free)(void *ptr);
} mmdx_terms_alloc_t;

/* As mmdx_terms_load(), allocating with @p a (copied into the dictionary). */
MMDX_TERMS_HIDDEN int mmdx_terms_load_with(const char *path, const mmdx_terms_alloc_t *a,
                                           mmdx_terms_t **out, mmdx_error_t *err);

#endif
