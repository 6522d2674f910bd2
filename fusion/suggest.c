/* The suggestion engine: indications weighed under the posterior's uncertainty, rules
 * evaluated with three-valued logic (missing evidence is "unknown", never false), and
 * every exclusion or adjustment written out with its reason and source. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "decision_internal.h"
#include "kb_internal.h"
#include "mmdx/decision.h"

const char *mmdx_advice_status_name(mmdx_advice_status_t status)
{
    switch (status) {
    case MMDX_ADVICE_SUGGESTED: return "suggested";
    case MMDX_ADVICE_INSUFFICIENT: return "insufficient evidence";
    case MMDX_ADVICE_EXCLUDED: return "excluded";
    }
    return "unknown";
}

void mmdx_advice_free(mmdx_advice_t *advice)
{
    if (advice == NULL)
        return;
    for (size_t i = 0; i < advice->n_items; i++) {
        for (size_t k = 0; k < advice->items[i].n_fired; k++)
            mmdx_free(advice->items[i].fired[k].reason);
        mmdx_free(advice->items[i].fired);
    }
    mmdx_free(advice->items);
    for (size_t i = 0; i < advice->n_tests; i++)
        mmdx_free(advice->tests[i].candidate);
    mmdx_free(advice->tests);
    mmdx_free(advice);
}

/* ------------------------------------------------------------------ posteriors */

const mmdx_posterior_t *decision_find_posterior(const mmdx_case_t *c, const char *target, const char *cls)
{
    for (size_t i = 0; i < c->n_posteriors; i++) {
        const mmdx_posterior_t *p = &c->posteriors[i];
        if (p->target && p->cls && strcmp(p->target, target) == 0 && strcmp(p->cls, cls) == 0)
            return p;
    }
    return NULL;
}

int decision_check_case(const mmdx_case_t *c, mmdx_error_t *err)
{
    const double tol = 1e-9;
    if (c == NULL || (c->n_posteriors && c->posteriors == NULL))
        return mmdx_error_set(err, MMDX_EINVAL, "", "", 0, "NULL case or posteriors");
    for (size_t i = 0; i < c->n_posteriors; i++) {
        const mmdx_posterior_t *p = &c->posteriors[i];
        if (p->target == NULL || p->cls == NULL)
            return mmdx_error_set(err, MMDX_EINVAL, "", "", (long)i + 1, "posterior %zu has no target or class", i);
        if (!(p->p >= 0 && p->p <= 1) || !(p->ci_low >= 0 && p->ci_high <= 1) || !(p->ci_low <= p->p + tol) ||
            !(p->p <= p->ci_high + tol))
            return mmdx_error_set(err, MMDX_EINVAL, "", p->target, (long)i + 1,
                                  "posterior of %s=%s is not a probability with an interval around it "
                                  "(p %g, interval %g to %g)",
                                  p->target, p->cls, p->p, p->ci_low, p->ci_high);
    }
    return MMDX_OK;
}

/* P(posterior > thr) under a Beta matched to the mean and to the interval's width
 * (sd = width / 3.92). A degenerate interval is a point mass. */
double decision_prob_above(double m, double lo, double hi, double thr)
{
    double sd = (hi - lo) / (2 * 1.959963984540054);
    double var = sd * sd, nu;
    if (!(var > 0) || m <= 0 || m >= 1)
        return m > thr ? 1.0 : (m < thr ? 0.0 : 0.5);
    if (var >= m * (1 - m))
        var = 0.999 * m * (1 - m);
    nu = m * (1 - m) / var - 1;
    if (thr <= 0)
        return 1.0;
    if (thr >= 1)
        return 0.0;
    return gsl_cdf_beta_Q(thr, m * nu, (1 - m) * nu);
}

/* ------------------------------------------------------------------ three-valued rules */

enum { TV_FALSE = 0, TV_TRUE = 1, TV_UNKNOWN = 2 };

static int level_equal(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        int x = (*a >= 'A' && *a <= 'Z') ? *a + 32 : *a, y = (*b >= 'A' && *b <= 'Z') ? *b + 32 : *b;
        if (x != y)
            return 0;
    }
    return *a == *b;
}

static int eval_test(const mmdx_kb_t *kb, const kb_test_t *t, const mmdx_fact_t *fact)
{
    const kb_feature_t *f = &kb->features[t->feature];
    double v = fact->value;
    switch (t->op) {
    case KB_IN:
        if (fact->level == NULL)
            return TV_UNKNOWN;
        for (size_t l = 0; l < f->n_levels; l++)
            if ((t->mask >> l & 1) && level_equal(f->levels[l], fact->level))
                return TV_TRUE;
        return TV_FALSE;
    case KB_LT:
    case KB_LE:
    case KB_GT:
    case KB_GE:
    case KB_EQ:
        break;
    }
    if (fact->censor & MMDX_VAL_CENSOR_LEFT) {
        /* the true value lies below v: settled only when v is at or below the bound */
        if (v > t->value)
            return TV_UNKNOWN;
        return t->op == KB_LT || t->op == KB_LE ? TV_TRUE : TV_FALSE;
    }
    if (fact->censor & MMDX_VAL_CENSOR_RIGHT) {
        /* the true value lies above v */
        if (v < t->value)
            return TV_UNKNOWN;
        return t->op == KB_GT || t->op == KB_GE ? TV_TRUE : TV_FALSE;
    }
    switch (t->op) {
    case KB_LT: return v < t->value;
    case KB_LE: return v <= t->value;
    case KB_GT: return v > t->value;
    case KB_GE: return v >= t->value;
    case KB_EQ: return v == t->value;
    case KB_IN: break;
    }
    return TV_UNKNOWN;
}

typedef struct text {
    char buf[1024];
    size_t n;
} text_t;

static void put(text_t *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void put(text_t *t, const char *fmt, ...)
{
    va_list ap;
    int k;
    if (t->n >= sizeof t->buf - 1)
        return;
    va_start(ap, fmt);
    k = vsnprintf(t->buf + t->n, sizeof t->buf - t->n, fmt, ap);
    va_end(ap);
    if (k > 0)
        t->n = t->n + (size_t)k < sizeof t->buf ? t->n + (size_t)k : sizeof t->buf - 1;
}

/* "Clopidogrel" -> "clopidogrel" inside a sentence; "SGLT2 inhibitor" stays. */
static void put_drug(text_t *t, const char *name)
{
    if (name[0] >= 'A' && name[0] <= 'Z' && name[1] >= 'a' && name[1] <= 'z')
        put(t, "%c%s", name[0] + 32, name + 1);
    else
        put(t, "%s", name);
}

static void put_lower(text_t *t, const char *s)
{
    for (; *s && t->n < sizeof t->buf - 1; s++)
        t->buf[t->n++] = (*s >= 'A' && *s <= 'Z') ? (char)(*s + 32) : *s;
    t->buf[t->n] = '\0';
}

static const char *action_verb(mmdx_kb_action_t a)
{
    switch (a) {
    case MMDX_KB_AVOID: return "avoid";
    case MMDX_KB_ADJUST: return "adjust dose of";
    case MMDX_KB_CAUTION: return "caution with";
    case MMDX_KB_USE: return "use";
    }
    return "?";
}

/* Evidence behind a fired rule, one clause per feature:
 * "CYP2C19 <diplotype>, poor metabolizer" or "eGFR 25 mL/min/{1.73_m2} (< 30)". */
static void put_evidence(text_t *t, const mmdx_kb_t *kb, const kb_rule_t *r, const mmdx_fact_t *facts)
{
    int first = 1;
    for (size_t i = 0; i < r->n_tests; i++) {
        size_t f = r->tests[i].feature;
        int seen = 0;
        for (size_t k = 0; k < i; k++)
            seen |= r->tests[k].feature == f;
        if (seen)
            continue;
        const kb_feature_t *kf = &kb->features[f];
        const mmdx_fact_t *fa = &facts[i];
        const char *yn = kf->kind == MMDX_KIND_BINARY ? (fa->value != 0 ? kf->yes : kf->no) : NULL;
        if (yn) {
            put(t, "%s%s", first ? "" : "; ", yn);
            first = 0;
            continue;
        }
        put(t, "%s%s", first ? "" : "; ", kf->label);
        first = 0;
        if (kf->kind == MMDX_KIND_CATEGORICAL) {
            if (fa->detail && *fa->detail)
                put(t, " %s,", fa->detail);
            put(t, " ");
            put_lower(t, fa->level ? fa->level : "?");
        } else if (kf->kind == MMDX_KIND_BINARY) {
            put(t, " %s", fa->value != 0 ? "positive" : "negative");
        } else {
            const char *bound = fa->censor & MMDX_VAL_CENSOR_LEFT ? "< " : fa->censor & MMDX_VAL_CENSOR_RIGHT ? "> " : "";
            put(t, " %s%g%s%s (", bound, fa->value, *kf->unit ? " " : "", kf->unit);
            int fc = 1;
            for (size_t k = i; k < r->n_tests; k++)
                if (r->tests[k].feature == f) {
                    static const char *sym[] = {"<", "<=", ">", ">=", "="};
                    put(t, "%s%s %g", fc ? "" : ", ", sym[r->tests[k].op], r->tests[k].value);
                    fc = 0;
                }
            put(t, ")");
        }
    }
}

static int add_fired(mmdx_suggestion_t *s, size_t *cap, const kb_rule_t *r, int unknown, const char *reason)
{
    for (size_t i = 0; unknown && i < s->n_fired; i++)
        if (s->fired[i].unknown && strcmp(s->fired[i].reason, reason) == 0)
            return MMDX_OK; /* one "check X" note per missing feature is enough */
    if (s->n_fired == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        mmdx_fired_t *nf = mmdx_realloc(s->fired, ncap * sizeof *nf);
        if (nf == NULL)
            return MMDX_ENOMEM;
        s->fired = nf;
        *cap = ncap;
    }
    mmdx_fired_t *f = &s->fired[s->n_fired];
    f->reason = mmdx_strdup(reason);
    if (f->reason == NULL)
        return MMDX_ENOMEM;
    f->rule = r->id;
    f->action = r->action;
    f->unknown = unknown;
    f->advice = r->advice;
    f->alternative = r->alternative;
    f->citation = r->citation;
    s->n_fired++;
    return MMDX_OK;
}

/* Evaluate the treatment's rules; *avoided set when an avoid rule holds. */
static int apply_rules(const mmdx_kb_t *kb, const kb_treatment_t *tr, const mmdx_case_t *c, mmdx_suggestion_t *s,
                       int *avoided)
{
    size_t cap = 0;
    mmdx_fact_t facts[64];
    *avoided = 0;
    for (size_t ri = tr->first_rule; ri < tr->first_rule + tr->n_rules; ri++) {
        const kb_rule_t *r = &kb->rules[ri];
        int value = TV_TRUE;
        size_t missing[8], n_missing = 0;
        text_t t = {.n = 0};
        t.buf[0] = '\0';
        for (size_t i = 0; i < r->n_tests; i++) {
            const kb_test_t *kt = &r->tests[i];
            mmdx_fact_t fact = {0};
            int present = c->fact && c->fact(c->fact_user, kb->features[kt->feature].id, &fact) == 1;
            int tv = TV_UNKNOWN;
            if (present && (kt->op == KB_IN || isfinite(fact.value)))
                tv = eval_test(kb, kt, &fact);
            if (i < sizeof facts / sizeof facts[0])
                facts[i] = fact;
            if (tv == TV_FALSE) {
                value = TV_FALSE;
                break;
            }
            if (tv == TV_UNKNOWN) {
                size_t k = 0;
                value = TV_UNKNOWN;
                while (k < n_missing && missing[k] != kt->feature)
                    k++;
                if (k == n_missing && n_missing < sizeof missing / sizeof missing[0])
                    missing[n_missing++] = kt->feature;
            }
        }
        if (value == TV_FALSE)
            continue;
        if (value == TV_UNKNOWN) {
            if (r->action == MMDX_KB_USE)
                continue;
            put(&t, "unknown: check ");
            for (size_t k = 0; k < n_missing; k++) {
                const kb_feature_t *f = &kb->features[missing[k]];
                put(&t, "%s%s (%s)", k == 0 ? "" : k + 1 == n_missing ? " and " : ", ", f->label, f->id);
            }
            put(&t, " before prescribing ");
            put_drug(&t, tr->name);
            put(&t, " (%s %d)", r->source->org, r->source->year);
        } else {
            put(&t, "%s ", action_verb(r->action));
            put_drug(&t, tr->name);
            put(&t, ": ");
            if (r->n_tests <= sizeof facts / sizeof facts[0])
                put_evidence(&t, kb, r, facts);
            put(&t, " (%s %d)", r->source->org, r->source->year);
            if (r->action == MMDX_KB_AVOID)
                *avoided = 1;
        }
        if (add_fired(s, &cap, r, value == TV_UNKNOWN, t.buf) != MMDX_OK)
            return MMDX_ENOMEM;
    }
    return MMDX_OK;
}

/* ------------------------------------------------------------------ ranking */

static int status_rank(mmdx_advice_status_t s)
{
    return s == MMDX_ADVICE_SUGGESTED ? 0 : s == MMDX_ADVICE_INSUFFICIENT ? 1 : 2;
}

/* Insertion sort: a handful of treatments, and it keeps KB order on ties. */
static void rank_items(mmdx_suggestion_t *items, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        mmdx_suggestion_t x = items[i];
        size_t j = i;
        while (j > 0) {
            const mmdx_suggestion_t *y = &items[j - 1];
            int before = status_rank(x.status) < status_rank(y->status) ||
                         (status_rank(x.status) == status_rank(y->status) && x.benefit > y->benefit);
            if (!before)
                break;
            items[j] = items[j - 1];
            j--;
        }
        items[j] = x;
    }
}

/* Best indication of a treatment: a confident one beats an uncertain one; then the
 * larger expected benefit. Returns 0 when no indication can apply. */
static int weigh(const mmdx_kb_t *kb, const kb_treatment_t *tr, const mmdx_case_t *c, mmdx_suggestion_t *s)
{
    int found = 0;
    double benefit = -tr->harm, best = 0; /* best: expected benefit of the deciding indication */
    for (size_t k = 0; k < tr->n_ind; k++) {
        const kb_indication_t *in = &tr->ind[k];
        const kb_target_t *tg = &kb->targets[in->target];
        const mmdx_posterior_t *p = decision_find_posterior(c, tg->name, in->cls);
        if (p == NULL)
            continue;
        /* expected benefit is linear in p, so its posterior mean is exact */
        benefit += p->p * in->benefit;
        if (p->ci_high < in->min_posterior)
            continue;
        mmdx_advice_status_t st = p->ci_low >= in->min_posterior ? MMDX_ADVICE_SUGGESTED : MMDX_ADVICE_INSUFFICIENT;
        if (!found || status_rank(st) < status_rank(s->status) ||
            (st == s->status && p->p * in->benefit > best)) {
            s->status = st;
            s->target = tg->name;
            s->cls = in->cls;
            s->p = p->p;
            s->ci_low = p->ci_low;
            s->ci_high = p->ci_high;
            s->threshold = in->min_posterior;
            s->p_above = decision_prob_above(p->p, p->ci_low, p->ci_high, in->min_posterior);
            s->indication_citation = in->citation;
            best = p->p * in->benefit;
            found = 1;
        }
    }
    s->benefit = benefit;
    return found;
}

int mmdx_decide(const mmdx_kb_t *kb, const mmdx_case_t *patient, mmdx_advice_t **out, mmdx_error_t *err)
{
    mmdx_advice_t *a;
    int rc;
    if (out)
        *out = NULL;
    if (kb == NULL || patient == NULL || out == NULL)
        return mmdx_error_set(err, MMDX_EINVAL, "", "", 0, "NULL argument");
    if ((rc = decision_check_case(patient, err)) != MMDX_OK)
        return rc;
    a = mmdx_calloc(1, sizeof *a);
    if (a == NULL)
        return mmdx_error_set(err, MMDX_ENOMEM, "", "", 0, "out of memory");
    a->items = mmdx_calloc(kb->n_treatments ? kb->n_treatments : 1, sizeof *a->items);
    if (a->items == NULL) {
        mmdx_free(a);
        return mmdx_error_set(err, MMDX_ENOMEM, "", "", 0, "out of memory");
    }
    for (size_t i = 0; i < kb->n_treatments; i++) {
        const kb_treatment_t *tr = &kb->treatments[i];
        mmdx_suggestion_t *s = &a->items[a->n_items];
        int avoided;
        memset(s, 0, sizeof *s);
        if (!weigh(kb, tr, patient, s))
            continue;
        s->treatment = tr->id;
        s->name = tr->name;
        a->n_items++;
        if (apply_rules(kb, tr, patient, s, &avoided) != MMDX_OK) {
            mmdx_advice_free(a);
            return mmdx_error_set(err, MMDX_ENOMEM, "", tr->id, 0, "out of memory");
        }
        if (avoided)
            s->status = MMDX_ADVICE_EXCLUDED;
    }
    rank_items(a->items, a->n_items);
    decision_triage(kb, patient, &a->triage);
    a->entropy = mmdx_case_entropy(patient);
    *out = a;
    return MMDX_OK;
}
