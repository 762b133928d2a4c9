/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/strv.h"
#include "common/xalloc.h"
#include "conf/config.h"
#include "tests/lib/tap.h"

#define FILE_NAME "guest.ini"
#define HDR "[vmseal]\nversion = 1\n"

static int parse_len(const char *text, size_t len, struct guest_config **cfg,
		     struct vs_err *err)
{
	return config_parse(FILE_NAME, text, len, cfg, err);
}

/* Three assertions: -EINVAL and nothing returned, context, message. */
static void rejects_len(const char *what, const char *text, size_t len,
			const char *ctx, const char *msg)
{
	struct guest_config *cfg = (void *)1;
	struct vs_err err = { 0 };
	int r = parse_len(text, len, &cfg, &err);

	ok(r == -EINVAL && cfg == NULL, "%s: rejected (r=%d)", what, r);
	is_str(err.context, ctx, "%s: context", what);
	has_str(err.msg, msg, "%s: message", what);
	config_free(r == 0 ? cfg : NULL);
}

static void rejects(const char *what, const char *text, const char *ctx,
		    const char *msg)
{
	rejects_len(what, text, strlen(text), ctx, msg);
}

/* Parses text that must be valid; NULL (and a failed test) otherwise. */
static struct guest_config *accepts(const char *what, const char *text,
				    size_t len)
{
	struct guest_config *cfg = NULL;
	struct vs_err err = { 0 };
	int r = parse_len(text, len, &cfg, &err);

	if (!ok(r == 0 && cfg, "%s: accepted", what))
		tap_diag("%s: %s", err.context, err.msg);
	return r == 0 ? cfg : NULL;
}

static char *repeat(char c, size_t n)
{
	char *s = xmalloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_full(void)
{
	static const char text[] =
		"; a full config\n"				/* 1 */
		"# with every key\n"				/* 2 */
		"[vmseal]\n"					/* 3 */
		"version = 1\n"					/* 4 */
		"name = g1\n"					/* 5 */
		"\n"						/* 6 */
		"[emulator]\n"					/* 7 */
		"binary  = /opt/qemu/bin/qemu-system-x86_64\n"	/* 8 */
		"dialect = drive-fd\n"				/* 9 */
		"args    = -machine pc -accel tcg -m 256 -nographic -nodefaults\n"
		"args    = -qmp unix:/run/vmseal/g1.qmp,server=on,wait=off ; more\n"
		"kernel  = /boot/vmlinuz\n"
		"initrd  = /boot/initrd\n"
		"append  = console=ttyS0 root=/dev/vda\n"
		"\n"
		"[sandbox]\n"
		"policy = kill\n"
		"allow  = /usr/share/qemu:/usr/lib/x86_64-linux-gnu\n"
		"\n"
		"[chain]\n"
		"roots     = /var/lib/vmseal/images:/srv/img\n"
		"max-depth = 128\n"
		"\n"
		"[disk root]\n"					/* 24 */
		"image    = /var/lib/vmseal/images/top.qcow2\n"
		"format   = qcow2\n"
		"readonly = yes\n"
		"device   = virtio-blk-pci\n"
		"\n"
		"[disk \t data]\n"				/* 30 */
		"image = /srv/img/data.raw\n"
		"format = raw\n"
		"device = none\n";
	struct guest_config *c = accepts("full config", text, strlen(text));

	if (!c) {
		tap_skip("full config rejected", "full config fields");
		return;
	}
	is_str(c->path, FILE_NAME, "path is the name given");
	is_str(c->name, "g1", "name");
	is_int(c->version, 1, "version");
	is_str(c->binary, "/opt/qemu/bin/qemu-system-x86_64", "binary");
	is_int(c->dialect, VS_DIALECT_DRIVE_FD, "dialect");
	is_int(c->n_args, 10, "args from two lines");
	is_str(c->args[0], "-machine", "first arg");
	is_str(c->args[7], "-nodefaults", "last arg of line 1");
	is_str(c->args[8], "-qmp", "args of line 2 follow in order");
	is_str(c->args[9], "unix:/run/vmseal/g1.qmp,server=on,wait=off",
	       "inline comment cut from args");
	ok(c->args[10] == NULL, "args NULL-terminated");
	is_str(c->kernel, "/boot/vmlinuz", "kernel");
	is_str(c->initrd, "/boot/initrd", "initrd");
	is_str(c->append, "console=ttyS0 root=/dev/vda",
	       "append is one string");
	is_int(c->policy, VS_POLICY_KILL, "policy");
	is_int(c->n_allow, 2, "n_allow");
	is_str(c->allow[1], "/usr/lib/x86_64-linux-gnu", "allow[1]");
	ok(c->allow[2] == NULL, "allow NULL-terminated");
	is_int(c->n_roots, 2, "n_roots");
	is_str(c->roots[0], "/var/lib/vmseal/images", "roots[0]");
	is_str(c->roots[1], "/srv/img", "roots[1]");
	is_int(c->max_depth, 128, "max-depth");
	is_int(c->n_disks, 2, "two disks");
	is_str(c->disks[0].name, "root", "disk 0 name");
	is_str(c->disks[0].image, "/var/lib/vmseal/images/top.qcow2",
	       "disk 0 image");
	is_int(c->disks[0].format, VS_FMT_QCOW2, "disk 0 format");
	ok(c->disks[0].readonly, "disk 0 readonly");
	is_str(c->disks[0].device, "virtio-blk-pci", "disk 0 device");
	is_int(c->disks[0].line, 24, "disk 0 header line");
	is_str(c->disks[1].name, "data", "disk name after blanks and a tab");
	is_int(c->disks[1].format, VS_FMT_RAW, "disk 1 format");
	ok(!c->disks[1].readonly, "disk 1 readonly defaults to no");
	ok(c->disks[1].device == NULL, "device none is NULL");
	is_int(c->disks[1].line, 30, "disk 1 header line");
	config_free(c);
}

static void test_defaults(void)
{
	static const char text[] = HDR "[disk d]\nimage=/i\nformat=raw\n";
	struct guest_config *c = NULL;
	struct vs_err err = { 0 };

	is_int(config_parse("/etc/vmseal/web-1.ini", text, strlen(text), &c,
			    &err), 0, "minimal config");
	if (!c)
		return;
	is_str(c->name, "web-1", "name defaults to file name without .ini");
	is_str(c->binary, "/usr/bin/qemu-system-x86_64", "default binary");
	is_int(c->dialect, VS_DIALECT_FDSET, "default dialect");
	ok(c->args && !c->args[0] && c->n_args == 0, "no args: empty array");
	ok(!c->kernel && !c->initrd && !c->append, "no kernel");
	is_int(c->policy, VS_POLICY_BROKER, "default policy");
	ok(c->allow && !c->allow[0] && c->n_allow == 0, "empty allow");
	ok(!c->roots && c->n_roots == 0, "roots NULL by default");
	is_int(c->max_depth, VS_MAX_DEPTH_DEFAULT, "default max-depth");
	ok(c->qemu_sandbox, "qemu-sandbox defaults to yes");
	is_int(c->lock_after, 0, "lock-after unset: never");
	is_int(c->network, VS_NETWORK_HOST, "network defaults to host");
	ok(c->kernel_opens, "kernel-opens defaults to yes");
	ok(!c->disks[0].readonly, "readonly defaults to no");
	is_str(c->disks[0].device, "virtio-blk-pci", "default device");
	config_free(c);

	is_int(config_parse("guest", HDR, strlen(HDR), &c, &err), 0,
	       "file name without .ini");
	is_str(c ? c->name : NULL, "guest", "whole file name is the name");
	config_free(c);

	is_int(config_parse("my guest.ini", HDR, strlen(HDR), &c, &err),
	       -EINVAL, "file name that is no guest name");
	is_str(err.context, "my guest.ini", "...context is the file only");
	has_str(err.msg, "set 'name' in [vmseal]", "...message says the fix");
	is_int(config_parse("my guest.ini", HDR "name = fine\n",
			    strlen(HDR "name = fine\n"), &c, &err), 0,
	       "...unless name is set");
	config_free(c);
}

static void test_sandbox_keys(void)
{
	static const char text[] = HDR "[sandbox]\nqemu-sandbox = no\n"
				       "lock-after = 30\n";
	struct guest_config *c = accepts("sandbox keys", text, strlen(text));

	if (!c)
		return;
	ok(!c->qemu_sandbox, "qemu-sandbox = no");
	is_int(c->lock_after, 30, "lock-after = 30");
	ok(config_emulator_is_qemu(c), "qemu-system-x86_64 is QEMU");
	config_free(c);

	c = accepts("network and kernel-opens",
		    HDR "[sandbox]\nnetwork = none\nkernel-opens = no\n",
		    strlen(HDR "[sandbox]\nnetwork = none\nkernel-opens = no\n"));
	ok(c && c->network == VS_NETWORK_NONE, "network = none");
	ok(c && !c->kernel_opens, "kernel-opens = no");
	config_free(c);
	rejects("network = bridge", HDR "[sandbox]\nnetwork = bridge\n",
		"guest.ini:4", "unknown network 'bridge' (host or none)");

	c = accepts("-sandbox in args with qemu-sandbox = no",
		    HDR "[emulator]\nargs = -sandbox off\n[sandbox]\nqemu-sandbox = no\n",
		    strlen(HDR "[emulator]\nargs = -sandbox off\n[sandbox]\nqemu-sandbox = no\n"));
	config_free(c);
	c = accepts("-sandbox in args of another emulator",
		    HDR "[emulator]\nbinary = /opt/emu\nargs = -sandbox x\n",
		    strlen(HDR "[emulator]\nbinary = /opt/emu\nargs = -sandbox x\n"));
	ok(c && !config_emulator_is_qemu(c), "/opt/emu is not QEMU");
	config_free(c);
}

static void test_rejections(void)
{
	char *s;

	rejects("unknown key", HDR "[disk root]\nimag = /x\n",
		"guest.ini:4", "unknown key 'imag' in [disk root]");
	rejects("key case matters", "[vmseal]\nVersion = 1\n",
		"guest.ini:2", "unknown key 'Version' in [vmseal]");
	rejects("duplicate key", HDR "[emulator]\nbinary = /a\nbinary = /b\n",
		"guest.ini:5",
		"duplicate key 'binary' in [emulator] (first set on line 4)");
	rejects("duplicate key in a disk",
		HDR "[disk  a]\nformat=raw\nimage=/i\nformat=raw\n",
		"guest.ini:6",
		"duplicate key 'format' in [disk a] (first set on line 4)");
	rejects("unknown section", HDR "[foo]\n", "guest.ini:3",
		"unknown section [foo]");
	rejects("duplicate section", HDR "[emulator]\n[chain]\n[emulator]\n",
		"guest.ini:5", "duplicate section [emulator] (first on line 3)");
	rejects("duplicate disk",
		HDR "[disk root]\nimage=/a\nformat=raw\n[disk root]\n",
		"guest.ini:6", "duplicate disk 'root' (first defined on line 3)");
	rejects("missing version", "[vmseal]\nname = x\n", FILE_NAME,
		"missing 'version' in [vmseal]");
	rejects("empty file", "", FILE_NAME, "missing 'version' in [vmseal]");
	rejects("unsupported version", "[vmseal]\nversion = 2\n",
		"guest.ini:2", "unsupported version 2 (this vmseal reads version 1)");
	rejects("version not a number", "[vmseal]\nversion = 1x\n",
		"guest.ini:2", "unsupported version 1x");
	rejects("relative image", HDR "[disk r]\nimage = top.qcow2\n",
		"guest.ini:4", "'image' must be an absolute path");
	rejects("relative binary", HDR "[emulator]\nbinary = qemu\n",
		"guest.ini:4", "'binary' must be an absolute path");
	rejects("control character in a path",
		HDR "[emulator]\nbinary = /usr/bin/\x1b[2Jqemu\n", "guest.ini:4",
		"'binary' must not contain a newline or other control character");
	rejects("relative kernel", HDR "[emulator]\nkernel = vmlinuz\n",
		"guest.ini:4", "'kernel' must be an absolute path");
	rejects("missing format", HDR "\n[disk root]\nimage=/a\n",
		"guest.ini:4",
		"format is required for [disk root] (qcow2, raw, qed or vmdk): vmseal never probes");
	rejects("missing image", HDR "[disk root]\nformat=raw\n",
		"guest.ini:3", "missing 'image' in [disk root]");
	rejects("unknown format", HDR "[disk r]\nformat = vpc\n",
		"guest.ini:4", "unknown format 'vpc' for [disk r] (qcow2, raw, qed or vmdk)");
	rejects("disk name starting with a digit", HDR "[disk 1st]\n",
		"guest.ini:3", "QEMU node names must start with a letter");
	rejects("disk name upper case", HDR "[disk Root]\n", "guest.ini:3",
		"invalid disk name 'Root'");
	rejects("disk name of 32 bytes",
		HDR "[disk abcdefghijabcdefghijabcdefghijab]\n", "guest.ini:3",
		"invalid disk name");
	rejects("disk without name", HDR "[disk]\n", "guest.ini:3",
		"disk section without a name");
	rejects("key outside a section", "version = 1\n", "guest.ini:1",
		"before the first section header");
	rejects("empty value", HDR "[emulator]\nbinary =\n", "guest.ini:4",
		"empty value for 'binary' in [emulator]");
	rejects("value that is only a comment", HDR "[emulator]\nargs = ; x\n",
		"guest.ini:4", "empty value for 'args'");
	rejects("missing key name", HDR "= 3\n", "guest.ini:3",
		"missing key name");
	rejects("initrd without kernel",
		HDR "[emulator]\ninitrd = /boot/i\n", "guest.ini:4",
		"'initrd' needs 'kernel'");
	rejects("append without kernel",
		HDR "[emulator]\nbinary=/q\nappend = quiet\n", "guest.ini:5",
		"'append' needs 'kernel'");
	rejects("empty allow element", HDR "[sandbox]\nallow = /a::/b\n",
		"guest.ini:4", "'allow' has an empty element");
	rejects("trailing colon in roots", HDR "[chain]\nroots = /a:\n",
		"guest.ini:4", "'roots' has an empty element");
	rejects("relative roots element", HDR "[chain]\nroots = /a:img\n",
		"guest.ini:4", "'roots' element 'img' must be an absolute path");
	rejects("max-depth 0", HDR "[chain]\nmax-depth = 0\n", "guest.ini:4",
		"'max-depth' must be a whole number from 1 to 4096");
	rejects("max-depth 4097", HDR "[chain]\nmax-depth = 4097\n",
		"guest.ini:4", "from 1 to 4096");
	rejects("max-depth -1", HDR "[chain]\nmax-depth = -1\n",
		"guest.ini:4", "from 1 to 4096");
	rejects("bad boolean", HDR "[disk r]\nreadonly = maybe\n",
		"guest.ini:4", "'readonly' must be yes or no");
	rejects("device with a property",
		HDR "[disk r]\ndevice = virtio-blk,x=y\n",
		"guest.ini:4", "invalid device 'virtio-blk,x=y'");
	rejects("unknown dialect", HDR "[emulator]\ndialect = drive\n",
		"guest.ini:4", "unknown dialect 'drive'");
	rejects("unknown policy", HDR "[sandbox]\npolicy = allow\n",
		"guest.ini:4", "unknown policy 'allow'");
	rejects("lock-after 0", HDR "[sandbox]\nlock-after = 0\n",
		"guest.ini:4", "'lock-after' must be a whole number of seconds");
	rejects("lock-after words", HDR "[sandbox]\nlock-after = soon\n",
		"guest.ini:4", "'lock-after' must be a whole number of seconds");
	rejects("-sandbox in args with qemu-sandbox = yes",
		HDR "[emulator]\nargs = -m 1\nargs = -sandbox on\n",
		"guest.ini:5", "set qemu-sandbox = no");
	rejects("qemu-sandbox maybe", HDR "[sandbox]\nqemu-sandbox = maybe\n",
		"guest.ini:4", "qemu-sandbox");
	rejects("bad guest name", "[vmseal]\nname = -x\nversion = 1\n",
		"guest.ini:2", "invalid guest name '-x'");
	rejects("unterminated quote in args",
		HDR "[emulator]\nargs = -m 256\nargs = -name 'vm\n",
		"guest.ini:5", "unterminated single quote");
	rejects("no '=' is inih's syntax error", HDR "[emulator]\n-m 256\n",
		"guest.ini:4", "syntax error: expected 'key = value'");
	rejects("unclosed '['", HDR "[emulator\nbinary = /q\n",
		"guest.ini:3", "syntax error: section header without closing ']'");
	rejects("comment inside a key", HDR "[emulator]\nbinary ;x= /q\n",
		"guest.ini:4", "syntax error");
	rejects("text after ']'", HDR "[emulator] x\n", "guest.ini:3",
		"text after ']'");
	rejects("first error wins over later ones",
		HDR "oops\n[foo]\n[emulator]\nnope = 1\n", "guest.ini:3",
		"syntax error");
	rejects_len("reader error after a handler error",
		    HDR "[emulator]\nnope = 1\n\0\n", sizeof(HDR) + 21,
		    "guest.ini:4", "unknown key 'nope'");
	rejects("indentation never continues a value",
		HDR "[emulator]\nargs = -m 256\n    -nographic\n",
		"guest.ini:5", "syntax error");
	rejects("two byte order marks", "\xef\xbb\xbf\xef\xbb\xbf[vmseal]\n",
		"guest.ini:1", "byte order mark");

	s = xasprintf(HDR "[disk %s]\n", "abcdefghij" "abcdefghij"
		      "abcdefghij" "abcdefghij" "abcdefghij");
	rejects("section name too long for inih", s, "guest.ini:3",
		"section name too long");
	free(s);
	s = xasprintf(HDR "[emulator]\n%s = 1\n", "k234567890" "1234567890"
		      "1234567890" "1234567890" "1234567890" "1234567890"
		      "123456789");
	rejects("key too long", s, "guest.ini:4", "key too long");
	free(s);
	rejects_len("NUL byte", HDR "[emulator]\nbinary = /a\0b\n",
		    sizeof(HDR "[emulator]\nbinary = /a\0b\n") - 1,
		    "guest.ini:4", "NUL byte in line");
}

static void test_split(void)
{
	struct strv w = STRV_INIT;
	struct vs_err err = { 0 };
	int n;

	n = shell_split(" a  b\tc ", &w, &err);
	ok(n == 3 && w.n == 3 && strcmp(w.v[2], "c") == 0,
	   "blanks separate words");
	strv_free(&w);

	n = shell_split("'a b' \"c  d\"", &w, &err);
	ok(n == 2 && strcmp(w.v[0], "a b") == 0 && strcmp(w.v[1], "c  d") == 0,
	   "quotes keep blanks");
	strv_free(&w);

	n = shell_split("\"q\\\" b\\\\ d\\$ t\\` x\\n\"", &w, &err);
	is_int(n, 1, "escapes inside double quotes: one word");
	is_str(n == 1 ? w.v[0] : NULL, "q\" b\\ d$ t` x\\n",
	       "\\\" \\\\ \\$ \\` escape, \\n stays literal");
	strv_free(&w);

	n = shell_split("a\\ b 'c\\d' \\'", &w, &err);
	ok(n == 3 && strcmp(w.v[0], "a b") == 0 &&
	   strcmp(w.v[1], "c\\d") == 0 && strcmp(w.v[2], "'") == 0,
	   "backslash outside quotes escapes; literal inside '...'");
	strv_free(&w);

	n = shell_split("'' \"\" x", &w, &err);
	ok(n == 3 && !*w.v[0] && !*w.v[1], "'' and \"\" are empty words");
	strv_free(&w);

	n = shell_split("pre\"mid\"'post' x''y 'it'\\''s'", &w, &err);
	ok(n == 3 && strcmp(w.v[0], "premidpost") == 0 &&
	   strcmp(w.v[1], "xy") == 0 && strcmp(w.v[2], "it's") == 0,
	   "adjacent parts join into one word");
	strv_free(&w);

	n = shell_split("$HOME * ~ a;b|c #d `id` $(id)", &w, &err);
	ok(n == 7 && strcmp(w.v[0], "$HOME") == 0 &&
	   strcmp(w.v[1], "*") == 0 && strcmp(w.v[2], "~") == 0 &&
	   strcmp(w.v[4], "#d") == 0 && strcmp(w.v[6], "$(id)") == 0,
	   "no expansion of any kind");
	strv_free(&w);

	strv_push(&w, "keep");
	n = shell_split("x \"y", &w, &err);
	is_int(n, -EINVAL, "unterminated double quote");
	has_str(err.msg, "unterminated double quote", "...message");
	ok(w.n == 1 && strcmp(w.v[0], "keep") == 0,
	   "...nothing appended on error");
	n = shell_split("a b", &w, &err);
	ok(n == 2 && w.n == 3 && strcmp(w.v[2], "b") == 0,
	   "appends and returns the number appended");
	strv_free(&w);

	is_int(shell_split("a\\", &w, &err), -EINVAL, "trailing backslash");
	is_int(shell_split("   ", &w, &err), 0, "blanks only: no words");
	strv_free(&w);
}

static void test_args(void)
{
	static const char text[] = HDR "[emulator]\n"
		"args = -append \"console=ttyS0 quiet\" -name 'my vm' $HOME\n";
	struct guest_config *c = accepts("quoted args", text, strlen(text));

	if (!c)
		return;
	ok(c->n_args == 5 && strcmp(c->args[1], "console=ttyS0 quiet") == 0 &&
	   strcmp(c->args[3], "my vm") == 0 &&
	   strcmp(c->args[4], "$HOME") == 0, "args split like a shell would");
	config_free(c);
}

static void test_long_lines(void)
{
	struct guest_config *c;
	char *pad, *tail, *s;
	size_t n;

	/*
	 * Stock inih reads 199 bytes at a time, so after "append=" and 192
	 * bytes its next "line" would be "binary=/tmp/evil/y...": a key.
	 */
	pad = repeat('x', 192);
	tail = repeat('y', 84);
	s = xasprintf(HDR "[emulator]\nkernel = /k\n"
		      "append=%sbinary=/tmp/evil/%s\n", pad, tail);
	is_int(strlen(s) - strlen(HDR "[emulator]\nkernel = /k\n") - 1, 300,
	       "the smuggling line is 300 bytes");
	c = accepts("300-byte line", s, strlen(s));
	if (c) {
		is_str(c->binary, "/usr/bin/qemu-system-x86_64",
		       "no key smuggled past 200 bytes");
		ok(c->append && strlen(c->append) == 192 + 17 + 84 &&
		   strncmp(c->append + 192, "binary=/tmp/evil/", 17) == 0,
		   "append holds the whole text");
	}
	config_free(c);
	free(s);
	free(tail);

	/* The same split point in a disk: "image=/" + 192 bytes. */
	s = xasprintf(HDR "[disk r]\nimage=/%sformat=raw\n", pad);
	rejects("smuggled format is not taken", s, "guest.ini:3",
		"format is required for [disk r]");
	free(s);
	free(pad);

	/* 3000-byte args line: 1000 words of "-x " */
	pad = xmalloc(3001);
	for (n = 0; n < 3000; n += 3)
		memcpy(pad + n, "-x ", 3);
	memcpy(pad + 2997, "end", 4);
	s = xasprintf(HDR "[emulator]\nargs = %s\n", pad);
	c = accepts("3000-byte args", s, strlen(s));
	ok(c && c->n_args == 1000 && strcmp(c->args[999], "end") == 0,
	   "every word of a 3000-byte args line");
	config_free(c);
	free(s);
	free(pad);

	/* "append = " is 9 bytes: pad to exactly 4095 and 4096. */
	pad = repeat('a', 4095 - 9);
	s = xasprintf(HDR "[emulator]\nkernel=/k\nappend = %s\n", pad);
	c = accepts("4095-byte line", s, strlen(s));
	ok(c && strlen(c->append) == 4095 - 9, "4095-byte value kept whole");
	config_free(c);
	free(s);
	s = xasprintf(HDR "[emulator]\nkernel=/k\nappend = %s\r\n", pad);
	c = accepts("4095-byte line ending in CRLF", s, strlen(s));
	config_free(c);
	free(s);
	s = xasprintf(HDR "[emulator]\nkernel=/k\nappend = %sb\n", pad);
	rejects("4096-byte line", s, "guest.ini:5",
		"line longer than 4095 bytes");
	free(s);
	s = xasprintf(HDR "; %s12345678\n", pad);
	rejects("4096-byte comment", s, "guest.ini:3", "line longer than 4095");
	free(s);
	free(pad);
}

static void test_text_forms(void)
{
	static const char crlf[] = "[vmseal]\r\nversion = 1\r\nname = c1\r\n"
		"[disk r]\r\nimage = /a b\r\nformat = raw\r\n";
	static const char bom[] = "\xef\xbb\xbf[vmseal]\nversion=1\n";
	static const char indent[] = "  [vmseal]\n\tversion = 1\n"
		"   name=ind\n\f[chain]\n \t max-depth:9\n";
	static const char comments[] = HDR "name = g ; guest\n[emulator]\n"
		"kernel = /k\t;tab then comment\n"
		"append = a;b ;c\n";
	static const char nonl[] = "[vmseal]\nversion = 1\nname = last";
	struct guest_config *c;

	c = accepts("CRLF file", crlf, strlen(crlf));
	ok(c && strcmp(c->name, "c1") == 0 &&
	   strcmp(c->disks[0].image, "/a b") == 0, "CR removed from values");
	config_free(c);

	c = accepts("BOM on line 1", bom, strlen(bom));
	config_free(c);
	rejects("BOM on line 2 is no BOM", "[vmseal]\n\xef\xbb\xbfversion=1\n",
		"guest.ini:2", "unknown key");

	c = accepts("indented lines", indent, strlen(indent));
	ok(c && strcmp(c->name, "ind") == 0 && c->max_depth == 9,
	   "indentation allowed, name:value accepted as inih does");
	config_free(c);

	c = accepts("inline comments", comments, strlen(comments));
	ok(c && strcmp(c->name, "g") == 0 && strcmp(c->kernel, "/k") == 0,
	   "comment after blank or tab removed");
	is_str(c ? c->append : NULL, "a;b", "';' not after a blank stays");
	config_free(c);

	c = accepts("no final newline", nonl, strlen(nonl));
	is_str(c ? c->name : NULL, "last", "last line read without newline");
	config_free(c);
}

static int write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t w;

	if (fd < 0)
		return -1;
	w = write(fd, text, len);
	close(fd);
	return w == (ssize_t)len ? 0 : -1;
}

static void test_load(void)
{
	char dir[] = "/tmp/vmseal-conf-XXXXXX";
	char path[64], bad[64], fifo[64], big[64], missing[64];
	struct guest_config *c = NULL;
	struct vs_err err = { 0 };
	char *huge;

	if (!mkdtemp(dir)) {
		tap_skip("mkdtemp failed", "config_load tests");
		return;
	}
	snprintf(path, sizeof(path), "%s/g7.ini", dir);
	snprintf(bad, sizeof(bad), "%s/bad.ini", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo.ini", dir);
	snprintf(big, sizeof(big), "%s/big.ini", dir);
	snprintf(missing, sizeof(missing), "%s/missing.ini", dir);

	ok(write_file(path, HDR, strlen(HDR)) == 0, "wrote a config");
	is_int(config_load(path, &c, &err), 0, "config_load reads a file");
	is_str(c ? c->name : NULL, "g7", "name from the file name");
	is_str(c ? c->path : NULL, path, "path as given");
	config_free(c);

	ok(write_file(bad, HDR "[emulator]\nbinray = /q\n",
		      strlen(HDR "[emulator]\nbinray = /q\n")) == 0,
	   "wrote a bad config");
	is_int(config_load(bad, &c, &err), -EINVAL, "bad file rejected");
	ok(strcmp(err.context + strlen(dir), "/bad.ini:4") == 0,
	   "context is FILE:LINE with the path as given (%s)", err.context);

	is_int(config_load(dir, &c, &err), -EINVAL, "directory rejected");
	is_str(err.context, dir, "...context is the path");
	has_str(err.msg, "not a regular file", "...message");

	if (mkfifo(fifo, 0600) == 0) {
		is_int(config_load(fifo, &c, &err), -EINVAL,
		       "FIFO rejected without blocking");
		has_str(err.msg, "FIFO", "...message names it");
		unlink(fifo);
	} else {
		tap_skip("mkfifo failed", "FIFO rejected");
		tap_skip("mkfifo failed", "FIFO message");
	}

	is_int(config_load(missing, &c, &err), -ENOENT, "missing file");
	is_str(err.context, missing, "...context is the file");
	ok(c == NULL, "...nothing returned");

	huge = repeat(';', VS_CONFIG_MAX_SIZE + 1);
	ok(write_file(big, huge, VS_CONFIG_MAX_SIZE + 1) == 0,
	   "wrote a 1 MiB + 1 file");
	is_int(config_load(big, &c, &err), -EFBIG, "file over 1 MiB rejected");
	has_str(err.msg, "larger than 1 MiB", "...message");
	is_int(config_parse("big", huge, VS_CONFIG_MAX_SIZE + 1, &c, &err),
	       -EINVAL, "buffer over 1 MiB rejected by config_parse");
	free(huge);

	unlink(path);
	unlink(bad);
	unlink(big);
	ok(rmdir(dir) == 0, "temporary directory removed");
}

static void test_names(void)
{
	is_str(vs_dialect_name(VS_DIALECT_FDSET), "fdset", "dialect name");
	is_str(vs_dialect_name(VS_DIALECT_DRIVE_FD), "drive-fd",
	       "dialect name");
	is_str(vs_policy_name(VS_POLICY_BROKER), "broker", "policy name");
	is_str(vs_policy_name(VS_POLICY_DENY), "deny", "policy name");
	is_str(vs_policy_name(VS_POLICY_KILL), "kill", "policy name");
}

/* The chain keys of issue 4: data files, block devices, backing-format, record. */
static void test_chain_keys(void)
{
	static const char text[] =
		HDR
		"[chain]\n"
		"record = /var/lib/vmseal/g.json\n"
		"[disk a]\n"
		"image = /img/a.qcow2\n"
		"format = qcow2\n"
		"data-file = allow\n"
		"block-device = allow\n"
		"backing-format = raw\n"
		"[disk b]\n"
		"image = /img/b.qed\n"
		"format = qed\n"
		"data-file = deny\n"
		"block-device = deny\n";
	struct guest_config *c = accepts("chain keys", text, strlen(text));

	if (c) {
		is_str(c->record, "/var/lib/vmseal/g.json", "record path");
		ok(c->disks[0].allow_data_file && c->disks[0].allow_blockdev,
		   "data-file = allow, block-device = allow");
		is_int(c->disks[0].backing_format, VS_FMT_RAW,
		       "backing-format = raw");
		ok(!c->disks[1].allow_data_file && !c->disks[1].allow_blockdev,
		   "data-file = deny, block-device = deny");
		is_int(c->disks[1].format, VS_FMT_QED, "format = qed");
		is_int(c->disks[1].backing_format, VS_FMT_NONE,
		       "backing-format unset: none");
		config_free(c);
	}
	/*
	 * The record's default follows VMSEAL_STATE_DIR: this test sets the
	 * variable itself (and puts the caller's value back), whatever the
	 * environment it was started in.
	 */
	{
		const char *was = getenv("VMSEAL_STATE_DIR");
		char *saved = was ? xstrdup(was) : NULL;
		static const char g7[] =
			HDR "name = g7\n[disk a]\nimage = /i/a\nformat = vmdk\n";

		unsetenv("VMSEAL_STATE_DIR");
		c = accepts("defaults", g7, strlen(g7));
		if (c) {
			is_str(c->record, "/var/lib/vmseal/chains/g7.json",
			       "record defaults to /var/lib/vmseal/chains/NAME.json");
			ok(!c->disks[0].allow_data_file &&
				   !c->disks[0].allow_blockdev,
			   "data-file and block-device default to deny");
			config_free(c);
		}
		setenv("VMSEAL_STATE_DIR", "/srv/vmseal-state", 1);
		c = NULL;
		parse_len(g7, strlen(g7), &c, &(struct vs_err){ 0 });
		is_str(c ? c->record : "(refused)", "/srv/vmseal-state/chains/g7.json",
		       "VMSEAL_STATE_DIR=/srv/vmseal-state: the record in its chains/");
		config_free(c);
		setenv("VMSEAL_STATE_DIR", "relative/state", 1);
		c = NULL;
		parse_len(g7, strlen(g7), &c, &(struct vs_err){ 0 });
		is_str(c ? c->record : "(refused)", "/var/lib/vmseal/chains/g7.json",
		       "a relative VMSEAL_STATE_DIR is ignored");
		config_free(c);
		if (saved)
			setenv("VMSEAL_STATE_DIR", saved, 1);
		else
			unsetenv("VMSEAL_STATE_DIR");
		free(saved);
	}
	c = accepts("record = none", HDR "[chain]\nrecord = none\n",
		    strlen(HDR "[chain]\nrecord = none\n"));
	if (c) {
		ok(c->record == NULL, "record = none: no record");
		config_free(c);
	}
	rejects("relative record", HDR "[chain]\nrecord = chain.json\n",
		"guest.ini:4", "'record' must be an absolute path");
	rejects("data-file yes", HDR "[disk a]\ndata-file = yes\n",
		"guest.ini:4", "'data-file' must be allow or deny, not 'yes'");
	rejects("block-device on", HDR "[disk a]\nblock-device = on\n",
		"guest.ini:4", "'block-device' must be allow or deny, not 'on'");
	rejects("backing-format auto", HDR "[disk a]\nbacking-format = auto\n",
		"guest.ini:4", "unknown backing-format 'auto' for [disk a]");
	rejects("backing-format twice",
		HDR "[disk a]\nbacking-format = raw\nbacking-format = raw\n",
		"guest.ini:5", "duplicate key 'backing-format'");
	rejects("data-file in [chain]", HDR "[chain]\ndata-file = allow\n",
		"guest.ini:4", "unknown key 'data-file' in [chain]");
}

static void test_selinux_keys(void)
{
	static const char text[] =
		HDR "[selinux]\n"
		"mode = required\n"
		"label = system_u:system_r:svirt_t:s0:c1,c2\n"
		"image-label = system_u:object_r:svirt_image_t:s0:c1,c2\n"
		"backing-label = system_u:object_r:virt_content_t:s0\n";
	struct guest_config *c = accepts("selinux keys", text, strlen(text));
	char *s;

	if (c) {
		is_int(c->selinux_mode, VS_SELINUX_REQUIRED, "mode = required");
		is_str(c->selinux_label, "system_u:system_r:svirt_t:s0:c1,c2",
		       "label");
		is_str(c->image_label,
		       "system_u:object_r:svirt_image_t:s0:c1,c2", "image-label");
		is_str(c->backing_label, "system_u:object_r:virt_content_t:s0",
		       "backing-label");
		is_str(vs_selinux_mode_name(c->selinux_mode), "required",
		       "mode name");
		config_free(c);
	}
	c = accepts("selinux defaults", HDR, strlen(HDR));
	if (c) {
		is_int(c->selinux_mode, VS_SELINUX_AUTO, "mode defaults to auto");
		ok(!c->selinux_label && !c->image_label && !c->backing_label,
		   "no explicit labels by default");
		config_free(c);
	}
	c = accepts("mode = off", HDR "[selinux]\nmode = off\n",
		    strlen(HDR "[selinux]\nmode = off\n"));
	ok(c && c->selinux_mode == VS_SELINUX_OFF, "mode = off");
	config_free(c);
	c = accepts("MLS range level",
		    HDR "[selinux]\nlabel = u:r:t:s0-s0:c0.c1023\n",
		    strlen(HDR "[selinux]\nlabel = u:r:t:s0-s0:c0.c1023\n"));
	ok(c && strcmp(c->selinux_label, "u:r:t:s0-s0:c0.c1023") == 0,
	   "a level with a range and colons is kept whole");
	config_free(c);

	rejects("bad mode", HDR "[selinux]\nmode = enforcing\n", "guest.ini:4",
		"unknown SELinux mode 'enforcing' (auto, required or off)");
	rejects("empty label", HDR "[selinux]\nlabel =\n", "guest.ini:4",
		"empty value for 'label' in [selinux]");
	rejects("no level", HDR "[selinux]\nimage-label = u:object_r:t\n",
		"guest.ini:4", "'image-label' must be an SELinux context");
	rejects("empty role", HDR "[selinux]\nbacking-label = u::t:s0\n",
		"guest.ini:4", "'backing-label' must be an SELinux context");
	rejects("empty level", HDR "[selinux]\nlabel = u:r:t:\n",
		"guest.ini:4", "'label' must be an SELinux context");
	rejects("blank inside", HDR "[selinux]\nlabel = u:r:t t:s0\n",
		"guest.ini:4", "'label' must be an SELinux context");
	rejects("control character", HDR "[selinux]\nlabel = u:r:\x01t:s0\n",
		"guest.ini:4", "'label' must be an SELinux context");
	rejects("duplicate mode", HDR "[selinux]\nmode = auto\nmode = off\n",
		"guest.ini:5", "duplicate key 'mode' in [selinux]");
	rejects("duplicate section", HDR "[selinux]\n[selinux]\n",
		"guest.ini:4", "duplicate section [selinux]");
	rejects("unknown key", HDR "[selinux]\ntype = svirt_t\n", "guest.ini:4",
		"unknown key 'type' in [selinux]");
	s = xasprintf(HDR "[selinux]\nlabel = u:r:t:s0:c%0*d\n",
		      VS_CONTEXT_MAX, 1);
	rejects("context too long", s, "guest.ini:4", "at most 1023 bytes");
	free(s);
}

static void test_monitor_keys(void)
{
	struct guest_config *c;

	c = accepts("no [monitor]", HDR, strlen(HDR));
	ok(c && !c->monitor_group, "no monitor group by default");
	config_free(c);
	c = accepts("monitor group root", HDR "[monitor]\ngroup = root\n",
		    strlen(HDR "[monitor]\ngroup = root\n"));
	ok(c && c->monitor_group && !strcmp(c->monitor_group, "root") &&
		   c->monitor_gid == 0,
	   "group = root resolves to gid 0");
	config_free(c);
	c = accepts("monitor group number", HDR "[monitor]\ngroup = 4242\n",
		    strlen(HDR "[monitor]\ngroup = 4242\n"));
	ok(c && c->monitor_gid == 4242, "a number is the gid, named or not");
	config_free(c);
	rejects("unknown monitor group",
		HDR "[monitor]\n\ngroup = vmseal-no-such-group\n",
		FILE_NAME ":5", "unknown group 'vmseal-no-such-group'");
	rejects("monitor group not a name", HDR "[monitor]\ngroup = a b\n",
		FILE_NAME ":4", "must be a group name or a number");
	rejects("monitor gid out of range",
		HDR "[monitor]\ngroup = 4294967295\n", FILE_NAME ":4",
		"out of range");
	rejects("unknown monitor key", HDR "[monitor]\nmode = 0666\n",
		FILE_NAME ":4", "unknown key 'mode' in [monitor]");
	rejects("duplicate [monitor]",
		HDR "[monitor]\ngroup = root\n[monitor]\n", FILE_NAME ":5",
		"duplicate section [monitor]");
}

static void test_identity_keys(void)
{
	static const char text[] = HDR "[sandbox]\nuser = nobody\n"
				       "share-user = yes\nuid-range = 2000000-2000009\n";
	struct guest_config *c = accepts("identity keys", text, strlen(text));

	if (c) {
		ok(c->share_user, "share-user = yes");
		is_int(c->uid_first, 2000000, "uid-range: first");
		is_int(c->uid_last, 2000009, "uid-range: last");
		config_free(c);
	}
	c = accepts("identity defaults", HDR, strlen(HDR));
	if (c) {
		ok(!c->share_user && !c->uid_first && !c->uid_last,
		   "share-user no, uid-range default (0-0)");
		config_free(c);
	}
	rejects("share-user without user", HDR "[sandbox]\nshare-user = yes\n",
		"guest.ini:4", "'share-user = yes' needs 'user'");
	rejects("uid-range backwards", HDR "[sandbox]\nuid-range = 20-10\n",
		"guest.ini:4", "'uid-range' must be FIRST-LAST");
	rejects("uid-range from 0", HDR "[sandbox]\nuid-range = 0-10\n",
		"guest.ini:4", "'uid-range' must be FIRST-LAST");
	rejects("uid-range one number", HDR "[sandbox]\nuid-range = 10\n",
		"guest.ini:4", "'uid-range' must be FIRST-LAST");
	rejects("uid-range to 2^32-1", HDR "[sandbox]\nuid-range = 10-4294967295\n",
		"guest.ini:4", "'uid-range' must be FIRST-LAST");
	rejects("uid-range signs", HDR "[sandbox]\nuid-range = 10--20\n",
		"guest.ini:4", "'uid-range' must be FIRST-LAST");
}

int main(void)
{
	test_full();
	test_defaults();
	test_sandbox_keys();
	test_rejections();
	test_split();
	test_args();
	test_long_lines();
	test_text_forms();
	test_load();
	test_names();
	test_chain_keys();
	test_selinux_keys();
	test_monitor_keys();
	test_identity_keys();
	return tap_done();
}
