/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_SANDBOX_SIBLING_H
#define VS_SANDBOX_SIBLING_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Guest against guest: what one emulator can try against a sibling
 * without opening a file (seccomp cannot tell a sibling's pid or socket
 * from the emulator's own).  Made for real by the static probe
 * tests/probes/sibling_attack (as a guest's emulator, against a real
 * QEMU) and by `vmseal selftest` (between two sandboxed children).  Each
 * attack is harmless if it succeeds: the signal is followed by SIGCONT,
 * the limit and the priority are rewritten with the values they had, a
 * socket bound in the sibling's directory is removed again where the
 * filter allows it.
 */

enum sibling_attack {
	SIB_CONNECT,		/* connect() to a socket in its runtime dir */
	SIB_BIND,		/* bind() a socket at DIR/.vmseal.pid.tmp */
	SIB_KILL0,		/* kill(pid, 0): see it */
	SIB_SIGSTOP,		/* kill(pid, SIGSTOP) (then SIGCONT) */
	SIB_PRLIMIT,		/* prlimit64(pid, RLIMIT_NOFILE): read, rewrite */
	SIB_SETPRIORITY,	/* setpriority(pid) to its own value */
	SIB_PROC_EXE,		/* readlink /proc/pid/exe */
	SIB_PROC_FD,		/* readlink /proc/pid/fd/N, N < 64 */
	SIB_COUNT
};

struct sibling_target {
	pid_t pid;		/* the sibling's emulator */
	const char *dir;	/* its runtime directory */
	const char *socket;	/* a listening socket in it (connect) */
};

struct sibling_result {
	int err;		/* 0: the attack succeeded; else why it failed */
	char detail[256];
};

/* "connect", "bind", "kill-0", ... (stable: tests grep them). */
const char *sibling_attack_name(enum sibling_attack a);

/*
 * Makes attack a against t for real and fills r.  For SIB_CONNECT a
 * connected socket is left in *conn (else -1) when conn is not NULL.
 */
void sibling_attack_run(enum sibling_attack a, const struct sibling_target *t,
			struct sibling_result *r, int *conn);

/*
 * One machine-readable line, no newline:
 * "ATTACK name=NAME result=succeeded|failed errno=ENAME|- detail=TEXT".
 */
void sibling_result_line(const char *name, const struct sibling_result *r,
			 char *buf, size_t len);

#endif
