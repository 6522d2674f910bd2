/* Allocation-failure injection for tests; see failalloc.h. */
#include <stdio.h>
#include <stdlib.h>

#include <mmdx/common.h>

#include "failalloc.h"

/* Counters shared by the library's worker threads (batched scoring splits row blocks
 * between threads): updated atomically, so a leak count is never a lost update. Which
 * allocation is the Nth is then up to the scheduler; every one of them must still be
 * reported as MMDX_ENOMEM without a leak. */
static long n_calls, fail_at, n_live;
static int sticky_mode, triggered;

static int should_fail(void)
{
    long n = __atomic_add_fetch(&n_calls, 1, __ATOMIC_SEQ_CST);
    if (fail_at > 0 && (n == fail_at || (sticky_mode && n > fail_at))) {
        __atomic_store_n(&triggered, 1, __ATOMIC_SEQ_CST);
        return 1;
    }
    return 0;
}

static void *fa_malloc(size_t size)
{
    void *p;
    if (should_fail())
        return NULL;
    p = malloc(size);
    if (p)
        __atomic_add_fetch(&n_live, 1, __ATOMIC_SEQ_CST);
    return p;
}

static void *fa_realloc(void *ptr, size_t size)
{
    void *p;
    if (should_fail())
        return NULL;
    p = realloc(ptr, size);
    if (p && ptr == NULL)
        __atomic_add_fetch(&n_live, 1, __ATOMIC_SEQ_CST);
    return p;
}

static void fa_free(void *ptr)
{
    if (ptr)
        __atomic_sub_fetch(&n_live, 1, __ATOMIC_SEQ_CST);
    free(ptr);
}

void failalloc_install(void)
{
    mmdx_set_allocator(fa_malloc, fa_realloc, fa_free);
}

void failalloc_uninstall(void)
{
    mmdx_set_allocator(NULL, NULL, NULL);
}

void failalloc_arm(long n, int sticky)
{
    n_calls = 0;
    fail_at = n;
    sticky_mode = sticky;
    triggered = 0;
}

int failalloc_triggered(void)
{
    return triggered;
}

long failalloc_live(void)
{
    return n_live;
}

static long loop_once(failalloc_fn fn, void *data, int sticky, char *msg, size_t cap)
{
    long base = n_live;
    for (long n = 1; n < 10000000; n++) {
        int rc, hit;
        failalloc_arm(n, sticky);
        rc = fn(data);
        hit = triggered;
        failalloc_arm(0, 0);
        if (n_live != base) {
            snprintf(msg, cap, "allocation %ld failing%s: %ld block(s) leaked (status %d)", n,
                     sticky ? " (and all after)" : "", n_live - base, rc);
            return -1;
        }
        if (!hit) {
            if (rc != MMDX_OK) {
                snprintf(msg, cap, "run without an injected failure returned %d (%s)", rc, mmdx_strerror(rc));
                return -1;
            }
            return n - 1 > 0 ? n - 1 : 1;
        }
        if (rc == MMDX_OK)
            continue; /* the failure was absorbed (e.g. a cache not built): also fine */
        if (rc != MMDX_ENOMEM) {
            snprintf(msg, cap, "allocation %ld failing%s: status %d (%s), expected MMDX_ENOMEM", n,
                     sticky ? " (and all after)" : "", rc, mmdx_strerror(rc));
            return -1;
        }
    }
    snprintf(msg, cap, "no success after 10M allocations");
    return -1;
}

long failalloc_loop(failalloc_fn fn, void *data, char *msg, size_t cap)
{
    long a, b;
    failalloc_install();
    a = loop_once(fn, data, 0, msg, cap);
    if (a < 0)
        return -1;
    b = loop_once(fn, data, 1, msg, cap);
    if (b < 0)
        return -1;
    return a;
}
