/* Shared pieces of the mmdx driver: input options, reading inputs through the
 * collector, the rejects file, messages and exit codes. */
#define _XOPEN_SOURCE 700
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

const char cli_labels_help[] =
    "      --ignore-unknown-labels\n"
    "                        skip label rows naming patients that are not in the evidence (a\n"
    "                        warning counts them); without it they are an error (exit 2)\n";

int cli_apply_labels(const mmdx_labels_t *labels, mmdx_cohort_t *cohort, int ignore_unknown, int quiet)
{
    mmdx_error_t err;
    size_t n_unknown = 0;
    mmdx_error_clear(&err);
    int rc = mmdx_labels_apply(labels, cohort, !ignore_unknown, &n_unknown, &err);
    if (rc == MMDX_ENOTFOUND && n_unknown > 0) {
        fprintf(stderr,
                "mmdx: --labels: %s line %ld: patient '%s' is not in the evidence; %zu of %zu label row%s name "
                "patients not in the evidence (check the patient ids, or give --ignore-unknown-labels to skip "
                "them)\n",
                err.file, err.line, err.object, n_unknown, mmdx_labels_n_patients(labels),
                mmdx_labels_n_patients(labels) == 1 ? "" : "s");
        return rc;
    }
    if (rc != MMDX_OK) {
        cli_print_error("--labels", &err);
        return rc;
    }
    if (n_unknown > 0 && !quiet)
        fprintf(stderr,
                "mmdx: warning: --labels: %zu of %zu label row%s name patients not in the evidence (skipped; "
                "first: %s line %ld, patient '%s')\n",
                n_unknown, mmdx_labels_n_patients(labels), mmdx_labels_n_patients(labels) == 1 ? "" : "s",
                err.file, err.line, err.object);
    return MMDX_OK;
}

const char cli_inputs_help[] =
    "Inputs (each repeatable; at least one is needed):\n"
    "      --imaging FILE.h5       imaging features (HDF5: /patient_ids, /feature_names, /features)\n"
    "      --labs FILE.xml         laboratory results (FHIR R4, HL7 v2.xml ORU^R01, C-CDA)\n"
    "      --variants FILE         genetic variants (VCF, VCF.gz or BCF)\n"
    "      --input FILE            any input; the modality is detected from its content\n"
    "      --panel FILE.tsv        variants to extract (passed to the variants adapter)\n"
    "      --option [IN.]KEY=VAL   adapter option; with a prefix (imaging., labs., variants.\n"
    "                              or a modality name) only that adapter gets it\n"
    "      --agg POLICY            several results for one feature: latest (default), mean,\n"
    "                              min or max\n"
    "      --plugin PATH|NAME      load a modality plugin first (repeatable); plugins in\n"
    "                              $MMDX_PLUGIN_PATH and the plugin directory load by themselves\n";

static int push(const char ***v, size_t *n, const char *s)
{
    const char **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (nv == NULL) {
        fprintf(stderr, "mmdx: out of memory\n");
        return -1;
    }
    nv[(*n)++] = s;
    *v = nv;
    return 1;
}

void cli_inputs_init(cli_inputs_t *in)
{
    memset(in, 0, sizeof *in);
    in->agg = MMDX_AGG_LATEST;
}

void cli_inputs_free(cli_inputs_t *in)
{
    free(in->imaging);
    free(in->labs);
    free(in->variants);
    free(in->options);
    free(in->plugins);
    free(in->detect);
    cli_inputs_init(in);
}

int cli_inputs_option(cli_inputs_t *in, int opt, const char *arg)
{
    switch (opt) {
    case CLI_OPT_BASE + 1:
        return push(&in->imaging, &in->n_imaging, arg);
    case CLI_OPT_BASE + 2:
        return push(&in->labs, &in->n_labs, arg);
    case CLI_OPT_BASE + 3:
        return push(&in->variants, &in->n_variants, arg);
    case CLI_OPT_BASE + 4:
        if (in->panel) {
            fprintf(stderr, "mmdx: --panel given twice\n");
            return -1;
        }
        in->panel = arg;
        return 1;
    case CLI_OPT_BASE + 5:
        if (strchr(arg, '=') == NULL || arg[0] == '=') {
            fprintf(stderr, "mmdx: --option wants KEY=VALUE or INPUT.KEY=VALUE, not '%s'\n", arg);
            return -1;
        }
        return push(&in->options, &in->n_options, arg);
    case CLI_OPT_BASE + 6:
        if (mmdx_agg_parse(arg, &in->agg) != MMDX_OK) {
            fprintf(stderr, "mmdx: --agg wants latest, mean, min or max, not '%s'\n", arg);
            return -1;
        }
        return 1;
    case CLI_OPT_BASE + 7:
        return push(&in->plugins, &in->n_plugins, arg);
    case CLI_OPT_BASE + 8:
        return push(&in->detect, &in->n_detect, arg);
    default:
        return 0;
    }
}

int cli_inputs_empty(const cli_inputs_t *in)
{
    return in->n_imaging + in->n_labs + in->n_variants + in->n_detect == 0;
}

/* The options one adapter gets: unprefixed ones, those prefixed with its input or
 * modality name (prefix removed), and panel=FILE for the variants adapter. NULL-terminated;
 * the strings are borrowed from argv except panel=, which is written into @p panel_buf. */
static const char **adapter_options(const cli_inputs_t *in, const char *input, const char *modality,
                                    char *panel_buf, size_t panel_size)
{
    const char **v = calloc(in->n_options + 2, sizeof *v);
    size_t n = 0;
    if (v == NULL)
        return NULL;
    for (size_t i = 0; i < in->n_options; i++) {
        const char *o = in->options[i], *dot = strchr(o, '.'), *eq = strchr(o, '=');
        if (dot == NULL || dot > eq) {
            v[n++] = o;
            continue;
        }
        size_t plen = (size_t)(dot - o);
        if ((input && strlen(input) == plen && strncmp(o, input, plen) == 0) ||
            (modality && strlen(modality) == plen && strncmp(o, modality, plen) == 0))
            v[n++] = dot + 1;
    }
    if (in->panel && input && strcmp(input, "variants") == 0) {
        snprintf(panel_buf, panel_size, "panel=%s", in->panel);
        v[n++] = panel_buf;
    }
    v[n] = NULL;
    return v;
}

static void list_inputs(mmdx_ctx_t *ctx, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < mmdx_plugin_count(ctx) && off < size; i++) {
        const mmdx_modality_desc_t *d = mmdx_plugin_desc(ctx, i);
        int w = snprintf(buf + off, size - off, "%s%s (--%s)", off ? ", " : "", d->name,
                         d->input ? d->input : "input");
        if (w < 0)
            break;
        off += (size_t)w;
    }
    if (buf[0] == '\0')
        snprintf(buf, size, "none");
}

static int read_inputs(mmdx_ctx_t *ctx, mmdx_collect_t *col, const cli_inputs_t *in, const char *input,
                       const char *const *files, size_t n_files, int frozen)
{
    for (size_t i = 0; i < n_files; i++) {
        char panel[PATH_MAX + 8];
        mmdx_error_t err;
        mmdx_error_clear(&err);
        long k = input ? mmdx_plugin_find_input(ctx, input) : -1;
        const char *modality = k >= 0 ? mmdx_plugin_desc(ctx, (size_t)k)->name : NULL;
        /* --input: detect first, so options prefixed with the modality's name or with its
         * input kind (labs., imaging., variants.) reach it */
        const char *kind = input;
        if (input == NULL) {
            if (mmdx_source_detect(ctx, files[i], &modality, &err) != MMDX_OK) {
                cli_print_error(NULL, &err);
                if (err.code == MMDX_EFORMAT)
                    cli_report_unavailable(NULL); /* perhaps one of them would have read it */
                return err.code;
            }
            long m = modality ? mmdx_plugin_find(ctx, modality) : -1;
            if (m >= 0)
                kind = mmdx_plugin_desc(ctx, (size_t)m)->input;
        }
        const char **opts = adapter_options(in, kind, modality, panel, sizeof panel);
        if (opts == NULL) {
            fprintf(stderr, "mmdx: out of memory\n");
            return MMDX_ENOMEM;
        }
        size_t n_before = mmdx_collect_n_observations(col);
        int rc = mmdx_collect_file(col, modality, files[i], opts, &err);
        free(opts);
        if (rc == MMDX_OK && mmdx_collect_n_observations(col) == n_before)
            mmdx_ctx_log(ctx, MMDX_LOG_WARN, "%s: no observations%s", files[i],
                         frozen ? " of the model's features" : " (no result, feature value or genotype found)");
        if (rc != MMDX_OK) {
            if (err.file[0] == '\0')
                snprintf(err.file, sizeof err.file, "%s", files[i]);
            cli_print_error(NULL, &err);
            return rc;
        }
    }
    return MMDX_OK;
}

int cli_collect(mmdx_ctx_t *ctx, const cli_inputs_t *in, mmdx_space_t *space, int frozen,
                mmdx_collect_t **col_out, mmdx_cohort_t **cohort_out)
{
    mmdx_error_t err;
    *col_out = NULL;
    *cohort_out = NULL;
    for (size_t i = 0; i < in->n_plugins; i++) {
        mmdx_error_clear(&err);
        if (mmdx_plugin_load(ctx, in->plugins[i], &err) != MMDX_OK) {
            cli_print_error("--plugin", &err);
            return err.code;
        }
    }
    size_t n_loaded, n_failed;
    if (mmdx_plugin_load_all(ctx, &n_loaded, &n_failed) == MMDX_ENOMEM) {
        fprintf(stderr, "mmdx: out of memory\n");
        return MMDX_ENOMEM;
    }

    /* every input option needs its adapter: say so before reading anything */
    static const char *const inputs[] = {"imaging", "labs", "variants"};
    const size_t counts[] = {in->n_imaging, in->n_labs, in->n_variants};
    for (size_t k = 0; k < 3; k++) {
        if (counts[k] && mmdx_plugin_find_input(ctx, inputs[k]) < 0) {
            char have[512];
            list_inputs(ctx, have, sizeof have);
            fprintf(stderr, "mmdx: no modality serves --%s in this build (available: %s)\n", inputs[k], have);
            cli_report_unavailable(inputs[k]);
            return MMDX_ENOTFOUND;
        }
    }

    mmdx_collect_t *col = mmdx_collect_alloc(ctx, space, in->agg);
    if (col == NULL) {
        fprintf(stderr, "mmdx: out of memory\n");
        return MMDX_ENOMEM;
    }
    mmdx_collect_set_frozen(col, frozen);
    int rc = read_inputs(ctx, col, in, "imaging", in->imaging, in->n_imaging, frozen);
    if (rc == MMDX_OK)
        rc = read_inputs(ctx, col, in, "labs", in->labs, in->n_labs, frozen);
    if (rc == MMDX_OK)
        rc = read_inputs(ctx, col, in, "variants", in->variants, in->n_variants, frozen);
    if (rc == MMDX_OK)
        rc = read_inputs(ctx, col, in, NULL, in->detect, in->n_detect, frozen);
    if (rc == MMDX_OK) {
        mmdx_error_clear(&err);
        rc = mmdx_collect_to_cohort(col, cohort_out, &err);
        if (rc != MMDX_OK)
            cli_print_error("building the cohort", &err);
    }
    if (rc == MMDX_OK && mmdx_cohort_n_patients(*cohort_out) == 0) {
        fprintf(stderr, "mmdx: the inputs hold no patients: nothing to do, nothing written\n");
        mmdx_cohort_free(*cohort_out);
        *cohort_out = NULL;
        rc = MMDX_EINVAL;
    }
    if (rc != MMDX_OK) {
        mmdx_collect_free(col);
        return rc;
    }
    *col_out = col;
    return MMDX_OK;
}

int cli_evidence(mmdx_ctx_t *ctx, const cli_inputs_t *in, const char *cohort_path, const mmdx_space_t *base,
                 mmdx_space_t **space_out, mmdx_collect_t **col_out, mmdx_cohort_t **cohort_out)
{
    mmdx_error_t err;
    *space_out = NULL;
    *col_out = NULL;
    *cohort_out = NULL;
    if (cohort_path) {
        mmdx_error_clear(&err);
        int rc = mmdx_cohort_load(ctx, cohort_path, cohort_out, &err);
        if (rc != MMDX_OK)
            cli_print_error("--cohort", &err);
        return rc;
    }
    mmdx_space_t *space = base ? mmdx_space_clone(base) : mmdx_space_alloc();
    if (space == NULL) {
        fprintf(stderr, "mmdx: out of memory\n");
        return MMDX_ENOMEM;
    }
    int rc = cli_collect(ctx, in, space, base != NULL, col_out, cohort_out);
    if (rc != MMDX_OK) {
        mmdx_space_free(space);
        return rc;
    }
    *space_out = space;
    return MMDX_OK;
}

/* TSV fields must not break the row: tabs and line breaks become spaces. */
static void put_field(FILE *f, const char *s)
{
    for (; s && *s; s++)
        fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, f);
}

void cli_put_reject_row(FILE *f, const char *patient, const char *file, long record, const char *code,
                        const char *reason)
{
    put_field(f, patient);
    fputc('\t', f);
    put_field(f, file);
    fprintf(f, "\t%ld\t%s\t", record, code);
    put_field(f, reason);
    fputc('\n', f);
}

void cli_put_rejects(FILE *f, const mmdx_collect_t *col)
{
    fputs("patient_id\tfile\trecord\tcode\treason\n", f);
    for (size_t k = 0; col && k < mmdx_collect_n_rejects(col); k++) {
        const char *patient = NULL, *file = NULL, *reason = NULL;
        long record = 0;
        int code = 0;
        if (mmdx_collect_reject(col, k, &patient, &file, &record, &code, &reason) == MMDX_OK)
            cli_put_reject_row(f, patient, file, record, cli_code_name(code), reason);
    }
}

long cli_write_rejects(const mmdx_collect_t *col, const char *path)
{
    size_t n = mmdx_collect_n_rejects(col);
    if (path == NULL) {
        const char *patient, *file, *reason;
        long record;
        int code;
        if (n > 0 && mmdx_collect_reject(col, 0, &patient, &file, &record, &code, &reason) == MMDX_OK)
            fprintf(stderr, "mmdx: %zu record%s rejected (list them with --rejects FILE); first: %s:%ld: %s\n",
                    n, n == 1 ? "" : "s", file ? file : "", record, reason ? reason : "");
        return (long)n;
    }
    mmdx_outfile_t *of = NULL;
    mmdx_error_t err;
    mmdx_error_clear(&err);
    if (mmdx_outfile_open(path, &of, &err) != MMDX_OK) {
        cli_print_error("--rejects", &err);
        return -1;
    }
    cli_put_rejects(mmdx_outfile_stream(of), col);
    if (mmdx_outfile_commit(of, &err) != MMDX_OK) {
        cli_print_error("--rejects", &err);
        return -1;
    }
    return (long)n;
}

/* An absolute spelling of @p path whose directory part is resolved (the file need not exist):
 * two outputs spelt differently ("x.h5", "./x.h5", "d/../x.h5") compare equal. */
static void canonical_path(const char *path, char *buf, size_t size)
{
    char dir[PATH_MAX], real[PATH_MAX];
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    if (realpath(path, real) != NULL) {
        snprintf(buf, size, "%s", real);
        return;
    }
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (realpath(dir, real) == NULL)
        snprintf(buf, size, "%s", path);
    else
        snprintf(buf, size, "%s/%s", strcmp(real, "/") == 0 ? "" : real, base);
}

static int is_file_arg(const char *path)
{
    return path != NULL && path[0] != '\0' && strcmp(path, "-") != 0;
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char ca[PATH_MAX + 256], cb[PATH_MAX + 256];
    canonical_path(a, ca, sizeof ca);
    canonical_path(b, cb, sizeof cb);
    return strcmp(ca, cb) == 0;
}

static int output_is_input(const char *cmd, const cli_path_t *out, const char *opt, const char *path)
{
    struct stat so, si;
    if (!is_file_arg(path) || stat(out->path, &so) != 0 || stat(path, &si) != 0)
        return 0;
    if (so.st_dev != si.st_dev || so.st_ino != si.st_ino)
        return 0;
    fprintf(stderr, "mmdx: %s: %s %s is also the input %s %s: refusing to overwrite an input\n", cmd,
            out->opt, out->path, opt, path);
    return 1;
}

int cli_check_paths(const char *cmd, const cli_inputs_t *in, const cli_path_t *inputs, size_t n_inputs,
                    const cli_path_t *outputs, size_t n_outputs)
{
    for (size_t i = 0; i < n_outputs; i++) {
        const cli_path_t *o = &outputs[i];
        if (!is_file_arg(o->path))
            continue;
        for (size_t j = i + 1; j < n_outputs; j++) {
            if (is_file_arg(outputs[j].path) && same_file(o->path, outputs[j].path)) {
                fprintf(stderr, "mmdx: %s: %s %s is also %s %s: give each output its own file\n", cmd, o->opt,
                        o->path, outputs[j].opt, outputs[j].path);
                return CLI_EXIT_FATAL;
            }
        }
        for (size_t j = 0; j < n_inputs; j++)
            if (output_is_input(cmd, o, inputs[j].opt, inputs[j].path))
                return CLI_EXIT_FATAL;
        if (in == NULL)
            continue;
        const struct {
            const char *opt;
            const char *const *v;
            size_t n;
        } lists[] = {{"--imaging", in->imaging, in->n_imaging}, {"--labs", in->labs, in->n_labs},
                     {"--variants", in->variants, in->n_variants}, {"--input", in->detect, in->n_detect}};
        for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
            for (size_t j = 0; j < lists[l].n; j++)
                if (output_is_input(cmd, o, lists[l].opt, lists[l].v[j]))
                    return CLI_EXIT_FATAL;
        if (output_is_input(cmd, o, "--panel", in->panel))
            return CLI_EXIT_FATAL;
    }
    return CLI_EXIT_OK;
}

int cli_check_outputs(const char *cmd, const cli_inputs_t *in, const cli_path_t *inputs, size_t n_inputs,
                      char *const *args, size_t n_args, const cli_path_t *outputs, size_t n_outputs)
{
    if (cli_check_paths(cmd, in, inputs, n_inputs, outputs, n_outputs) != CLI_EXIT_OK)
        return CLI_EXIT_FATAL;
    for (size_t i = 0; i < n_args; i++) {
        const cli_path_t arg_in = {"argument", args[i]};
        if (cli_check_paths(cmd, NULL, &arg_in, 1, outputs, n_outputs) != CLI_EXIT_OK)
            return CLI_EXIT_FATAL;
    }
    for (size_t i = 0; i < n_outputs; i++) {
        mmdx_error_t err;
        mmdx_error_clear(&err);
        if (outputs[i].path && mmdx_outfile_check(outputs[i].path, &err) != MMDX_OK) {
            cli_print_error(NULL, &err);
            return CLI_EXIT_FATAL;
        }
    }
    return CLI_EXIT_OK;
}

long cli_rejects(const mmdx_collect_t *col, const char *path, int quiet)
{
    if (col == NULL)
        return 0;
    return path || !quiet ? cli_write_rejects(col, path) : (long)mmdx_collect_n_rejects(col);
}

void cli_print_error(const char *what, const mmdx_error_t *err)
{
    char buf[1200];
    if (err == NULL || err->code == MMDX_OK) {
        fprintf(stderr, "mmdx: %s%sfailed\n", what ? what : "", what ? ": " : "");
        return;
    }
    mmdx_error_format(err, buf, sizeof buf);
    fprintf(stderr, "mmdx: %s%s%s\n", what ? what : "", what ? ": " : "", buf);
}

/* Built-in modalities whose init failed (the library logs "built-in modality not available:
 * built-in: NAME: REASON" when a context first looks at its modalities). Kept, not printed:
 * only a command that needs the modality says so (cli_report_unavailable). */
static const char unavailable_prefix[] = "built-in modality not available: ";
static struct {
    char name[64];
    char reason[1024];
} unavailable[16];
static size_t n_unavailable;

static void keep_unavailable(const char *msg)
{
    const char *p = msg + strlen(unavailable_prefix), *colon;
    char name[64];
    if (strncmp(p, "built-in: ", 10) == 0)
        p += 10;
    colon = strchr(p, ':');
    snprintf(name, sizeof name, "%.*s", colon ? (int)(colon - p) : (int)strlen(p), p);
    size_t i = 0;
    while (i < n_unavailable && strcmp(unavailable[i].name, name) != 0)
        i++;
    if (i == sizeof unavailable / sizeof unavailable[0])
        return;
    if (i == n_unavailable)
        n_unavailable++;
    snprintf(unavailable[i].name, sizeof unavailable[i].name, "%s", name);
    snprintf(unavailable[i].reason, sizeof unavailable[i].reason, "%s", colon ? colon + 2 : "");
}

size_t cli_unavailable_count(void)
{
    return n_unavailable;
}

const char *cli_unavailable_name(size_t i)
{
    return i < n_unavailable ? unavailable[i].name : NULL;
}

const char *cli_unavailable_reason(size_t i)
{
    return i < n_unavailable ? unavailable[i].reason : NULL;
}

const char *cli_builtin_input(const char *name)
{
    static const char *const map[][2] = {{"hdf5", "imaging"}, {"hl7", "labs"}, {"vcf", "variants"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], name) == 0)
            return map[i][1];
    return NULL;
}

void cli_report_unavailable(const char *input)
{
    for (size_t i = 0; i < n_unavailable; i++) {
        const char *kind = cli_builtin_input(unavailable[i].name);
        if (input == NULL || strcmp(input, unavailable[i].name) == 0 || (kind && strcmp(input, kind) == 0))
            fprintf(stderr, "mmdx: built-in modality %s%s%s%s is unavailable: %s\n", unavailable[i].name,
                    kind ? " (--" : "", kind ? kind : "", kind ? ")" : "", unavailable[i].reason);
    }
}

static void log_to_stderr(void *user, mmdx_log_level_t level, const char *msg)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    (void)user;
    if (level == MMDX_LOG_ERROR && strncmp(msg, unavailable_prefix, strlen(unavailable_prefix)) == 0) {
        keep_unavailable(msg);
        return;
    }
    fprintf(stderr, "mmdx: %s: %s\n", names[level <= MMDX_LOG_DEBUG ? level : MMDX_LOG_DEBUG], msg);
}

mmdx_ctx_t *cli_ctx_new(int verbose)
{
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    if (ctx == NULL) {
        fprintf(stderr, "mmdx: cannot initialise the library (out of memory)\n");
        return NULL;
    }
    mmdx_log_level_t level = verbose < 0 ? MMDX_LOG_ERROR
                           : verbose == 0 ? MMDX_LOG_WARN
                           : verbose == 1 ? MMDX_LOG_INFO : MMDX_LOG_DEBUG;
    mmdx_ctx_set_log(ctx, log_to_stderr, NULL, level);
    return ctx;
}

int cli_parse_threads(const char *arg)
{
    char *end;
    errno = 0;
    long n = strtol(arg, &end, 10);
    if (errno || end == arg || *end != '\0' || n < 1 || n > 1024) {
        fprintf(stderr, "mmdx: --threads wants a whole number from 1 to 1024, not '%s'\n", arg);
        return -1;
    }
    return (int)n;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fputs("mmdx: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'mmdx %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
    return CLI_EXIT_FATAL;
}

const char *cli_code_name(int code)
{
    static const char *const names[] = {"OK", "ENOMEM", "EINVAL", "EIO", "EFORMAT", "ENOTFOUND",
                                        "EDUP", "ERANGE", "EUNIT", "EABI", "EPLUGIN", "ENUMERIC",
                                        "EVERSION", "ESPACE", "ESECURITY", "ETRUNC", "ESTATE", "EREJECT"};
    if (code <= 0 && -code < (int)(sizeof names / sizeof names[0]))
        return names[-code];
    return "EUNKNOWN";
}
