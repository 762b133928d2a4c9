/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libselinux, loaded only where SELinux is on.
 *
 * Linked normally, libselinux (and pcre2 behind it) is mapped and
 * relocated at every start, and its constructor probes selinuxfs: about
 * 130 us of a launch on a host without SELinux (measured here, 300
 * runs).  vmseal calls ten of its functions; they are defined here with
 * libselinux's own prototypes (<selinux/selinux.h>, so the compiler
 * checks them) and forward to the distribution's libselinux.so.1, opened
 * with dlopen() the first time one is needed: security updates of the
 * library reach vmseal as before.
 *
 * is_selinux_enabled() alone answers without the library when the
 * kernel has no selinuxfs at all (not registered in /proc/filesystems:
 * SELinux is not compiled in or was not enabled at boot), which is what
 * libselinux itself would conclude; any other case asks libselinux.
 * A library that cannot be loaded makes every call fail (-1, ENOSYS; NULL
 * for the paths): the labelling code refuses to launch then, as it does
 * for any failed SELinux call.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <selinux/selinux.h>

#include "sandbox/selinux_dl.h"

#define LIBSELINUX "libselinux.so.1"

static void *lib;
static bool tried;

static void *sym(const char *name)
{
	if (!tried) {
		tried = true;
		lib = dlopen(LIBSELINUX, RTLD_NOW | RTLD_LOCAL);
	}
	return lib ? dlsym(lib, name) : NULL;
}

/* Looks f up once; returns fail from the caller when it cannot. */
#define FORWARD(ret_t, name, fail, params, args)                             \
	ret_t name params                                                    \
	{                                                                    \
		static ret_t(*f) params;                                     \
                                                                             \
		if (!f)                                                      \
			f = (ret_t(*) params)sym(#name);                     \
		if (!f) {                                                    \
			errno = ENOSYS;                                      \
			return fail;                                         \
		}                                                            \
		return f args;                                               \
	}

FORWARD(int, fgetfilecon_raw, -1, (int fd, char **con), (fd, con))
FORWARD(int, fsetfilecon_raw, -1, (int fd, const char *con), (fd, con))
FORWARD(int, getcon_raw, -1, (char **con), (con))
FORWARD(int, setexeccon_raw, -1, (const char *con), (con))
FORWARD(int, selinux_check_access, -1,
	(const char *scon, const char *tcon, const char *tclass,
	 const char *perm, void *auditdata),
	(scon, tcon, tclass, perm, auditdata))
FORWARD(const char *, selinux_virtual_domain_context_path, NULL, (void), ())
FORWARD(const char *, selinux_virtual_image_context_path, NULL, (void), ())

void freecon(char *con)
{
	static void (*f)(char *);

	/* A context can only have come from the library: it is loaded. */
	if (!con)
		return;
	if (!f)
		f = (void (*)(char *))sym("freecon");
	if (f)
		f(con);
}

void selinux_set_callback(int type, union selinux_callback cb)
{
	static void (*f)(int, union selinux_callback);

	if (!f)
		f = (void (*)(int, union selinux_callback))sym("selinux_set_callback");
	if (f)
		f(type, cb);
}

bool selinux_dl_kernel_has_selinuxfs(void)
{
	char buf[4096];
	ssize_t n, got = 0;
	int fd = open("/proc/filesystems", O_RDONLY | O_CLOEXEC);

	/* Unreadable: ask libselinux rather than guess. */
	if (fd < 0)
		return true;
	while (got < (ssize_t)sizeof(buf) - 1 &&
	       (n = read(fd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	if (got <= 0 || got == (ssize_t)sizeof(buf) - 1)
		return true;
	buf[got] = '\0';
	return strstr(buf, "\tselinuxfs\n") != NULL;
}

int is_selinux_enabled(void)
{
	static int (*f)(void);

	if (!f && !tried && !selinux_dl_kernel_has_selinuxfs())
		return 0;
	if (!f)
		f = (int (*)(void))sym("is_selinux_enabled");
	if (!f) {
		errno = ENOSYS;
		return -1;
	}
	return f();
}

bool selinux_dl_loaded(void)
{
	return lib != NULL;
}
