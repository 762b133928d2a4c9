/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * launcher/interp.c: what an emulator needs opened to run (a dynamic
 * program's loader, a script's interpreter), read from real programs and
 * from made-up ELF headers (32- and 64-bit, both byte orders, truncated,
 * with an absurd program header table), and the refusal under deny and
 * kill that follows from it.
 */
#include <elf.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/interp.h"
#include "tests/lib/tap.h"

static char dir[] = "/tmp/interp-test.XXXXXX";

static const char *put(const char *name, const void *data, size_t len)
{
	static char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		tap_diag("writing %s: %m", path);
	if (fd >= 0)
		close(fd);
	return path;
}

/*
 * A 64-bit program: header, one PT_LOAD, then PT_INTERP (or a second
 * PT_LOAD), its string after the table.  be: big-endian fields.
 */
static size_t elf64(unsigned char *buf, bool be, bool interp, uint16_t phnum)
{
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph[2] = { 0 };
	const char *ld = "/lib/ld-test.so.1";
	size_t off = sizeof(eh) + sizeof(ph);

#define F16(x) (be ? htobe16(x) : htole16(x))
#define F32(x) (be ? htobe32(x) : htole32(x))
#define F64(x) (be ? htobe64(x) : htole64(x))
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = be ? ELFDATA2MSB : ELFDATA2LSB;
	eh.e_phoff = F64(sizeof(eh));
	eh.e_phentsize = F16(sizeof(Elf64_Phdr));
	eh.e_phnum = F16(phnum);
	ph[0].p_type = F32(PT_LOAD);
	ph[1].p_type = F32(interp ? PT_INTERP : PT_LOAD);
	ph[1].p_offset = F64(off);
	ph[1].p_filesz = F64(strlen(ld) + 1);
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), ph, sizeof(ph));
	memcpy(buf + off, ld, strlen(ld) + 1);
	return off + strlen(ld) + 1;
}

/* n PT_LOADs, PT_INTERP last: a table longer than one read. */
static size_t elf64_long(unsigned char *buf, uint16_t n)
{
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph = { 0 };
	const char *ld = "/lib/ld-far.so.1";
	size_t off = sizeof(eh) + (size_t)n * sizeof(ph);

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_phoff = htole64(sizeof(eh));
	eh.e_phentsize = htole16(sizeof(ph));
	eh.e_phnum = htole16(n);
	memcpy(buf, &eh, sizeof(eh));
	ph.p_type = htole32(PT_LOAD);
	for (uint16_t i = 0; i + 1 < n; i++)
		memcpy(buf + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
	ph.p_type = htole32(PT_INTERP);
	ph.p_offset = htole64(off);
	ph.p_filesz = htole64(strlen(ld) + 1);
	memcpy(buf + sizeof(eh) + (size_t)(n - 1) * sizeof(ph), &ph, sizeof(ph));
	memcpy(buf + off, ld, strlen(ld) + 1);
	return off + strlen(ld) + 1;
}

static size_t elf32(unsigned char *buf)
{
	Elf32_Ehdr eh = { 0 };
	Elf32_Phdr ph = { 0 };
	const char *ld = "/lib/ld-linux.so.2";
	size_t off = sizeof(eh) + sizeof(ph);

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS32;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_phoff = htole32(sizeof(eh));
	eh.e_phentsize = htole16(sizeof(Elf32_Phdr));
	eh.e_phnum = htole16(1);
	ph.p_type = htole32(PT_INTERP);
	ph.p_offset = htole32(off);
	ph.p_filesz = htole32(strlen(ld) + 1);
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), &ph, sizeof(ph));
	memcpy(buf + off, ld, strlen(ld) + 1);
	return off + strlen(ld) + 1;
}

static int needs(const char *path, char *what)
{
	struct vs_err err = { 0 };

	what[0] = '\0';
	return exec_interpreter(path, what, 256, &err);
}

int main(void)
{
	static unsigned char buf[8192];
	char what[256];
	const char *build = getenv("E2E_BUILD");
	char standin[512];
	struct vs_err err = { 0 };
	size_t n;

	if (!mkdtemp(dir)) {
		tap_diag("mkdtemp: %m");
		return 1;
	}

	n = elf64(buf, false, true, 2);
	is_int(needs(put("le64", buf, n), what), 1, "64-bit LE: a loader");
	is_str(what, "/lib/ld-test.so.1", "64-bit LE: its path");
	n = elf64(buf, true, true, 2);
	is_int(needs(put("be64", buf, n), what), 1, "64-bit BE: a loader");
	is_str(what, "/lib/ld-test.so.1", "64-bit BE: its path");
	n = elf32(buf);
	is_int(needs(put("le32", buf, n), what), 1, "32-bit: a loader");
	is_str(what, "/lib/ld-linux.so.2", "32-bit: its path");
	n = elf64(buf, false, false, 2);
	is_int(needs(put("static", buf, n), what), 0, "no PT_INTERP: nothing");
	n = elf64_long(buf, 100);
	is_int(needs(put("long", buf, n), what), 1,
	       "PT_INTERP 100th of 100 (past the first read of the table)");
	is_str(what, "/lib/ld-far.so.1", "its path");
	n = elf64(buf, false, true, 2);
	memset(buf + offsetof(Elf64_Ehdr, e_phoff), 0xff, 8);
	is_int(needs(put("phoff", buf, n), what), 0,
	       "a table offset past any file: nothing, no error");
	n = elf64(buf, false, true, 0xffff);
	is_int(needs(put("phnum", buf, n), what), 0,
	       "65535 program headers: not read (exec refuses such a file)");
	n = elf64(buf, false, true, 2);
	is_int(needs(put("short", buf, 40), what), 0,
	       "a header cut short: nothing (exec refuses it)");
	(void)n;
	is_int(needs(put("script", "#!/bin/sh -e\nexit 0\n", 20), what), 1,
	       "a script: its interpreter");
	is_str(what, "#!/bin/sh -e", "a script: its #! line");
	is_int(needs(put("text", "hello\n", 6), what), 0, "neither: nothing");
	is_int(needs("/nonexistent/emulator", what), -ENOENT,
	       "missing: -ENOENT");
	{
		char fifo[256];

		snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
		if (mkfifo(fifo, 0755) < 0)
			tap_diag("mkfifo: %m");
		is_int(needs(fifo, what), 0,
		       "a FIFO: nothing, at once (no wait for a writer)");
		unlink(fifo);
	}

	is_int(needs("/usr/bin/true", what), 1, "/usr/bin/true needs a loader");
	has_str(what, "ld-", "its loader's name");
	snprintf(standin, sizeof(standin), "%s/tests/probes/standin_exit",
		 build ? build : "build");
	if (access(standin, X_OK) == 0)
		is_int(needs(standin, what), 0, "the static stand-in needs nothing");
	else
		tap_skip("no stand-in (make test-bins)", "static stand-in");

	is_int(interp_check(VS_POLICY_BROKER, "/usr/bin/true", &err), 0,
	       "broker: a dynamic emulator is fine");
	is_int(interp_check(VS_POLICY_DENY, "/usr/bin/true", &err), -ENOEXEC,
	       "deny: a dynamic emulator is refused");
	has_str(err.msg, "statically linked", "and the error says what is needed");
	vs_err_clear(&err);
	is_int(interp_check(VS_POLICY_KILL, put("script", "#!/bin/sh\n", 10),
			    &err), -ENOEXEC, "kill: a script is refused");
	vs_err_clear(&err);

	for (const char *f = "le64\0be64\0le32\0static\0long\0phoff\0phnum\0short\0script\0text\0";
	     *f; f += strlen(f) + 1) {
		char p[256];

		snprintf(p, sizeof(p), "%s/%s", dir, f);
		unlink(p);
	}
	rmdir(dir);
	return tap_done();
}
