/* Small helpers shared by the core's Check suites: a scratch directory per test run and
 * writing small files into it. */
#ifndef MMDX_TEST_TESTUTIL_H
#define MMDX_TEST_TESTUTIL_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A new empty directory under $TMPDIR (or /tmp); path in @p buf. */
static inline void tu_mkdtemp(char *buf, size_t cap)
{
    const char *t = getenv("TMPDIR");
    snprintf(buf, cap, "%s/mmdx-test-XXXXXX", t && t[0] ? t : "/tmp");
    if (mkdtemp(buf) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
}

/* @p dir/@p name into @p buf. */
static inline const char *tu_path(char *buf, size_t cap, const char *dir, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
    return buf;
}

static inline void tu_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* The whole file at @p path in a new buffer (free()); its size in *@p size. */
static inline unsigned char *tu_slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
        (buf = malloc((size_t)n + 1)) == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(1);
    }
    fclose(f);
    *size = (size_t)n;
    return buf;
}

/* Number of entries in @p dir other than . and .. */
static inline int tu_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* Remove @p dir and the plain files in it. */
static inline void tu_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[4096];
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* Deterministic test data: splitmix64 uniforms in (0, 1) and Box-Muller normals, one
 * stream per test program, restarted with tu_seed(). */
static inline uint64_t *tu_rng(void)
{
    static uint64_t state;
    return &state;
}
static inline void tu_seed(uint64_t seed)
{
    *tu_rng() = seed;
}
static inline double tu_urand(void)
{
    uint64_t z = (*tu_rng() += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}
static inline double tu_nrand(void)
{
    return sqrt(-2 * log(tu_urand())) * cos(6.283185307179586 * tu_urand());
}

#endif
