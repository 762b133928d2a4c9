/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sandbox/selinux_dl.c: libselinux is loaded only when needed, and what
 * its forwarders answer is what libselinux answers.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <selinux/selinux.h>

#include "sandbox/selinux_dl.h"
#include "tests/lib/tap.h"

int main(void)
{
	char tmp[] = "/tmp/vmseal-selinux-dl.XXXXXX";
	const char *(*real_path)(void);
	int (*real_enabled)(void), (*real_fget)(int, char **);
	char *c1 = NULL, *c2 = NULL;
	int fd, r1, e1, r2, e2;
	void *h;

	ok(!selinux_dl_loaded(), "the shim has not opened libselinux at start");
	if (!selinux_dl_kernel_has_selinuxfs()) {
		is_int(is_selinux_enabled(), 0,
		       "no selinuxfs in the kernel: SELinux is off");
		ok(!selinux_dl_loaded(), "...and libselinux was not loaded to say so");
	} else {
		tap_skip("the kernel has selinuxfs", "answering without libselinux");
	}
	h = dlopen("libselinux.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		tap_skip("libselinux.so.1 cannot be opened", "forwarding");
		return tap_done();
	}
	real_path = (const char *(*)(void))dlsym(h, "selinux_virtual_domain_context_path");
	real_enabled = (int (*)(void))dlsym(h, "is_selinux_enabled");
	real_fget = (int (*)(int, char **))dlsym(h, "fgetfilecon_raw");
	ok(real_path && real_enabled && real_fget, "libselinux's own functions found");
	if (!real_path || !real_enabled || !real_fget)
		return tap_done();
	ok(selinux_virtual_domain_context_path() == real_path() ||
	   (selinux_virtual_domain_context_path() && real_path() &&
	    !strcmp(selinux_virtual_domain_context_path(), real_path())),
	   "selinux_virtual_domain_context_path() forwards: %s",
	   real_path() ? real_path() : "(null)");
	ok(selinux_dl_loaded(), "a call that needs libselinux loads it");
	is_int(is_selinux_enabled(), real_enabled(),
	       "is_selinux_enabled() is libselinux's answer");
	fd = mkstemp(tmp);
	ok(fd >= 0, "a file to read a label from");
	if (fd >= 0) {
		errno = 0;
		r1 = fgetfilecon_raw(fd, &c1);
		e1 = errno;
		errno = 0;
		r2 = real_fget(fd, &c2);
		e2 = errno;
		ok(r1 == r2 && (r1 >= 0 ? !strcmp(c1, c2) : e1 == e2),
		   "fgetfilecon_raw forwards (rc %d, errno %d)", r1, r1 < 0 ? e1 : 0);
		freecon(c1);
		freecon(c2);
		close(fd);
		unlink(tmp);
	}
	return tap_done();
}
