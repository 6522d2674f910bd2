/* mmdx kb check FILE: validate a knowledge base (schema and meaning) and list its rules. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static void help(void)
{
    printf("Usage: mmdx kb check [--quiet] FILE\n"
           "Validate a treatment knowledge base against the KB schema (kb/kb.rng in the data\n"
           "directory) and its meaning (declared features, targets, levels and sources; no\n"
           "contradictory rules), then list its targets and rules with their sources.\n"
           "\n"
           "Options:\n"
           "  -q, --quiet  print nothing but errors\n"
           "  -h, --help   show this help\n"
           "\n"
           "Exit status: 0 the KB is valid; 2 it is not (the error names file, rule and line).\n"
           "Format: docs/kb.md.\n");
}

static void list(const mmdx_kb_t *kb)
{
    printf("kb\t%s\tversion %s\n", mmdx_kb_name(kb), mmdx_kb_version(kb));
    printf("scale\t%s\n", mmdx_kb_scale(kb));
    for (size_t i = 0; i < mmdx_kb_n_targets(kb); i++) {
        mmdx_kb_target_info_t t;
        if (mmdx_kb_target(kb, i, &t) == MMDX_OK)
            printf("target\t%s=%s\t%s\t%s\t%s\tthreshold %g\n", t.name, t.cls, t.label, t.department,
                   mmdx_urgency_name(t.urgency), t.threshold);
    }
    printf("rule\tline\ttreatment\taction\tcondition\tadvice\talternative\tcitation\n");
    for (size_t i = 0; i < mmdx_kb_n_rules(kb); i++) {
        mmdx_kb_rule_info_t r;
        if (mmdx_kb_rule(kb, i, &r) == MMDX_OK)
            printf("%s\t%ld\t%s\t%s\t%s\t%s\t%s\t%s\n", r.id, r.line, r.treatment, mmdx_kb_action_name(r.action),
                   r.condition, r.advice, r.alternative, r.citation);
    }
    printf("summary\t%zu treatments, %zu rules, %zu targets\n", mmdx_kb_n_treatments(kb), mmdx_kb_n_rules(kb),
           mmdx_kb_n_targets(kb));
}

int cmd_kb(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int opt, quiet = 0;
    while ((opt = getopt_long(argc, argv, "+qh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'q': quiet = 1; break;
        case 'h': help(); return CLI_EXIT_OK;
        default: return cli_usage_error("kb", "bad option");
        }
    }
    if (optind >= argc)
        return cli_usage_error("kb", "missing subcommand (check)");
    if (strcmp(argv[optind], "check") != 0)
        return cli_usage_error("kb", "unknown subcommand '%s' (expected check)", argv[optind]);
    optind++;
    while ((opt = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'q': quiet = 1; break;
        case 'h': help(); return CLI_EXIT_OK;
        default: return cli_usage_error("kb", "bad option");
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("kb", "expected one KB file");

    mmdx_ctx_t *ctx = cli_ctx_new(0);
    if (ctx == NULL)
        return CLI_EXIT_FATAL;
    mmdx_kb_t *kb = NULL;
    mmdx_error_t err;
    mmdx_error_clear(&err);
    if (mmdx_kb_load(ctx, argv[optind], &kb, &err) != MMDX_OK) {
        cli_print_error("kb check", &err);
        mmdx_ctx_free(ctx);
        return CLI_EXIT_FATAL;
    }
    if (!quiet)
        list(kb);
    mmdx_kb_free(kb);
    mmdx_ctx_free(ctx);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("mmdx: writing to standard output");
        return CLI_EXIT_FATAL;
    }
    return CLI_EXIT_OK;
}
