/* The advice in the output formats: TSV rows and one JSON object per patient. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mmdx/decision.h"

const char *mmdx_advice_tsv_header(void)
{
    return "patient_id\tkind\trank\titem\tstatus\tdetail\tprobability\tci_low\tci_high\tvalue\tcitation";
}

/* A field with tabs, newlines and carriage returns written as spaces. */
static void field(FILE *out, const char *s)
{
    for (s = s ? s : ""; *s; s++)
        fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, out);
}

static void num(FILE *out, double v)
{
    if (isfinite(v))
        fprintf(out, "%.6g", v);
}

int mmdx_advice_write_tsv(const mmdx_advice_t *a, const char *patient_id, FILE *out)
{
    if (a == NULL || out == NULL)
        return MMDX_EINVAL;
    /* triage */
    field(out, patient_id);
    fputs("\ttriage\t1\t", out);
    field(out, a->triage.department);
    fputc('\t', out);
    field(out, mmdx_urgency_name(a->triage.urgency));
    fputc('\t', out);
    field(out, a->triage.target);
    fputc('\t', out);
    if (a->triage.target)
        num(out, a->triage.p);
    fputs("\t\t\t\t\n", out);
    for (size_t i = 0; i < a->n_items; i++) {
        const mmdx_suggestion_t *s = &a->items[i];
        field(out, patient_id);
        fprintf(out, "\ttreatment\t%zu\t", i + 1);
        field(out, s->treatment);
        fputc('\t', out);
        field(out, mmdx_advice_status_name(s->status));
        fputc('\t', out);
        field(out, s->name);
        fputc('\t', out);
        num(out, s->p);
        fputc('\t', out);
        num(out, s->ci_low);
        fputc('\t', out);
        num(out, s->ci_high);
        fputc('\t', out);
        num(out, s->benefit);
        fputc('\t', out);
        field(out, s->indication_citation);
        fputc('\n', out);
        for (size_t k = 0; k < s->n_fired; k++) {
            const mmdx_fired_t *f = &s->fired[k];
            field(out, patient_id);
            fprintf(out, "\trule\t%zu\t", i + 1);
            field(out, s->treatment);
            fputc('\t', out);
            field(out, f->unknown ? "unknown" : mmdx_kb_action_name(f->action));
            fputc('\t', out);
            field(out, f->reason);
            fputs("\t\t\t\t\t", out);
            field(out, f->citation);
            fputc('\n', out);
        }
    }
    for (size_t i = 0; i < a->n_tests; i++) {
        field(out, patient_id);
        fprintf(out, "\ttest\t%zu\t", i + 1);
        field(out, a->tests[i].candidate);
        fputs("\t\t\t\t\t\t", out);
        num(out, a->tests[i].gain);
        fputs("\t\n", out);
    }
    return ferror(out) ? MMDX_EIO : MMDX_OK;
}

const char *mmdx_advice_columns_header(void)
{
    return "triage\turgency\tsuggested\tinsufficient_evidence\texcluded\tnotes\tnext_best_tests";
}

static void ids_with_status(FILE *out, const mmdx_advice_t *a, mmdx_advice_status_t st)
{
    int any = 0;
    for (size_t i = 0; i < a->n_items; i++)
        if (a->items[i].status == st) {
            if (any)
                fputc(';', out);
            field(out, a->items[i].treatment);
            any = 1;
        }
    if (!any)
        fputc('-', out);
}

int mmdx_advice_write_columns(const mmdx_advice_t *a, size_t max_tests, FILE *out)
{
    int any = 0;
    if (a == NULL || out == NULL)
        return MMDX_EINVAL;
    field(out, a->triage.department);
    fputc('\t', out);
    field(out, mmdx_urgency_name(a->triage.urgency));
    fputc('\t', out);
    ids_with_status(out, a, MMDX_ADVICE_SUGGESTED);
    fputc('\t', out);
    ids_with_status(out, a, MMDX_ADVICE_INSUFFICIENT);
    fputc('\t', out);
    for (size_t i = 0; i < a->n_items; i++) {
        const mmdx_suggestion_t *s = &a->items[i];
        if (s->status != MMDX_ADVICE_EXCLUDED)
            continue;
        for (size_t k = 0; k < s->n_fired; k++)
            if (s->fired[k].action == MMDX_KB_AVOID && !s->fired[k].unknown) {
                fputs(any ? " | " : "", out);
                field(out, s->treatment);
                fputs(" (", out);
                field(out, s->fired[k].reason);
                fputc(')', out);
                any = 1;
                break;
            }
    }
    if (!any)
        fputc('-', out);
    fputc('\t', out);
    any = 0;
    for (size_t i = 0; i < a->n_items; i++) {
        const mmdx_suggestion_t *s = &a->items[i];
        if (s->status == MMDX_ADVICE_EXCLUDED)
            continue;
        for (size_t k = 0; k < s->n_fired; k++)
            if (s->fired[k].unknown || s->fired[k].action == MMDX_KB_ADJUST || s->fired[k].action == MMDX_KB_CAUTION) {
                fputs(any ? " | " : "", out);
                field(out, s->fired[k].reason);
                any = 1;
            }
    }
    if (!any)
        fputc('-', out);
    fputc('\t', out);
    for (size_t i = 0; i < a->n_tests && i < max_tests; i++) {
        fputs(i ? " | " : "", out);
        field(out, a->tests[i].candidate);
        fprintf(out, " (%.3g)", a->tests[i].gain);
    }
    if (a->n_tests == 0 || max_tests == 0)
        fputc('-', out);
    return ferror(out) ? MMDX_EIO : MMDX_OK;
}

/* json_object_set_new that tolerates a NULL value by failing the whole build. */
static int put(json_t *obj, const char *key, json_t *v)
{
    return v == NULL || json_object_set_new(obj, key, v) != 0 ? -1 : 0;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *real_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *build(const mmdx_advice_t *a, const char *patient_id)
{
    json_t *root = json_object(), *tri = json_object(), *items = json_array(), *tests = json_array();
    int bad = root == NULL || tri == NULL || items == NULL || tests == NULL;
    if (bad)
        goto fail;
    bad |= put(root, "patient_id", str_or_null(patient_id));
    bad |= put(tri, "department", str_or_null(a->triage.department));
    bad |= put(tri, "urgency", json_string(mmdx_urgency_name(a->triage.urgency)));
    bad |= put(tri, "target", str_or_null(a->triage.target));
    bad |= put(tri, "probability", a->triage.target ? real_or_null(a->triage.p) : json_null());
    bad |= put(root, "triage", tri);
    tri = NULL;
    for (size_t i = 0; i < a->n_items && !bad; i++) {
        const mmdx_suggestion_t *s = &a->items[i];
        json_t *o = json_object(), *rules = json_array();
        if (o == NULL || rules == NULL || json_array_append_new(items, o) != 0) {
            json_decref(o);
            json_decref(rules);
            bad = 1;
            break;
        }
        bad |= put(o, "treatment", str_or_null(s->treatment));
        bad |= put(o, "name", str_or_null(s->name));
        bad |= put(o, "status", json_string(mmdx_advice_status_name(s->status)));
        bad |= put(o, "target", str_or_null(s->target));
        bad |= put(o, "class", str_or_null(s->cls));
        bad |= put(o, "probability", real_or_null(s->p));
        bad |= put(o, "ci_low", real_or_null(s->ci_low));
        bad |= put(o, "ci_high", real_or_null(s->ci_high));
        bad |= put(o, "threshold", real_or_null(s->threshold));
        bad |= put(o, "p_above_threshold", real_or_null(s->p_above));
        bad |= put(o, "expected_benefit", real_or_null(s->benefit));
        bad |= put(o, "indication_citation", str_or_null(s->indication_citation));
        for (size_t k = 0; k < s->n_fired && !bad; k++) {
            const mmdx_fired_t *f = &s->fired[k];
            json_t *r = json_object();
            if (r == NULL || json_array_append_new(rules, r) != 0) {
                json_decref(r);
                bad = 1;
                break;
            }
            bad |= put(r, "rule", str_or_null(f->rule));
            bad |= put(r, "action", json_string(mmdx_kb_action_name(f->action)));
            bad |= put(r, "unknown", json_boolean(f->unknown));
            bad |= put(r, "reason", str_or_null(f->reason));
            bad |= put(r, "advice", str_or_null(f->advice));
            if (f->alternative && *f->alternative)
                bad |= put(r, "alternative", json_string(f->alternative));
            bad |= put(r, "citation", str_or_null(f->citation));
        }
        bad |= put(o, "rules", rules);
    }
    bad |= put(root, "treatments", items);
    items = NULL;
    for (size_t i = 0; i < a->n_tests && !bad; i++) {
        json_t *t = json_object();
        if (t == NULL || json_array_append_new(tests, t) != 0) {
            json_decref(t);
            bad = 1;
            break;
        }
        bad |= put(t, "candidate", str_or_null(a->tests[i].candidate));
        bad |= put(t, "expected_entropy_after", real_or_null(a->tests[i].entropy_after));
        bad |= put(t, "information_gain", real_or_null(a->tests[i].gain));
    }
    bad |= put(root, "next_best_tests", tests);
    tests = NULL;
    bad |= put(root, "entropy", real_or_null(a->entropy));
    if (!bad)
        return root;
fail:
    json_decref(root);
    json_decref(tri);
    json_decref(items);
    json_decref(tests);
    return NULL;
}

int mmdx_advice_to_json(const mmdx_advice_t *a, const char *patient_id, char **json)
{
    json_t *root;
    char *s, *copy;
    if (json)
        *json = NULL;
    if (a == NULL || json == NULL)
        return MMDX_EINVAL;
    if ((root = build(a, patient_id)) == NULL)
        return MMDX_ENOMEM;
    s = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(root);
    if (s == NULL)
        return MMDX_ENOMEM;
    copy = mmdx_strdup(s); /* the caller frees with mmdx_free, jansson allocated with its own */
    free(s);
    if (copy == NULL)
        return MMDX_ENOMEM;
    *json = copy;
    return MMDX_OK;
}
