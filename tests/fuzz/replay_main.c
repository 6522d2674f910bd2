/* Replay driver: runs a fuzz harness over files and directories given on the command
 * line, so `make check` replays the corpora without libFuzzer. Prints the count. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    if (!buf)
        return -1;
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 1;
}

static long run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 0; /* an absent corpus directory is simply empty */
    if (!S_ISDIR(st.st_mode))
        return run_file(path);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    long total = 0;
    struct dirent *e;
    char sub[4096];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        long k = run_path(sub);
        if (k < 0) {
            closedir(d);
            return -1;
        }
        total += k;
    }
    closedir(d);
    return total;
}

int main(int argc, char **argv)
{
    long total = 0;
    for (int i = 1; i < argc; i++) {
        long k = run_path(argv[i]);
        if (k < 0)
            return 1;
        total += k;
    }
    printf("replayed %ld inputs\n", total);
    return 0;
}
