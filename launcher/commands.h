/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_COMMANDS_H
#define VS_LAUNCHER_COMMANDS_H

#include "conf/config.h"
#include "launcher/cli.h"

/* Each returns vmseal's exit code. */
int cmd_filter(const struct cli *cli, const struct guest_config *cfg);
int cmd_control(const struct cli *cli);
int cmd_selftest(const struct cli *cli);
int cmd_stop(const struct cli *cli);
int cmd_wrap(const struct cli *cli);
/* vmseal invoked as SELF (a symlink named like the emulator) with args. */
int cmd_wrap_symlink(const char *self, char **args);
int cmd_chain(const struct cli *cli);
/* chain --accept FILE (record_use.c) */
int cmd_chain_accept(const struct cli *cli);
/* qmp, snapshot, commit, stream, copy, attach, detach, media (gate_cmd.c) */
int cmd_gate(const struct cli *cli);
/* launcher/labels.c */
int cmd_restore_labels(const struct cli *cli);

#endif
