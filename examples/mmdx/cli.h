/* Shared pieces of the mmdx driver's subcommands: input options, collection, exit codes.
 * Not installed; the driver is an example of using the library. */
#ifndef MMDX_CLI_H
#define MMDX_CLI_H

#include <stdio.h>
#include <mmdx/mmdx.h>

/* exit codes (ARCHITECTURE.md): 0 ok, 1 some records rejected, 2 usage or fatal error */
enum { CLI_EXIT_OK = 0, CLI_EXIT_REJECTS = 1, CLI_EXIT_FATAL = 2 };

/* The inputs every command takes: --imaging/--labs/--variants (repeatable),
 * --input FILE (repeatable; the modality is detected from the content),
 * --panel FILE, --option [INPUT.]KEY=VALUE (passed to adapters, repeatable; with a prefix
 * only to that input's or modality's adapter), --agg POLICY, --plugin PATH (repeatable). */
typedef struct cli_inputs {
    const char **imaging; size_t n_imaging;
    const char **labs; size_t n_labs;
    const char **variants; size_t n_variants;
    const char *panel;             /* passed to the variants adapter as panel=FILE */
    const char **options; size_t n_options; /* extra KEY=VALUE for adapters */
    const char **plugins; size_t n_plugins;
    mmdx_agg_t agg;
    const char **detect; size_t n_detect; /* --input: modality detected from the content */
} cli_inputs_t;

/* getopt_long option entries for the inputs; a command appends its own.
 * Values >= CLI_OPT_BASE are reserved for them. */
#define CLI_OPT_BASE 1000
#define CLI_INPUT_LONGOPTS                                   \
    {"imaging", required_argument, NULL, CLI_OPT_BASE + 1},  \
    {"labs", required_argument, NULL, CLI_OPT_BASE + 2},     \
    {"variants", required_argument, NULL, CLI_OPT_BASE + 3}, \
    {"panel", required_argument, NULL, CLI_OPT_BASE + 4},    \
    {"option", required_argument, NULL, CLI_OPT_BASE + 5},   \
    {"agg", required_argument, NULL, CLI_OPT_BASE + 6},      \
    {"plugin", required_argument, NULL, CLI_OPT_BASE + 7},   \
    {"input", required_argument, NULL, CLI_OPT_BASE + 8}
/* --ignore-unknown-labels, for every command that reads --labels: label rows naming patients
 * that are not in the evidence are a fatal error unless it is given. */
#define CLI_OPT_IGNORE_UNKNOWN_LABELS (CLI_OPT_BASE + 20)
#define CLI_LABELS_LONGOPTS \
    {"ignore-unknown-labels", no_argument, NULL, CLI_OPT_IGNORE_UNKNOWN_LABELS}
/* Text for --help describing --ignore-unknown-labels. */
extern const char cli_labels_help[];
/* Apply @p labels (read from a labels TSV) to @p cohort. Label rows naming patients not in
 * the cohort: without @p ignore_unknown, a fatal error printed to stderr naming the labels
 * file, the first such line and patient, and how many rows there are (MMDX_ENOTFOUND; the
 * cohort is unchanged); with it, a warning (unless @p quiet) and the rows are skipped. Other
 * errors (a class unknown to the cohort's target) are printed too. Returns an MMDX status. */
int cli_apply_labels(const mmdx_labels_t *labels, mmdx_cohort_t *cohort, int ignore_unknown, int quiet);

/* Text for --help listing the input options. */
extern const char cli_inputs_help[];

void cli_inputs_init(cli_inputs_t *in);
void cli_inputs_free(cli_inputs_t *in);
/* Handle one getopt result; returns 1 if it was an input option, 0 if not, -1 on a bad value
 * (message printed). */
int cli_inputs_option(cli_inputs_t *in, int opt, const char *arg);
/* 1 when no input was given. */
int cli_inputs_empty(const cli_inputs_t *in);

/* Load --plugin modules, then read every input into a collector over @p space
 * (frozen: only features already in @p space are kept). On success *col_out holds the
 * collector (rejects inside) and *cohort_out the cohort; both owned by the caller.
 * Fatal errors are printed to stderr naming file and reason; returns an MMDX status.
 * An input that yields no observation is a warning naming it (through the context's log);
 * inputs that yield no patient at all are a fatal error (MMDX_EINVAL, message printed). */
int cli_collect(mmdx_ctx_t *ctx, const cli_inputs_t *in, mmdx_space_t *space, int frozen,
                mmdx_collect_t **col_out, mmdx_cohort_t **cohort_out);

/* The evidence as it is: the cohort file @p cohort_path (from `mmdx ingest`, labels included)
 * when set, else the INPUTS read with cli_collect() over a new space: a copy of @p base
 * (frozen: only its features are kept) or, when @p base is NULL, an empty one. On success
 * *space_out and *col_out (both NULL for a cohort file) and *cohort_out are the caller's;
 * free the cohort before the space. Errors are printed; returns an MMDX status. */
int cli_evidence(mmdx_ctx_t *ctx, const cli_inputs_t *in, const char *cohort_path, const mmdx_space_t *base,
                 mmdx_space_t **space_out, mmdx_collect_t **col_out, mmdx_cohort_t **cohort_out);

/* Write every reject of @p col as TSV (header patient_id, file, record, code, reason) to
 * @p path atomically; NULL path: print a count (and the first reject) to stderr when
 * there are any. Returns the number of rejects, or < 0 (error printed). */
long cli_write_rejects(const mmdx_collect_t *col, const char *path);
/* The rejects TSV to @p f: the header, then one row per reject of @p col (NULL: none). */
void cli_put_rejects(FILE *f, const mmdx_collect_t *col);
/* One row of the rejects TSV; tabs and line breaks in the fields become spaces. */
void cli_put_reject_row(FILE *f, const char *patient, const char *file, long record, const char *code,
                        const char *reason);

/* A path named on the command line: the option that named it ("-o", "--rejects") and the path
 * (NULL or "-": not a file, ignored). */
typedef struct cli_path {
    const char *opt;
    const char *path;
} cli_path_t;

/* Before any work: refuse two outputs on one path, and an output that is an existing input
 * (same st_dev/st_ino; the inputs of @p in plus @p inputs, e.g. --cohort, --model). Prints
 * "mmdx: CMD: -o X is also --rejects" naming both options and returns CLI_EXIT_FATAL;
 * CLI_EXIT_OK when all paths are distinct. @p in may be NULL. */
int cli_check_paths(const char *cmd, const cli_inputs_t *in, const cli_path_t *inputs, size_t n_inputs,
                    const cli_path_t *outputs, size_t n_outputs);

/* cli_check_paths() for @p in, @p inputs and each of the @p n_args command-line arguments
 * @p args (named "argument"), then mmdx_outfile_check() on every output path that is set.
 * Prints the first problem; returns CLI_EXIT_FATAL, or CLI_EXIT_OK when the outputs can be
 * written. Call before any work. */
int cli_check_outputs(const char *cmd, const cli_inputs_t *in, const cli_path_t *inputs, size_t n_inputs,
                      char *const *args, size_t n_args, const cli_path_t *outputs, size_t n_outputs);

/* The rejects of a run: 0 when @p col is NULL (no collector, e.g. --cohort); else written to
 * @p path with cli_write_rejects() when @p path is set or !@p quiet, only counted otherwise.
 * Returns the number of rejects, or < 0 (error printed). */
long cli_rejects(const mmdx_collect_t *col, const char *path, int quiet);

/* Built-in modalities whose init failed in this process (e.g. a missing data table): the
 * library logs them as they are registered; the driver keeps them instead of printing, so
 * that only commands needing that modality report it. Index 0..count-1. */
size_t cli_unavailable_count(void);
const char *cli_unavailable_name(size_t i);
const char *cli_unavailable_reason(size_t i);
/* The input option a built-in serves: hdf5 -> imaging, hl7 -> labs, vcf -> variants; else NULL. */
const char *cli_builtin_input(const char *name);
/* Print "mmdx: built-in modality NAME (--INPUT) is unavailable: REASON" for the unavailable
 * built-in named @p input or serving that input kind; every one when NULL. */
void cli_report_unavailable(const char *input);

/* Print "mmdx: <formatted error>" to stderr. */
void cli_print_error(const char *what, const mmdx_error_t *err);

/* A new context with the log going to stderr at WARN (INFO with verbose 1, DEBUG with 2,
 * errors only with verbose < 0, e.g. --quiet). Prints the error and returns NULL on ENOMEM. */
mmdx_ctx_t *cli_ctx_new(int verbose);

/* Parse a --threads value (1..1024). Returns the count or -1 (message printed). */
int cli_parse_threads(const char *arg);

/* Print "Try 'mmdx CMD --help'." after a usage error; returns CLI_EXIT_FATAL. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Symbolic name of a status ("EFORMAT") for machine-readable output. */
const char *cli_code_name(int code);

#endif
