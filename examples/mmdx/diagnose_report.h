/* mmdx diagnose: scoring every patient into one of the writers (writer.h), with the
 * decision layer's advice when a knowledge base is given, the next best test, per-patient
 * notes from the rejects, a progress bar and the summary line. Not installed. */
#ifndef MMDX_DIAGNOSE_REPORT_H
#define MMDX_DIAGNOSE_REPORT_H

#include "cli.h"

typedef struct dr_options {
    mmdx_writer_format_t format;
    const char *output;      /* "-" for standard output */
    const char *rejects;     /* or NULL */
    const char *advice;      /* tsv: file for the advice rows, or NULL */
    const char *lang;        /* "en" or "ko" */
    const char *kb;          /* knowledge base path, or NULL */
    const char *title;       /* report title, or NULL */
    const char *timestamp;   /* or NULL: no time in the output */
    int quiet;
    const char *per_patient; /* html: directory for one page per patient and index.html, or NULL */
    int threads;             /* worker threads for the predictions and the advice (>= 1; 0 means 1) */
} dr_options_t;

typedef struct dr_state {
    mmdx_kb_t *kb;
    mmdx_terms_t *terms;
} dr_state_t;

/* Before any work: check the output paths, load the KB and the term dictionary.
 * Errors are printed; returns an MMDX status. */
int dr_prepare(mmdx_ctx_t *ctx, const dr_options_t *o, dr_state_t *st);
void dr_free(dr_state_t *st);

/* Score every patient of @p cohort and write them (the predictions and advice of a window
 * of rows computed by o->threads threads into per-row slots, then written in row order by
 * this thread: the output does not depend on the thread count; the first error in row
 * order is the one reported); then the rejects (the collector's,
 * may be NULL, and what the format could not hold) and the summary. Returns the exit
 * status (CLI_EXIT_*). */
int dr_run(const mmdx_model_t *model, const mmdx_cohort_t *cohort, const mmdx_collect_t *col,
           const dr_options_t *o, dr_state_t *st);

/* As dr_run() over a cohort file (mmdx ingest) read @p chunk_rows patients at a time, so
 * memory does not grow with the number of patients. */
int dr_run_file(mmdx_ctx_t *ctx, const mmdx_model_t *model, const char *path, size_t chunk_rows,
                const dr_options_t *o, dr_state_t *st);

/* The decision-support notice, one line on standard error, for outputs that carry none
 * themselves (the TSV tables of diagnose --format tsv, --advice and suggest). */
void dr_print_notice(void);

/* "KB <name> <version> has no rule for target(s) a, b: their posteriors do not enter
 * triage or suggestions" into @p buf when the advisor's model has targets the KB does not
 * cover; returns their number (0: @p buf is ""). */
size_t dr_uncovered_text(const mmdx_advisor_t *adv, const mmdx_kb_t *kb, char *buf, size_t size);

#endif
