/* Internal: the loaded knowledge base, shared by the loader (kb.c) and the decision
 * engine (suggest.c, triage.c). Not installed. Everything lives in one arena owned by
 * the KB, so freeing the KB frees it all. */
#ifndef MMDX_KB_INTERNAL_H
#define MMDX_KB_INTERNAL_H

#include <stdint.h>

#include "mmdx/kb.h"

/* Levels of a categorical feature are kept as bits of a 64-bit mask. */
#define KB_MAX_LEVELS 64

typedef enum { KB_LT, KB_LE, KB_GT, KB_GE, KB_EQ, KB_IN } kb_op_t;

typedef struct kb_feature {
    const char *id, *label, *unit;
    const char *yes, *no; /* binary: what 1 and 0 mean in reasons, or NULL */
    mmdx_kind_t kind;
    const char **levels;
    size_t n_levels;
} kb_feature_t;

typedef struct kb_source {
    const char *id, *org, *title, *ref;
    int year;
} kb_source_t;

typedef struct kb_target {
    const char *name, *cls, *label, *department;
    mmdx_urgency_t urgency;
    double threshold;
} kb_target_t;

typedef struct kb_test {
    kb_op_t op;
    size_t feature;
    double value;   /* comparisons */
    uint64_t mask;  /* KB_IN: allowed levels */
    long line;
} kb_test_t;

typedef struct kb_indication {
    size_t target;
    const char *cls;
    double min_posterior, benefit;
    const char *citation;
    long line;
} kb_indication_t;

typedef struct kb_rule {
    const char *id;
    size_t treatment;
    mmdx_kb_action_t action;
    const char *alternative, *advice, *condition, *citation, *guideline;
    const kb_source_t *source;
    kb_test_t *tests;
    size_t n_tests;
    long line;
} kb_rule_t;

typedef struct kb_treatment {
    const char *id, *name, *group;
    double harm;
    kb_indication_t *ind;
    size_t n_ind;
    size_t first_rule, n_rules;
    long line;
} kb_treatment_t;

typedef struct kb_arena_block kb_arena_block_t;

struct mmdx_kb {
    kb_arena_block_t *arena;
    const char *file, *name, *version, *scale, *default_department;
    mmdx_urgency_t default_urgency;
    kb_source_t *sources;
    size_t n_sources;
    kb_feature_t *features;
    size_t n_features;
    kb_target_t *targets;
    size_t n_targets;
    kb_treatment_t *treatments;
    size_t n_treatments;
    kb_rule_t *rules;
    size_t n_rules;
};

#endif
