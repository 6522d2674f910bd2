/* Internal string -> index map (open addressing, linear probing). Keys are borrowed:
 * they must stay valid and unchanged while in the map (they usually point into the
 * owning object's own copies). Not installed. */
#ifndef MMDX_HASHMAP_H
#define MMDX_HASHMAP_H

#include <stddef.h>

typedef struct mmdx_hashmap {
    const char **keys;
    size_t *vals;
    size_t cap;   /* power of two, or 0 */
    size_t count;
} mmdx_hashmap_t;

void mmdx_hashmap_init(mmdx_hashmap_t *m);
void mmdx_hashmap_clear(mmdx_hashmap_t *m);
/* Make room for @p n keys without rehashing. MMDX_OK or MMDX_ENOMEM. */
int mmdx_hashmap_reserve(mmdx_hashmap_t *m, size_t n);
/* Insert or overwrite. MMDX_OK or MMDX_ENOMEM (the map is unchanged then). */
int mmdx_hashmap_put(mmdx_hashmap_t *m, const char *key, size_t val);
/* 1 and *val when found, 0 otherwise. */
int mmdx_hashmap_get(const mmdx_hashmap_t *m, const char *key, size_t *val);
/* Same for a key given as @p len bytes (not NUL-terminated). */
int mmdx_hashmap_getn(const mmdx_hashmap_t *m, const char *key, size_t len, size_t *val);

#endif
