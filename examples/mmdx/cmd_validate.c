/* mmdx validate: stratified k-fold cross-validation of the fusion model with a seed:
 * discrimination, calibration and their spread over subgroups, as a long TSV. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion_cli.h"
#include "commands.h"

static void help(void)
{
    printf("Usage: mmdx validate INPUTS --labels LABELS.tsv [--folds K] [--seed N] [-o METRICS.tsv]\n"
           "       mmdx validate --cohort COHORT.h5 [--labels LABELS.tsv] [options]\n"
           "Stratified K-fold cross-validation of the fusion model, per target (folds drawn\n"
           "per target, stratified on its labels, with the seed). For every target and class\n"
           "(class 1 of a binary target; each class one-vs-rest otherwise) it reports the\n"
           "AUROC with a bootstrap 95%% interval, AUPRC, log-loss, Brier score, expected\n"
           "calibration error and a calibration table, over all patients and per subgroup of\n"
           "--group features. Output: a long TSV with the columns target, class, group, level,\n"
           "n, n_positive, metric, value (group 'all' level 'all' for everyone).\n"
           "\n%s"
           "  -c, --cohort FILE     read the evidence from a cohort file (mmdx ingest) instead\n"
           "\n"
           "Options:\n"
           "  -l, --labels FILE     labels TSV; required with INPUTS\n"
           "%s"
           "  -k, --folds K         cross-validation folds (default 5)\n"
           "  -s, --seed N          seed of the folds and the bootstrap (default 0)\n"
           "  -g, --group FEATURE   also report per subgroup of FEATURE (levels of a categorical or\n"
           "                        binary feature, quartiles of a continuous one); repeatable\n"
           "  -b, --bootstrap B     bootstrap resamples of the AUROC interval (default 1000)\n"
           "      --bins B          calibration bins (default 10)\n"
           "  -o, --output FILE     output (default: standard output)\n"
           "  -t, --threads N       threads fitting and scoring each fold (default 1); the\n"
           "                        results are the same for any N\n"
           "  -q, --quiet           no summary\n"
           "  -h, --help            show this help\n"
           "\n%s"
           "\n"
           "Exit status: 0 ok; 1 some input records were rejected; 2 usage or fatal error (e.g.\n"
           "label rows naming patients not in the evidence).\n",
           cli_inputs_help, cli_labels_help, fcli_model_help);
}

/* A space with the features of @p s and only its target @p t. */
static mmdx_space_t *one_target_space(const mmdx_space_t *s, size_t t)
{
    mmdx_space_t *r = mmdx_space_alloc();
    if (!r) {
        return NULL;
    }
    for (size_t j = 0; j < mmdx_space_n_features(s); j++) {
        size_t idx, lv;
        const char *unit = mmdx_space_feature_unit(s, j);
        if (mmdx_space_add_feature(r, mmdx_space_feature_id(s, j), mmdx_space_feature_kind(s, j),
                                   unit[0] ? unit : NULL, mmdx_space_feature_transform(s, j), &idx) != MMDX_OK) {
            goto fail;
        }
        for (size_t l = 0; l < mmdx_space_n_levels(s, j); l++) {
            if (mmdx_space_add_level(r, idx, mmdx_space_level(s, j, l), &lv) != MMDX_OK) {
                goto fail;
            }
        }
    }
    size_t K = mmdx_space_n_classes(s, t), idx;
    const char **cls = malloc(K * sizeof(char *));
    if (!cls) {
        goto fail;
    }
    for (size_t k = 0; k < K; k++) {
        cls[k] = mmdx_space_class_name(s, t, k);
    }
    int rc = mmdx_space_add_target(r, mmdx_space_target_name(s, t), K, cls, &idx);
    free(cls);
    if (rc != MMDX_OK) {
        goto fail;
    }
    return r;
fail:
    mmdx_space_free(r);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Group index of every row for feature j (-1 missing); level names in names[]. */
static size_t grouping(const mmdx_cohort_t *c, size_t j, int *grp, char names[][64], size_t max_groups)
{
    const mmdx_space_t *s = mmdx_cohort_space(c);
    size_t n = mmdx_cohort_n_patients(c);
    mmdx_kind_t kind = mmdx_space_feature_kind(s, j);
    size_t ng = 0;
    if (kind == MMDX_KIND_CONTINUOUS) {
        double *v = malloc((n ? n : 1) * sizeof(double));
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            double x;
            if (v && mmdx_cohort_get(c, i, j, &x)) {
                v[m++] = x;
            }
        }
        double q[5] = {0};
        if (m > 0) {
            qsort(v, m, sizeof(double), cmp_double);
            for (int k = 0; k <= 4; k++) {
                q[k] = v[(size_t)((double)(m - 1) * k / 4.0)];
            }
        }
        free(v);
        ng = m > 0 ? 4 : 0;
        for (size_t k = 0; k < ng; k++) {
            snprintf(names[k], 64, "q%zu:[%.4g,%.4g%c", k + 1, q[k], q[k + 1], k == 3 ? ']' : ')');
        }
        for (size_t i = 0; i < n; i++) {
            double x;
            grp[i] = -1;
            if (ng && mmdx_cohort_get(c, i, j, &x)) {
                int k = 0;
                while (k < 3 && x >= q[k + 1]) {
                    k++;
                }
                grp[i] = k;
            }
        }
        return ng;
    }
    for (size_t i = 0; i < n; i++) {
        double x;
        grp[i] = -1;
        if (!mmdx_cohort_get(c, i, j, &x)) {
            continue;
        }
        char name[64];
        if (kind == MMDX_KIND_CATEGORICAL && x >= 0 && (size_t)x < mmdx_space_n_levels(s, j)) {
            snprintf(name, sizeof(name), "%s", mmdx_space_level(s, j, (size_t)x));
        } else {
            snprintf(name, sizeof(name), "%g", x);
        }
        size_t k = 0;
        while (k < ng && strcmp(names[k], name) != 0) {
            k++;
        }
        if (k == ng) {
            if (ng == max_groups) {
                continue; /* too many levels: the rest are not reported */
            }
            snprintf(names[ng++], 64, "%s", name);
        }
        grp[i] = (int)k;
    }
    return ng;
}

typedef struct vopt {
    unsigned boot, bins;
    uint64_t seed;
} vopt_t;

/* One metric row; a value that is not a number (AUROC of one class, an empty calibration
 * bin, no bootstrap) is written NA, never nan. */
static void metric_row(FILE *f, const char *target, const char *cls, const char *group, const char *level, size_t m,
                       size_t pos, const char *name, unsigned bin, double v)
{
    char metric[64], value[32];
    if (bin)
        snprintf(metric, sizeof metric, "calibration_bin%u_%s", bin, name);
    else
        snprintf(metric, sizeof metric, "%s", name);
    if (isfinite(v))
        snprintf(value, sizeof value, "%.6g", v);
    else
        snprintf(value, sizeof value, "NA");
    fprintf(f, "%s\t%s\t%s\t%s\t%zu\t%zu\t%s\t%s\n", target, cls, group, level, m, pos, metric, value);
}

static void report(FILE *f, const char *target, const char *cls, const char *group, const char *level,
                   const double *p, const int *y, size_t n, const vopt_t *o)
{
    size_t m = 0, pos = 0;
    for (size_t i = 0; i < n; i++) {
        m += y[i] >= 0;
        pos += y[i] > 0;
    }
    if (m == 0) {
        return;
    }
    double lo = NAN, hi = NAN;
    if (o->boot > 0 && mmdx_metric_auroc_ci(p, y, n, o->boot, 0.95, o->seed, &lo, &hi) != MMDX_OK) {
        lo = hi = NAN;
    }
    struct { const char *name; double v; } rows[] = {
        {"auroc", mmdx_metric_auroc(p, y, n)}, {"auroc_ci_low", lo}, {"auroc_ci_high", hi},
        {"auprc", mmdx_metric_auprc(p, y, n)}, {"logloss", mmdx_metric_logloss(p, y, n)},
        {"brier", mmdx_metric_brier(p, y, n)}, {"ece", mmdx_metric_ece(p, y, n, o->bins)}};
    for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
        metric_row(f, target, cls, group, level, m, pos, rows[r].name, 0, rows[r].v);
    }
    size_t count[100];
    double mp[100], ob[100];
    mmdx_metric_calibration(p, y, n, o->bins, count, mp, ob); /* bins <= 100 (option check) */
    for (unsigned b = 0; b < o->bins; b++) {
        fprintf(f, "%s\t%s\t%s\t%s\t%zu\t%zu\tcalibration_bin%u_n\t%zu\n", target, cls, group, level, m, pos, b + 1,
                count[b]);
        metric_row(f, target, cls, group, level, m, pos, "predicted", b + 1, mp[b]);
        metric_row(f, target, cls, group, level, m, pos, "observed", b + 1, ob[b]);
    }
}

/* Cross-validated probabilities of every class of target t: prob[i * K + k]. */
static int crossval(mmdx_ctx_t *ctx, const mmdx_cohort_t *c, size_t t, unsigned folds, const vopt_t *o,
                    const mmdx_model_options_t *mopt, double *prob, int *y)
{
    const mmdx_space_t *s = mmdx_cohort_space(c);
    size_t n = mmdx_cohort_n_patients(c), K = mmdx_space_n_classes(s, t);
    unsigned *fold = malloc((n ? n : 1) * sizeof(unsigned));
    size_t *tr = malloc((n ? n : 1) * sizeof(size_t)), *te = malloc((n ? n : 1) * sizeof(size_t));
    double *pk = malloc((n ? n : 1) * K * sizeof(double));
    mmdx_space_t *one = one_target_space(s, t);
    int rc = MMDX_ENOMEM;
    if (!fold || !tr || !te || !pk || !one) {
        fprintf(stderr, "mmdx: out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        y[i] = mmdx_cohort_label(c, i, t);
    }
    if ((rc = mmdx_stratified_folds(y, n, folds, o->seed, fold)) != MMDX_OK) {
        goto done;
    }
    for (size_t i = 0; i < n * K; i++) {
        prob[i] = NAN;
    }
    for (unsigned k = 0; k < folds; k++) {
        size_t ntr = 0, nte = 0;
        for (size_t i = 0; i < n; i++) {
            if (y[i] < 0) {
                continue;
            }
            if (fold[i] == k) {
                te[nte++] = i;
            } else {
                tr[ntr++] = i;
            }
        }
        mmdx_cohort_t *ctr = mmdx_cohort_select(c, tr, ntr), *cte = mmdx_cohort_select(c, te, nte);
        mmdx_model_t *m = NULL;
        mmdx_error_t err;
        mmdx_error_clear(&err);
        rc = !ctr || !cte ? MMDX_ENOMEM : mmdx_model_alloc(ctx, one, mopt, &m, &err);
        if (rc == MMDX_OK) {
            rc = mmdx_model_fit(m, ctr, &err);
        }
        if (rc == MMDX_OK) {
            rc = mmdx_model_predict_probs(m, cte, 0, pk, NULL, NULL, &err);
        }
        if (rc != MMDX_OK) {
            char what[300];
            snprintf(what, sizeof(what), "validate: target %s, fold %u", mmdx_space_target_name(s, t), k + 1);
            cli_print_error(what, &err);
        } else {
            for (size_t a = 0; a < nte; a++) {
                memcpy(prob + te[a] * K, pk + a * K, K * sizeof(double));
            }
        }
        mmdx_model_free(m);
        mmdx_cohort_free(ctr);
        mmdx_cohort_free(cte);
        if (rc != MMDX_OK) {
            goto done;
        }
    }
done:
    free(fold);
    free(tr);
    free(te);
    free(pk);
    mmdx_space_free(one);
    return rc;
}

static int parse_count(const char *arg, const char *what, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (errno || end == arg || *end || v < lo || v > hi) {
        fprintf(stderr, "mmdx: validate: %s '%s' is not a whole number in %u..%u\n", what, arg, lo, hi);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

int cmd_validate(int argc, char **argv)
{
    enum { OPT_BINS = 1 };
    static const struct option longopts[] = {
        CLI_INPUT_LONGOPTS, FCLI_MODEL_LONGOPTS, CLI_LABELS_LONGOPTS,
        {"cohort", required_argument, NULL, 'c'}, {"labels", required_argument, NULL, 'l'},
        {"folds", required_argument, NULL, 'k'}, {"seed", required_argument, NULL, 's'},
        {"group", required_argument, NULL, 'g'}, {"bootstrap", required_argument, NULL, 'b'},
        {"bins", required_argument, NULL, OPT_BINS}, {"output", required_argument, NULL, 'o'},
        {"threads", required_argument, NULL, 't'}, {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    cli_inputs_t in;
    mmdx_model_options_t mopt;
    const char *output = "-", *labels = NULL, *cohort = NULL, *groups[16];
    size_t n_groups = 0;
    unsigned folds = 5, seed = 0;
    vopt_t vo = {1000, 10, 0};
    int quiet = 0, ignore_unknown = 0, opt, status = CLI_EXIT_FATAL, threads = 1;
    mmdx_ctx_t *ctx = NULL;
    mmdx_outfile_t *out = NULL;
    fcli_data_t d = {0};
    mmdx_error_t err;
    double *prob = NULL, *pc = NULL;
    int *y = NULL, *yc = NULL, *grp = NULL, *yg = NULL;
    double *pg = NULL;

    cli_inputs_init(&in);
    mmdx_model_options_init(&mopt);
    while ((opt = getopt_long(argc, argv, "c:l:k:s:g:b:o:t:qh", longopts, NULL)) != -1) {
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
        case 'l':
            labels = optarg;
            break;
        case CLI_OPT_IGNORE_UNKNOWN_LABELS:
            ignore_unknown = 1;
            break;
        case 'k':
            if (parse_count(optarg, "--folds", 2, 100, &folds) < 0) {
                goto usage;
            }
            break;
        case 's':
            if (parse_count(optarg, "--seed", 0, 4000000000u, &seed) < 0) {
                goto usage;
            }
            break;
        case 'g':
            if (n_groups == sizeof(groups) / sizeof(groups[0])) {
                fprintf(stderr, "mmdx: validate: at most 16 --group features\n");
                goto usage;
            }
            groups[n_groups++] = optarg;
            break;
        case 'b':
            if (parse_count(optarg, "--bootstrap", 0, 100000, &vo.boot) < 0) {
                goto usage;
            }
            break;
        case OPT_BINS:
            if (parse_count(optarg, "--bins", 1, 100, &vo.bins) < 0) {
                goto usage;
            }
            break;
        case 'o':
            output = optarg;
            break;
        case 't':
            if ((threads = cli_parse_threads(optarg)) < 0) {
                goto usage;
            }
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
    vo.seed = seed;
    if (optind < argc) {
        cli_inputs_free(&in);
        return cli_usage_error("validate", "unexpected argument '%s'", argv[optind]);
    }
    if (cli_inputs_empty(&in) == !cohort) {
        cli_inputs_free(&in);
        return cli_usage_error("validate", "give either INPUTS (--imaging, --labs, --variants, --input) or --cohort");
    }
    if (!cohort && !labels) {
        cli_inputs_free(&in);
        return cli_usage_error("validate", "no labels: give --labels LABELS.tsv");
    }
    const cli_path_t ins[] = {{"--cohort", cohort}, {"--labels", labels}};
    const cli_path_t outs[] = {{"-o", output}};
    if (cli_check_outputs("validate", &in, ins, 2, NULL, 0, outs, 1) != CLI_EXIT_OK)
        goto done;
    if ((ctx = cli_ctx_new(quiet ? -1 : 0)) == NULL || fcli_load(ctx, &in, cohort, labels, NULL, ignore_unknown, quiet, &d) != MMDX_OK) {
        goto done;
    }
    fcli_set_threads(ctx, threads);
    long gfeat[16];
    for (size_t g = 0; g < n_groups; g++) {
        gfeat[g] = mmdx_space_find_feature(d.space, groups[g]);
        if (gfeat[g] < 0 || (size_t)gfeat[g] >= mmdx_cohort_n_features(d.cohort)) {
            fprintf(stderr, "mmdx: validate: --group %s: no such feature in the evidence\n", groups[g]);
            goto done;
        }
    }
    size_t n = mmdx_cohort_n_patients(d.cohort), T = mmdx_space_n_targets(d.space), Kmax = 2;
    if (T == 0) {
        fprintf(stderr, "mmdx: validate: no target: the labels name none\n");
        goto done;
    }
    for (size_t t = 0; t < T; t++) {
        Kmax = mmdx_space_n_classes(d.space, t) > Kmax ? mmdx_space_n_classes(d.space, t) : Kmax;
    }
    size_t n1 = n ? n : 1;
    prob = malloc(n1 * Kmax * sizeof(double));
    pc = malloc(n1 * sizeof(double));
    pg = malloc(n1 * sizeof(double));
    y = malloc(n1 * sizeof(int));
    yc = malloc(n1 * sizeof(int));
    yg = malloc(n1 * sizeof(int));
    grp = malloc(n1 * sizeof(int));
    if (!prob || !pc || !pg || !y || !yc || !yg || !grp) {
        fprintf(stderr, "mmdx: out of memory\n");
        goto done;
    }
    mmdx_error_clear(&err);
    if (mmdx_outfile_open(output, &out, &err) != MMDX_OK) {
        cli_print_error(NULL, &err);
        goto done;
    }
    FILE *f = mmdx_outfile_stream(out);
    fputs("target\tclass\tgroup\tlevel\tn\tn_positive\tmetric\tvalue\n", f);
    for (size_t t = 0; t < T; t++) {
        const char *tname = mmdx_space_target_name(d.space, t);
        size_t K = mmdx_space_n_classes(d.space, t);
        if (crossval(ctx, d.cohort, t, folds, &vo, &mopt, prob, y) != MMDX_OK) {
            goto done;
        }
        for (size_t k = K == 2 ? 1 : 0; k < K; k++) {
            const char *cname = mmdx_space_class_name(d.space, t, k);
            for (size_t i = 0; i < n; i++) {
                yc[i] = y[i] < 0 ? -1 : y[i] == (int)k;
                pc[i] = prob[i * K + k];
            }
            report(f, tname, cname, "all", "all", pc, yc, n, &vo);
            if (!quiet) {
                fprintf(stderr, "mmdx: validate: %s=%s: AUROC %.4f log-loss %.4f ECE %.4f (%u folds, seed %u)\n",
                        tname, cname, mmdx_metric_auroc(pc, yc, n), mmdx_metric_logloss(pc, yc, n),
                        mmdx_metric_ece(pc, yc, n, vo.bins), folds, seed);
            }
            for (size_t g = 0; g < n_groups; g++) {
                char names[32][64];
                size_t ng = grouping(d.cohort, (size_t)gfeat[g], grp, names, 32);
                for (size_t lv = 0; lv <= ng; lv++) {
                    for (size_t i = 0; i < n; i++) {
                        int in_g = lv < ng ? grp[i] == (int)lv : grp[i] < 0;
                        yg[i] = in_g ? yc[i] : -1;
                    }
                    report(f, tname, cname, groups[g], lv < ng ? names[lv] : "NA", pc, yg, n, &vo);
                }
            }
        }
    }
    mmdx_error_clear(&err);
    int rc = mmdx_outfile_commit(out, &err);
    out = NULL;
    if (rc != MMDX_OK) {
        cli_print_error(NULL, &err);
        goto done;
    }
    long n_rejects = cli_rejects(d.col, NULL, quiet);
    status = n_rejects > 0 ? CLI_EXIT_REJECTS : CLI_EXIT_OK;
    goto done;
usage:
    cli_inputs_free(&in);
    return cli_usage_error("validate", "bad option");
done:
    mmdx_outfile_abort(out);
    free(prob);
    free(pc);
    free(pg);
    free(y);
    free(yc);
    free(yg);
    free(grp);
    fcli_free(&d);
    mmdx_ctx_free(ctx);
    cli_inputs_free(&in);
    return status;
}
