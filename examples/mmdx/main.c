/* mmdx: the command-line driver of libmmdx. `mmdx <command> [options]`; the commands
 * come from commands.def. Exit codes: 0 ok, 1 some records rejected, 2 usage or fatal. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <hdf5.h>

#include "cli.h"
#include "commands.h"

typedef struct command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} command_t;

static const command_t commands[] = {
#define MMDX_COMMAND(name, summary) {#name, summary, cmd_##name},
#include "commands.def"
#undef MMDX_COMMAND
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: mmdx <command> [options]\n"
            "       mmdx <command> --help\n"
            "\n"
            "Multi-modal diagnosis from imaging features (HDF5), laboratory results (HL7/FHIR XML)\n"
            "and genetic variants (VCF/BCF). Decision support only: every result must be reviewed\n"
            "by a qualified clinician.\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n%s"
            "\n"
            "Environment:\n"
            "  MMDX_PLUGIN_PATH   colon-separated directories searched for mmdx_NAME.so plugins\n"
            "                     before %s\n"
            "  MMDX_DATA_DIR      the data tables (default %s)\n"
            "\n"
            "Exit status: 0 success; 1 some records were rejected (all others processed);\n"
            "2 usage error or fatal error (nothing written).\n"
            "See mmdx(1) and docs/index.md.\n",
            cli_inputs_help, mmdx_plugin_dir(), MMDX_DATA_DIR);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_FATAL;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0)
        name = "version";
    if (strcmp(name, "help") == 0) {
        if (argc < 3) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        name = argv[2]; /* "mmdx help CMD" runs "mmdx CMD --help" */
        argv[1] = argv[2];
        argv[2] = "--help";
        argc = 3;
    }
    /* HDF5 (1.10) crashes in its exit-time cleanup when closing an output file failed
     * (disk full, file size limit: tests/e2e/io_faults.sh), turning a clean exit 2 into a
     * segfault. So the driver ends the library itself, and only after success. */
    H5dont_atexit();
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(commands[i].name, name) != 0)
            continue;
        /* messages from getopt name the command: "mmdx ingest: unrecognized option" */
        char prog[64];
        snprintf(prog, sizeof prog, "mmdx %s", commands[i].name);
        argv[1] = prog;
        int rc = commands[i].run(argc - 1, argv + 1);
        if (rc != CLI_EXIT_FATAL)
            H5close();
        return rc;
    }
    fprintf(stderr, "mmdx: unknown command '%s'\n\n", name);
    usage(stderr);
    return CLI_EXIT_FATAL;
}
