/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_INTERP_H
#define VS_LAUNCHER_INTERP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "conf/config.h"

/*
 * Whether the program at path needs another file opened to run: a
 * dynamically linked ELF program its loader (PT_INTERP), a script its
 * "#!" interpreter.  Under policy deny and kill nothing can be opened
 * after the exec (and the jail holds no loader), so such an emulator is
 * refused before anything starts, naming what it needs.
 *
 * 1 with what it needs in what (a path, or "#!..." for a script), 0
 * when nothing (a static program, or a file exec will refuse itself),
 * -errno with err when it cannot be read.
 */
int exec_interpreter(const char *path, char *what, size_t len,
		     struct vs_err *err);

/*
 * 0 when binary can run under policy; -ENOEXEC with err naming what it
 * needs when it is dynamically linked or a script under deny or kill;
 * -errno when it cannot be read.  Said before anything starts, not as a
 * bare ENOENT from an exec in the jail.
 */
int interp_check(enum vs_policy policy, const char *binary,
		 struct vs_err *err);

#endif
