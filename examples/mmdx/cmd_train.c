/* mmdx train: fit a fusion model on labelled evidence and write the model file. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion_cli.h"
#include "commands.h"

static void help(void)
{
    printf("Usage: mmdx train INPUTS --labels LABELS.tsv -o MODEL.h5 [options]\n"
           "       mmdx train --cohort COHORT.h5 [--labels LABELS.tsv] -o MODEL.h5 [options]\n"
           "Fit a Bayesian fusion model for every target of the labels: per modality a Bayesian\n"
           "logistic regression with imputation of missing features, stacked across modalities\n"
           "(docs/fusion.md). The model file is HDF5 (docs/formats/model-file.md).\n"
           "\n%s"
           "  -c, --cohort FILE     read the evidence from a cohort file (mmdx ingest) instead\n"
           "\n"
           "Options:\n"
           "  -o, --output FILE     model file to write (required; replaced atomically)\n"
           "  -l, --labels FILE     labels TSV (patient_id<TAB>TARGET...); required with INPUTS\n"
           "%s"
           "      --rejects FILE    write rejected input records as TSV\n"
           "  -t, --threads N       threads of the training passes (default 1); the model is the\n"
           "                        same for any N\n"
           "  -q, --quiet           no summary, no warnings\n"
           "  -v, --verbose         more messages\n"
           "  -h, --help            show this help\n"
           "\n%s"
           "\n"
           "Exit status: 0 ok; 1 some input records were rejected (the model was trained on the\n"
           "rest); 2 usage or fatal error, e.g. label rows naming patients not in the evidence (no model written).\n",
           cli_inputs_help, cli_labels_help, fcli_model_help);
}

/* Provenance of the model: the files it was trained on (names only). */
static int record_inputs(mmdx_model_t *m, const cli_inputs_t *in, const char *cohort, const char *labels)
{
    char line[4200];
    const struct { const char *opt; const char *const *files; size_t n; } groups[] = {
        {"--imaging", in->imaging, in->n_imaging}, {"--labs", in->labs, in->n_labs},
        {"--variants", in->variants, in->n_variants}, {"--input", in->detect, in->n_detect},
        {"--cohort", &cohort, cohort ? 1 : 0}, {"--labels", &labels, labels ? 1 : 0},
        {"--panel", &in->panel, in->panel ? 1 : 0}};
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
        for (size_t k = 0; k < groups[g].n; k++) {
            snprintf(line, sizeof(line), "input: %s %s", groups[g].opt, groups[g].files[k]);
            line[strcspn(line, "\r\n")] = '\0';
            int rc = mmdx_model_add_provenance(m, line);
            if (rc != MMDX_OK) {
                return rc;
            }
        }
    }
    return MMDX_OK;
}

int cmd_train(int argc, char **argv)
{
    enum { OPT_REJECTS = 1 };
    static const struct option longopts[] = {
        CLI_INPUT_LONGOPTS, FCLI_MODEL_LONGOPTS, CLI_LABELS_LONGOPTS,
        {"cohort", required_argument, NULL, 'c'}, {"output", required_argument, NULL, 'o'},
        {"labels", required_argument, NULL, 'l'}, {"rejects", required_argument, NULL, OPT_REJECTS},
        {"threads", required_argument, NULL, 't'}, {"quiet", no_argument, NULL, 'q'}, {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    cli_inputs_t in;
    mmdx_model_options_t mopt;
    const char *output = NULL, *labels = NULL, *cohort = NULL, *rejects = NULL;
    int verbose = 0, quiet = 0, ignore_unknown = 0, opt, status = CLI_EXIT_FATAL, threads = 1;
    mmdx_ctx_t *ctx = NULL;
    mmdx_model_t *model = NULL;
    fcli_data_t d = {0};
    mmdx_error_t err;

    cli_inputs_init(&in);
    mmdx_model_options_init(&mopt);
    while ((opt = getopt_long(argc, argv, "c:o:l:t:qvh", longopts, NULL)) != -1) {
        int r = cli_inputs_option(&in, opt, optarg);
        if (r == 0) {
            r = fcli_model_option(&mopt, opt, optarg);
        }
        if (r < 0) {
            goto usage;
        }
        if (r > 0) {
            continue;
        }
        switch (opt) {
        case 'c':
            cohort = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'l':
            labels = optarg;
            break;
        case CLI_OPT_IGNORE_UNKNOWN_LABELS:
            ignore_unknown = 1;
            break;
        case OPT_REJECTS:
            rejects = optarg;
            break;
        case 't':
            if ((threads = cli_parse_threads(optarg)) < 0) {
                goto usage;
            }
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
        return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    }
    if (cli_inputs_empty(&in) == !cohort) {
        cli_inputs_free(&in);
        return cli_usage_error("train", "give either INPUTS (--imaging, --labs, --variants, --input) or --cohort");
    }
    if (!cohort && !labels) {
        cli_inputs_free(&in);
        return cli_usage_error("train", "no labels: give --labels LABELS.tsv");
    }
    if (!output) {
        cli_inputs_free(&in);
        return cli_usage_error("train", "no output: give -o MODEL.h5");
    }
    const cli_path_t ins[] = {{"--cohort", cohort}, {"--labels", labels}};
    const cli_path_t outs[] = {{"-o", output}, {"--rejects", rejects}};
    if (cli_check_outputs("train", &in, ins, 2, NULL, 0, outs, 2) != CLI_EXIT_OK)
        goto done;
    if ((ctx = cli_ctx_new(quiet ? -1 : verbose)) == NULL) {
        goto done;
    }
    if (fcli_load(ctx, &in, cohort, labels, NULL, ignore_unknown, quiet, &d) != MMDX_OK) {
        goto done;
    }
    if (mmdx_space_n_targets(d.space) == 0) {
        fprintf(stderr, "mmdx: train: no target: the labels name none\n");
        goto done;
    }
    mmdx_error_clear(&err);
    fcli_set_threads(ctx, threads);
    if (mmdx_model_alloc(ctx, d.space, &mopt, &model, &err) != MMDX_OK) {
        cli_print_error("train", &err);
        goto done;
    }
    if (record_inputs(model, &in, cohort, labels) != MMDX_OK) {
        fprintf(stderr, "mmdx: out of memory\n");
        goto done;
    }
    if (mmdx_model_fit(model, d.cohort, &err) != 0) {
        cli_print_error("train", &err);
        goto done;
    }
    mmdx_error_clear(&err);
    if (mmdx_model_save(model, output, &err) != MMDX_OK) {
        cli_print_error(NULL, &err);
        goto done;
    }
    long n_rejects = cli_rejects(d.col, rejects, quiet);
    if (n_rejects < 0) {
        goto done;
    }
    if (!quiet) {
        fcli_model_summary("train", model, output);
    }
    status = n_rejects > 0 ? CLI_EXIT_REJECTS : CLI_EXIT_OK;
    goto done;
usage:
    cli_inputs_free(&in);
    return cli_usage_error("train", "bad option");
done:
    mmdx_model_free(model);
    fcli_free(&d);
    mmdx_ctx_free(ctx);
    cli_inputs_free(&in);
    return status;
}
