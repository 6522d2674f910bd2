/* Internal: Bayesian logistic regression kernels on plain column-major arrays.
 * Not installed. All matrices are column-major; d counts the intercept (column 0 of X
 * is all ones). */
#ifndef MMDX_FUSION_LOGISTIC_H
#define MMDX_FUSION_LOGISTIC_H

#include <stddef.h>

/* Standard normal quantile at 97.5%: half-width of the 95% interval in sd units. */
#define FZ_Z975 1.959963984540054

/* Logistic function, stable for large |x|. */
double fz_sigmoid(double x);
/* log(1 + exp(x)), stable. */
double fz_log1pexp(double x);
/* MacKay's probit approximation of E[sigmoid(a)] for a ~ N(mu, var):
 * sigmoid(kappa(var) * mu), kappa = 1/sqrt(1 + pi var / 8). Returns the moderated
 * log-odds kappa * mu. */
double fz_moderate(double mu, double var);

/*
 * Add patients to the sums of one Newton iteration at @p beta:
 *   g += X^T (w .* (y - p)),  H += X^T diag(w .* p (1 - p)) X (lower triangle),
 *   ll += sum w .* log-likelihood,
 * with p = sigmoid(X beta). X is n x d (leading dimension ldx), y in {0,1}, w the
 * patient weights (0 leaves a patient out; NULL: all 1). @p work holds n * d + n doubles.
 * @p H NULL: the gradient and log-likelihood only (a chord iteration).
 */
void fz_logistic_accumulate(size_t n, size_t d, const double *X, size_t ldx, const double *y,
                            const double *w, const double *beta, double *g, double *H, double *ll,
                            double *work);

/*
 * One Newton step of the posterior mode with a Gaussian prior N(m0, diag(1/prec0)):
 *   A = H + diag(prec0), step = A^{-1} (g - prec0 .* (beta - m0)), beta += step.
 * @p L (d x d, plus d doubles of workspace after it) receives the Cholesky factor (lower) of A, the posterior precision at the
 * beta the sums were taken at. Returns max |step| in *step_max. Returns 0, or -1 when
 * A is not positive definite (cannot happen with prec0 > 0 unless H holds NaN).
 */
int fz_logistic_newton(size_t d, double *beta, const double *m0, const double *prec0, const double *g,
                       const double *H, double *L, double *step_max);

/*
 * A chord (fixed-Hessian) step: as fz_logistic_newton() with the factor L of an earlier
 * iteration's A kept (not recomputed, not changed). 0, -1 when the step is not finite,
 * -2 out of memory.
 */
int fz_logistic_chord(size_t d, double *beta, const double *m0, const double *prec0, const double *g,
                      const double *L, double *step_max);

/* Log-posterior (up to a constant) from the log-likelihood sum at beta. */
double fz_logistic_objective(size_t d, const double *beta, const double *m0, const double *prec0, double ll);

/*
 * Posterior variance x_i^T A^{-1} x_i of the linear predictor for n rows of X (n x d,
 * leading dimension ldx), given the Cholesky factor L of the precision A:
 * var_i = || L^{-1} x_i ||^2, computed for all rows at once with dtrsm.
 * @p work holds n * d doubles.
 */
void fz_logistic_linvar(size_t n, size_t d, const double *X, size_t ldx, const double *L, double *var,
                        double *work);

/* Li = L^{-1} (lower, d x d, upper triangle zeroed) of a Cholesky factor L: 0, or -1
 * when L is singular. */
int fz_logistic_factor_inverse(size_t d, const double *L, double *Li);
/* As fz_logistic_linvar() from Li = L^{-1}: var_i = || Li x_i ||^2 by one dtrmm (the
 * same n d^2 flops as the dtrsm, at a higher rate; scoring factors once per call). */
void fz_logistic_linvar_inv(size_t n, size_t d, const double *X, size_t ldx, const double *Li, double *var,
                            double *work);

#endif
