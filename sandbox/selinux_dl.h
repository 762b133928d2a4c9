/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_SANDBOX_SELINUX_DL_H
#define VS_SANDBOX_SELINUX_DL_H

#include <stdbool.h>

/*
 * sandbox/selinux_dl.c defines the libselinux functions vmseal uses and
 * loads libselinux.so.1 on the first call that needs it; these say what
 * it did (for tests and `vmseal check`).
 */

/* Whether the kernel registered selinuxfs (/proc/filesystems). */
bool selinux_dl_kernel_has_selinuxfs(void);

/* Whether libselinux has been loaded into this process. */
bool selinux_dl_loaded(void);

#endif
