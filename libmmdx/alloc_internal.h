/* Internal allocation helpers built on the allocator hook. Not installed. */
#ifndef MMDX_ALLOC_INTERNAL_H
#define MMDX_ALLOC_INTERNAL_H

#include <stddef.h>

/* Make room for @p need elements of @p elem bytes in *p (capacity *cap, grown
 * geometrically). On failure *p and *cap are unchanged. MMDX_OK or MMDX_ENOMEM. */
int mmdx_grow(void **p, size_t *cap, size_t need, size_t elem);

/* Copy of the first @p n bytes of @p s, NUL-terminated. New; mmdx_free(). */
char *mmdx_strndup(const char *s, size_t n);

#endif
