/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * launcher/confine.c: what the jail and Landlock show for a config and a
 * command line (devices only when the arguments use them, the runtime
 * directory read-write, /usr and the allowlist read-only; under deny and
 * kill the binary alone), when there is
 * no jail, and the refusal of a chain member the emulator could read by
 * path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/config.h"
#include "launcher/confine.h"
#include "launcher/plan.h"
#include "tests/lib/tap.h"

static bool has(const struct strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++) {
		if (!strcmp(v->v[i], s))
			return true;
	}
	return false;
}

static struct guest_config *load(const char *text)
{
	struct guest_config *c = NULL;
	struct vs_err err = { 0 };

	if (config_parse("g.ini", text, strlen(text), &c, &err) < 0)
		tap_diag("config: %s", err.msg);
	return c;
}

#define HDR "[vmseal]\nversion = 1\n"

static void test_devices(void)
{
	struct guest_config *cfg = load(HDR);
	char *tcg[] = { "qemu", "-machine", "pc", "-accel", "tcg", NULL };
	char *kvm[] = { "qemu", "-accel", "kvm", "-netdev",
			"tap,id=n0,fd=30,vhost=on", NULL };
	char *old[] = { "qemu", "-enable-kvm", "-nic", "bridge,br=br0", NULL };
	struct confine c = CONFINE_INIT;
	struct allowlist al = { 0 };

	if (!cfg)
		return;
	confine_plan(&c, cfg, tcg, "/usr/bin/qemu-system-x86_64", &al,
		     "/run/vmseal/g", false, NULL);
	ok(has(&c.devs, "/dev/null") && has(&c.devs, "/dev/urandom") &&
		   has(&c.devs, "/dev/ptmx") && has(&c.devs, "/dev/pts"),
	   "tcg: the base devices");
	ok(!has(&c.devs, "/dev/kvm") && !has(&c.devs, "/dev/net/tun") &&
		   !has(&c.devs, "/dev/vhost-net"),
	   "tcg: no kvm, tun or vhost-net");
	ok(has(&c.ro, "/usr"), "/usr read-only");
	ok(has(&c.rw, "/run/vmseal/g") && c.rw.n == 1,
	   "the runtime directory read-write, nothing else");
	ok(!c.new_net, "network = host: no network namespace");
	confine_release(&c);

	c = (struct confine)CONFINE_INIT;
	confine_plan(&c, cfg, kvm, "/usr/bin/qemu-system-x86_64", &al, NULL,
		     false, NULL);
	ok(has(&c.devs, "/dev/kvm") && has(&c.devs, "/dev/net/tun") &&
		   has(&c.devs, "/dev/vhost-net"),
	   "-accel kvm, a tap with vhost=on: kvm, tun, vhost-net");
	ok(c.rw.n == 0, "no runtime directory: nothing read-write");
	confine_release(&c);

	c = (struct confine)CONFINE_INIT;
	confine_plan(&c, cfg, old, "/usr/bin/qemu-system-x86_64", &al, NULL,
		     false, NULL);
	ok(has(&c.devs, "/dev/kvm") && has(&c.devs, "/dev/net/tun") &&
		   !has(&c.devs, "/dev/vhost-net"),
	   "-enable-kvm, -nic bridge: kvm and tun only");
	confine_release(&c);
	config_free(cfg);
}

/* deny and kill: the binary, /proc and the runtime directory, no more. */
static void test_no_opens(void)
{
	static const char *const policies[] = { "deny", "kill" };
	char *kvm[] = { "qemu", "-accel", "kvm", NULL };

	for (size_t i = 0; i < 2; i++) {
		char text[128];
		struct guest_config *cfg;
		struct confine c = CONFINE_INIT;
		struct allowlist al = { 0 };

		/* As vmseal check passes it: ignored when nothing is served. */
		allowlist_add(&al, ALLOW_DIR, "/etc", "config");
		snprintf(text, sizeof(text),
			 HDR "[sandbox]\npolicy = %s\nallow = /etc\n",
			 policies[i]);
		cfg = load(text);
		if (!cfg)
			continue;
		confine_plan(&c, cfg, kvm, "/usr/bin/qemu-system-x86_64", &al,
			     "/run/vmseal/g", false, NULL);
		ok(c.ro.n == 1 && strstr(c.ro.v[0], "qemu-system-x86_64") &&
			   !c.system_links,
		   "%s: the binary alone read-only, no /usr, no allow =, no /bin or /lib links",
		   policies[i]);
		ok(c.devs.n == 0, "%s: no device node, -accel kvm or not",
		   policies[i]);
		ok(has(&c.rw, "/run/vmseal/g") && c.rw.n == 1,
		   "%s: the runtime directory read-write", policies[i]);
		confine_release(&c);
		allowlist_free(&al);
		config_free(cfg);
	}
}

static void test_layers(void)
{
	struct guest_config *cfg = load(HDR "[sandbox]\nnetwork = none\n");
	struct guest_config *locked = load(HDR "[sandbox]\nlock-after = 5\n");
	char *argv[] = { "qemu", NULL };
	char *sockets[] = { "/var/lib/libvirt/qemu/d/monitor.sock", NULL };
	struct confine c = CONFINE_INIT;
	struct allowlist al = { 0 };

	if (!cfg || !locked)
		return;
	confine_plan(&c, cfg, argv, "/usr/bin/qemu-system-x86_64", &al,
		     "/run/vmseal/g", true, sockets);
	ok(!c.jailed && c.no_jail && strstr(c.no_jail, "wrapped"),
	   "a wrapped command line: no jail, and why");
	ok(has(&c.rw, "/var/lib/libvirt/qemu/d"),
	   "wrapped: the directory of a socket it makes is writable (Landlock)");
	ok(!has(&c.ll_ro, "/proc"), "no jail: no /proc rule (the host's)");
	ok(c.new_net, "network = none asked");
	ok(!confine_kernel_ro_opens(&c, VS_POLICY_BROKER),
	   "no jail: read-only opens stay at the broker");
	confine_release(&c);

	c = (struct confine)CONFINE_INIT;
	confine_plan(&c, cfg, argv, "/usr/bin/qemu-system-x86_64", &al, NULL,
		     false, NULL);
	if (geteuid() == 0) {
		ok(c.jailed, "root, a config: jailed");
		ok(has(&c.ll_ro, "/proc"), "jailed: Landlock reads the jail's /proc");
		is_int(confine_kernel_ro_opens(&c, VS_POLICY_BROKER),
		       c.landlock_abi > 0,
		       "jailed: read-only opens in the kernel exactly when Landlock is on");
		ok(!confine_kernel_ro_opens(&c, VS_POLICY_DENY),
		   "never under deny");
	} else {
		ok(!c.jailed && strstr(c.no_jail, "not root"),
		   "not root: no jail, and why");
		tap_skip("needs root", "jailed rows");
	}
	confine_release(&c);

	c = (struct confine)CONFINE_INIT;
	confine_plan(&c, locked, argv, "/usr/bin/qemu-system-x86_64", &al, NULL,
		     false, NULL);
	ok(!confine_kernel_ro_opens(&c, VS_POLICY_BROKER),
	   "lock-after: every open stays at the broker");
	confine_release(&c);
	config_free(cfg);
	config_free(locked);
}

static void test_images(void)
{
	char dir[] = "/tmp/confine-test.XXXXXX", img[128], allow[512];
	struct guest_config *cfg;
	struct allowlist al = { 0 };
	struct confine c = CONFINE_INIT;
	struct chain_member m = { 0 };
	struct plan_disk d = { 0 };
	struct plan p = { 0 };
	struct vs_err err = { 0 };
	char *argv[] = { "qemu", NULL };
	FILE *f;

	if (!mkdtemp(dir)) {
		tap_skip("no temporary directory", "images");
		return;
	}
	snprintf(img, sizeof(img), "%s/a.qcow2", dir);
	f = fopen(img, "w");
	if (f)
		fclose(f);
	snprintf(allow, sizeof(allow), HDR "[sandbox]\nallow = %s\n[disk root]\nimage = %s\nformat = raw\n",
		 dir, img);
	cfg = load(allow);
	if (!cfg)
		goto out;
	allowlist_add(&al, ALLOW_DIR, dir, "config allow");
	confine_plan(&c, cfg, argv, "/usr/bin/qemu-system-x86_64", &al, NULL,
		     false, NULL);
	m.path = img;
	d.cfg = &cfg->disks[0];
	d.chain.m = &m;
	d.chain.n = 1;
	p.disks = &d;
	p.n_disks = 1;
	is_int(confine_check_images(&c, &p, &err), -EPERM,
	       "an image beneath an allowed directory: refused");
	has_str(err.msg, "which the emulator can read by path", "...saying why");
	confine_release(&c);
	allowlist_free(&al);

	c = (struct confine)CONFINE_INIT;
	confine_plan(&c, cfg, argv, "/usr/bin/qemu-system-x86_64", &al, NULL,
		     false, NULL);
	is_int(confine_check_images(&c, &p, &err), 0,
	       "the same image outside every readable tree: accepted");
	confine_release(&c);
	config_free(cfg);
out:
	unlink(img);
	rmdir(dir);
}

int main(void)
{
	test_devices();
	test_no_opens();
	test_layers();
	test_images();
	return tap_done();
}
