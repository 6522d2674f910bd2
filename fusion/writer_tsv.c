/* Diagnose TSV (ARCHITECTURE.md "Contracts"): one row per patient, target and class,
 * `patient_id target class probability ci_low ci_high`, then evidence:<modality> for each
 * modality of the model, missing_modalities, missing_features, top_features, ood_pvalue
 * and flags (the columns `mmdx diagnose` has always written), then optionally the
 * decision layer's summary columns (mmdx_advice_columns_header()). */
#include <math.h>
#include <string.h>

#include "writer_internal.h"

/* A field without tabs or newlines (they would break the table). */
static void put_field(FILE *f, const char *s)
{
    for (; s && *s; s++)
        fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, f);
}

static void put_header(mmdx_writer_t *w)
{
    fputs("patient_id\ttarget\tclass\tprobability\tci_low\tci_high", w->f);
    for (size_t m = 0; m < w->n_modalities; m++) {
        fputs("\tevidence:", w->f);
        put_field(w->f, w->modalities[m]);
    }
    fputs("\tmissing_modalities\tmissing_features\ttop_features\tood_pvalue\tflags", w->f);
    if (w->advice_columns) {
        fputc('\t', w->f);
        fputs(mmdx_advice_columns_header(), w->f);
    }
    fputc('\n', w->f);
    w->have_modalities = 1;
}

static int tsv_begin(mmdx_writer_t *w, mmdx_error_t *err)
{
    (void)err;
    if (w->have_modalities)
        put_header(w);
    if (w->advice_f) {
        fputs(mmdx_advice_tsv_header(), w->advice_f);
        fputc('\n', w->advice_f);
    }
    return MMDX_OK;
}

/* Take the header's modalities from the first prediction when open was not told them. */
static int learn_modalities(mmdx_writer_t *w, const mmdx_pred_t *p, mmdx_error_t *err)
{
    size_t M = mmdx_pred_n_modalities(p);
    if (M > 0 && (w->modalities = mmdx_calloc(M, sizeof(char *))) == NULL)
        return mmdx_error_set(err, MMDX_ENOMEM, w->path, NULL, 0, "out of memory");
    for (size_t m = 0; m < M; m++) {
        w->n_modalities = m + 1;
        if ((w->modalities[m] = mmdx_strdup(mmdx_pred_modality(p, m))) == NULL)
            return mmdx_error_set(err, MMDX_ENOMEM, w->path, NULL, 0, "out of memory");
    }
    put_header(w);
    return MMDX_OK;
}

static int check_modalities(const mmdx_writer_t *w, const mmdx_pred_t *p, mmdx_error_t *err)
{
    size_t M = mmdx_pred_n_modalities(p);
    if (M != w->n_modalities)
        return mmdx_error_set(err, MMDX_ESPACE, w->path, mmdx_pred_patient(p), 0,
                              "target %s has %zu modalities, the header %zu", mmdx_pred_target_name(p), M,
                              w->n_modalities);
    for (size_t m = 0; m < M; m++) {
        if (strcmp(mmdx_pred_modality(p, m), w->modalities[m]) != 0)
            return mmdx_error_set(err, MMDX_ESPACE, w->path, mmdx_pred_patient(p), 0,
                                  "modality %zu of target %s is %s, the header has %s", m,
                                  mmdx_pred_target_name(p), mmdx_pred_modality(p, m), w->modalities[m]);
    }
    return MMDX_OK;
}

/* Evidence with 4 significant digits, ood p-value with 3; NA when not finite. */
static void put_num(FILE *f, int digits, double x)
{
    if (isfinite(x))
        fprintf(f, "%.*g", digits, x);
    else
        fputs("NA", f);
}

/* The advice summary columns of a patient ("-" in each without advice), no leading tab. */
static int put_advice_columns(mmdx_writer_t *w, const mmdx_advice_t *a)
{
    if (a)
        return mmdx_advice_write_columns(a, 3, w->f);
    for (const char *h = mmdx_advice_columns_header(), *c = h; *c; c++)
        if (c == h || *c == '\t')
            fputs(c == h ? "-" : "\t-", w->f);
    return MMDX_OK;
}

static int put_pred(mmdx_writer_t *w, const mmdx_pred_t *p, const mmdx_advice_t *advice)
{
    FILE *f = w->f;
    size_t K = mmdx_pred_n_classes(p), M = mmdx_pred_n_modalities(p);
    char flags[96];
    double pv;
    mmdx_pred_ood(p, NULL, &pv);
    writer_flags_str(mmdx_pred_flags(p), flags, sizeof(flags));
    for (size_t k = 0; k < K; k++) {
        double lo, hi;
        mmdx_pred_interval(p, k, &lo, &hi);
        put_field(f, mmdx_pred_patient(p));
        fputc('\t', f);
        put_field(f, mmdx_pred_target_name(p));
        fputc('\t', f);
        put_field(f, mmdx_pred_class_name(p, k));
        fprintf(f, "\t%.6g\t%.6g\t%.6g", mmdx_pred_prob(p, k), lo, hi);
        for (size_t m = 0; m < M; m++) {
            fputc('\t', f);
            if (mmdx_pred_modality_present(p, m))
                put_num(f, 4, mmdx_pred_evidence(p, k, m));
            else
                fputs("NA", f);
        }
        fputc('\t', f);
        int any = 0;
        for (size_t m = 0; m < M; m++) {
            if (!mmdx_pred_modality_present(p, m)) {
                if (any)
                    fputc(',', f);
                put_field(f, mmdx_pred_modality(p, m));
                any = 1;
            }
        }
        if (!any)
            fputc('-', f);
        fprintf(f, "\t%zu\t", mmdx_pred_n_missing(p));
        size_t nt = mmdx_pred_n_top(p, k);
        for (size_t r = 0; r < nt; r++) {
            double c = 0;
            const char *id = mmdx_pred_top_feature(p, k, r, &c);
            if (r)
                fputc(',', f);
            put_field(f, id);
            fprintf(f, ":%+.3g", c);
        }
        if (nt == 0)
            fputc('-', f);
        fputc('\t', f);
        put_num(f, 3, pv);
        fprintf(f, "\t%s", flags);
        if (w->advice_columns) {
            fputc('\t', f);
            if (put_advice_columns(w, advice) != MMDX_OK)
                return MMDX_EIO;
        }
        fputc('\n', f);
    }
    return MMDX_OK;
}

static int tsv_patient(mmdx_writer_t *w, const mmdx_writer_patient_t *p, mmdx_error_t *err)
{
    int rc;
    for (size_t t = 0; t < p->n_preds; t++) {
        if (!w->have_modalities && (rc = learn_modalities(w, p->preds[t], err)) != MMDX_OK)
            return rc;
        if ((rc = check_modalities(w, p->preds[t], err)) != MMDX_OK)
            return rc;
    }
    for (size_t t = 0; t < p->n_preds; t++)
        if (put_pred(w, p->preds[t], p->advice) != MMDX_OK)
            return mmdx_error_set(err, MMDX_EIO, w->path, p->patient_id, 0, "writing the advice columns failed");
    if (p->advice) {
        if (w->advice_f) {
            if (mmdx_advice_write_tsv(p->advice, p->patient_id, w->advice_f) != MMDX_OK)
                return mmdx_error_set(err, MMDX_EIO, w->path, p->patient_id, 0, "writing the advice failed");
        } else if (!w->advice_columns) {
            writer_unrepresented(w, p->patient_id,
                                 "advice (suggestions, triage, next best test): the tsv format has no columns "
                                 "for it; use an advice file, jsonl, fhir or html");
        }
    }
    if (p->n_basis > 0)
        writer_unrepresented(w, p->patient_id, "basis references: the tsv format has no column for them");
    for (size_t k = 0; k < p->n_notes; k++)
        writer_unrepresented(w, p->patient_id, p->notes[k]);
    return MMDX_OK;
}

static int tsv_end(mmdx_writer_t *w, mmdx_error_t *err)
{
    (void)err;
    if (!w->have_modalities)
        put_header(w); /* no patient: still a table with its header */
    return MMDX_OK;
}

const writer_ops_t mmdx_writer_tsv_ops = {tsv_begin, tsv_patient, tsv_end, NULL};
