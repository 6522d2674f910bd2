/* JSON Lines: one object per patient (docs/output.md), built with jansson and written
 * compact, keys in insertion order, reals with 6 significant digits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "writer_internal.h"

static json_t *num(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

/* json_object_set_new that remembers a failure (NULL value or no memory). */
static void put(json_t *o, const char *key, json_t *v, int *bad)
{
    if (v == NULL || json_object_set_new(o, key, v) != 0)
        *bad = 1;
}

static void push(json_t *a, json_t *v, int *bad)
{
    if (v == NULL || json_array_append_new(a, v) != 0)
        *bad = 1;
}

static json_t *feature(const mmdx_writer_t *w, const char *id, int *bad)
{
    json_t *o = json_object();
    const char *d = writer_feature_label(w, id);
    if (o == NULL) {
        *bad = 1;
        return NULL;
    }
    put(o, "feature", json_string(id), bad);
    if (d != id)
        put(o, "display", json_string(d), bad);
    return o;
}

static json_t *prediction(const mmdx_writer_t *w, const mmdx_pred_t *p, int *bad)
{
    json_t *o = json_object(), *classes = json_array(), *missing_mod = json_array(), *missing = json_array(),
           *flags = json_array();
    size_t K = mmdx_pred_n_classes(p), M = mmdx_pred_n_modalities(p);
    char fl[96];
    double pv;
    size_t df = 0;
    if (o == NULL || classes == NULL || missing_mod == NULL || missing == NULL || flags == NULL) {
        json_decref(o);
        json_decref(classes);
        json_decref(missing_mod);
        json_decref(missing);
        json_decref(flags);
        *bad = 1;
        return NULL;
    }
    put(o, "target", json_string(mmdx_pred_target_name(p)), bad);
    for (size_t k = 0; k < K; k++) {
        json_t *c = json_object(), *ev = json_object(), *top = json_array();
        double lo, hi, mean, sd;
        mmdx_pred_interval(p, k, &lo, &hi);
        mmdx_pred_logodds(p, k, &mean, &sd);
        if (c == NULL || ev == NULL || top == NULL) {
            json_decref(c);
            json_decref(ev);
            json_decref(top);
            *bad = 1;
            break;
        }
        put(c, "class", json_string(mmdx_pred_class_name(p, k)), bad);
        put(c, "probability", num(mmdx_pred_prob(p, k)), bad);
        put(c, "ci_low", num(lo), bad);
        put(c, "ci_high", num(hi), bad);
        put(c, "logodds_mean", num(mean), bad);
        put(c, "logodds_sd", num(sd), bad);
        put(c, "prior_logodds", num(mmdx_pred_prior_logodds(p, k)), bad);
        for (size_t m = 0; m < M; m++)
            put(ev, mmdx_pred_modality(p, m),
                mmdx_pred_modality_present(p, m) ? num(mmdx_pred_evidence(p, k, m)) : json_null(), bad);
        put(c, "evidence", ev, bad);
        size_t nt = mmdx_pred_n_top(p, k);
        for (size_t r = 0; r < nt; r++) {
            double contrib = 0;
            const char *id = mmdx_pred_top_feature(p, k, r, &contrib);
            json_t *fo = feature(w, id, bad);
            if (fo) {
                put(fo, "contribution", num(contrib), bad);
                push(top, fo, bad);
            }
        }
        put(c, "top_features", top, bad);
        push(classes, c, bad);
    }
    put(o, "classes", classes, bad);
    put(o, "best_class", json_string(mmdx_pred_class_name(p, mmdx_pred_best_class(p))), bad);
    for (size_t m = 0; m < M; m++)
        if (!mmdx_pred_modality_present(p, m))
            push(missing_mod, json_string(mmdx_pred_modality(p, m)), bad);
    put(o, "missing_modalities", missing_mod, bad);
    for (size_t r = 0; r < mmdx_pred_n_missing(p); r++)
        push(missing, json_string(mmdx_pred_missing_feature(p, r)), bad);
    put(o, "missing_features", missing, bad);
    double d2 = mmdx_pred_ood(p, &df, &pv);
    json_t *ood = json_object();
    if (ood) {
        put(ood, "distance2", num(d2), bad);
        put(ood, "df", json_integer((json_int_t)df), bad);
        put(ood, "pvalue", num(pv), bad);
        put(ood, "flagged", json_boolean(mmdx_pred_flags(p) & MMDX_PRED_OOD), bad);
    }
    put(o, "ood", ood, bad);
    writer_flags_str(mmdx_pred_flags(p), fl, sizeof(fl));
    if (strcmp(fl, "-") != 0) {
        /* "ood,imputed" -> ["ood", "imputed"] */
        for (char *tok = fl, *comma; tok; tok = comma ? comma + 1 : NULL) {
            if ((comma = strchr(tok, ',')) != NULL)
                *comma = '\0';
            push(flags, json_string(tok), bad);
        }
    }
    put(o, "flags", flags, bad);
    return o;
}

static int jsonl_begin(mmdx_writer_t *w, mmdx_error_t *err)
{
    (void)w;
    (void)err;
    return MMDX_OK;
}

/* Stands for the advice in the dumped object until the advice's own JSON text is spliced
 * in: parsing that text only to dump it again took a third of the time. A string with
 * control characters is dumped escaped, so this sequence cannot come from the data. */
static const char advice_mark[] = "\x01mmdx-advice\x01";
static const char advice_mark_dumped[] = "\"\\u0001mmdx-advice\\u0001\"";

/* The members of mmdx_advice_to_json()'s object after its leading "patient_id" (which
 * the enclosing object already has), or NULL when the text does not start that way. */
static const char *advice_members(const char *aj, const char *patient_id)
{
    json_t *id = json_string(patient_id);
    char *dumped = id ? json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    const char *members = NULL;
    json_decref(id);
    if (dumped == NULL)
        return NULL;
    size_t n = strlen(dumped);
    if (strncmp(aj, "{\"patient_id\":", 14) == 0 && strncmp(aj + 14, dumped, n) == 0 && aj[14 + n] == ',')
        members = aj + 14 + n + 1;
    free(dumped);
    return members;
}

static int jsonl_patient(mmdx_writer_t *w, const mmdx_writer_patient_t *p, mmdx_error_t *err)
{
    int bad = 0, rc = MMDX_OK;
    json_t *o = json_object(), *preds = json_array();
    char *s = NULL, *aj = NULL;
    const char *members = NULL;
    if (o == NULL || preds == NULL) {
        json_decref(preds);
        goto oom;
    }
    put(o, "patient_id", json_string(p->patient_id), &bad);
    for (size_t t = 0; t < p->n_preds; t++)
        push(preds, prediction(w, p->preds[t], &bad), &bad);
    put(o, "predictions", preds, &bad);
    if (p->advice) {
        if (mmdx_advice_to_json(p->advice, p->patient_id, &aj) != MMDX_OK)
            goto oom;
        if ((members = advice_members(aj, p->patient_id)) != NULL) {
            put(o, "advice", json_string(advice_mark), &bad);
        } else { /* another layout: through the parser */
            json_error_t jerr;
            json_t *a = json_loads(aj, 0, &jerr);
            if (a == NULL)
                goto oom;
            json_object_del(a, "patient_id");
            put(o, "advice", a, &bad);
        }
    } else {
        put(o, "advice", json_null(), &bad);
    }
    if (p->n_basis > 0) {
        json_t *b = json_array();
        for (size_t k = 0; b && k < p->n_basis; k++)
            push(b, json_string(p->basis[k]), &bad);
        put(o, "basis", b, &bad);
    }
    json_t *notes = json_array();
    for (size_t k = 0; notes && k < p->n_notes; k++)
        push(notes, json_string(p->notes[k]), &bad);
    put(o, "notes", notes, &bad);
    put(o, "disclaimer", json_string(writer_disclaimer_en), &bad);
    if (bad)
        goto oom;
    if ((s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6))) == NULL)
        goto oom;
    const char *mark = members ? strstr(s, advice_mark_dumped) : NULL;
    if (mark) {
        fwrite(s, 1, (size_t)(mark - s), w->f);
        fputc('{', w->f);
        fputs(members, w->f);
        fputs(mark + strlen(advice_mark_dumped), w->f);
    } else {
        fputs(s, w->f);
    }
    fputc('\n', w->f);
    goto done;
oom:
    rc = mmdx_error_set(err, MMDX_ENOMEM, w->path, p->patient_id, 0,
                        "out of memory (or a string that is not UTF-8) building the JSON object");
done:
    free(s);
    mmdx_free(aj);
    json_decref(o);
    return rc;
}

static int jsonl_end(mmdx_writer_t *w, mmdx_error_t *err)
{
    (void)w;
    (void)err;
    return MMDX_OK;
}

const writer_ops_t mmdx_writer_jsonl_ops = {jsonl_begin, jsonl_patient, jsonl_end, NULL};
