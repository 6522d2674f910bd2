/**
 * @file terms.h
 * @brief Term dictionary: LOINC codes to English and Korean display names, and local lab
 *        names (in either language) to LOINC.
 *
 * The dictionary is the project's table data/terms.tsv (installed in the data directory,
 * format in docs/formats/labs.md). Reports use it to print feature names in the language
 * the user asks for (`--lang en|ko`); the laboratory adapter uses it to map local codes
 * and names to LOINC. A loaded dictionary is immutable and may be shared by threads.
 */
#ifndef MMDX_TERMS_H
#define MMDX_TERMS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A term dictionary: display names of codes (opaque). */
typedef struct mmdx_terms mmdx_terms_t;

/**
 * Load a term dictionary from @p path.
 * New dictionary in @p out; free with mmdx_terms_free().
 * @return MMDX_OK; MMDX_EIO when the file cannot be read; MMDX_EFORMAT for a malformed line
 *         (file and line in @p err); MMDX_EDUP for a code or local name listed twice;
 *         MMDX_ENOMEM.
 */
MMDX_EXPORT int mmdx_terms_load(const char *path, mmdx_terms_t **out, mmdx_error_t *err) MMDX_WARN_UNUSED;
/** NULL is a no-op. */
MMDX_EXPORT void mmdx_terms_free(mmdx_terms_t *terms);

/** Number of codes with display names, and of local names. */
MMDX_EXPORT size_t mmdx_terms_n_codes(const mmdx_terms_t *terms);
/** Number of local names mapped to LOINC. */
MMDX_EXPORT size_t mmdx_terms_n_local(const mmdx_terms_t *terms);

/**
 * Display name of LOINC code @p loinc (e.g. "2345-7") in language @p lang ("en" or "ko";
 * NULL means "en"). Borrowed; valid until the dictionary is freed.
 * @return the name, or NULL when the code or language is unknown.
 */
MMDX_EXPORT const char *mmdx_terms_display(const mmdx_terms_t *terms, const char *loinc, const char *lang);

/**
 * Display name of a feature id: `lab:loinc:<code>` through the LOINC names, other ids
 * (`demo:age`, `demo:sex`) through the dictionary's feature rows. Borrowed; NULL when unknown.
 */
MMDX_EXPORT const char *mmdx_terms_feature_display(const mmdx_terms_t *terms, const char *feature_id,
                                                   const char *lang);

/**
 * LOINC code of a local lab name or code (e.g. "GLU", "혈당", "Creatinine"). Matching ignores
 * ASCII case and leading/trailing blanks. Borrowed; NULL when not listed.
 */
MMDX_EXPORT const char *mmdx_terms_local_to_loinc(const mmdx_terms_t *terms, const char *local);

#ifdef __cplusplus
}
#endif
#endif
