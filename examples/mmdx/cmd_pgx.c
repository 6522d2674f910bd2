/* mmdx pgx: pharmacogenomic diplotypes and phenotypes per patient from a VCF/BCF, written
 * as a PGx table (docs/pgx.md). Research use; not a clinical PGx test. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <mmdx/mmdx.h>
#include "cli.h"

int cmd_pgx(int argc, char **argv);

typedef struct pgx_count {
    size_t obs, rejects, patients;
} pgx_count_t;

static int count_obs(void *data, const mmdx_obs_t *o)
{
    (void)o;
    ((pgx_count_t *)data)->obs++;
    return MMDX_OK;
}

static int count_patient(void *data, const char *p)
{
    (void)p;
    ((pgx_count_t *)data)->patients++;
    return MMDX_OK;
}

static int print_reject(void *data, const char *patient, const char *file, long record, int code, const char *reason)
{
    pgx_count_t *c = data;
    c->rejects++;
    /* patient ids go to the user's terminal only, never to the library log */
    fprintf(stderr, "mmdx pgx: %s: record %ld%s%s: %s (%s)\n", file, record, patient ? ", sample " : "",
            patient ? patient : "", reason, mmdx_strerror(code));
    return MMDX_OK;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: mmdx pgx --variants FILE.vcf[.gz]|FILE.bcf [-o TABLE.tsv] [options]\n"
               "Call CYP2C19, CYP2C9, CYP3A5, DPYD, NUDT15, SLCO1B1, TPMT, UGT1A1 and VKORC1\n"
               "diplotypes and phenotypes per sample (CPIC definitions, GRCh38). Not a clinical test.\n"
               "  --variants FILE     VCF, bgzipped VCF or BCF (one)\n"
               "  -o, --output FILE   PGx table (TSV); default: standard output\n"
               "  --samples A,B,...   only these samples\n"
               "  --option KEY=VALUE  adapter option (filter=pass, min_gq=N, min_dp=N, absent=reference, ...)\n"
               "  --plugin PATH       load a modality plugin first\n"
               "  --threads N         decompression threads\n"
               "  -v, --verbose       log at INFO\n");
}

static int copy_to_stdout(const char *path)
{
    FILE *f = fopen(path, "r");
    char buf[65536];
    size_t n;
    if (!f)
        return -1;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        if (fwrite(buf, 1, n, stdout) != n) {
            fclose(f);
            return -1;
        }
    fclose(f);
    return fflush(stdout) == 0 ? 0 : -1;
}

int cmd_pgx(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"variants", required_argument, NULL, 'V'}, {"output", required_argument, NULL, 'o'},
        {"samples", required_argument, NULL, 's'},  {"option", required_argument, NULL, 'O'},
        {"plugin", required_argument, NULL, 'P'},   {"threads", required_argument, NULL, 't'},
        {"verbose", no_argument, NULL, 'v'},        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *variants = NULL, *output = NULL, *samples = NULL;
    const char *extra[32], *plugins[16];
    size_t n_extra = 0, n_plugins = 0;
    int verbose = 0, threads = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'V':
            if (variants) {
                fprintf(stderr, "mmdx pgx: give one --variants file per run\n");
                return CLI_EXIT_FATAL;
            }
            variants = optarg;
            break;
        case 'o': output = optarg; break;
        case 's': samples = optarg; break;
        case 'O':
            if (n_extra == 32) {
                fprintf(stderr, "mmdx pgx: too many --option\n");
                return CLI_EXIT_FATAL;
            }
            extra[n_extra++] = optarg;
            break;
        case 'P':
            if (n_plugins == 16) {
                fprintf(stderr, "mmdx pgx: too many --plugin\n");
                return CLI_EXIT_FATAL;
            }
            plugins[n_plugins++] = optarg;
            break;
        case 't': threads = atoi(optarg); break;
        case 'v': verbose = 1; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error("pgx", "bad option");
        }
    }
    if (optind != argc)
        return cli_usage_error("pgx", "unexpected argument '%s' (the input goes after --variants)", argv[optind]);
    if (!variants)
        return cli_usage_error("pgx", "no input: give --variants FILE");
    const cli_path_t ins[] = {{"--variants", variants}};
    const cli_path_t outs[] = {{"-o", output}};
    if (cli_check_paths("pgx", NULL, ins, 1, outs, 1) != CLI_EXIT_OK)
        return CLI_EXIT_FATAL;
    char tmp_out[64] = "";
    if (!output) {
        const char *td = getenv("TMPDIR");
        snprintf(tmp_out, sizeof tmp_out, "%s/mmdx-pgx.XXXXXX", td && strlen(td) < 40 ? td : "/tmp");
        int fd = mkstemp(tmp_out);
        if (fd < 0) {
            perror("mmdx pgx: temporary file");
            return CLI_EXIT_FATAL;
        }
        close(fd);
    }
    char opt_table[4200], opt_samples[4200];
    const char *options[40];
    size_t k = 0;
    snprintf(opt_table, sizeof opt_table, "pgx_table=%s", output ? output : tmp_out);
    options[k++] = opt_table;
    if (samples) {
        snprintf(opt_samples, sizeof opt_samples, "samples=%s", samples);
        options[k++] = opt_samples;
    }
    for (size_t i = 0; i < n_extra; i++)
        options[k++] = extra[i];
    options[k] = NULL;

    int status = CLI_EXIT_FATAL, rc;
    mmdx_error_t err = {0};
    mmdx_source_t *src = NULL;
    pgx_count_t count = {0, 0, 0};
    mmdx_sink_t sink = {&count, count_obs, NULL, print_reject, count_patient, {NULL}};
    mmdx_ctx_t *ctx = cli_ctx_new(verbose);
    if (!ctx) {
        fprintf(stderr, "mmdx pgx: out of memory\n");
        goto done;
    }
    if (threads > 0)
        mmdx_ctx_set_threads(ctx, threads);
    for (size_t i = 0; i < n_plugins; i++)
        if ((rc = mmdx_plugin_load(ctx, plugins[i], &err)) != MMDX_OK) {
            cli_print_error("pgx", &err);
            goto done;
        }
    if ((rc = mmdx_source_open(ctx, "vcf", variants, options, &src, &err)) != MMDX_OK ||
        (rc = mmdx_source_read(src, &sink, &err)) != MMDX_OK) {
        cli_print_error("pgx", &err);
        if (src == NULL)
            cli_report_unavailable("vcf");
        goto done;
    }
    if (!output && copy_to_stdout(tmp_out) != 0) {
        perror("mmdx pgx: writing the table");
        goto done;
    }
    if (verbose)
        fprintf(stderr, "mmdx pgx: %zu samples, %zu phenotype observations, %zu rejected records\n", count.patients,
                count.obs, count.rejects);
    status = count.rejects ? CLI_EXIT_REJECTS : CLI_EXIT_OK;
done:
    mmdx_source_close(src);
    mmdx_ctx_free(ctx);
    if (tmp_out[0])
        unlink(tmp_out);
    return status;
}
