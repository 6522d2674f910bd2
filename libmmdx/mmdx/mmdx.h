/**
 * @file mmdx.h
 * @brief Umbrella header of libmmdx: include this one.
 */
#ifndef MMDX_MMDX_H
#define MMDX_MMDX_H

#include "version.h"
#include "common.h"
#include "ctx.h"
#include "space.h"
#include "cohort.h"
#include "modality.h"
#include "plugin.h"
#include "source.h"
#include "collect.h"
#include "outfile.h"
#include "imaging.h"
#include "terms.h"
#include "pred.h"
#include "model.h"
#include "metrics.h"
#include "kb.h"
#include "decision.h"
#include "advise.h"
#include "writer.h"

#endif
