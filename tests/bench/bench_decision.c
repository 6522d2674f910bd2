/* Benchmark of the decision layer: KB load time, and mmdx_decide() plus JSON output over
 * many synthetic patients with the shipped KB. Prints figures; never fails on time. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <mmdx/mmdx.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 100000;
    const char *dir = getenv("MMDX_DATA_DIR");
    char path[4096];
    mmdx_error_t err;
    mmdx_kb_t *kb = NULL;
    snprintf(path, sizeof path, "%s/kb/default.xml", dir ? dir : "data");
    mmdx_error_clear(&err);
    double t0 = now();
    for (int i = 0; i < 20; i++) {
        mmdx_kb_free(kb);
        if (mmdx_kb_load(NULL, path, &kb, &err) != MMDX_OK) {
            fprintf(stderr, "bench_decision: %s:%ld: %s\n", err.file, err.line, err.message);
            return 1;
        }
    }
    double t_load = (now() - t0) / 20;
    static const char *pheno[] = {"Normal Metabolizer", "Intermediate Metabolizer", "Poor Metabolizer"};
    mmdx_facts_t *facts = mmdx_facts_alloc();
    size_t items = 0, rules = 0, bytes = 0;
    unsigned s = 12345;
    double t_only = 0;
    t0 = now();
    for (size_t i = 0; i < n; i++) {
        double u[4];
        for (int k = 0; k < 4; k++) {
            s = s * 1103515245u + 12345u;
            u[k] = (double)(s >> 8) / 16777216.0;
        }
        mmdx_posterior_t post[3] = {{"t2d", "1", u[0], u[0] * 0.7, u[0] + (1 - u[0]) * 0.3},
                                    {"ckd", "1", u[1], u[1] * 0.7, u[1] + (1 - u[1]) * 0.3},
                                    {"cad", "1", u[2], u[2] * 0.7, u[2] + (1 - u[2]) * 0.3}};
        if (mmdx_facts_set_value(facts, "lab:loinc:98979-8", 10 + 110 * u[3]) != MMDX_OK ||
            mmdx_facts_set_level(facts, "pgx:CYP2C19", pheno[i % 3], NULL) != MMDX_OK ||
            mmdx_facts_set_level(facts, "pgx:SLCO1B1", i % 7 ? "Normal Function" : "Poor Function", NULL) != MMDX_OK)
            return 1;
        mmdx_case_t c = {post, 3, mmdx_facts_fact, facts, mmdx_facts_modality, facts};
        mmdx_advice_t *a = NULL;
        char *json = NULL;
        double t1 = now();
        int rc = mmdx_decide(kb, &c, &a, &err);
        t_only += now() - t1;
        if (rc != MMDX_OK || mmdx_advice_to_json(a, "P", &json) != MMDX_OK) {
            fprintf(stderr, "bench_decision: %s\n", err.message);
            return 1;
        }
        items += a->n_items;
        for (size_t k = 0; k < a->n_items; k++)
            rules += a->items[k].n_fired;
        for (const char *p = json; *p; p++)
            bytes++;
        mmdx_free(json);
        mmdx_advice_free(a);
    }
    double t_dec = now() - t0;
    printf("bench_decision: KB %s: %zu treatments, %zu rules; load+validate %.2f ms\n", mmdx_kb_name(kb),
           mmdx_kb_n_treatments(kb), mmdx_kb_n_rules(kb), 1e3 * t_load);
    printf("bench_decision: %zu patients in %.3f s: %.1f us/patient for decide + JSON, %.1f us for decide alone "
           "(%.0f patients/s)\n",
           n, t_dec, 1e6 * t_dec / (double)n, 1e6 * t_only / (double)n, (double)n / t_only);
    printf("bench_decision: %.2f treatments and %.2f fired rules per patient, %.0f JSON bytes per patient\n",
           (double)items / (double)n, (double)rules / (double)n, (double)bytes / (double)n);
    mmdx_facts_free(facts);
    mmdx_kb_free(kb);
    return 0;
}
