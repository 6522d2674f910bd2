/* Allocation-failure injection for tests (SQLite style): run an operation with the Nth
 * allocation through the libmmdx allocator hook failing, for N = 1, 2, ... until it
 * succeeds, and check that every failure was reported as MMDX_ENOMEM and leaked nothing.
 *
 *   static int op(void *data) { ...; return MMDX_OK or a status; }   // frees all it made
 *   char msg[256];
 *   long n = failalloc_loop(op, data, msg, sizeof msg);
 *   ck_assert_msg(n > 0, "%s", msg);
 */
#ifndef MMDX_TEST_FAILALLOC_H
#define MMDX_TEST_FAILALLOC_H

#include <stddef.h>

/* Route the library's allocations through the counting allocator (idempotent). */
void failalloc_install(void);
/* Back to malloc/realloc/free. Only when no block from the counting allocator is live. */
void failalloc_uninstall(void);
/* Fail the @p n-th allocation from now on (1-based) and every later one while
 * @p sticky, or only that one; 0 disarms. */
void failalloc_arm(long n, int sticky);
/* 1 when an armed failure has happened since the last arm. */
int failalloc_triggered(void);
/* Blocks allocated through the hook and not yet freed. */
long failalloc_live(void);

typedef int (*failalloc_fn)(void *data);
/*
 * Run @p fn with the Nth allocation failing for N = 1.. until it returns MMDX_OK without a
 * failure having been injected. Each failing run must return MMDX_ENOMEM and leave no
 * block live. Done once with a single failure and once with every later allocation
 * failing too. @return the number of allocations the successful run needed (> 0), or -1
 * with the reason in @p msg.
 */
long failalloc_loop(failalloc_fn fn, void *data, char *msg, size_t cap);

#endif
