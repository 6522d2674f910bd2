/* Internal parts of the cohort shared with the cohort file reader. Not installed. */
#ifndef MMDX_COHORT_INTERNAL_H
#define MMDX_COHORT_INTERNAL_H

#include "mmdx/cohort.h"

/* Hand ownership of @p space to @p c (freed with the cohort). */
void mmdx_cohort_own_space(mmdx_cohort_t *c, mmdx_space_t *space);
/* Contiguous storage: values[j * n + i], flags likewise, labels[t * n + i]. Borrowed. */
double *mmdx_cohort_values_(mmdx_cohort_t *c);
uint8_t *mmdx_cohort_flags_(mmdx_cohort_t *c);
int *mmdx_cohort_labels_(mmdx_cohort_t *c);
/* Set an id without validation of uniqueness; takes ownership of @p id (mmdx_malloc'ed). */
void mmdx_cohort_take_id(mmdx_cohort_t *c, size_t i, char *id);

#endif
