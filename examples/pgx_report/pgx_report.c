/* A pharmacogenomic report from a VCF: the `vcf` modality with its option pgx=1 calls a
 * star-allele diplotype and a CPIC phenotype per sample and gene (docs/pgx.md), and sends
 * them as categorical observations `pgx:<GENE>` and `pgx:<GENE>:diplotype` to a sink: here
 * our own sink, which prints one line per patient and gene. Genes whose call is not certain
 * enough send nothing (`mmdx pgx` writes the full table with the certainty of every call).
 * Usage: pgx_report CALLS.vcf[.gz]|CALLS.bcf
 * Research use only: not a clinical pharmacogenomic test. */
#include <stdio.h>
#include <string.h>
#include <mmdx/mmdx.h>

/* One line per patient and gene, filled from its two observations in whichever order
 * they come, printed when the next gene starts and at the end. */
typedef struct report {
    size_t patients, calls;
    char patient[128], gene[32], diplotype[64], phenotype[96];
} report_t;

static void flush(report_t *r)
{
    if (r->gene[0]) {
        printf("%s\t%s\t%s\t%s\n", r->patient, r->gene, r->diplotype[0] ? r->diplotype : ".",
               r->phenotype[0] ? r->phenotype : ".");
        r->calls++;
    }
    r->gene[0] = r->diplotype[0] = r->phenotype[0] = '\0';
}

static int on_obs(void *data, const mmdx_obs_t *o)
{
    report_t *r = data;
    if (strncmp(o->feature, "pgx:", 4) != 0 || !o->level)
        return MMDX_OK; /* ignore plain variant observations */
    const char *gene = o->feature + 4, *colon = strchr(gene, ':');
    int len = colon ? (int)(colon - gene) : (int)strlen(gene);
    if (strcmp(r->patient, o->patient) != 0 || strncmp(r->gene, gene, (size_t)len) != 0 || r->gene[len] != '\0') {
        flush(r); /* a new patient or gene */
        snprintf(r->patient, sizeof r->patient, "%s", o->patient);
        snprintf(r->gene, sizeof r->gene, "%.*s", len, gene);
    }
    if (colon) /* pgx:GENE:diplotype, e.g. "*1 / *2" without spaces */
        snprintf(r->diplotype, sizeof r->diplotype, "%s", o->level);
    else /* pgx:GENE, the CPIC phenotype, e.g. "Intermediate Metabolizer" */
        snprintf(r->phenotype, sizeof r->phenotype, "%s", o->level);
    return MMDX_OK;
}

static int on_patient(void *data, const char *patient)
{
    (void)patient;
    ((report_t *)data)->patients++;
    return MMDX_OK;
}

static int on_reject(void *data, const char *patient, const char *file, long record, int code, const char *reason)
{
    (void)data;
    fprintf(stderr, "pgx_report: %s: record %ld (%s): %s (%s)\n", file, record, patient ? patient : "-",
            reason, mmdx_strerror(code));
    return MMDX_OK; /* keep reading */
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pgx_report CALLS.vcf[.gz]|CALLS.bcf\n");
        return 2;
    }
    mmdx_ctx_t *ctx = mmdx_ctx_alloc(); /* PGx tables from $MMDX_DATA_DIR/pgx or the installed data */
    const char *const options[] = {"pgx=1", NULL};
    mmdx_error_t err = {0};
    mmdx_source_t *src = NULL;
    report_t rep = {0, 0, "", "", "", ""};
    mmdx_sink_t sink = {&rep, on_obs, NULL, on_reject, on_patient, {NULL}};
    printf("patient\tgene\tdiplotype\tphenotype\n");
    int rc = ctx ? mmdx_source_open(ctx, "vcf", argv[1], options, &src, &err) : MMDX_ENOMEM;
    if (rc == MMDX_OK)
        rc = mmdx_source_read(src, &sink, &err);
    flush(&rep);
    if (rc != MMDX_OK) {
        char buf[1024];
        mmdx_error_format(&err, buf, sizeof buf);
        fprintf(stderr, "pgx_report: %s\n", buf);
    } else {
        fprintf(stderr, "pgx_report: %zu patients, %zu gene calls (research use only)\n", rep.patients, rep.calls);
    }
    mmdx_source_close(src);
    mmdx_ctx_free(ctx);
    return rc == MMDX_OK ? 0 : 2;
}
