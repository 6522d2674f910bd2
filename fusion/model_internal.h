/* Internal: the fusion model's layout, shared by model.c (training), predict.c,
 * pred.c and model_file.c. Not installed. */
#ifndef MMDX_FUSION_MODEL_INTERNAL_H
#define MMDX_FUSION_MODEL_INTERNAL_H

#include <math.h>

#include "mmdx/model.h"
#include "gauss.h"

/* Training phases: one or more passes over the data each. */
enum { FZ_PH_MOMENTS = 0, FZ_PH_COVAR = 1, FZ_PH_MODAL = 2, FZ_PH_FOLDS = 3, FZ_PH_STACK = 4, FZ_PH_DONE = 5 };

/* The training protocol: which sums each pass gathers (the Hessian schedule) and how a
 * step reads them. Model files in training carry it (attribute training_protocol; files
 * without it are protocol 1); a model in training from another protocol is refused by
 * accumulate, step and merge, so that sites and a coordinator running different versions
 * cannot mix their sums. 2: iteration 0 of a chord fit without a Hessian, the extrapolated
 * last step without one, the chord scheme above 16 coefficients (29 Nov 2026). */
#define FZ_TRAIN_PROTOCOL 2

/* Moments accumulated per column in the first pass, as count, mean and central sums
 * (sum of (x - mean)^2 and ^3), of the value and of log(value) over positive values:
 * raw sums of x^2 would cancel in the variance of a feature whose mean is large
 * against its spread. Combined across chunks and sites with fz_mom_combine(). */
enum { FZ_MOM_N, FZ_MOM_MEAN, FZ_MOM_M2, FZ_MOM_M3, FZ_MOM_NPOS, FZ_MOM_LMEAN, FZ_MOM_LM2, FZ_MOM_LM3, FZ_MOM_MIN,
       FZ_MOM_COUNT };

/* One modelled column: a feature's value, or one level indicator of a categorical feature. */
typedef struct fz_col {
    size_t feature;   /* model feature index */
    long level;       /* indicated level of a categorical feature, or -1 */
    int islog;        /* modelled as log(x) */
    int islogit;      /* modelled as logit(x) (declared MMDX_TRANSFORM_LOGIT; x in [0, 1], clamped to
                         [FZ_LOGIT_EPS, 1 - FZ_LOGIT_EPS]) */
    double mean, sd;  /* of the (transformed) value; z = (x - mean) / sd */
    double xmin;      /* smallest positive training value (log columns clamp to it) */
    double mom[FZ_MOM_COUNT];
} fz_col_t;

/* Proportions of a LOGIT column are clamped to [FZ_LOGIT_EPS, 1 - FZ_LOGIT_EPS] before logit(), so
 * that 0 and 1 (a proportion that is exactly none or all) stay finite: logit(0.001) = -6.91. Values
 * outside [0, 1] are an error (fz_check_logit()). Documented in docs/fusion.md. */
#define FZ_LOGIT_EPS 1e-3
static inline double fz_logit(double p)
{
    p = p < FZ_LOGIT_EPS ? FZ_LOGIT_EPS : (p > 1.0 - FZ_LOGIT_EPS ? 1.0 - FZ_LOGIT_EPS : p);
    return log(p / (1.0 - p));
}

/* One Bayesian logistic regression, d coefficients with the intercept first. */
typedef struct fz_fit {
    size_t d;
    double *beta, *beta_prev, *m0, *prec0; /* d each */
    double *g, *H;                          /* aggregates: d, d x d (lower) */
    double ll;                              /* aggregate log-likelihood */
    double n;                               /* aggregate patients (weights) */
    double n_used;                          /* patients in the last completed pass (a parameter) */
    double *L;                              /* d x d (+ d work): Cholesky of the posterior precision */
    double obj_prev;
    double step1, step2;                    /* the last two steps' largest entries (0: none yet) */
    unsigned iter;
    int done;
} fz_fit_t;

/* A block of features modelled together, with its Gaussian feature model. */
typedef struct fz_modality {
    char *name;
    size_t ncol;
    size_t *col;      /* model column indices */
    double *S, *N;    /* aggregates, ncol x ncol (lower) */
    double nseen;     /* aggregate: patients with at least one value */
    double *Sigma;    /* ncol x ncol shrinkage covariance of the standardised columns */
    double *Lambda;   /* its inverse (derived: computed when Sigma is set or loaded) */
} fz_modality_t;

/* One binary model: class `cls` of target `target` against the rest. */
typedef struct fz_binary {
    size_t target, cls;
    double l0;          /* prior log-odds (training prevalence, smoothed) */
    fz_fit_t *fits;     /* nmod * (folds + 1): [m * (folds + 1) + f], f = 0 full (Newton), f > 0 without
                           fold f - 1 (one Newton step from the full fit's mode; in the folds pass
                           their aggregates hold fold f - 1's own sums at that mode) */
    fz_fit_t stack;     /* d = nmod + 1 */
} fz_binary_t;

struct mmdx_model {
    mmdx_ctx_t *ctx;
    mmdx_space_t *space;
    mmdx_model_options_t opt;
    size_t nfeat, ncol, nmod, ntarget, nbin;
    fz_col_t *cols;
    size_t *feat_col0, *feat_ncol, *feat_mod; /* per feature: first column, columns, modality */
    fz_modality_t *mods;
    fz_binary_t *bins;
    size_t *tgt_bin0;   /* per target: first binary model */
    size_t *tgt_nbin;   /* per target: binary models (1 for two classes) */
    double *counts;     /* aggregate label counts: per target, per class (offset tgt_cls0) */
    size_t *tgt_cls0;
    int phase;
    unsigned pass;
    double n_patients;  /* aggregate patients seen in the first pass */
    int protocol;       /* the training protocol of the file it came from (FZ_TRAIN_PROTOCOL) */
    char path[256];     /* the file it was loaded from, or "" (errors name it) */
    char **prov;        /* provenance lines (owned) */
    size_t n_prov;
};

/* Mapping of a cohort onto the model: model feature -> cohort column (-1 when absent). */
typedef struct fz_map {
    long *col;          /* nfeat */
    long **level;       /* nfeat: cohort level -> model level (categorical only) or NULL */
    size_t *nlevel;
    long *target;       /* model target -> cohort target, or -1 */
} fz_map_t;

int fz_map_init(const mmdx_model_t *m, const mmdx_cohort_t *c, fz_map_t *map);
void fz_map_free(const mmdx_model_t *m, fz_map_t *map);

/*
 * Standardised values of modality @p mod for rows [first, first + n) of @p c into Z
 * (n x ncol, leading dimension n) and the observed indicators (1 or 0) into O.
 * Missing values are 0 in Z. Returns the number of rows with at least one value.
 */
size_t fz_block(const mmdx_model_t *m, const fz_map_t *map, size_t mod, const mmdx_cohort_t *c, size_t first,
                size_t n, double *Z, double *O);

/* Value of model column @p col for row i on the modelling scale before standardising
 * (the level indicator for categorical columns). Returns 0 when missing. */
int fz_col_value(const mmdx_model_t *m, const fz_map_t *map, const mmdx_cohort_t *c, size_t col, size_t i,
                 double *out);
/* 1 when a numeric column of feature @p j of @p space is modelled as logit(x): declared
 * MMDX_TRANSFORM_LOGIT and continuous. */
int fz_feature_is_logit(const mmdx_space_t *space, size_t j);
/* Every value of the LOGIT columns of rows [first, first + n) of @p c is in [0, 1]: MMDX_OK, else
 * MMDX_ERANGE naming the patient and the feature in @p err. */
int fz_check_logit(const mmdx_model_t *m, const mmdx_cohort_t *c, size_t first, size_t n, mmdx_error_t *err);
/* (transform and) standardise a value of column @p cl. */
double fz_col_standardise(const fz_col_t *cl, double v);
/* Add the moments b[0..3] (n, mean, central sums of squares and cubes) into a[0..3]
 * (Chan, Golub and LeVeque's pairwise update). */
void fz_mom_combine(double *a, const double *b);
/* Standardised values are clamped to +-FZ_Z_MAX: a value millions of sds from the
 * training mean is an error or out of distribution (flagged), and must not overflow. */
#define FZ_Z_MAX 1e6
/* Mean of the linear predictor x^T beta, and its posterior variance in *var (may be NULL;
 * work holds d doubles). */
double fz_fit_eval(const fz_fit_t *f, const double *x, double *var, double *work);

/* Lambda of every modality from its Sigma. MMDX_ENUMERIC when one is not positive definite. */
int fz_model_precisions(mmdx_model_t *m);

/* Cross-fitting fold of a patient id. */
unsigned fz_fold(const mmdx_model_t *m, const char *id);

/* Helpers for fits (model.c). */
/* Internal (tests): bytes of imputed designs an in-memory fit may keep (0: the default,
 * a quarter of the machine's memory and at least 1 GiB). Not thread-safe; the model is the
 * same whatever the budget. */
void fz_train_set_cache_budget(size_t bytes);
/* Internal (tests): bytes of imputed values the last in-memory fit kept (over the budget
 * for the designs; 0 when it kept the designs or nothing). */
size_t fz_train_last_kept(void);
int fz_fit_init(fz_fit_t *f, size_t d);
void fz_fit_free(fz_fit_t *f);
void fz_fit_clear(fz_fit_t *f);
/* Prior N(m0, 1/prec0) with the intercept's mean and sd first; beta starts at m0. */
void fz_fit_prior(fz_fit_t *f, double mean0, double sd0, double mean_rest, double sd_rest);
/* One Newton iteration from the fit's aggregates (or a halving back when the last step
 * lowered the log-posterior); marks the fit done when the step is below tol.
 * MMDX_ENUMERIC after max_iter iterations or a non-finite objective.
 * With @p Sigma (a modality's fit: its feature model's covariance, D x D), the chord
 * scheme: only the iterations fz_fit_wants_hessian() names (with @p tol) use the pass's
 * Hessian; iteration 0 takes fz_fit_h0()'s, the others are chord steps with the factor of
 * the last one (the pass then gathers the gradient and log-likelihood only). NULL (the
 * stacking layer): plain Newton. */
int fz_fit_newton(fz_fit_t *f, unsigned max_iter, double tol, const double *Sigma);
/* The Hessian of a chord fit's first step, into f->H (by fz_fit_newton()): at the
 * prior mean every patient has the same probability p0 (of the intercept's mean), so the
 * Hessian is p0 (1 - p0) X'X; the feature model's covariance of the standardised columns
 * (Sigma, D x D) stands for X'X / n, with the intercept's cross terms 0 (the columns are
 * centred). No pass of the data: the step is a Newton step with an approximate Hessian,
 * the iterations after it correct it. */
void fz_fit_h0(fz_fit_t *f, const double *Sigma);
/* Iterations with a Hessian: the first FZ_NEWTON_FULL, then every FZ_NEWTON_REFRESH-th,
 * except one whose step, extrapolated from the last two (step1 * step1 / step2, the chord
 * iteration's linear rate), falls below @p tol: that pass most likely ends the fit, and
 * the posterior's Hessian at the mode comes from the cross-fitting pass anyway. A
 * function of the iteration count, the size and the last two steps, which model files
 * carry: federated sites and the coordinator decide alike. Always without @p chord, and
 * for fits of at most FZ_CHORD_MIN_D coefficients (their Hessian costs little next to the
 * pass a chord iteration may add: measured neutral at 9 coefficients, 6-10% faster fits
 * at 17 and 31). */
#ifndef FZ_CHORD_MIN_D
#define FZ_CHORD_MIN_D 16u
#endif
#ifndef FZ_NEWTON_FULL
#define FZ_NEWTON_FULL 2u
#endif
#ifndef FZ_NEWTON_REFRESH
#define FZ_NEWTON_REFRESH 4u
#endif
int fz_fit_wants_hessian(const fz_fit_t *f, int chord, double tol);
/* MMDX_EVERSION (naming @p what it was asked to do) when @p m is in training and its
 * sums follow another training protocol than this library's; MMDX_OK otherwise. */
int fz_check_protocol(const mmdx_model_t *m, const char *what, mmdx_error_t *err);


#endif
