/* Writers: the object shared by the format back ends (writer_tsv.c, writer_jsonl.c,
 * writer_fhir.c, writer_html.c) and helpers they all use. Not installed. */
#ifndef MMDX_WRITER_INTERNAL_H
#define MMDX_WRITER_INTERNAL_H

#include <stdio.h>

#include "mmdx/outfile.h"
#include "mmdx/writer.h"

/* A format: begin after the files are open, one call per patient, end before commit. */
typedef struct writer_ops {
    int (*begin)(mmdx_writer_t *w, mmdx_error_t *err);
    int (*patient)(mmdx_writer_t *w, const mmdx_writer_patient_t *p, mmdx_error_t *err);
    int (*end)(mmdx_writer_t *w, mmdx_error_t *err);
    void (*release)(mmdx_writer_t *w); /* frees w->state; also on abort */
} writer_ops_t;

struct mmdx_writer {
    mmdx_writer_format_t format;
    const writer_ops_t *ops;
    char *path;
    mmdx_outfile_t *out;
    FILE *f;
    mmdx_outfile_t *advice_out;   /* TSV advice rows, or NULL */
    FILE *advice_f;
    int advice_columns;           /* TSV: summary columns of the advice on every row */
    int ko;                       /* Korean strings */
    char *lang;
    char *title;                  /* or NULL */
    char *timestamp;              /* or NULL */
    const mmdx_terms_t *terms;    /* or NULL */
    char **modalities;            /* TSV header modalities, or NULL until known */
    size_t n_modalities;
    int have_modalities;
    mmdx_writer_unrepresented_fn unrepresented;
    void *unrepresented_user;
    size_t n_patients;
    size_t n_records;             /* resources / rows written (FHIR ids) */
    int failed;
    void *state;                  /* format-specific */
};

extern const writer_ops_t mmdx_writer_tsv_ops;
extern const writer_ops_t mmdx_writer_jsonl_ops;
extern const writer_ops_t mmdx_writer_fhir_ops;
extern const writer_ops_t mmdx_writer_html_ops;

/* The disclaimer every format carries, in the writer's language. Static storage. */
const char *writer_disclaimer(const mmdx_writer_t *w);
/* English disclaimer (FHIR notes and JSONL are English whatever --lang says). */
extern const char writer_disclaimer_en[];

/* Display name of a feature id in the writer's language, or the id itself. Borrowed. */
const char *writer_feature_label(const mmdx_writer_t *w, const char *feature_id);
/* Display name of a modality or next-best-test candidate (feature or modality). New; mmdx_free(). */
char *writer_candidate_label(const mmdx_writer_t *w, const char *candidate);

/* The classes of a prediction worth reporting: for a binary "0"/"1" target only class "1"
 * (class 0 is its complement), else every class. Fills idx (size n_classes); returns count. */
size_t writer_report_classes(const mmdx_pred_t *p, size_t *idx);

/* Flags as "ood,no_evidence,..." into buf, "-" when none. */
void writer_flags_str(unsigned flags, char *buf, size_t size);

/* Report something the format cannot hold. */
void writer_unrepresented(mmdx_writer_t *w, const char *patient_id, const char *what);

/* printf-like growable string, for building texts. */
typedef struct wstr {
    char *s;
    size_t len, cap;
    int oom;
} wstr_t;
void wstr_printf(wstr_t *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void wstr_free(wstr_t *b);

#endif
