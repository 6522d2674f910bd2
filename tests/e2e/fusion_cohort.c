/* Writes a synthetic labelled cohort file for the fusion end-to-end test (two imaging
 * features, three skewed labs with 15% missing, a categorical sex, a binary target "dx"
 * and a three-class target "grade"), split into site files when asked.
 * Usage: fusion_cohort OUT.h5 N SEED [SITES [edge]] (SITES > 1 also writes
 * OUT.h5.site<k>.h5). "edge" makes the numerical edge cases of tests/e2e/numeric_edge.sh:
 * cup_disc offset by 1e8, vessel constant, lab 2345-7 scaled by 1e140 and 2160-0 by
 * 1e-150, lab 4548-4 missing for everyone, patient 1 without any value, and one patient
 * of grade "high". */
#include <string.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <mmdx/mmdx.h>

static uint64_t st;
static double urand(void)
{
    uint64_t z = (st += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

static double nrand(void)
{
    return sqrt(-2 * log(urand())) * cos(6.283185307179586 * urand());
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: fusion_cohort OUT.h5 N SEED [SITES]\n");
        return 2;
    }
    size_t n = strtoul(argv[2], NULL, 10);
    st = strtoull(argv[3], NULL, 10);
    int sites = argc > 4 ? atoi(argv[4]) : 1;
    int edge = argc > 5 && strcmp(argv[5], "edge") == 0;
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_space_t *s = mmdx_space_alloc();
    const char *ids[] = {"img:retina:cup_disc", "img:retina:vessel", "lab:loinc:2345-7", "lab:loinc:2160-0",
                         "lab:loinc:4548-4"};
    for (size_t j = 0; j < 5; j++) {
        if (mmdx_space_add_feature(s, ids[j], MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, NULL) != MMDX_OK) {
            return 1;
        }
    }
    size_t sex, lv;
    if (mmdx_space_add_feature(s, "demo:sex", MMDX_KIND_CATEGORICAL, NULL, MMDX_TRANSFORM_NONE, &sex) != MMDX_OK ||
        mmdx_space_add_level(s, sex, "female", &lv) != MMDX_OK || mmdx_space_add_level(s, sex, "male", &lv) != MMDX_OK) {
        return 1;
    }
    const char *bin[] = {"0", "1"}, *grade[] = {"high", "low", "mid"};
    if (mmdx_space_add_target(s, "dx", 2, bin, NULL) != MMDX_OK ||
        mmdx_space_add_target(s, "grade", 3, grade, NULL) != MMDX_OK) {
        return 1;
    }
    mmdx_cohort_t *c = mmdx_cohort_alloc(s, n);
    for (size_t i = 0; i < n; i++) {
        char pid[32];
        snprintf(pid, sizeof(pid), "SYN%05zu", i + 1);
        if (mmdx_cohort_set_id(c, i, pid) != MMDX_OK) {
            return 1;
        }
        double z = nrand(), male = urand() < 0.5;
        double eta = -0.3 + 1.2 * z + 0.4 * male;
        int dx = urand() < 1 / (1 + exp(-eta));
        double a = 0.8 * z + 0.6 * nrand(), b = -0.5 * z + 0.85 * nrand();
        mmdx_cohort_set(c, i, 0, 0.4 + 0.1 * a + 0.1 * dx, 0);
        mmdx_cohort_set(c, i, 1, 10 + 2 * b, 0);
        for (size_t j = 2; j < 5; j++) {
            if (urand() < 0.15) {
                continue; /* missing lab */
            }
            mmdx_cohort_set(c, i, j, exp(0.5 * z + 0.7 * dx + 0.5 * nrand()) * (double)(j * 10), 0);
        }
        mmdx_cohort_set(c, i, 5, male, 0);
        mmdx_cohort_set_label(c, i, 0, urand() < 0.05 ? -1 : dx);
        int g = z < -0.5 ? 1 : (z < 0.6 ? 2 : 0);
        mmdx_cohort_set_label(c, i, 1, g);
        if (edge) {
            double v;
            mmdx_cohort_get(c, i, 0, &v);
            mmdx_cohort_set(c, i, 0, 1e8 + v, 0);
            mmdx_cohort_set(c, i, 1, 7.0, 0);
            if (mmdx_cohort_get(c, i, 2, &v)) {
                mmdx_cohort_set(c, i, 2, v * 1e140, 0);
            }
            if (mmdx_cohort_get(c, i, 3, &v)) {
                mmdx_cohort_set(c, i, 3, v * 1e-150, 0);
            }
            mmdx_cohort_set_missing(c, i, 4);
            mmdx_cohort_set_label(c, i, 1, i == 2 ? 0 : g == 0 ? 2 : g);
            for (size_t j = 0; i == 0 && j < 6; j++) {
                mmdx_cohort_set_missing(c, i, j);
            }
        }
    }
    mmdx_error_t err;
    mmdx_error_clear(&err);
    if (mmdx_cohort_save(ctx, c, argv[1], &err) != MMDX_OK) {
        fprintf(stderr, "fusion_cohort: %s\n", err.message);
        return 1;
    }
    for (int k = 0; k < sites && sites > 1; k++) {
        size_t first = n * (size_t)k / (size_t)sites, last = n * (size_t)(k + 1) / (size_t)sites;
        mmdx_cohort_t *part = mmdx_cohort_slice(c, first, last - first);
        char path[4096];
        snprintf(path, sizeof(path), "%s.site%d.h5", argv[1], k + 1);
        if (!part || mmdx_cohort_save(ctx, part, path, &err) != MMDX_OK) {
            fprintf(stderr, "fusion_cohort: %s\n", err.message);
            return 1;
        }
        mmdx_cohort_free(part);
    }
    mmdx_cohort_free(c);
    mmdx_space_free(s);
    mmdx_ctx_free(ctx);
    return 0;
}
