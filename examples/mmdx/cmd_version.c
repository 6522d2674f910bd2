/* mmdx version: library, modality ABI and dependency versions. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "commands.h"

static void help(void)
{
    printf("Usage: mmdx version\n"
           "Print the versions of mmdx and libmmdx, the modality plugin ABI, the plugin and\n"
           "data directories, the built-in modalities and the versions of the libraries it was\n"
           "built with and runs with.\n"
           "\n"
           "Options:\n"
           "  -h, --help   show this help\n");
}

int cmd_version(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (opt == 'h') {
            help();
            return CLI_EXIT_OK;
        }
        return cli_usage_error("version", "bad option");
    }
    if (optind < argc)
        return cli_usage_error("version", "unexpected argument '%s'", argv[optind]);

    mmdx_ctx_t *ctx = cli_ctx_new(0);
    if (ctx == NULL)
        return CLI_EXIT_FATAL;
    printf("mmdx %s (libmmdx %s)\n", PACKAGE_VERSION, mmdx_version());
    printf("modality ABI: %d.%d\n", MMDX_ABI_MAJOR, MMDX_ABI_MINOR);
    printf("plugin dir: %s\n", mmdx_plugin_dir());
    printf("data dir: %s\n", mmdx_ctx_data_dir(ctx));
    printf("built-in modalities:");
    size_t n = mmdx_plugin_count(ctx);
    for (size_t i = 0; i < n; i++)
        printf(" %s", mmdx_plugin_desc(ctx, i)->name);
    for (size_t i = 0; i < cli_unavailable_count(); i++)
        printf(" %s (unavailable: %s)", cli_unavailable_name(i), cli_unavailable_reason(i));
    printf("%s\n", n || cli_unavailable_count() ? "" : " none");
    /* one "name version" per line: the libraries found at run time and what configure saw */
    printf("dependencies:\n%s", mmdx_dependency_versions());
    mmdx_ctx_free(ctx);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("mmdx: writing to standard output");
        return CLI_EXIT_FATAL;
    }
    return CLI_EXIT_OK;
}
