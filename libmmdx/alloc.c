/* The allocator hook: every library allocation goes through these, so tests can make
 * the Nth allocation fail (tests/unit/failalloc.c). */
#include <stdlib.h>
#include <string.h>

#include "mmdx/common.h"

static mmdx_malloc_fn hook_malloc = malloc;
static mmdx_realloc_fn hook_realloc = realloc;
static mmdx_free_fn hook_free = free;

void mmdx_set_allocator(mmdx_malloc_fn m, mmdx_realloc_fn r, mmdx_free_fn f)
{
    hook_malloc = m ? m : malloc;
    hook_realloc = r ? r : realloc;
    hook_free = f ? f : free;
}

void *mmdx_malloc(size_t size)
{
    return hook_malloc(size ? size : 1);
}

void *mmdx_calloc(size_t n, size_t size)
{
    void *p;
    if (size && n > SIZE_MAX / size)
        return NULL;
    p = mmdx_malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *mmdx_realloc(void *ptr, size_t size)
{
    return hook_realloc(ptr, size ? size : 1);
}

void mmdx_free(void *ptr)
{
    if (ptr)
        hook_free(ptr);
}

char *mmdx_strdup(const char *s)
{
    size_t n;
    char *d;
    if (s == NULL)
        return NULL;
    n = strlen(s) + 1;
    d = mmdx_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

#include "alloc_internal.h"

int mmdx_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    size_t n;
    void *q;
    if (need <= *cap)
        return MMDX_OK;
    n = *cap ? *cap : 8;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return MMDX_ENOMEM;
        n *= 2;
    }
    if (elem && n > SIZE_MAX / elem)
        return MMDX_ENOMEM;
    q = mmdx_realloc(*p, n * elem);
    if (q == NULL)
        return MMDX_ENOMEM;
    *p = q;
    *cap = n;
    return MMDX_OK;
}

char *mmdx_strndup(const char *s, size_t n)
{
    char *d = mmdx_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}
