/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <elf.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "launcher/interp.h"

/* The phdr table we read at most (a program has about a dozen). */
#define MAX_PHNUM 512

struct elf_view {
	bool be, wide;
};

static uint16_t u16(const struct elf_view *v, const void *p)
{
	uint16_t x;

	memcpy(&x, p, sizeof(x));
	return v->be ? be16toh(x) : le16toh(x);
}

static uint32_t u32(const struct elf_view *v, const void *p)
{
	uint32_t x;

	memcpy(&x, p, sizeof(x));
	return v->be ? be32toh(x) : le32toh(x);
}

static uint64_t u64(const struct elf_view *v, const void *p)
{
	uint64_t x;

	memcpy(&x, p, sizeof(x));
	return v->be ? be64toh(x) : le64toh(x);
}

/* 1 with the loader's path in what, 0 when there is none, -errno. */
static int elf_loader(int fd, const unsigned char *ehdr, size_t got,
		      char *what, size_t len)
{
	struct elf_view v = { .be = ehdr[EI_DATA] == ELFDATA2MSB,
			      .wide = ehdr[EI_CLASS] == ELFCLASS64 };
	size_t ehsize = v.wide ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	size_t need = v.wide ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	/* The table a block at a time: one read for a usual program. */
	unsigned char tab[64 * sizeof(Elf64_Phdr)];
	const size_t per = sizeof(tab) / need;
	uint64_t phoff;
	uint16_t phentsize, phnum;

	if ((ehdr[EI_CLASS] != ELFCLASS32 && !v.wide) ||
	    (ehdr[EI_DATA] != ELFDATA2LSB && !v.be) || got < ehsize)
		return 0; /* not a program this host runs: exec says why */
	phoff = v.wide ? u64(&v, ehdr + offsetof(Elf64_Ehdr, e_phoff)) :
			 u32(&v, ehdr + offsetof(Elf32_Ehdr, e_phoff));
	phentsize = u16(&v, ehdr + (v.wide ? offsetof(Elf64_Ehdr, e_phentsize) :
					     offsetof(Elf32_Ehdr, e_phentsize)));
	phnum = u16(&v, ehdr + (v.wide ? offsetof(Elf64_Ehdr, e_phnum) :
				       offsetof(Elf32_Ehdr, e_phnum)));
	/*
	 * Entries of another size, or offsets past what a file can hold:
	 * exec refuses such a file (and says so).
	 */
	if (phentsize != need || phnum > MAX_PHNUM || phoff > INT64_MAX / 2)
		return 0;
	for (size_t i = 0; i < phnum; i++) {
		const unsigned char *ph = tab + (i % per) * need;
		uint64_t off, size;
		ssize_t n;

		if (i % per == 0) {
			size_t k = phnum - i < per ? phnum - i : per;

			n = pread(fd, tab, k * need, (off_t)(phoff + i * need));
			if (n < 0)
				return -errno;
			if ((size_t)n < k * need)
				return 0;
		}
		if (u32(&v, ph) != PT_INTERP)
			continue;
		off = v.wide ? u64(&v, ph + offsetof(Elf64_Phdr, p_offset)) :
			       u32(&v, ph + offsetof(Elf32_Phdr, p_offset));
		size = v.wide ? u64(&v, ph + offsetof(Elf64_Phdr, p_filesz)) :
				u32(&v, ph + offsetof(Elf32_Phdr, p_filesz));
		if (off > INT64_MAX / 2)
			return 0;
		if (size >= len)
			size = len - 1;
		n = pread(fd, what, (size_t)size, (off_t)off);
		if (n < 0)
			return -errno;
		what[n] = '\0';
		if (!what[0])
			snprintf(what, len, "a program interpreter");
		return 1;
	}
	return 0;
}

int exec_interpreter(const char *path, char *what, size_t len,
		     struct vs_err *err)
{
	unsigned char head[sizeof(Elf64_Ehdr)];
	/* Non-blocking: a FIFO named as the emulator must not hang us. */
	_cleanup_fd_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
					 O_NONBLOCK);
	struct stat st;
	ssize_t got;
	int rc;

	if (fd < 0 || fstat(fd, &st) < 0)
		return vs_errnof(err, errno, "emulator %s", path);
	if (!S_ISREG(st.st_mode))
		return 0; /* exec refuses it, and says so */
	got = pread(fd, head, sizeof(head), 0);
	if (got < 0)
		return vs_errnof(err, errno, "emulator %s", path);
	if (got >= 2 && head[0] == '#' && head[1] == '!') {
		size_t n = (size_t)got - 2, i;

		for (i = 0; i < n && head[2 + i] != '\n'; i++)
			;
		snprintf(what, len, "#!%.*s%s", (int)i, head + 2,
			 i == n ? "..." : "");
		return 1;
	}
	if ((size_t)got < EI_NIDENT || memcmp(head, ELFMAG, SELFMAG))
		return 0;
	rc = elf_loader(fd, head, (size_t)got, what, len);
	if (rc < 0)
		return vs_errnof(err, -rc, "emulator %s: reading its program headers",
				 path);
	return rc;
}

int interp_check(enum vs_policy policy, const char *binary, struct vs_err *err)
{
	char needs[256];
	int rc;

	if (policy == VS_POLICY_BROKER)
		return 0;
	rc = exec_interpreter(binary, needs, sizeof(needs), err);
	if (rc <= 0)
		return rc;
	return vs_errf(err, ENOEXEC,
		       "emulator %s needs %s to run, which policy = %s cannot open: it needs a statically linked emulator (or policy = broker)",
		       binary, needs, vs_policy_name(policy));
}
