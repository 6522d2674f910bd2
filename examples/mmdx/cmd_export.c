/* mmdx export: write the imaging block of a cohort (read from inputs, or a cohort file
 * made by `mmdx ingest`) as an imaging-feature HDF5 file (docs/formats/imaging.md). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "commands.h"

static void help(void)
{
    printf("Usage: mmdx export (INPUTS | --cohort COHORT.h5) -o OUT.h5 [--source NAME] [options]\n"
           "Write the imaging features img:<source>:* of a cohort as an imaging-feature HDF5\n"
           "file (/patient_ids, /feature_names, /feature_units, /features; see\n"
           "docs/formats/imaging.md). The cohort is read from the inputs, or from a cohort file\n"
           "written by `mmdx ingest`. Patients without any value of that source are left out.\n"
           "\n%s"
           "\n"
           "Options:\n"
           "  -o, --output FILE      file to write (required; replaced atomically)\n"
           "  -c, --cohort FILE      export from a cohort file instead of inputs\n"
           "  -s, --source NAME      imaging source to export (needed when there are several)\n"
           "      --float32          store float32 (default float64)\n"
           "      --gzip LEVEL       deflate level 1-9 with the shuffle filter (default none)\n"
           "      --chunk-rows N     patients per chunk (default: about 1 MiB per chunk)\n"
           "      --contiguous       no chunking (not with --gzip)\n"
           "      --transposed       store /features as features x patients\n"
           "      --rejects FILE     write records rejected while reading the inputs as TSV\n"
           "  -q, --quiet            no summary\n"
           "  -v, --verbose          more messages\n"
           "  -h, --help             show this help\n"
           "\n"
           "Exit status: 0 ok; 1 some input records were rejected (the file holds the rest);\n"
           "2 usage error or fatal error (no file written).\n",
           cli_inputs_help);
}

static int parse_count(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int cmd_export(int argc, char **argv)
{
    enum { OPT_FLOAT32 = 1, OPT_GZIP, OPT_CHUNK, OPT_CONTIG, OPT_TRANSPOSED, OPT_REJECTS };
    static const struct option longopts[] = {
        CLI_INPUT_LONGOPTS,
        {"output", required_argument, NULL, 'o'}, {"cohort", required_argument, NULL, 'c'},
        {"source", required_argument, NULL, 's'}, {"float32", no_argument, NULL, OPT_FLOAT32},
        {"gzip", required_argument, NULL, OPT_GZIP}, {"chunk-rows", required_argument, NULL, OPT_CHUNK},
        {"contiguous", no_argument, NULL, OPT_CONTIG}, {"transposed", no_argument, NULL, OPT_TRANSPOSED},
        {"rejects", required_argument, NULL, OPT_REJECTS}, {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    cli_inputs_t in;
    const char *output = NULL, *cohort_path = NULL, *source = NULL, *rejects = NULL;
    int verbose = 0, quiet = 0, opt, status = CLI_EXIT_FATAL;
    long v;
    mmdx_imaging_write_opts_t wopts;
    mmdx_ctx_t *ctx = NULL;
    mmdx_space_t *space = NULL;
    mmdx_collect_t *col = NULL;
    mmdx_cohort_t *cohort = NULL;
    mmdx_error_t err;

    mmdx_imaging_write_opts_init(&wopts);
    cli_inputs_init(&in);
    while ((opt = getopt_long(argc, argv, "o:c:s:qvh", longopts, NULL)) != -1) {
        int r = cli_inputs_option(&in, opt, optarg);
        if (r < 0)
            goto usage;
        if (r > 0)
            continue;
        switch (opt) {
        case 'o':
            output = optarg;
            break;
        case 'c':
            cohort_path = optarg;
            break;
        case 's':
            source = optarg;
            break;
        case OPT_FLOAT32:
            wopts.float32 = 1;
            break;
        case OPT_GZIP:
            if (parse_count(optarg, 1, 9, &v) < 0) {
                cli_inputs_free(&in);
                return cli_usage_error("export", "--gzip %s: expected a level 1-9", optarg);
            }
            wopts.gzip = (int)v;
            break;
        case OPT_CHUNK:
            if (parse_count(optarg, 1, 1L << 30, &v) < 0) {
                cli_inputs_free(&in);
                return cli_usage_error("export", "--chunk-rows %s: expected a positive count", optarg);
            }
            wopts.chunk_rows = (size_t)v;
            break;
        case OPT_CONTIG:
            wopts.contiguous = 1;
            break;
        case OPT_TRANSPOSED:
            wopts.transposed = 1;
            break;
        case OPT_REJECTS:
            rejects = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'v':
            verbose++;
            break;
        case 'h':
            help();
            cli_inputs_free(&in);
            return CLI_EXIT_OK;
        default:
            goto usage;
        }
    }
    if (optind < argc) {
        cli_inputs_free(&in);
        return cli_usage_error("export", "unexpected argument '%s'", argv[optind]);
    }
    if (cli_inputs_empty(&in) == !cohort_path) {
        cli_inputs_free(&in);
        return cli_usage_error("export", cohort_path ? "give either inputs or --cohort, not both"
                                                     : "no input: give --imaging (or other inputs) or --cohort");
    }
    if (output == NULL) {
        cli_inputs_free(&in);
        return cli_usage_error("export", "no output: give -o OUT.h5");
    }
    if (wopts.gzip && wopts.contiguous) {
        cli_inputs_free(&in);
        return cli_usage_error("export", "--gzip needs chunked storage (drop --contiguous)");
    }

    const cli_path_t ins[] = {{"--cohort", cohort_path}};
    const cli_path_t outs[] = {{"-o", output}, {"--rejects", rejects}};
    if (cli_check_outputs("export", &in, ins, 1, NULL, 0, outs, 2) != CLI_EXIT_OK)
        goto done;
    if ((ctx = cli_ctx_new(quiet ? -1 : verbose)) == NULL)
        goto done;
    long n_rejects = 0;
    if (cli_evidence(ctx, &in, cohort_path, NULL, &space, &col, &cohort) != MMDX_OK)
        goto done;
    mmdx_error_clear(&err);
    if (mmdx_imaging_export_cohort(ctx, cohort, source, output, &wopts, &err) != MMDX_OK) {
        cli_print_error(NULL, &err);
        goto done;
    }
    if ((n_rejects = cli_rejects(col, rejects, 0)) < 0) /* the count is printed even with --quiet */
        goto done;
    if (!quiet)
        fprintf(stderr, "mmdx: export: imaging block of a %zu-patient cohort -> %s\n", mmdx_cohort_n_patients(cohort),
                output);
    status = n_rejects > 0 ? CLI_EXIT_REJECTS : CLI_EXIT_OK;
    goto done;

usage:
    cli_inputs_free(&in);
    return cli_usage_error("export", "bad option");
done:
    mmdx_cohort_free(cohort);
    mmdx_collect_free(col);
    mmdx_space_free(space);
    mmdx_ctx_free(ctx);
    cli_inputs_free(&in);
    return status;
}
