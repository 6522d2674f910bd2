/* Triage (the department of the most probable target that crosses its threshold) and
 * the posterior entropy the next best test starts from. */
#include <math.h>
#include <string.h>

#include "decision_internal.h"
#include "kb_internal.h"

void decision_triage(const mmdx_kb_t *kb, const mmdx_case_t *c, mmdx_triage_t *out)
{
    const kb_target_t *best = NULL;
    double best_p = 0;
    for (size_t i = 0; i < kb->n_targets; i++) {
        const kb_target_t *t = &kb->targets[i];
        const mmdx_posterior_t *p = decision_find_posterior(c, t->name, t->cls);
        if (p == NULL || p->p < t->threshold)
            continue;
        /* the most probable wins; on a tie, the more urgent */
        if (best == NULL || p->p > best_p || (p->p == best_p && t->urgency > best->urgency)) {
            best = t;
            best_p = p->p;
        }
    }
    if (best) {
        out->department = best->department;
        out->urgency = best->urgency;
        out->target = best->name;
        out->p = best_p;
    } else {
        out->department = kb->default_department;
        out->urgency = kb->default_urgency;
        out->target = NULL;
        out->p = 0;
    }
}

static double plogp(double p)
{
    return p > 0 ? -p * log(p) : 0;
}

/* Entropy summed over targets. A target given by one class is taken as binary; a
 * target given by several classes gets the missing mass as one more class. */
double mmdx_case_entropy(const mmdx_case_t *c)
{
    double h = 0;
    if (c == NULL || c->posteriors == NULL)
        return 0;
    for (size_t i = 0; i < c->n_posteriors; i++) {
        const char *t = c->posteriors[i].target;
        double sum = 0, part = 0;
        size_t n = 0;
        int seen = 0;
        if (t == NULL)
            continue;
        for (size_t k = 0; k < i && !seen; k++)
            seen = c->posteriors[k].target && strcmp(c->posteriors[k].target, t) == 0;
        if (seen)
            continue;
        for (size_t k = i; k < c->n_posteriors; k++)
            if (c->posteriors[k].target && strcmp(c->posteriors[k].target, t) == 0) {
                double p = c->posteriors[k].p;
                if (!(p >= 0 && p <= 1))
                    continue;
                sum += p;
                n++;
            }
        double scale = sum > 1 ? 1 / sum : 1;
        for (size_t k = i; k < c->n_posteriors; k++)
            if (c->posteriors[k].target && strcmp(c->posteriors[k].target, t) == 0) {
                double p = c->posteriors[k].p;
                if (p >= 0 && p <= 1)
                    part += plogp(p * scale);
            }
        if (sum < 1)
            part += plogp(1 - sum);
        (void)n;
        h += part;
    }
    return h;
}
