/**
 * @file writer.h
 * @brief Writers of diagnosis results: one output stream in one format (TSV, JSON Lines,
 *        FHIR R4 XML, HTML report), fed one patient at a time.
 *
 * A writer owns an atomic output file (outfile.h): nothing appears at the target path
 * until mmdx_writer_close() succeeds, and mmdx_writer_abort() leaves nothing behind.
 * Output is a pure function of the options and of what is written, in the order written:
 * no clock, no random ids, so re-running a job gives byte-identical files (a timestamp is
 * written only when the caller gives one).
 *
 * Formats (docs/output.md):
 * - `tsv`: the Diagnose TSV of ARCHITECTURE.md, one row per patient, target and class.
 *   The decision layer's advice goes into summary columns appended to every row
 *   (`advice_columns`, mmdx_advice_write_columns()) and/or, in full, into a second, equally
 *   atomic file (`advice_path`, mmdx_advice_write_tsv()); with neither, the advice is
 *   reported through the `unrepresented` callback.
 * - `jsonl`: one JSON object per patient (jansson), with predictions, contributions,
 *   flags, notes and the advice (triage, treatments with their rules, next best tests).
 * - `fhir`: one FHIR R4 XML Bundle (type collection) per batch with one RiskAssessment
 *   per patient and target.
 * - `html`: one self-contained HTML report per batch (inline SVG, no scripts, no external
 *   resources), in English or Korean.
 *
 * Every format states that the results are decision support, not a diagnosis.
 */
#ifndef MMDX_WRITER_H
#define MMDX_WRITER_H

#include "common.h"
#include "pred.h"
#include "decision.h"
#include "terms.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A writer (opaque). */
typedef struct mmdx_writer mmdx_writer_t;

/** Output formats. */
typedef enum {
    MMDX_WRITER_TSV = 0,
    MMDX_WRITER_JSONL = 1,
    MMDX_WRITER_FHIR = 2,
    MMDX_WRITER_HTML = 3
} mmdx_writer_format_t;

/** Parse a format name ("tsv", "jsonl", "fhir", "html"). @return MMDX_OK or MMDX_EINVAL. */
MMDX_EXPORT int mmdx_writer_format_parse(const char *name, mmdx_writer_format_t *format) MMDX_WARN_UNUSED;
/** Name of a format. Static storage; "?" for an unknown value. */
MMDX_EXPORT const char *mmdx_writer_format_name(mmdx_writer_format_t format);

/**
 * Called when the format cannot represent something of a patient (e.g. the advice in TSV
 * without `advice_path`), once per patient and item, so that it can go to the rejects
 * list instead of being dropped silently. Strings are valid for the call only.
 */
typedef void (*mmdx_writer_unrepresented_fn)(void *user, const char *patient_id, const char *what);

/** Options. Initialise with mmdx_writer_options_init(). All strings borrowed for the call to open (copied). */
typedef struct mmdx_writer_options {
    const char *lang;            /**< "en" (default) or "ko": language of the HTML report and of display names */
    const mmdx_terms_t *terms;   /**< display names of lab and demographic features (NULL: feature ids);
                                      borrowed, must outlive the writer */
    const char *title;           /**< report title (HTML) / Bundle identifier value (FHIR); NULL: none */
    const char *timestamp;       /**< ISO 8601 time with zone (2026-01-02T03:04:05Z) written as Bundle.timestamp,
                                      RiskAssessment occurrenceDateTime and in the HTML header; NULL: no time */
    const char *advice_path;     /**< TSV only: file for the advice rows (mmdx_advice_write_tsv()), or NULL */
    int advice_columns;          /**< TSV only: append mmdx_advice_columns_header()'s columns to every row
                                      ("-" for a patient without advice) */
    const char *const *modalities; /**< TSV: modality names for the evidence columns, in the model's
                                        order (mmdx_model_modality()); NULL: taken from the first prediction */
    size_t n_modalities;      /**< number of entries in modalities */
    mmdx_writer_unrepresented_fn unrepresented; /**< may be NULL */
    void *unrepresented_user; /**< passed to unrepresented */
} mmdx_writer_options_t;

/** Defaults: English, no terms, no title, no timestamp, no advice file, no callback. */
MMDX_EXPORT void mmdx_writer_options_init(mmdx_writer_options_t *opt);

/**
 * Open a writer on @p path ("-" is standard output, written directly and not atomic).
 * Fails before anything is written when the directory of @p path (or of advice_path) is
 * missing or not writable (MMDX_EIO naming it), or for an unknown language, a timestamp
 * that is not an ISO 8601 time with zone, or an advice path with another format than TSV
 * (MMDX_EINVAL).
 * New writer in @p out; end it with mmdx_writer_close() or mmdx_writer_abort().
 */
MMDX_EXPORT int mmdx_writer_open(mmdx_writer_format_t format, const char *path, const mmdx_writer_options_t *opt,
                                 mmdx_writer_t **out, mmdx_error_t *err) MMDX_WARN_UNUSED;

/**
 * Check @p opt and the output paths exactly as mmdx_writer_open() does, creating nothing:
 * for callers that want to fail before reading any input.
 * @return MMDX_OK, MMDX_EINVAL or MMDX_EIO (details in @p err).
 */
MMDX_EXPORT int mmdx_writer_check(mmdx_writer_format_t format, const char *path, const mmdx_writer_options_t *opt,
                                  mmdx_error_t *err) MMDX_WARN_UNUSED;

/** One patient's results. All members borrowed for the call. */
typedef struct mmdx_writer_patient {
    const char *patient_id;           /**< the patient */
    const mmdx_pred_t *const *preds;  /**< one filled prediction per target (mmdx_model_predict()), same patient */
    size_t n_preds;                   /**< number of entries in preds */
    const mmdx_advice_t *advice;      /**< decision layer output, or NULL */
    const char *const *basis;         /**< references to the input records used ("Observation/glu-1"), or NULL */
    size_t n_basis;                   /**< number of entries in basis */
    const char *const *notes;         /**< rejected records or other flags of this patient (free text), or NULL */
    size_t n_notes;                   /**< number of entries in notes */
} mmdx_writer_patient_t;

/**
 * Write one patient. The predictions must all be of @p patient->patient_id (MMDX_EINVAL
 * otherwise); in TSV their modalities must match the header's (MMDX_ESPACE).
 * @return MMDX_OK; MMDX_EINVAL; MMDX_ESPACE; MMDX_EIO when writing fails; MMDX_ENOMEM;
 *         MMDX_ESTATE after an earlier failure (the writer can then only be aborted).
 */
MMDX_EXPORT int mmdx_writer_write(mmdx_writer_t *w, const mmdx_writer_patient_t *patient,
                                  mmdx_error_t *err) MMDX_WARN_UNUSED;

/** Patients written so far. */
MMDX_EXPORT size_t mmdx_writer_n_patients(const mmdx_writer_t *w);

/**
 * Finish the document (closing elements, HTML footer), flush, and rename the output (and
 * the advice file) into place; frees @p w. On failure nothing is left at the target paths.
 * @return MMDX_OK or MMDX_EIO / MMDX_ENOMEM / MMDX_ESTATE (an earlier write failed).
 */
MMDX_EXPORT int mmdx_writer_close(mmdx_writer_t *w, mmdx_error_t *err) MMDX_WARN_UNUSED;

/** Discard everything written (temporary files removed); frees @p w. NULL is a no-op. */
MMDX_EXPORT void mmdx_writer_abort(mmdx_writer_t *w);

#ifdef __cplusplus
}
#endif
#endif
