/* mmdx plugins: the modalities this driver can use, where each comes from. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static void help(void)
{
    printf("Usage: mmdx plugins [--plugin PATH|NAME]... [--no-search] [-v]\n"
           "List the modalities: the built-in ones, then the plugins found in $MMDX_PLUGIN_PATH\n"
           "and the plugin directory (%s), with name, version, modality ABI, the driver\n"
           "input each serves, licence and where it comes from (built-in or the file).\n"
           "A plugin whose name is already taken is skipped; one that fails to load (wrong ABI,\n"
           "missing symbol, failing init) is reported on stderr naming the file.\n"
           "\n"
           "Options:\n"
           "      --plugin PATH|NAME  load this plugin first (repeatable); failure is fatal\n"
           "      --no-search         do not scan the search path\n"
           "  -v, --verbose           also print each modality's description\n"
           "  -q, --quiet             no warnings\n"
           "  -h, --help              show this help\n"
           "\n"
           "Exit status: 0 ok; 1 a plugin in the search path failed to load (the rest are\n"
           "listed); 2 usage error or a --plugin failed to load.\n",
           mmdx_plugin_dir());
}

int cmd_plugins(int argc, char **argv)
{
    enum { OPT_PLUGIN = 1, OPT_NO_SEARCH };
    static const struct option longopts[] = {
        {"plugin", required_argument, NULL, OPT_PLUGIN}, {"no-search", no_argument, NULL, OPT_NO_SEARCH},
        {"verbose", no_argument, NULL, 'v'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *plugins[64];
    size_t n_plugins = 0;
    int search = 1, verbose = 0, opt;
    while ((opt = getopt_long(argc, argv, "vqh", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_PLUGIN:
            if (n_plugins == sizeof plugins / sizeof plugins[0])
                return cli_usage_error("plugins", "too many --plugin options");
            plugins[n_plugins++] = optarg;
            break;
        case OPT_NO_SEARCH:
            search = 0;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'q':
            verbose = -1;
            break;
        case 'h':
            help();
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("plugins", "bad option");
        }
    }
    if (optind < argc)
        return cli_usage_error("plugins", "unexpected argument '%s'", argv[optind]);

    mmdx_ctx_t *ctx = cli_ctx_new(verbose < 0 ? -1 : 0);
    if (ctx == NULL)
        return CLI_EXIT_FATAL;
    for (size_t i = 0; i < n_plugins; i++) {
        mmdx_error_t err;
        mmdx_error_clear(&err);
        if (mmdx_plugin_load(ctx, plugins[i], &err) != MMDX_OK) {
            cli_print_error("--plugin", &err);
            mmdx_ctx_free(ctx);
            return CLI_EXIT_FATAL;
        }
    }
    size_t n_loaded = 0, n_failed = 0;
    if (search && mmdx_plugin_load_all(ctx, &n_loaded, &n_failed) != MMDX_OK) {
        fprintf(stderr, "mmdx: out of memory while scanning the plugin path\n");
        mmdx_ctx_free(ctx);
        return CLI_EXIT_FATAL;
    }
    printf("%-10s %-8s %-5s %-9s %-12s %s\n", "NAME", "VERSION", "ABI", "INPUT", "LICENSE", "SOURCE");
    size_t n = mmdx_plugin_count(ctx);
    for (size_t i = 0; i < n; i++) {
        const mmdx_modality_desc_t *d = mmdx_plugin_desc(ctx, i);
        printf("%-10s %-8s %u.%-3u %-9s %-12s %s\n", d->name, d->version ? d->version : "-",
               (unsigned)d->abi_major, (unsigned)d->abi_minor, d->input ? d->input : "-",
               d->license ? d->license : "-", mmdx_plugin_origin(ctx, i));
        if (verbose > 0 && d->description)
            printf("           %s\n", d->description);
    }
    for (size_t i = 0; i < cli_unavailable_count(); i++) {
        const char *kind = cli_builtin_input(cli_unavailable_name(i));
        printf("%-10s %-8s %-5s %-9s %-12s built-in, unavailable: %s\n", cli_unavailable_name(i), "-", "-",
               kind ? kind : "-", "-", cli_unavailable_reason(i));
    }
    if (n == 0 && cli_unavailable_count() == 0)
        printf("(no modalities: this build has no built-in adapters and no plugin was found)\n");
    mmdx_ctx_free(ctx);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("mmdx: writing to standard output");
        return CLI_EXIT_FATAL;
    }
    if (n_failed) {
        fprintf(stderr, "mmdx: %zu plugin%s in the search path could not be loaded (see above)\n", n_failed,
                n_failed == 1 ? "" : "s");
        return CLI_EXIT_REJECTS;
    }
    return CLI_EXIT_OK;
}
