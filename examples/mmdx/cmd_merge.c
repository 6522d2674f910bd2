/* mmdx merge: add up the training aggregates of model files from the same pass (sites or
 * ranks that each accumulated a disjoint part of a cohort). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "fusion_cli.h"
#include "commands.h"

static void help(void)
{
    printf("Usage: mmdx merge MODEL.h5... -o MODEL.h5\n"
           "Add up the aggregates (feature-model statistics, gradients and Hessians) of model\n"
           "files written in the same training pass from the same starting state, e.g. by\n"
           "`mmdx federate site` at several sites. The sums are exact: the merged file is what\n"
           "one site holding all the patients would have written. `mmdx federate step` merges\n"
           "and advances in one go.\n"
           "\n"
           "Options:\n"
           "  -o, --output FILE     merged model file (required; replaced atomically)\n"
           "  -q, --quiet           no summary\n"
           "  -h, --help            show this help\n"
           "\n"
           "Exit status: 0 ok; 2 usage or fatal error (files from other passes, other feature\n"
           "spaces or other starting states are refused, naming the file).\n");
}

int cmd_merge(int argc, char **argv)
{
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *output = NULL;
    int quiet = 0, opt, status = CLI_EXIT_FATAL;
    while ((opt = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'o':
            output = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            help();
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("merge", "bad option");
        }
    }
    if (optind >= argc) {
        return cli_usage_error("merge", "no model file to merge");
    }
    if (!output) {
        return cli_usage_error("merge", "no output: give -o MODEL.h5");
    }
    const cli_path_t outs[] = {{"-o", output}};
    if (cli_check_outputs("merge", NULL, NULL, 0, argv + optind, (size_t)(argc - optind), outs, 1) != CLI_EXIT_OK)
        return CLI_EXIT_FATAL;
    mmdx_error_t err;
    mmdx_ctx_t *ctx = cli_ctx_new(quiet ? -1 : 0);
    mmdx_model_t *acc = NULL;
    if (!ctx) {
        return CLI_EXIT_FATAL;
    }
    if (fcli_merge_models(ctx, argv + optind, (size_t)(argc - optind), &acc) != MMDX_OK) {
        goto done;
    }
    mmdx_error_clear(&err);
    if (mmdx_model_save(acc, output, &err) != MMDX_OK) {
        cli_print_error(NULL, &err);
        goto done;
    }
    if (!quiet) {
        fprintf(stderr, "mmdx: merge: %d files, pass %u -> %s\n", argc - optind, mmdx_model_pass(acc), output);
    }
    status = CLI_EXIT_OK;
done:
    mmdx_model_free(acc);
    mmdx_ctx_free(ctx);
    return status;
}
