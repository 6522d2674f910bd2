/* Internal staging of the collector, used by mmdx_collect_file() (collect_file.c):
 * what one source sends is staged and kept only when its read() succeeds. Not installed. */
#ifndef MMDX_COLLECT_INTERNAL_H
#define MMDX_COLLECT_INTERNAL_H

#include "mmdx/collect.h"

/* Start staging: observations from now on can be taken back by rollback. */
void mmdx_collect_stage_begin(mmdx_collect_t *col);
/* Keep what was staged. */
void mmdx_collect_stage_commit(mmdx_collect_t *col);
/* Discard the staged observations and the features they introduced; the patients
 * named during the stage stay (as rows) and each gets a reject naming @p file and
 * @p reason. MMDX_OK or MMDX_ENOMEM (a reject could not be recorded). */
int mmdx_collect_stage_rollback(mmdx_collect_t *col, const char *file, int code, const char *reason);
/* The first fatal error a sink callback met (e.g. out of memory). Borrowed. */
const mmdx_error_t *mmdx_collect_sink_error(const mmdx_collect_t *col);
mmdx_ctx_t *mmdx_collect_ctx(const mmdx_collect_t *col);

#endif
