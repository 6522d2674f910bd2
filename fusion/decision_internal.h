/* Internal: helpers shared by the decision engine's files. Not installed. */
#ifndef MMDX_DECISION_INTERNAL_H
#define MMDX_DECISION_INTERNAL_H

#include "mmdx/decision.h"

/* Posterior of (target, class) in the case, or NULL. */
const mmdx_posterior_t *decision_find_posterior(const mmdx_case_t *c, const char *target, const char *cls);
/* MMDX_OK or MMDX_EINVAL naming the first posterior that is not a probability with an interval. */
int decision_check_case(const mmdx_case_t *c, mmdx_error_t *err);
/* P(posterior > thr) under a Beta matched to mean and 95% interval. */
double decision_prob_above(double mean, double lo, double hi, double thr);
/* Fill the triage from the KB's targets. */
void decision_triage(const mmdx_kb_t *kb, const mmdx_case_t *c, mmdx_triage_t *out);

#endif
