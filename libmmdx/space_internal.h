/* Internal parts of the feature space used by the labels reader. Not installed. */
#ifndef MMDX_SPACE_INTERNAL_H
#define MMDX_SPACE_INTERNAL_H

#include "mmdx/space.h"

/* Remove targets added after the space had @p n_targets (rollback of a failed read). */
void mmdx_space_truncate_targets(mmdx_space_t *space, size_t n_targets);
/* Remove features added after the space had @p n_features (rollback of a failed file). */
void mmdx_space_truncate_features(mmdx_space_t *space, size_t n_features);
/* 1 when @p s is a valid name (non-empty, shorter than MMDX_ID_MAX, no control characters). */
int mmdx_space_valid_name(const char *s);

#endif
