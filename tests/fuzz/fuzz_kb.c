/* Fuzz the knowledge base loader (libxml2 parse, RELAX NG validation, meaning checks)
 * and, when a KB loads, run the decision engine over it with a fixed patient. */
#include "fuzz_common.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mmdx_kb_t *kb = NULL;
    mmdx_error_t err;
    mmdx_error_clear(&err);
    if (mmdx_kb_load_memory(fuzz_ctx(), (const char *)data, size, "fuzz.xml", &kb, &err) == MMDX_OK) {
        mmdx_posterior_t post[8];
        size_t n = 0;
        for (size_t i = 0; i < mmdx_kb_n_targets(kb) && n < 8; i++) {
            mmdx_kb_target_info_t t;
            if (mmdx_kb_target(kb, i, &t) == MMDX_OK)
                post[n++] = (mmdx_posterior_t){t.name, t.cls, 0.6, 0.3 + 0.05 * (double)i, 0.9};
        }
        mmdx_facts_t *facts = mmdx_facts_alloc();
        if (facts && mmdx_facts_set_value(facts, "lab:loinc:98979-8", 25) == MMDX_OK &&
            mmdx_facts_set_level(facts, "pgx:CYP2C19", "Poor Metabolizer", "*2/*2") == MMDX_OK) {
            mmdx_case_t c = {post, n, mmdx_facts_fact, facts, mmdx_facts_modality, facts};
            mmdx_advice_t *a = NULL;
            if (mmdx_decide(kb, &c, &a, NULL) == MMDX_OK) {
                char *json = NULL;
                if (mmdx_advice_to_json(a, "fuzz", &json) == MMDX_OK)
                    mmdx_free(json);
            }
            mmdx_advice_free(a);
        }
        mmdx_facts_free(facts);
        for (size_t i = 0; i < mmdx_kb_n_rules(kb); i++) {
            mmdx_kb_rule_info_t r;
            if (mmdx_kb_rule(kb, i, &r) != MMDX_OK || strlen(r.id) == 0)
                __builtin_trap(); /* a loaded KB lists every rule with an id */
        }
    }
    mmdx_kb_free(kb);
    mmdx_ctx_clear_error(fuzz_ctx());
    return 0;
}
