/* Synthetic multi-modal study with a known generating model: does fusion beat the best
 * single modality, and approach the Bayes-optimal log-loss as the training set grows?
 *
 * Generator (seeded, deterministic): y ~ Bernoulli(0.3). Given y, three conditionally
 * independent modalities:
 *   img:  6 features, x ~ N(0.5 y * a, R) with a = (1, .8, .6, .4, .2, 0), R_ij = 0.5^|i-j|
 *   lab:  5 features, log x ~ N(log(c_j) + 0.35 y, 0.5^2 (I + 0.3 (11' - I))) with
 *         c = (5, 40, 90, 1.2, 300): positive, right-skewed; each value missing with p 0.2
 *   gen:  4 dosages, x ~ Binomial(2, q_j(y)), q(0) = (.1, .2, .3, .25), q(1) = (.2, .3, .3, .45)
 * The Bayes-optimal posterior log-odds is logit(0.3) plus, per modality, the exact
 * log-likelihood ratio of the observed values (Gaussian marginals for missing labs).
 * Prints a table of test log-loss and AUROC (20000 test patients) against training size.
 * Usage: bench_fusion_synthetic [max-train-N] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lapacke.h>
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

enum { NI = 6, NL = 5, NG = 4, NF = NI + NL + NG };
static const double A_IMG[NI] = {1, .8, .6, .4, .2, 0};
static const double C_LAB[NL] = {5, 40, 90, 1.2, 300};
static const double Q0[NG] = {.1, .2, .3, .25}, Q1[NG] = {.2, .3, .3, .45};
static double R_img[NI * NI], L_img[NI * NI], S_lab[NL * NL], L_lab[NL * NL];

static void setup(void)
{
    for (int i = 0; i < NI; i++) {
        for (int j = 0; j < NI; j++) {
            R_img[i * NI + j] = L_img[i * NI + j] = pow(0.5, abs(i - j));
        }
    }
    for (int i = 0; i < NL; i++) {
        for (int j = 0; j < NL; j++) {
            S_lab[i * NL + j] = L_lab[i * NL + j] = 0.25 * (i == j ? 1.0 : 0.3);
        }
    }
    if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', NI, L_img, NI) || LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', NL, L_lab, NL)) {
        abort();
    }
}

/* log N(x | m1) - log N(x | m0) for a Gaussian with covariance S over the entries in idx. */
static double gauss_llr(const double *x, const double *m0, const double *m1, const double *S, int D, const int *idx,
                        int n)
{
    if (n == 0) {
        return 0;
    }
    double A[NF * NF], r[NF];
    for (int a = 0; a < n; a++) {
        for (int b = 0; b < n; b++) {
            A[b * n + a] = S[idx[b] * D + idx[a]];
        }
        r[a] = m1[idx[a]] - m0[idx[a]];
    }
    /* llr = r' S^-1 (x - (m0 + m1)/2) */
    double v[NF];
    for (int a = 0; a < n; a++) {
        v[a] = x[idx[a]] - 0.5 * (m0[idx[a]] + m1[idx[a]]);
    }
    if (LAPACKE_dposv(LAPACK_COL_MAJOR, 'L', n, 1, A, n, v, n)) {
        abort();
    }
    double s = 0;
    for (int a = 0; a < n; a++) {
        s += r[a] * v[a];
    }
    return s;
}

static mmdx_cohort_t *generate(const mmdx_space_t *s, size_t n, uint64_t seed, double *bayes)
{
    st = seed;
    mmdx_cohort_t *c = mmdx_cohort_alloc(s, n);
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof(id), "S%llu_%zu", (unsigned long long)seed, i);
        if (mmdx_cohort_set_id(c, i, id) != MMDX_OK) {
            abort();
        }
        int y = urand() < 0.3;
        double e[NF], x[NF];
        for (int j = 0; j < NI; j++) {
            e[j] = nrand();
        }
        double m0[NF], m1[NF];
        for (int j = 0; j < NI; j++) {
            double v = 0;
            for (int k = 0; k <= j; k++) {
                v += L_img[k * NI + j] * e[k];
            }
            m0[j] = 0;
            m1[j] = 0.5 * A_IMG[j];
            x[j] = (y ? m1[j] : 0) + v;
            mmdx_cohort_set(c, i, (size_t)j, x[j], 0);
        }
        double lo = log(0.3 / 0.7);
        int idx[NF];
        for (int j = 0; j < NI; j++) {
            idx[j] = j;
        }
        lo += gauss_llr(x, m0, m1, R_img, NI, idx, NI);
        for (int j = 0; j < NL; j++) {
            e[j] = nrand();
        }
        double l[NL], l0[NL], l1[NL];
        int nobs = 0;
        for (int j = 0; j < NL; j++) {
            double v = 0;
            for (int k = 0; k <= j; k++) {
                v += L_lab[k * NL + j] * e[k];
            }
            l0[j] = log(C_LAB[j]);
            l1[j] = l0[j] + 0.35;
            l[j] = (y ? l1[j] : l0[j]) + v;
            if (urand() >= 0.2) {
                mmdx_cohort_set(c, i, (size_t)(NI + j), exp(l[j]), 0);
                idx[nobs++] = j;
            }
        }
        lo += gauss_llr(l, l0, l1, S_lab, NL, idx, nobs);
        for (int j = 0; j < NG; j++) {
            double q = y ? Q1[j] : Q0[j];
            int g = (urand() < q) + (urand() < q);
            mmdx_cohort_set(c, i, (size_t)(NI + NL + j), g, 0);
            lo += g * log(Q1[j] / Q0[j]) + (2 - g) * log((1 - Q1[j]) / (1 - Q0[j]));
        }
        mmdx_cohort_set_label(c, i, 0, y);
        bayes[i] = 1 / (1 + exp(-lo));
    }
    return c;
}

static mmdx_space_t *space_of(const char *prefix)
{
    mmdx_space_t *s = mmdx_space_alloc();
    char id[64];
    for (int j = 0; j < NF; j++) {
        const char *ns = j < NI ? "img:synth" : (j < NI + NL ? "lab:synth" : "var:synth");
        snprintf(id, sizeof(id), "%s:f%d", ns, j);
        if (prefix && strncmp(id, prefix, strlen(prefix)) != 0) {
            continue;
        }
        mmdx_kind_t kind = j < NI + NL ? MMDX_KIND_CONTINUOUS : MMDX_KIND_DOSAGE;
        if (mmdx_space_add_feature(s, id, kind, NULL, MMDX_TRANSFORM_NONE, NULL) != MMDX_OK) {
            abort();
        }
    }
    const char *cls[] = {"0", "1"};
    if (mmdx_space_add_target(s, "dx", 2, cls, NULL) != MMDX_OK) {
        abort();
    }
    return s;
}

static void score(const mmdx_space_t *s, const mmdx_cohort_t *tr, const mmdx_cohort_t *te, const int *y, size_t nte,
                  double *ll, double *auc)
{
    mmdx_model_t *m = NULL;
    mmdx_error_t err;
    double *p = malloc(2 * nte * sizeof(double)), *p1 = malloc(nte * sizeof(double));
    if (mmdx_model_alloc(NULL, s, NULL, &m, &err) != MMDX_OK || mmdx_model_fit(m, tr, &err) != 0 ||
        mmdx_model_predict_probs(m, te, 0, p, NULL, NULL, &err) != MMDX_OK) {
        fprintf(stderr, "bench_fusion_synthetic: %s\n", err.message);
        exit(1);
    }
    for (size_t i = 0; i < nte; i++) {
        p1[i] = p[2 * i + 1];
    }
    *ll = mmdx_metric_logloss(p1, y, nte);
    *auc = mmdx_metric_auroc(p1, y, nte);
    mmdx_model_free(m);
    free(p);
    free(p1);
}

int main(int argc, char **argv)
{
    size_t max_n = argc > 1 ? strtoul(argv[1], NULL, 10) : 16000, nte = 20000;
    setup();
    mmdx_space_t *all = space_of(NULL), *mods[3] = {space_of("img:"), space_of("lab:"), space_of("var:")};
    double *bte = malloc(nte * sizeof(double)), *btr = malloc(max_n * sizeof(double));
    mmdx_cohort_t *te = generate(all, nte, 999, bte);
    int *y = malloc(nte * sizeof(int));
    for (size_t i = 0; i < nte; i++) {
        y[i] = mmdx_cohort_label(te, i, 0);
    }
    printf("bench_fusion_synthetic: test log-loss (AUROC) on %zu patients\n", nte);
    printf("%8s  %15s %15s %15s %15s %15s\n", "N train", "img only", "lab only", "gen only", "fusion", "Bayes-optimal");
    double bll = mmdx_metric_logloss(bte, y, nte), bauc = mmdx_metric_auroc(bte, y, nte);
    for (size_t n = 250; n <= max_n; n *= 4) {
        mmdx_cohort_t *tr = generate(all, n, n, btr);
        double ll[4], auc[4];
        for (int k = 0; k < 3; k++) {
            score(mods[k], tr, te, y, nte, &ll[k], &auc[k]);
        }
        score(all, tr, te, y, nte, &ll[3], &auc[3]);
        printf("%8zu ", n);
        for (int k = 0; k < 4; k++) {
            printf(" %7.4f (%.3f)", ll[k], auc[k]);
        }
        printf(" %7.4f (%.3f)\n", bll, bauc);
        fflush(stdout);
        mmdx_cohort_free(tr);
    }
    mmdx_cohort_free(te);
    for (int k = 0; k < 3; k++) {
        mmdx_space_free(mods[k]);
    }
    mmdx_space_free(all);
    free(bte);
    free(btr);
    free(y);
    return 0;
}
