/* mmdx ingest: read inputs through the modality adapters into one cohort and write it
 * as an HDF5 cohort file (written to a temporary file and renamed). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "commands.h"

static void help(void)
{
    printf("Usage: mmdx ingest INPUTS -o COHORT.h5 [--labels LABELS.tsv] [--rejects FILE] [options]\n"
           "Read every input through its modality adapter into one feature space and write the\n"
           "cohort (values, missing mask, patient ids and, with --labels, labels) as an HDF5\n"
           "cohort file. Every patient seen ends up in the cohort; records that cannot be used\n"
           "are listed with --rejects.\n"
           "\n%s"
           "\n"
           "Options:\n"
           "  -o, --output FILE     cohort file to write (required; replaced atomically)\n"
           "  -l, --labels FILE     labels TSV (patient_id<TAB>TARGET...) stored with the cohort\n"
           "%s"
           "      --rejects FILE    write rejected records as TSV: patient_id, file, record,\n"
           "                        code, reason (header only when none)\n"
           "  -t, --threads N       worker threads (default 1)\n"
           "  -q, --quiet           no summary, no warnings\n"
           "  -v, --verbose         more messages (twice: debug)\n"
           "  -h, --help            show this help\n"
           "\n"
           "Exit status: 0 ok; 1 some records were rejected (the cohort holds the rest);\n"
           "2 usage error or fatal error (no cohort file written).\n",
           cli_inputs_help, cli_labels_help);
}

int cmd_ingest(int argc, char **argv)
{
    enum { OPT_REJECTS = 1 };
    static const struct option longopts[] = {
        CLI_INPUT_LONGOPTS, CLI_LABELS_LONGOPTS,
        {"output", required_argument, NULL, 'o'}, {"labels", required_argument, NULL, 'l'},
        {"rejects", required_argument, NULL, OPT_REJECTS}, {"threads", required_argument, NULL, 't'},
        {"quiet", no_argument, NULL, 'q'}, {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    cli_inputs_t in;
    const char *output = NULL, *labels_path = NULL, *rejects = NULL;
    int threads = 1, verbose = 0, quiet = 0, ignore_unknown = 0, opt, status = CLI_EXIT_FATAL;
    mmdx_ctx_t *ctx = NULL;
    mmdx_space_t *space = NULL;
    mmdx_labels_t *labels = NULL;
    mmdx_collect_t *col = NULL;
    mmdx_cohort_t *cohort = NULL;
    mmdx_error_t err;

    cli_inputs_init(&in);
    while ((opt = getopt_long(argc, argv, "o:l:t:qvh", longopts, NULL)) != -1) {
        int r = cli_inputs_option(&in, opt, optarg);
        if (r < 0)
            goto usage;
        if (r > 0)
            continue;
        switch (opt) {
        case 'o':
            output = optarg;
            break;
        case 'l':
            labels_path = optarg;
            break;
        case OPT_REJECTS:
            rejects = optarg;
            break;
        case CLI_OPT_IGNORE_UNKNOWN_LABELS:
            ignore_unknown = 1;
            break;
        case 't':
            if ((threads = cli_parse_threads(optarg)) < 0)
                goto usage;
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
        return cli_usage_error("ingest", "unexpected argument '%s' (inputs go after --imaging, --labs, "
                               "--variants or --input)", argv[optind]);
    }
    if (cli_inputs_empty(&in)) {
        cli_inputs_free(&in);
        return cli_usage_error("ingest", "no input: give --imaging, --labs, --variants or --input");
    }
    if (output == NULL) {
        cli_inputs_free(&in);
        return cli_usage_error("ingest", "no output: give -o COHORT.h5");
    }

    /* refuse early, before reading anything, when an output cannot be created */
    const cli_path_t ins[] = {{"--labels", labels_path}};
    const cli_path_t outs[] = {{"-o", output}, {"--rejects", rejects}};
    if (cli_check_outputs("ingest", &in, ins, 1, NULL, 0, outs, 2) != CLI_EXIT_OK)
        goto done;
    if ((ctx = cli_ctx_new(quiet ? -1 : verbose)) == NULL)
        goto done;
    mmdx_ctx_set_threads(ctx, threads);
    if ((space = mmdx_space_alloc()) == NULL) {
        fprintf(stderr, "mmdx: out of memory\n");
        goto done;
    }
    if (labels_path) {
        mmdx_error_clear(&err);
        if (mmdx_labels_read(ctx, labels_path, space, &labels, &err) != MMDX_OK) {
            cli_print_error("--labels", &err);
            goto done;
        }
    }
    if (cli_collect(ctx, &in, space, 0, &col, &cohort) != MMDX_OK)
        goto done;
    if (labels && cli_apply_labels(labels, cohort, ignore_unknown, quiet) != MMDX_OK)
        goto done;
    mmdx_error_clear(&err);
    if (mmdx_cohort_save(ctx, cohort, output, &err) != MMDX_OK) {
        cli_print_error(NULL, &err);
        goto done;
    }
    long n_rejects = cli_rejects(col, rejects, quiet);
    if (n_rejects < 0)
        goto done;
    if (!quiet)
        fprintf(stderr, "mmdx: ingest: %zu patients, %zu features, %zu observations, %ld rejected -> %s\n",
                mmdx_cohort_n_patients(cohort), mmdx_cohort_n_features(cohort),
                mmdx_collect_n_observations(col), n_rejects, output);
    status = n_rejects > 0 ? CLI_EXIT_REJECTS : CLI_EXIT_OK;
    goto done;

usage:
    cli_inputs_free(&in);
    return cli_usage_error("ingest", "bad option");
done:
    mmdx_cohort_free(cohort);
    mmdx_collect_free(col);
    mmdx_labels_free(labels);
    mmdx_space_free(space);
    mmdx_ctx_free(ctx);
    cli_inputs_free(&in);
    return status;
}
