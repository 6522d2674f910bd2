/* mmdx federate: exact federated training on files. The coordinator writes a starting
 * state (init); each round every site accumulates its own patients into an aggregate
 * file (site); the coordinator merges the aggregates and advances (step). Only
 * aggregates leave a site. Protocol: docs/fusion.md. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "fusion_cli.h"
#include "commands.h"

static void help(void)
{
    printf("Usage: mmdx federate init (INPUTS | --cohort COHORT.h5) [--labels LABELS.tsv] -o STATE.h5 [model options]\n"
           "       mmdx federate site --state STATE.h5 (INPUTS | --cohort COHORT.h5) [--labels LABELS.tsv] -o AGG.h5\n"
           "       mmdx federate step AGG.h5... -o STATE.h5\n"
           "\n"
           "init   write the starting state: the feature space of the evidence and the targets of\n"
           "       the labels, with the model options; no patient data is stored.\n"
           "site   accumulate this site's labelled patients into the aggregates of the state's\n"
           "       current pass and write them (sums only: counts, moments, cross-products,\n"
           "       gradients, Hessians).\n"
           "step   merge the sites' aggregate files, advance one pass, write the new state; prints\n"
           "       'continue' (send the state to the sites again) or 'fitted' (the state is the\n"
           "       model, usable with mmdx diagnose) on standard output.\n"
           "\n%s"
           "  -c, --cohort FILE     read the evidence from a cohort file (mmdx ingest) instead\n"
           "\n"
           "Options:\n"
           "  -s, --state FILE      the coordinator's current state (site)\n"
           "  -l, --labels FILE     labels TSV\n"
           "%s"
           "  -o, --output FILE     file to write (required; replaced atomically)\n"
           "  -q, --quiet           no summary\n"
           "  -h, --help            show this help\n"
           "\n%s"
           "\n"
           "Exit status: 0 ok; 1 some input records were rejected; 2 usage or fatal error (e.g.\n"
           "label rows naming patients not in the evidence).\n",
           cli_inputs_help, cli_labels_help, fcli_model_help);
}

int cmd_federate(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_INPUT_LONGOPTS, FCLI_MODEL_LONGOPTS, CLI_LABELS_LONGOPTS,
        {"cohort", required_argument, NULL, 'c'}, {"state", required_argument, NULL, 's'},
        {"labels", required_argument, NULL, 'l'}, {"output", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    if (argc < 2 || argv[1][0] == '-') {
        if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
            help();
            return CLI_EXIT_OK;
        }
        return cli_usage_error("federate", "give the step: init, site or step");
    }
    const char *mode = argv[1];
    if (strcmp(mode, "init") != 0 && strcmp(mode, "site") != 0 && strcmp(mode, "step") != 0) {
        return cli_usage_error("federate", "unknown step '%s' (init, site or step)", mode);
    }
    cli_inputs_t in;
    mmdx_model_options_t mopt;
    const char *output = NULL, *labels = NULL, *cohort = NULL, *state = NULL;
    int quiet = 0, ignore_unknown = 0, opt, status = CLI_EXIT_FATAL;
    mmdx_ctx_t *ctx = NULL;
    mmdx_model_t *model = NULL;
    fcli_data_t d = {0};
    mmdx_error_t err;
    cli_inputs_init(&in);
    mmdx_model_options_init(&mopt);
    optind = 2;
    while ((opt = getopt_long(argc, argv, "c:s:l:o:qh", longopts, NULL)) != -1) {
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
        case 's':
            state = optarg;
            break;
        case 'l':
            labels = optarg;
            break;
        case CLI_OPT_IGNORE_UNKNOWN_LABELS:
            ignore_unknown = 1;
            break;
        case 'o':
            output = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            help();
            cli_inputs_free(&in);
            return CLI_EXIT_OK;
        default:
            goto usage;
        }
    }
    if (!output) {
        cli_inputs_free(&in);
        return cli_usage_error("federate", "no output: give -o FILE");
    }
    int is_step = strcmp(mode, "step") == 0;
    if (is_step ? optind >= argc : optind < argc) {
        cli_inputs_free(&in);
        return cli_usage_error("federate", is_step ? "step: no aggregate file" : "unexpected argument '%s'",
                               is_step ? "" : argv[optind]);
    }
    if (!is_step && cli_inputs_empty(&in) == !cohort) {
        cli_inputs_free(&in);
        return cli_usage_error("federate", "give either INPUTS or --cohort");
    }
    if (strcmp(mode, "site") == 0 && !state) {
        cli_inputs_free(&in);
        return cli_usage_error("federate", "site: give --state STATE.h5");
    }
    const cli_path_t ins[] = {{"--cohort", cohort}, {"--labels", labels}, {"--state", state}};
    const cli_path_t outs[] = {{"-o", output}};
    if (cli_check_outputs("federate", &in, ins, 3, argv + optind, (size_t)(argc - optind), outs, 1) != CLI_EXIT_OK)
        goto done;
    if ((ctx = cli_ctx_new(quiet ? -1 : 0)) == NULL) {
        goto done;
    }
    if (strcmp(mode, "init") == 0) {
        if (fcli_load(ctx, &in, cohort, labels, NULL, ignore_unknown, quiet, &d) != MMDX_OK) {
            goto done;
        }
        mmdx_error_clear(&err);
        if (mmdx_model_alloc(ctx, d.space, &mopt, &model, &err) != MMDX_OK) {
            cli_print_error("federate init", &err);
            goto done;
        }
    } else if (strcmp(mode, "site") == 0) {
        mmdx_error_clear(&err);
        if (mmdx_model_load(ctx, state, &model, &err) != MMDX_OK) {
            cli_print_error("--state", &err);
            goto done;
        }
        if (mmdx_model_is_fitted(model)) {
            fprintf(stderr, "mmdx: federate site: %s is already fitted: nothing to do\n", state);
            goto done;
        }
        if (fcli_load(ctx, &in, cohort, labels, mmdx_model_space(model), ignore_unknown, quiet, &d) != MMDX_OK) {
            goto done;
        }
        if (fcli_check_features("federate site", model, state, NULL, d.cohort, quiet) != MMDX_OK) {
            goto done;
        }
        mmdx_model_clear_aggregates(model);
        mmdx_error_clear(&err);
        if (mmdx_model_accumulate(model, d.cohort, &err) != MMDX_OK) {
            cli_print_error("federate site", &err);
            goto done;
        }
    } else {
        if (fcli_merge_models(ctx, argv + optind, (size_t)(argc - optind), &model) != MMDX_OK) {
            goto done;
        }
        mmdx_error_clear(&err);
        int rc = mmdx_model_step(model, &err);
        if (rc < 0) {
            cli_print_error("federate step", &err);
            goto done;
        }
        printf("%s\n", rc == 1 ? "continue" : "fitted");
    }
    mmdx_error_clear(&err);
    if (mmdx_model_save(model, output, &err) != MMDX_OK) {
        cli_print_error(NULL, &err);
        goto done;
    }
    if (!quiet) {
        fprintf(stderr, "mmdx: federate %s: pass %u%s -> %s\n", mode, mmdx_model_pass(model),
                mmdx_model_is_fitted(model) ? " (fitted)" : "", output);
    }
    long n_rejects = cli_rejects(d.col, NULL, quiet);
    status = n_rejects > 0 ? CLI_EXIT_REJECTS : CLI_EXIT_OK;
    goto done;
usage:
    cli_inputs_free(&in);
    return cli_usage_error("federate", "bad option");
done:
    mmdx_model_free(model);
    fcli_free(&d);
    mmdx_ctx_free(ctx);
    cli_inputs_free(&in);
    return status;
}
