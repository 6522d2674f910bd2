/* Internal string -> index map used for feature ids, patient ids and classes. */
#include <stdint.h>
#include <string.h>

#include "hashmap.h"
#include "mmdx/common.h"

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

void mmdx_hashmap_init(mmdx_hashmap_t *m)
{
    memset(m, 0, sizeof *m);
}

void mmdx_hashmap_clear(mmdx_hashmap_t *m)
{
    if (m == NULL)
        return;
    mmdx_free(m->keys);
    mmdx_free(m->vals);
    memset(m, 0, sizeof *m);
}

static int rehash(mmdx_hashmap_t *m, size_t cap)
{
    const char **keys = mmdx_calloc(cap, sizeof *keys);
    size_t *vals = mmdx_malloc(cap * sizeof *vals);
    if (keys == NULL || vals == NULL) {
        mmdx_free(keys);
        mmdx_free(vals);
        return MMDX_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] == NULL)
            continue;
        size_t k = (size_t)hash_bytes(m->keys[i], strlen(m->keys[i])) & (cap - 1);
        while (keys[k])
            k = (k + 1) & (cap - 1);
        keys[k] = m->keys[i];
        vals[k] = m->vals[i];
    }
    mmdx_free(m->keys);
    mmdx_free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return MMDX_OK;
}

int mmdx_hashmap_reserve(mmdx_hashmap_t *m, size_t n)
{
    size_t cap = m->cap ? m->cap : 16;
    /* keep the load factor under 1/2 */
    while (cap / 2 < n + 1) {
        if (cap > SIZE_MAX / 4)
            return MMDX_ENOMEM;
        cap *= 2;
    }
    if (cap == m->cap)
        return MMDX_OK;
    return rehash(m, cap);
}

int mmdx_hashmap_put(mmdx_hashmap_t *m, const char *key, size_t val)
{
    size_t len = strlen(key), k;
    int rc = mmdx_hashmap_reserve(m, m->count + 1);
    if (rc != MMDX_OK)
        return rc;
    k = (size_t)hash_bytes(key, len) & (m->cap - 1);
    while (m->keys[k]) {
        if (strcmp(m->keys[k], key) == 0) {
            m->vals[k] = val;
            m->keys[k] = key;
            return MMDX_OK;
        }
        k = (k + 1) & (m->cap - 1);
    }
    m->keys[k] = key;
    m->vals[k] = val;
    m->count++;
    return MMDX_OK;
}

int mmdx_hashmap_getn(const mmdx_hashmap_t *m, const char *key, size_t len, size_t *val)
{
    size_t k;
    if (m == NULL || m->cap == 0 || key == NULL)
        return 0;
    k = (size_t)hash_bytes(key, len) & (m->cap - 1);
    while (m->keys[k]) {
        if (strncmp(m->keys[k], key, len) == 0 && m->keys[k][len] == '\0') {
            if (val)
                *val = m->vals[k];
            return 1;
        }
        k = (k + 1) & (m->cap - 1);
    }
    return 0;
}

int mmdx_hashmap_get(const mmdx_hashmap_t *m, const char *key, size_t *val)
{
    if (key == NULL)
        return 0;
    return mmdx_hashmap_getn(m, key, strlen(key), val);
}
