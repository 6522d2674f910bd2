/* mmdx suggest: treatment suggestions, exclusions and dose adjustments with reasons and
 * sources, triage and the next best test for every patient, from a fitted model and a
 * knowledge base. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion_cli.h"
#include "commands.h"
#include "diagnose_report.h"

static void help(void)
{
    printf("Usage: mmdx suggest INPUTS --model MODEL.h5 [--kb KB.xml] [-o OUT] [options]\n"
           "       mmdx suggest --cohort COHORT.h5 --model MODEL.h5 [--kb KB.xml] [-o OUT]\n"
           "Predict every target for every patient, then run the knowledge base over the\n"
           "posteriors and the patient's own labs and genotypes: treatments ranked by expected\n"
           "benefit (suggested, insufficient evidence, excluded), each rule that fired or could\n"
           "not be checked (\"unknown: check X\") with its source, the department to route the\n"
           "patient to, and the missing tests ranked by expected information gain.\n"
           "Decision support for research: every suggestion must be reviewed by a clinician.\n"
           "\n%s"
           "  -c, --cohort FILE     read the evidence from a cohort file (mmdx ingest) instead\n"
           "\n"
           "Options:\n"
           "  -m, --model FILE      model file from mmdx train (required)\n"
           "  -k, --kb FILE         knowledge base (default: kb/default.xml in the data directory)\n"
           "  -o, --output FILE     output (default: standard output; files replaced atomically)\n"
           "  -f, --format FMT      tsv (rows: triage, treatment, rule, test) or jsonl (one\n"
           "                        object per patient); see docs/decision.md\n"
           "      --no-next-best    skip the next best test ranking\n"
           "      --rejects FILE    write rejected input records as TSV\n"
           "  -q, --quiet           no summary, no warnings\n"
           "  -v, --verbose         more messages\n"
           "  -h, --help            show this help\n"
           "\n"
           "Exit status: 0 ok; 1 some input records were rejected; 2 usage or fatal error\n"
           "(nothing written).\n",
           cli_inputs_help);
}

int cmd_suggest(int argc, char **argv)
{
    enum { OPT_REJECTS = 1, OPT_NO_NEXT };
    static const struct option longopts[] = {
        CLI_INPUT_LONGOPTS,
        {"cohort", required_argument, NULL, 'c'}, {"model", required_argument, NULL, 'm'},
        {"kb", required_argument, NULL, 'k'}, {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'}, {"no-next-best", no_argument, NULL, OPT_NO_NEXT},
        {"rejects", required_argument, NULL, OPT_REJECTS}, {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    cli_inputs_t in;
    const char *output = "-", *model_path = NULL, *cohort_path = NULL, *rejects = NULL, *format = "tsv";
    const char *kb_path = NULL;
    char kb_default[4096];
    int verbose = 0, quiet = 0, next_best = 1, opt, status = CLI_EXIT_FATAL;
    mmdx_ctx_t *ctx = NULL;
    mmdx_model_t *model = NULL;
    mmdx_kb_t *kb = NULL;
    mmdx_advisor_t *adv = NULL;
    mmdx_space_t *space = NULL;
    mmdx_collect_t *col = NULL;
    mmdx_cohort_t *cohort = NULL;
    mmdx_outfile_t *out = NULL;
    mmdx_error_t err;

    cli_inputs_init(&in);
    while ((opt = getopt_long(argc, argv, "c:m:k:o:f:qvh", longopts, NULL)) != -1) {
        int r = cli_inputs_option(&in, opt, optarg);
        if (r < 0)
            goto usage;
        if (r > 0)
            continue;
        switch (opt) {
        case 'c': cohort_path = optarg; break;
        case 'm': model_path = optarg; break;
        case 'k': kb_path = optarg; break;
        case 'o': output = optarg; break;
        case 'f': format = optarg; break;
        case OPT_NO_NEXT: next_best = 0; break;
        case OPT_REJECTS: rejects = optarg; break;
        case 'q': quiet = 1; break;
        case 'v': verbose++; break;
        case 'h':
            help();
            cli_inputs_free(&in);
            return CLI_EXIT_OK;
        default: goto usage;
        }
    }
    if (optind < argc) {
        cli_inputs_free(&in);
        return cli_usage_error("suggest", "unexpected argument '%s'", argv[optind]);
    }
    if (cli_inputs_empty(&in) == !cohort_path) {
        cli_inputs_free(&in);
        return cli_usage_error("suggest", "give either INPUTS (--imaging, --labs, --variants, --input) or --cohort");
    }
    if (!model_path) {
        cli_inputs_free(&in);
        return cli_usage_error("suggest", "no model: give --model MODEL.h5");
    }
    int json = strcmp(format, "jsonl") == 0;
    if (!json && strcmp(format, "tsv") != 0) {
        cli_inputs_free(&in);
        return cli_usage_error("suggest", "unknown format '%s' (tsv or jsonl)", format);
    }
    {
        /* an output that is an input, or two outputs on one path, would destroy data */
        const cli_path_t ins[] = {{"--cohort", cohort_path}, {"--model", model_path}, {"--kb", kb_path}};
        const cli_path_t outs[] = {{"-o", output}, {"--rejects", rejects}};
        if (cli_check_outputs("suggest", &in, ins, 3, NULL, 0, outs, 2) != CLI_EXIT_OK)
            goto done;
    }
    if ((ctx = cli_ctx_new(quiet ? -1 : verbose)) == NULL)
        goto done;
    if (kb_path == NULL) {
        snprintf(kb_default, sizeof kb_default, "%s/kb/default.xml", mmdx_ctx_data_dir(ctx));
        kb_path = kb_default;
    }
    mmdx_error_clear(&err);
    if (mmdx_kb_load(ctx, kb_path, &kb, &err) != MMDX_OK) {
        cli_print_error("--kb", &err);
        goto done;
    }
    mmdx_error_clear(&err);
    if (mmdx_model_load(ctx, model_path, &model, &err) != MMDX_OK) {
        cli_print_error("--model", &err);
        goto done;
    }
    mmdx_error_clear(&err);
    if (mmdx_advisor_alloc(kb, model, &adv, &err) != MMDX_OK) {
        cli_print_error("suggest", &err);
        goto done;
    }
    {
        char msg[1024];
        if (dr_uncovered_text(adv, kb, msg, sizeof msg) > 0 && !quiet)
            fprintf(stderr, "mmdx: warning: %s\n", msg);
    }
    if (cli_evidence(ctx, &in, cohort_path, mmdx_model_space(model), &space, &col, &cohort) != MMDX_OK)
        goto done;
    if (fcli_check_features("suggest", model, model_path, NULL, cohort, quiet) != MMDX_OK)
        goto done;
    mmdx_error_clear(&err);
    if (mmdx_outfile_open(output, &out, &err) != MMDX_OK) {
        cli_print_error(NULL, &err);
        goto done;
    }
    FILE *f = mmdx_outfile_stream(out);
    if (!json)
        fprintf(f, "%s\n", mmdx_advice_tsv_header());
    size_t n = mmdx_cohort_n_patients(cohort), n_excluded = 0, n_unsure = 0;
    for (size_t i = 0; i < n; i++) {
        mmdx_advice_t *a = NULL;
        int rc;
        mmdx_error_clear(&err);
        if ((rc = mmdx_advisor_run(adv, cohort, i, next_best, &a, &err)) == MMDX_OK) {
            if (json) {
                char *s = NULL;
                rc = mmdx_advice_to_json(a, mmdx_cohort_id(cohort, i), &s);
                if (rc == MMDX_OK)
                    fprintf(f, "%s\n", s);
                mmdx_free(s);
            } else {
                rc = mmdx_advice_write_tsv(a, mmdx_cohort_id(cohort, i), f);
            }
            for (size_t k = 0; k < a->n_items; k++) {
                n_excluded += a->items[k].status == MMDX_ADVICE_EXCLUDED;
                n_unsure += a->items[k].status == MMDX_ADVICE_INSUFFICIENT;
            }
        }
        mmdx_advice_free(a);
        if (rc != MMDX_OK) {
            if (err.code == MMDX_OK)
                mmdx_error_set(&err, rc, output, mmdx_cohort_id(cohort, i), (long)i + 1, "cannot write the advice");
            cli_print_error("suggest", &err);
            goto done;
        }
    }
    mmdx_error_clear(&err);
    int rc = mmdx_outfile_commit(out, &err);
    out = NULL;
    if (rc != MMDX_OK) {
        cli_print_error(NULL, &err);
        goto done;
    }
    long n_rejects = cli_rejects(col, rejects, quiet);
    if (n_rejects < 0)
        goto done;
    if (!quiet) /* neither the tsv nor the jsonl of the advice holds the notice */
        dr_print_notice();
    if (!quiet)
        fprintf(stderr, "mmdx: suggest: %zu patients, KB %s %s, %zu exclusions, %zu insufficient-evidence items, %ld rejected records\n",
                n, mmdx_kb_name(kb), mmdx_kb_version(kb), n_excluded, n_unsure, n_rejects);
    status = n_rejects > 0 ? CLI_EXIT_REJECTS : CLI_EXIT_OK;
    goto done;
usage:
    cli_inputs_free(&in);
    return cli_usage_error("suggest", "bad option");
done:
    mmdx_outfile_abort(out);
    mmdx_advisor_free(adv);
    mmdx_cohort_free(cohort);
    mmdx_collect_free(col);
    mmdx_space_free(space);
    mmdx_model_free(model);
    mmdx_kb_free(kb);
    mmdx_ctx_free(ctx);
    cli_inputs_free(&in);
    return status;
}
