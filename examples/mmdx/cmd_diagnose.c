/* mmdx diagnose: posterior probabilities of every target and class for every patient,
 * with 95% credible intervals, each modality's evidence and the flags, as TSV. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion_cli.h"
#include "commands.h"

static void help(void)
{
    printf("Usage: mmdx diagnose INPUTS --model MODEL.h5 [-o OUT.tsv] [--rejects FILE] [options]\n"
           "       mmdx diagnose --cohort COHORT.h5 --model MODEL.h5 [-o OUT.tsv]\n"
           "Write one row per patient, target and class: patient_id, target, class, probability\n"
           "(posterior P(class | evidence)), ci_low, ci_high (95%% credible interval), then\n"
           "evidence:<modality> for each modality of the model (contribution to the class's\n"
           "log-odds; NA when the modality is missing), missing_modalities, missing_features,\n"
           "top_features (feature:contribution, largest first), ood_pvalue and flags\n"
           "(ood, no_evidence, missing_modality, imputed; - when none).\n"
           "\n%s"
           "  -c, --cohort FILE     read the evidence from a cohort file (mmdx ingest) instead\n"
           "\n"
           "Options:\n"
           "  -m, --model FILE      model file from mmdx train (required)\n"
           "  -o, --output FILE     output (default: standard output; files replaced atomically)\n"
           "  -f, --format FMT      tsv (the default; other formats come with the writers)\n"
           "      --rejects FILE    write rejected input records as TSV\n"
           "  -q, --quiet           no summary, no warnings\n"
           "  -v, --verbose         more messages\n"
           "  -h, --help            show this help\n"
           "\n"
           "Exit status: 0 ok; 1 some input records were rejected (every patient still has rows\n"
           "or is in the rejects); 2 usage or fatal error (nothing written).\n",
           cli_inputs_help);
}

static void put_flags(FILE *f, unsigned flags)
{
    static const struct { unsigned bit; const char *name; } names[] = {
        {MMDX_PRED_OOD, "ood"}, {MMDX_PRED_NO_EVIDENCE, "no_evidence"},
        {MMDX_PRED_MISSING_MODALITY, "missing_modality"}, {MMDX_PRED_IMPUTED, "imputed"}};
    int any = 0;
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        if (flags & names[k].bit) {
            fprintf(f, "%s%s", any ? "," : "", names[k].name);
            any = 1;
        }
    }
    if (!any) {
        fputc('-', f);
    }
}

/* Write every row of one prediction. */
static void put_pred(FILE *f, const mmdx_pred_t *p)
{
    size_t K = mmdx_pred_n_classes(p), M = mmdx_pred_n_modalities(p);
    for (size_t k = 0; k < K; k++) {
        double lo, hi;
        mmdx_pred_interval(p, k, &lo, &hi);
        fprintf(f, "%s\t%s\t%s\t%.6g\t%.6g\t%.6g", mmdx_pred_patient(p), mmdx_pred_target_name(p),
                mmdx_pred_class_name(p, k), mmdx_pred_prob(p, k), lo, hi);
        for (size_t m = 0; m < M; m++) {
            if (mmdx_pred_modality_present(p, m)) {
                fprintf(f, "\t%.4g", mmdx_pred_evidence(p, k, m));
            } else {
                fputs("\tNA", f);
            }
        }
        fputc('\t', f);
        int any = 0;
        for (size_t m = 0; m < M; m++) {
            if (!mmdx_pred_modality_present(p, m)) {
                fprintf(f, "%s%s", any ? "," : "", mmdx_pred_modality(p, m));
                any = 1;
            }
        }
        if (!any) {
            fputc('-', f);
        }
        fprintf(f, "\t%zu\t", mmdx_pred_n_missing(p));
        size_t nt = mmdx_pred_n_top(p, k);
        for (size_t r = 0; r < nt; r++) {
            double c;
            const char *id = mmdx_pred_top_feature(p, k, r, &c);
            fprintf(f, "%s%s:%+.3g", r ? "," : "", id, c);
        }
        if (nt == 0) {
            fputc('-', f);
        }
        double pv;
        mmdx_pred_ood(p, NULL, &pv);
        fprintf(f, "\t%.3g\t", pv);
        put_flags(f, mmdx_pred_flags(p));
        fputc('\n', f);
    }
}

int cmd_diagnose(int argc, char **argv)
{
    enum { OPT_REJECTS = 1 };
    static const struct option longopts[] = {
        CLI_INPUT_LONGOPTS,
        {"cohort", required_argument, NULL, 'c'}, {"model", required_argument, NULL, 'm'},
        {"output", required_argument, NULL, 'o'}, {"format", required_argument, NULL, 'f'},
        {"rejects", required_argument, NULL, OPT_REJECTS}, {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    cli_inputs_t in;
    const char *output = "-", *model_path = NULL, *cohort = NULL, *rejects = NULL, *format = "tsv";
    int verbose = 0, quiet = 0, opt, status = CLI_EXIT_FATAL;
    mmdx_ctx_t *ctx = NULL;
    mmdx_model_t *model = NULL;
    mmdx_pred_t *pred = NULL;
    mmdx_outfile_t *out = NULL;
    fcli_data_t d = {0};
    mmdx_error_t err;

    cli_inputs_init(&in);
    while ((opt = getopt_long(argc, argv, "c:m:o:f:qvh", longopts, NULL)) != -1) {
        int r = cli_inputs_option(&in, opt, optarg);
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
        case 'm':
            model_path = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'f':
            format = optarg;
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
        return cli_usage_error("diagnose", "unexpected argument '%s'", argv[optind]);
    }
    if (cli_inputs_empty(&in) == !cohort) {
        cli_inputs_free(&in);
        return cli_usage_error("diagnose", "give either INPUTS (--imaging, --labs, --variants, --input) or --cohort");
    }
    if (!model_path) {
        cli_inputs_free(&in);
        return cli_usage_error("diagnose", "no model: give --model MODEL.h5");
    }
    if (strcmp(format, "tsv") != 0) {
        cli_inputs_free(&in);
        return cli_usage_error("diagnose", "format '%s' is not available in this build (tsv is)", format);
    }
    mmdx_error_clear(&err);
    if ((strcmp(output, "-") != 0 && mmdx_outfile_check(output, &err) != MMDX_OK) ||
        (rejects && mmdx_outfile_check(rejects, &err) != MMDX_OK)) {
        cli_print_error(NULL, &err);
        goto done;
    }
    if ((ctx = cli_ctx_new(quiet ? -1 : verbose)) == NULL) {
        goto done;
    }
    mmdx_error_clear(&err);
    if (mmdx_model_load(ctx, model_path, &model, &err) != MMDX_OK) {
        cli_print_error("--model", &err);
        goto done;
    }
    if (!mmdx_model_is_fitted(model)) {
        fprintf(stderr, "mmdx: %s: the model is not fitted (a federated training state?)\n", model_path);
        goto done;
    }
    if (fcli_load(ctx, &in, cohort, NULL, mmdx_model_space(model), quiet, &d) != MMDX_OK) {
        goto done;
    }
    if ((pred = mmdx_pred_alloc()) == NULL) {
        fprintf(stderr, "mmdx: out of memory\n");
        goto done;
    }
    mmdx_error_clear(&err);
    if (mmdx_outfile_open(output, &out, &err) != MMDX_OK) {
        cli_print_error(NULL, &err);
        goto done;
    }
    FILE *f = mmdx_outfile_stream(out);
    fputs("patient_id\ttarget\tclass\tprobability\tci_low\tci_high", f);
    for (size_t m = 0; m < mmdx_model_n_modalities(model); m++) {
        fprintf(f, "\tevidence:%s", mmdx_model_modality(model, m));
    }
    fputs("\tmissing_modalities\tmissing_features\ttop_features\tood_pvalue\tflags\n", f);
    size_t n = mmdx_cohort_n_patients(d.cohort), T = mmdx_space_n_targets(mmdx_model_space(model)), n_ood = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t t = 0; t < T; t++) {
            mmdx_error_clear(&err);
            if (mmdx_model_predict(model, d.cohort, i, t, pred, &err) != MMDX_OK) {
                cli_print_error("diagnose", &err);
                mmdx_outfile_abort(out);
                out = NULL;
                goto done;
            }
            put_pred(f, pred);
            n_ood += t == 0 && (mmdx_pred_flags(pred) & MMDX_PRED_OOD);
        }
    }
    mmdx_error_clear(&err);
    int rc = mmdx_outfile_commit(out, &err);
    out = NULL;
    if (rc != MMDX_OK) {
        cli_print_error(NULL, &err);
        goto done;
    }
    long n_rejects = 0;
    if (d.col) {
        n_rejects = rejects || !quiet ? cli_write_rejects(d.col, rejects) : (long)mmdx_collect_n_rejects(d.col);
        if (n_rejects < 0) {
            goto done;
        }
    }
    if (!quiet) {
        fprintf(stderr, "mmdx: diagnose: %zu patients x %zu targets, %zu out of distribution, %ld rejected records\n",
                n, T, n_ood, n_rejects);
        size_t ignored = d.col ? mmdx_collect_n_ignored(d.col) : 0;
        if (ignored) {
            fprintf(stderr, "mmdx: warning: %zu observation%s of features the model does not have %s ignored\n",
                    ignored, ignored == 1 ? "" : "s", ignored == 1 ? "was" : "were");
        }
    }
    status = n_rejects > 0 ? CLI_EXIT_REJECTS : CLI_EXIT_OK;
    goto done;
usage:
    cli_inputs_free(&in);
    return cli_usage_error("diagnose", "bad option");
done:
    mmdx_outfile_abort(out);
    mmdx_pred_free(pred);
    mmdx_model_free(model);
    fcli_free(&d);
    mmdx_ctx_free(ctx);
    cli_inputs_free(&in);
    return status;
}
