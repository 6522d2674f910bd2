/* Make seed inputs for the cohort-file harness at test time (never committed): small
 * valid cohort files of several shapes, written through the library, and damaged copies
 * of them (truncated, bytes flipped), so the replay reaches the reader's checks.
 * usage: cohort_seeds DIR */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmdx/mmdx.h>

static int make(const char *path, size_t n, int with_levels, int with_targets)
{
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_cohort_t *c = NULL;
    const char *bin[] = {"0", "1"};
    mmdx_error_t e = {0};
    size_t cat = 0;
    char id[32];
    int rc = MMDX_ENOMEM;
    if (s == NULL)
        return rc;
    if (mmdx_space_add_feature(s, "lab:loinc:2160-0", MMDX_KIND_CONTINUOUS, "mg/dL", MMDX_TRANSFORM_LOG, NULL) ||
        mmdx_space_add_feature(s, "var:1:100:A:G", MMDX_KIND_DOSAGE, NULL, MMDX_TRANSFORM_NONE, NULL))
        goto done;
    if (with_levels && (mmdx_space_add_feature(s, "demo:sex", MMDX_KIND_CATEGORICAL, NULL, MMDX_TRANSFORM_NONE, &cat) ||
                        mmdx_space_add_level(s, cat, "female", NULL) || mmdx_space_add_level(s, cat, "male", NULL)))
        goto done;
    if (with_targets && mmdx_space_add_target(s, "t2d", 2, bin, NULL))
        goto done;
    c = mmdx_cohort_alloc(s, n);
    if (c == NULL)
        goto done;
    for (size_t i = 0; i < n; i++) {
        snprintf(id, sizeof id, "P%zu", i);
        if (mmdx_cohort_set_id(c, i, id))
            goto done;
        if (i % 3)
            mmdx_cohort_set(c, i, 0, 1.0 + (double)i, i % 5 ? 0 : MMDX_VAL_CENSOR_LEFT);
        mmdx_cohort_set(c, i, 1, (double)(i % 3), 0);
        if (with_levels)
            mmdx_cohort_set(c, i, 2, (double)(i % 2), 0);
        if (with_targets)
            mmdx_cohort_set_label(c, i, 0, i % 4 ? (int)(i % 2) : -1);
    }
    rc = mmdx_cohort_save(NULL, c, path, &e);
    if (rc)
        fprintf(stderr, "cohort_seeds: %s: %s\n", path, e.message);
done:
    mmdx_cohort_free(c);
    mmdx_space_free(s);
    return rc;
}

static int damage(const char *src, const char *dir, const char *stem)
{
    FILE *f = fopen(src, "rb");
    unsigned char *buf;
    long size;
    char path[4096];
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0) {
        if (f)
            fclose(f);
        return 1;
    }
    rewind(f);
    buf = malloc((size_t)size);
    if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        free(buf);
        return 1;
    }
    fclose(f);
    for (int k = 1; k <= 4; k++) { /* truncated at k fifths */
        snprintf(path, sizeof path, "%s/%s-cut%d.h5", dir, stem, k);
        if ((f = fopen(path, "wb")) == NULL)
            break;
        fwrite(buf, 1, (size_t)(size * k / 5), f);
        fclose(f);
    }
    for (int k = 0; k < 8; k++) { /* one byte flipped, spread over the file */
        long at = 64 + (size - 64) * k / 8;
        snprintf(path, sizeof path, "%s/%s-flip%d.h5", dir, stem, k);
        if ((f = fopen(path, "wb")) == NULL)
            break;
        buf[at] ^= 0x5a;
        fwrite(buf, 1, (size_t)size, f);
        buf[at] ^= 0x5a;
        fclose(f);
    }
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    char path[4096];
    const struct {
        const char *stem;
        size_t n;
        int levels, targets;
    } shapes[] = {{"small", 10, 1, 1}, {"nolabels", 40, 0, 0}, {"empty", 0, 1, 1}};
    if (argc != 2) {
        fprintf(stderr, "usage: cohort_seeds DIR\n");
        return 2;
    }
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        snprintf(path, sizeof path, "%s/%s.h5", argv[1], shapes[k].stem);
        if (make(path, shapes[k].n, shapes[k].levels, shapes[k].targets) != MMDX_OK)
            return 1;
        if (damage(path, argv[1], shapes[k].stem) != 0)
            return 1;
    }
    return 0;
}
