/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Golden argv for both dialects, from plans built by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "launcher/argv.h"
#include "launcher/plan.h"
#include "tests/lib/tap.h"

static char *joined(char **argv)
{
	size_t len = 1;
	char *s, *p;

	for (char **a = argv; *a; a++)
		len += strlen(*a) + 1;
	s = p = xmalloc(len);
	for (char **a = argv; *a; a++)
		p += sprintf(p, "%s\n", *a);
	*p = '\0';
	return s;
}

/* A chain of formats fmts[0] (top) .. fmts[n-1] (base). */
static void fake_chain(struct chain *c, const enum vs_format *fmts, size_t n)
{
	c->n = n;
	c->m = xcalloc(n, sizeof(*c->m));
	for (size_t i = 0; i < n; i++) {
		c->m[i].path = xasprintf("/img/l%zu", i);
		c->m[i].real_path = xstrdup(c->m[i].path);
		c->m[i].fd = -1;
		c->m[i].depth = (unsigned)i;
		c->m[i].info.format = fmts[i];
		c->m[i].info.has_backing = i + 1 < n;
		if (i + 1 < n)
			c->m[i].info.backing_format = fmts[i + 1];
	}
}

static char *args_base[] = { "-machine", "pc", "-nodefaults", NULL };

static void test_fdset(void)
{
	struct disk_config disks[2] = {
		{ .name = "root", .image = "/img/l0", .format = VS_FMT_QCOW2,
		  .device = "virtio-blk-pci" },
		{ .name = "data", .image = "/img/d0", .format = VS_FMT_RAW,
		  .readonly = true, .device = NULL },
	};
	struct guest_config cfg = {
		.name = "g", .binary = "/usr/bin/qemu-system-x86_64",
		.dialect = VS_DIALECT_FDSET, .args = args_base, .n_args = 3,
		.kernel = "/boot/k", .initrd = "/boot/i", .append = "console=ttyS0",
		.disks = disks, .n_disks = 2,
	};
	enum vs_format three[] = { VS_FMT_QCOW2, VS_FMT_QCOW2, VS_FMT_RAW };
	enum vs_format one[] = { VS_FMT_RAW };
	struct plan p = { .cfg = &cfg, .n_disks = 2 };
	char **argv, *got;

	p.disks = xcalloc(2, sizeof(*p.disks));
	p.disks[0].cfg = &disks[0];
	p.disks[1].cfg = &disks[1];
	fake_chain(&p.disks[0].chain, three, 3);
	fake_chain(&p.disks[1].chain, one, 1);
	plan_assign(&p);
	is_int(p.n_fds, 4, "fdset: one fd per chain member");
	argv = argv_build(&p);
	got = joined(argv);
	is_str(got,
	       "/usr/bin/qemu-system-x86_64\n"
	       "-machine\npc\n-nodefaults\n"
	       "-kernel\n/boot/k\n-initrd\n/boot/i\n-append\nconsole=ttyS0\n"
	       "-add-fd\nfd=3,set=1,opaque=vmseal:root:0\n"
	       "-add-fd\nfd=4,set=2,opaque=vmseal:root:1\n"
	       "-add-fd\nfd=5,set=3,opaque=vmseal:root:2\n"
	       "-blockdev\ndriver=file,node-name=vs0f2,filename=/dev/fdset/3,auto-read-only=on\n"
	       "-blockdev\ndriver=raw,node-name=vs0b2,file=vs0f2,read-only=on\n"
	       "-blockdev\ndriver=file,node-name=vs0f1,filename=/dev/fdset/2,auto-read-only=on\n"
	       "-blockdev\ndriver=qcow2,node-name=vs0b1,file=vs0f1,read-only=on,backing=vs0b2\n"
	       "-blockdev\ndriver=file,node-name=vs0f0,filename=/dev/fdset/1\n"
	       "-blockdev\ndriver=qcow2,node-name=root,file=vs0f0,backing=vs0b1\n"
	       "-device\nvirtio-blk-pci,drive=root,id=root\n"
	       "-add-fd\nfd=6,set=4,opaque=vmseal:data:0\n"
	       "-blockdev\ndriver=file,node-name=vs1f0,filename=/dev/fdset/4,read-only=on\n"
	       "-blockdev\ndriver=raw,node-name=data,file=vs1f0,read-only=on\n",
	       "fdset: golden argv (3-level qcow2 chain over raw, read-only raw disk without device)");
	ok(!strstr(got, "/img/"), "fdset: no image path in argv");
	free(got);
	strv_free_array(argv);
	plan_free(&p);
}

static void test_drive_fd(void)
{
	struct disk_config disks[1] = {
		{ .name = "root", .image = "/img/l0", .format = VS_FMT_QCOW2,
		  .device = "virtio-blk-pci" },
	};
	struct guest_config cfg = {
		.name = "g", .binary = "/opt/emu", .dialect = VS_DIALECT_DRIVE_FD,
		.args = args_base, .n_args = 3, .disks = disks, .n_disks = 1,
	};
	enum vs_format four[] = { VS_FMT_QCOW2, VS_FMT_QCOW2, VS_FMT_QCOW2,
				  VS_FMT_RAW };
	struct plan p = { .cfg = &cfg, .n_disks = 1 };
	char **argv, *got;

	p.disks = xcalloc(1, sizeof(*p.disks));
	p.disks[0].cfg = &disks[0];
	fake_chain(&p.disks[0].chain, four, 4);
	plan_assign(&p);
	argv = argv_build(&p);
	got = joined(argv);
	is_str(got,
	       "/opt/emu\n-machine\npc\n-nodefaults\n"
	       "-drive\nfile=fd:3,format=qcow2,backing=fd:4,backing.format=qcow2,"
	       "backing.backing=fd:5,backing.backing.format=qcow2,"
	       "backing.backing.backing=fd:6,backing.backing.backing.format=raw,"
	       "if=none,id=root\n"
	       "-device\nvirtio-blk-pci,drive=root,id=root\n",
	       "drive-fd: golden argv, nested backing for a 4-level chain");
	free(got);
	strv_free_array(argv);

	disks[0].readonly = true;
	disks[0].device = NULL;
	p.disks[0].chain.n = 1;
	plan_assign(&p);
	argv = argv_build(&p);
	got = joined(argv);
	is_str(got,
	       "/opt/emu\n-machine\npc\n-nodefaults\n"
	       "-drive\nfile=fd:3,format=qcow2,if=none,id=root,readonly=on\n",
	       "drive-fd: single read-only image, no device");
	p.disks[0].chain.n = 4;
	free(got);
	strv_free_array(argv);
	plan_free(&p);
}

static void test_names(void)
{
	char name[32];
	struct disk_config disks[1] = {
		{ .name = name, .image = "/img/l0", .format = VS_FMT_QCOW2 },
	};
	struct guest_config cfg = { .name = "g", .binary = "/e",
				    .disks = disks, .n_disks = 1 };
	enum vs_format fmts[] = { VS_FMT_QCOW2, VS_FMT_QCOW2 };
	struct plan p = { .cfg = &cfg, .n_disks = 1 };

	memset(name, 'a', 31);
	name[31] = '\0';
	p.disks = xcalloc(1, sizeof(*p.disks));
	p.disks[0].cfg = &disks[0];
	fake_chain(&p.disks[0].chain, fmts, 2);
	plan_assign(&p);
	is_str(p.disks[0].nodes[0].fmt_node, name,
	       "a 31-character disk name is the top node name whole");
	ok(strlen(p.disks[0].nodes[1].fmt_node) <= 31 &&
		   strlen(p.disks[0].nodes[1].file_node) <= 31,
	   "derived node names stay within QEMU's 31 characters");
	ok(p.disks[0].nodes[0].readonly == false &&
		   p.disks[0].nodes[1].readonly == true,
	   "top read-write, backing read-only");
	plan_free(&p);
}

/*
 * A qcow2 top with an external data file over a raw base that is a block
 * device: the data file gets its own fd, set and node (vs<k>d<depth>),
 * the format node names it as data-file, a device is host_device.
 */
static void test_data_file(void)
{
	struct disk_config disks[1] = {
		{ .name = "root", .image = "/img/l0", .format = VS_FMT_QCOW2,
		  .device = "virtio-blk-pci", .allow_data_file = true,
		  .allow_blockdev = true },
	};
	struct guest_config cfg = {
		.name = "g", .binary = "/e", .dialect = VS_DIALECT_FDSET,
		.disks = disks, .n_disks = 1,
	};
	enum vs_format two[] = { VS_FMT_QCOW2, VS_FMT_RAW };
	struct plan p = { .cfg = &cfg, .n_disks = 1 };
	struct plan_fd fds[4];
	char **argv, *got;

	p.disks = xcalloc(1, sizeof(*p.disks));
	p.disks[0].cfg = &disks[0];
	fake_chain(&p.disks[0].chain, two, 2);
	p.disks[0].chain.m[0].data_file = xcalloc(1, sizeof(struct chain_file));
	p.disks[0].chain.m[0].data_file->fd = -1;
	p.disks[0].chain.m[0].data_file->path = xstrdup("/img/d0");
	p.disks[0].chain.m[1].blockdev = true;
	plan_assign(&p);
	is_int(p.n_fds, 3, "data file: its own descriptor");
	is_int(plan_fds(&p, fds), 3, "plan_fds lists member, data file, base");
	ok(fds[0].dst == 3 && fds[1].dst == 4 && fds[2].dst == 5,
	   "plan_fds in descriptor order");
	argv = argv_build(&p);
	got = joined(argv);
	has_str(got,
	       "-add-fd\nfd=3,set=1,opaque=vmseal:root:0\n"
	       "-add-fd\nfd=4,set=2,opaque=vmseal:root:0:data-file\n"
	       "-add-fd\nfd=5,set=3,opaque=vmseal:root:1\n"
	       "-blockdev\ndriver=host_device,node-name=vs0f1,filename=/dev/fdset/3,auto-read-only=on\n"
	       "-blockdev\ndriver=raw,node-name=vs0b1,file=vs0f1,read-only=on\n"
	       "-blockdev\ndriver=file,node-name=vs0d0,filename=/dev/fdset/2\n"
	       "-blockdev\ndriver=file,node-name=vs0f0,filename=/dev/fdset/1\n"
	       "-blockdev\ndriver=qcow2,node-name=root,file=vs0f0,data-file=vs0d0,backing=vs0b1\n"
	       "-device\nvirtio-blk-pci,drive=root,id=root\n",
	       "fdset: golden argv with a data file and a block device base");
	free(got);
	strv_free_array(argv);

	cfg.dialect = VS_DIALECT_DRIVE_FD;
	argv = argv_build(&p);
	got = joined(argv);
	has_str(got,
		"-drive\nfile=fd:3,format=qcow2,backing=fd:5,backing.format=raw,"
		"data-file=fd:4,if=none,id=root\n",
		"drive-fd: data-file=fd:N");
	free(got);
	strv_free_array(argv);
	plan_free(&p);
}

/* Rewrites one option word; returns the word after and the count. */
static char *rewrite(const char *opt, const char *word, size_t *count)
{
	char *argv[] = { xstrdup("/usr/bin/qemu"), xstrdup(opt), xstrdup(word),
			 NULL };
	char *r;

	*count = argv_rewrite_io_uring(argv);
	r = argv[2];
	free(argv[0]);
	free(argv[1]);
	return r;
}

static void test_io_uring(void)
{
	static const struct {
		const char *opt, *in, *out;
		size_t n;
		const char *what;
	} cases[] = {
		{ "-drive", "file=/x,format=raw,aio=io_uring",
		  "file=/x,format=raw,aio=threads", 1, "keyval -drive" },
		{ "-drive", "aio=io_uring,file.aio=io_uring,if=none",
		  "aio=threads,file.aio=threads,if=none", 2, "nested key too" },
		{ "-blockdev", "driver=file,filename=a,,aio=io_uring,aio=native",
		  "driver=file,filename=a,,aio=io_uring,aio=native", 0,
		  "an escaped comma is part of the value" },
		{ "-blockdev", "driver=file,xaio=io_uring",
		  "driver=file,xaio=io_uring", 0, "another key ending in aio" },
		{ "-blockdev",
		  "{\"driver\":\"file\",\"filename\":\"x\",\"aio\":\"io_uring\"}",
		  "{\"driver\":\"file\",\"filename\":\"x\",\"aio\":\"threads\"}",
		  1, "JSON -blockdev" },
		{ "-blockdev",
		  "{ \"driver\": \"qcow2\", \"file\": { \"driver\": \"file\", \"aio\" : \"io_uring\" } }",
		  "{\"driver\":\"qcow2\",\"file\":{\"driver\":\"file\",\"aio\":\"threads\"}}",
		  1, "JSON, nested and spaced" },
		{ "-device", "virtio-blk-pci,aio=io_uring",
		  "virtio-blk-pci,aio=io_uring", 0, "only -drive and -blockdev" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t n;
		char *got = rewrite(cases[i].opt, cases[i].in, &n);

		is_str(got, cases[i].out, "io_uring rewrite: %s", cases[i].what);
		is_int(n, cases[i].n, "io_uring rewrite: %s: count", cases[i].what);
		free(got);
	}
}

int main(void)
{
	test_io_uring();
	test_fdset();
	test_drive_fd();
	test_names();
	test_data_file();
	return tap_done();
}
