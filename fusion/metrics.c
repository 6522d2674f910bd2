/* Validation metrics, calibration, bootstrap and stratified folds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "mmdx/metrics.h"

typedef struct { double s; int y; } sy_t;

static int by_score_desc(const void *a, const void *b)
{
    double x = ((const sy_t *)a)->s, z = ((const sy_t *)b)->s;
    return (x < z) - (x > z);
}

/* Labelled (score, y) pairs sorted by decreasing score; count in *m. */
static sy_t *sorted_pairs(const double *score, const int *y, size_t n, size_t *m)
{
    sy_t *v = mmdx_malloc((n ? n : 1) * sizeof(sy_t));
    if (!v) {
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (y[i] >= 0) {
            v[k].s = score[i];
            v[k].y = y[i] != 0;
            k++;
        }
    }
    qsort(v, k, sizeof(sy_t), by_score_desc);
    *m = k;
    return v;
}

static double auroc_sorted(const sy_t *v, size_t m)
{
    double pos = 0, neg = 0, area = 0;
    size_t i = 0;
    while (i < m) {
        size_t j = i;
        double tp = 0, fp = 0;
        while (j < m && v[j].s == v[i].s) {
            tp += v[j].y;
            fp += !v[j].y;
            j++;
        }
        area += fp * (pos + 0.5 * tp); /* pairs where the positive ranks above (ties: half) */
        pos += tp;
        neg += fp;
        i = j;
    }
    if (pos == 0 || neg == 0) {
        return NAN;
    }
    return area / (pos * neg);
}

double mmdx_metric_auroc(const double *score, const int *y, size_t n)
{
    size_t m;
    sy_t *v = sorted_pairs(score, y, n, &m);
    if (!v) {
        return NAN;
    }
    double a = auroc_sorted(v, m);
    mmdx_free(v);
    return a;
}

double mmdx_metric_auprc(const double *score, const int *y, size_t n)
{
    size_t m;
    sy_t *v = sorted_pairs(score, y, n, &m);
    if (!v) {
        return NAN;
    }
    double P = 0;
    for (size_t i = 0; i < m; i++) {
        P += v[i].y;
    }
    double ap = 0, tp = 0, fp = 0, prev_recall = 0;
    size_t i = 0;
    while (i < m) {
        size_t j = i;
        while (j < m && v[j].s == v[i].s) {
            tp += v[j].y;
            fp += !v[j].y;
            j++;
        }
        double recall = P > 0 ? tp / P : 0;
        ap += (recall - prev_recall) * (tp / (tp + fp));
        prev_recall = recall;
        i = j;
    }
    mmdx_free(v);
    return P > 0 ? ap : NAN;
}

double mmdx_metric_logloss(const double *p, const int *y, size_t n)
{
    double s = 0, k = 0;
    for (size_t i = 0; i < n; i++) {
        if (y[i] < 0) {
            continue;
        }
        double q = p[i] < 1e-15 ? 1e-15 : (p[i] > 1 - 1e-15 ? 1 - 1e-15 : p[i]);
        s -= y[i] ? log(q) : log1p(-q);
        k++;
    }
    return k > 0 ? s / k : NAN;
}

double mmdx_metric_brier(const double *p, const int *y, size_t n)
{
    double s = 0, k = 0;
    for (size_t i = 0; i < n; i++) {
        if (y[i] >= 0) {
            double r = p[i] - (y[i] != 0);
            s += r * r;
            k++;
        }
    }
    return k > 0 ? s / k : NAN;
}

void mmdx_metric_calibration(const double *p, const int *y, size_t n, size_t bins, size_t *count,
                             double *mean_pred, double *observed)
{
    for (size_t b = 0; b < bins; b++) {
        count[b] = 0;
        mean_pred[b] = 0;
        observed[b] = 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (y[i] < 0 || bins == 0) {
            continue;
        }
        size_t b = (size_t)(p[i] * (double)bins);
        b = b >= bins ? bins - 1 : b;
        count[b]++;
        mean_pred[b] += p[i];
        observed[b] += y[i] != 0;
    }
    for (size_t b = 0; b < bins; b++) {
        if (count[b]) {
            mean_pred[b] /= (double)count[b];
            observed[b] /= (double)count[b];
        } else {
            mean_pred[b] = observed[b] = NAN;
        }
    }
}

double mmdx_metric_ece(const double *p, const int *y, size_t n, size_t bins)
{
    if (bins == 0) {
        return NAN;
    }
    size_t *count = mmdx_malloc(bins * sizeof(size_t));
    double *mp = mmdx_malloc(bins * sizeof(double)), *ob = mmdx_malloc(bins * sizeof(double));
    if (!count || !mp || !ob) {
        mmdx_free(count);
        mmdx_free(mp);
        mmdx_free(ob);
        return NAN;
    }
    mmdx_metric_calibration(p, y, n, bins, count, mp, ob);
    double e = 0, tot = 0;
    for (size_t b = 0; b < bins; b++) {
        if (count[b]) {
            e += (double)count[b] * fabs(mp[b] - ob[b]);
            tot += (double)count[b];
        }
    }
    mmdx_free(count);
    mmdx_free(mp);
    mmdx_free(ob);
    return tot > 0 ? e / tot : NAN;
}

/* splitmix64: a small, well-mixed generator for reproducible resampling */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t uniform_below(uint64_t *s, size_t n)
{
    return (size_t)(next_u64(s) % (uint64_t)n);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, z = *(const double *)b;
    return (x > z) - (x < z);
}

int mmdx_metric_auroc_ci(const double *score, const int *y, size_t n, unsigned reps, double level, uint64_t seed,
                         double *low, double *high)
{
    if (reps == 0 || !(level > 0 && level < 1)) {
        return MMDX_EINVAL;
    }
    size_t m;
    sy_t *v = sorted_pairs(score, y, n, &m);
    sy_t *r = mmdx_malloc((m ? m : 1) * sizeof(sy_t));
    double *a = mmdx_malloc(reps * sizeof(double));
    if (!v || !r || !a) {
        mmdx_free(v);
        mmdx_free(r);
        mmdx_free(a);
        return MMDX_ENOMEM;
    }
    uint64_t s = seed;
    size_t k = 0;
    for (unsigned b = 0; b < reps; b++) {
        for (size_t i = 0; i < m; i++) {
            r[i] = v[uniform_below(&s, m)];
        }
        qsort(r, m, sizeof(sy_t), by_score_desc);
        double x = auroc_sorted(r, m);
        if (!isnan(x)) {
            a[k++] = x;
        }
    }
    if (k == 0) {
        *low = *high = NAN;
    } else {
        qsort(a, k, sizeof(double), cmp_double);
        double ql = (1 - level) / 2 * (double)(k - 1), qh = (1 + level) / 2 * (double)(k - 1);
        *low = a[(size_t)floor(ql)] + (ql - floor(ql)) * (a[(size_t)ceil(ql)] - a[(size_t)floor(ql)]);
        *high = a[(size_t)floor(qh)] + (qh - floor(qh)) * (a[(size_t)ceil(qh)] - a[(size_t)floor(qh)]);
    }
    mmdx_free(v);
    mmdx_free(r);
    mmdx_free(a);
    return MMDX_OK;
}

int mmdx_stratified_folds(const int *y, size_t n, unsigned k, uint64_t seed, unsigned *fold)
{
    if (k < 2) {
        return MMDX_EINVAL;
    }
    int ymax = -1;
    for (size_t i = 0; i < n; i++) {
        ymax = y[i] > ymax ? y[i] : ymax;
    }
    size_t *idx = mmdx_malloc((n ? n : 1) * sizeof(size_t));
    if (!idx) {
        return MMDX_ENOMEM;
    }
    uint64_t s = seed;
    unsigned start = 0;
    for (int cls = -1; cls <= ymax; cls++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            if ((y[i] < 0 ? -1 : y[i]) == cls) {
                idx[m++] = i;
            }
        }
        for (size_t i = m; i > 1; i--) { /* Fisher-Yates */
            size_t j = uniform_below(&s, i);
            size_t t = idx[i - 1];
            idx[i - 1] = idx[j];
            idx[j] = t;
        }
        for (size_t i = 0; i < m; i++) {
            fold[idx[i]] = (unsigned)((start + i) % k);
        }
        start = (unsigned)((start + m) % k); /* next class continues the deal: fold sizes stay even */
    }
    mmdx_free(idx);
    return MMDX_OK;
}
