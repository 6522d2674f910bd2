/* Prototypes of the driver's subcommands, from commands.def. */
#ifndef MMDX_COMMANDS_H
#define MMDX_COMMANDS_H

#define MMDX_COMMAND(name, summary) int cmd_##name(int argc, char **argv);
#include "commands.def"
#undef MMDX_COMMAND

#endif
