/* mmdx diagnose: posterior probabilities of every target and class for every patient,
 * with 95% credible intervals, each modality's evidence and the flags, written as TSV,
 * JSON Lines, FHIR R4 XML or an HTML report (diagnose_report.c, writer.h). */
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
    printf("Usage: mmdx diagnose INPUTS --model MODEL.h5 [--kb KB.xml] [--format tsv|jsonl|fhir|html]\n"
           "                        [--lang en|ko] [-o OUT | --per-patient DIR] [--rejects FILE] [options]\n"
           "       mmdx diagnose --cohort COHORT.h5 --model MODEL.h5 [-o OUT]\n"
           "Formats (docs/output.md): tsv (the default), jsonl (one JSON object per patient), fhir\n"
           "(a FHIR R4 Bundle of RiskAssessments), html (a report with charts; decision support,\n"
           "not a diagnosis). With --kb, each patient also gets treatment suggestions, triage and\n"
           "the next best test (tsv: summary columns on every row; --advice FILE for all of it).\n"
           "TSV: one row per patient, target and class: patient_id, target, class, probability\n"
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
           "  -f, --format FMT      tsv (the default), jsonl, fhir or html\n"
           "      --kb FILE         treatment knowledge base (data/kb/default.xml) for suggestions\n"
           "      --advice FILE     tsv format: write the suggestions as TSV rows into FILE\n"
           "      --lang LANG       en (the default) or ko: language of the HTML report\n"
           "      --per-patient DIR html format: one self-contained page per patient in the existing\n"
           "                        directory DIR (file name from the patient id) and DIR/index.html\n"
           "                        linking them, instead of one report on -o; each file atomic\n"
           "      --title TEXT      report title (HTML) / Bundle identifier (FHIR)\n"
           "      --timestamp TIME  ISO 8601 time written into the output (default: none, so reruns\n"
           "                        give identical bytes)\n"
           "      --rejects FILE    write rejected input records, and anything the format cannot\n"
           "                        hold (code UNREPRESENTED), as TSV\n"
           "  -t, --threads N       threads computing the predictions and the advice (default 1);\n"
           "                        the rows are written in input order, so every output is\n"
           "                        byte-identical for any N\n"
           "  -q, --quiet           no progress bar, no summary, no warnings\n"
           "  -v, --verbose         more messages\n"
           "  -h, --help            show this help\n"
           "\n"
           "Exit status: 0 ok; 1 some input records were rejected (every patient still has rows\n"
           "or is in the rejects); 2 usage or fatal error (nothing written).\n",
           cli_inputs_help);
}

int cmd_diagnose(int argc, char **argv)
{
    enum { OPT_REJECTS = 1, OPT_KB, OPT_ADVICE, OPT_LANG, OPT_TITLE, OPT_TIMESTAMP, OPT_PER_PATIENT };
    static const struct option longopts[] = {
        CLI_INPUT_LONGOPTS,
        {"cohort", required_argument, NULL, 'c'}, {"model", required_argument, NULL, 'm'},
        {"output", required_argument, NULL, 'o'}, {"format", required_argument, NULL, 'f'},
        {"rejects", required_argument, NULL, OPT_REJECTS}, {"quiet", no_argument, NULL, 'q'},
        {"kb", required_argument, NULL, OPT_KB}, {"advice", required_argument, NULL, OPT_ADVICE},
        {"lang", required_argument, NULL, OPT_LANG}, {"title", required_argument, NULL, OPT_TITLE},
        {"timestamp", required_argument, NULL, OPT_TIMESTAMP},
        {"per-patient", required_argument, NULL, OPT_PER_PATIENT}, {"threads", required_argument, NULL, 't'},
        {"verbose", no_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    cli_inputs_t in;
    const char *output = "-", *model_path = NULL, *cohort = NULL, *rejects = NULL, *format = "tsv";
    int verbose = 0, quiet = 0, opt, status = CLI_EXIT_FATAL;
    mmdx_ctx_t *ctx = NULL;
    mmdx_model_t *model = NULL;
    dr_options_t dro = {MMDX_WRITER_TSV, "-", NULL, NULL, "en", NULL, NULL, NULL, 0, NULL, 1};
    dr_state_t drs = {0};
    fcli_data_t d = {0};
    mmdx_error_t err;

    cli_inputs_init(&in);
    while ((opt = getopt_long(argc, argv, "c:m:o:f:t:qvh", longopts, NULL)) != -1) {
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
        case OPT_KB:
            dro.kb = optarg;
            break;
        case OPT_ADVICE:
            dro.advice = optarg;
            break;
        case OPT_LANG:
            dro.lang = optarg;
            break;
        case OPT_TITLE:
            dro.title = optarg;
            break;
        case OPT_TIMESTAMP:
            dro.timestamp = optarg;
            break;
        case OPT_PER_PATIENT:
            dro.per_patient = optarg;
            break;
        case 't':
            if ((dro.threads = cli_parse_threads(optarg)) < 0)
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
    if (mmdx_writer_format_parse(format, &dro.format) != MMDX_OK) {
        cli_inputs_free(&in);
        return cli_usage_error("diagnose", "unknown format '%s' (tsv, jsonl, fhir or html)", format);
    }
    if (strcmp(dro.lang, "en") != 0 && strcmp(dro.lang, "ko") != 0) {
        cli_inputs_free(&in);
        return cli_usage_error("diagnose", "unknown language '%s' (en or ko)", dro.lang);
    }
    if (dro.advice && dro.format != MMDX_WRITER_TSV) {
        cli_inputs_free(&in);
        return cli_usage_error("diagnose", "--advice is for the tsv format (the other formats hold the advice)");
    }
    if (dro.per_patient && dro.format != MMDX_WRITER_HTML) {
        cli_inputs_free(&in);
        return cli_usage_error("diagnose", "--per-patient is for the html format");
    }
    if (dro.per_patient && strcmp(output, "-") != 0) {
        cli_inputs_free(&in);
        return cli_usage_error("diagnose", "give either -o (one report) or --per-patient DIR (one page per patient)");
    }
    dro.output = output;
    dro.rejects = rejects;
    dro.quiet = quiet;
    {
        /* an output that is an input, or two outputs on one path, would destroy data */
        const cli_path_t ins[] = {{"--cohort", cohort}, {"--model", model_path}, {"--kb", dro.kb}};
        const cli_path_t outs[] = {{"-o", output}, {"--advice", dro.advice}, {"--rejects", rejects}};
        if (cli_check_paths("diagnose", &in, ins, 3, outs, 3) != CLI_EXIT_OK)
            goto done;
    }
    if ((ctx = cli_ctx_new(quiet ? -1 : verbose)) == NULL) {
        goto done;
    }
    /* output paths and the KB are checked before any input is read */
    if (dr_prepare(ctx, &dro, &drs) != MMDX_OK) {
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
    if (cohort) { /* a cohort file is streamed in chunks: memory does not grow with the patients */
        mmdx_cohort_reader_t *reader = NULL;
        mmdx_error_clear(&err);
        if (mmdx_cohort_reader_open(ctx, cohort, &reader, &err) != MMDX_OK) {
            cli_print_error("--cohort", &err);
            goto done;
        }
        int frc = fcli_check_features("diagnose", model, model_path, mmdx_cohort_reader_space(reader), NULL, quiet);
        mmdx_cohort_reader_close(reader);
        if (frc != MMDX_OK) {
            goto done;
        }
        status = dr_run_file(ctx, model, cohort, 4096, &dro, &drs);
        goto done;
    }
    if (fcli_load(ctx, &in, NULL, NULL, mmdx_model_space(model), 0, quiet, &d) != MMDX_OK) {
        goto done;
    }
    if (fcli_check_features("diagnose", model, model_path, NULL, d.cohort, quiet) != MMDX_OK) {
        goto done;
    }
    status = dr_run(model, d.cohort, d.col, &dro, &drs);
    goto done;
usage:
    cli_inputs_free(&in);
    return cli_usage_error("diagnose", "bad option");
done:
    dr_free(&drs);
    mmdx_model_free(model);
    fcli_free(&d);
    mmdx_ctx_free(ctx);
    cli_inputs_free(&in);
    return status;
}
