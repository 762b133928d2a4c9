/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sandbox/label: the context and list rules from strings, then (as root
 * on a filesystem that stores security.selinux, as ext4 does even with
 * SELinux disabled) labels applied to real files and read back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <selinux/selinux.h>

#include "common/strv.h"
#include "common/xalloc.h"
#include "sandbox/label.h"
#include "tests/lib/tap.h"

#define ORIG_CTX "system_u:object_r:user_home_t:s0"
#define IMG_CTX "system_u:object_r:svirt_image_t:s0:c10,c20"
#define CONTENT_CTX "system_u:object_r:virt_content_t:s0"

static char *tmp_dir;
static char *base;

static void test_with_mcs(void)
{
	static const struct {
		const char *base, *level, *want;
	} cases[] = {
		{ "system_u:system_r:svirt_t:s0", "s0:c1,c2",
		  "system_u:system_r:svirt_t:s0:c1,c2" },
		{ "system_u:system_r:svirt_t:s0:c5,c6", "s0:c1,c2",
		  "system_u:system_r:svirt_t:s0:c1,c2" },
		{ "system_u:system_r:svirt_t:s0-s0:c0.c1023", "s0:c7,c9",
		  "system_u:system_r:svirt_t:s0:c7,c9" },
		{ "system_u:system_r:svirt_t", "s0:c1,c2",
		  "system_u:system_r:svirt_t:s0:c1,c2" },
		{ "u:r:t:", "s0", "u:r:t:s0" },
		{ "u:r", "s0", NULL },
		{ "u::t:s0", "s0", NULL },
		{ ":r:t:s0", "s0", NULL },
		{ "u:r::s0", "s0", NULL },
		{ "", "s0", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = label_with_mcs(cases[i].base, cases[i].level);

		if (cases[i].want)
			is_str(got, cases[i].want, "with_mcs(%s, %s)",
			       cases[i].base, cases[i].level);
		else
			ok(got == NULL, "with_mcs(%s): not a context",
			   cases[i].base);
		free(got);
	}
}

static void test_mcs_strings(void)
{
	static const char *const bad[] = {
		"c2,c1", "c1,c1", "c01,c2", "c1,c1024", "c1", "c1,", ",c2",
		"c1,c2,c3", "c1,c2 ", "d1,c2", "c-1,c2", "c1,c2x", "",
	};
	unsigned x = 99, y = 99;
	char buf[32];

	label_mcs_level(12, 345, buf, sizeof(buf));
	is_str(buf, "s0:c12,c345", "level form");
	label_mcs_entry(12, 345, buf, sizeof(buf));
	is_str(buf, "c12,c345", "registry entry form");
	ok(label_mcs_parse("c12,c345", &x, &y) == 0 && x == 12 && y == 345,
	   "entry parsed back");
	ok(label_mcs_parse("c0,c1023", &x, &y) == 0 && x == 0 && y == 1023,
	   "c0,c1023: both ends");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(label_mcs_parse(bad[i], &x, &y), -EINVAL,
		       "entry '%s' refused", bad[i]);
}

static void test_virtual_files(void)
{
	char *d = NULL, *i = NULL, *c = NULL;

	/*
	 * Every result is freed and reset after its checks, so a parser
	 * that fails (or succeeds where it should not) is reported, never a
	 * double free or a read of freed memory.
	 */
	is_int(label_parse_domain("system_u:system_r:svirt_t:s0\n"
				  "system_u:system_r:svirt_tcg_t:s0\n", &d),
	       0, "domain file parsed");
	is_str(d, "system_u:system_r:svirt_t:s0", "domain: the first line");
	free(d);
	d = NULL;
	is_int(label_parse_domain("  u:r:t:s0 \r\n", &d), 0,
	       "domain: blanks and CR trimmed");
	is_str(d, "u:r:t:s0", "domain: trimmed value");
	free(d);
	d = NULL;
	is_int(label_parse_domain("\nu:r:t:s0\n", &d), -EINVAL,
	       "domain: empty first line refused");
	free(d);
	d = NULL;
	is_int(label_parse_domain("svirt_t\n", &d), -EINVAL,
	       "domain: no context refused");
	free(d);
	is_int(label_parse_image("system_u:object_r:svirt_image_t:s0\n"
				 "system_u:object_r:virt_content_t:s0\n",
				 &i, &c),
	       0, "image file parsed");
	is_str(i, "system_u:object_r:svirt_image_t:s0", "image: first line");
	is_str(c, "system_u:object_r:virt_content_t:s0",
	       "content: second line");
	free(i);
	free(c);
	i = c = NULL;
	is_int(label_parse_image("u:object_r:svirt_image_t:s0\n", &i, &c),
	       -EINVAL, "image file without a content line refused");
	free(i);
	free(c);
	i = c = NULL;
	is_int(label_parse_image("u:r:t:s0\nnot a context\n", &i, &c),
	       -EINVAL, "image file with a bad content line refused");
	free(i);
	free(c);
}

static bool running_list(void *arg, const char *name)
{
	return label_users_has(arg, name);
}

static void test_users(void)
{
	struct strv v = STRV_INIT, alive = STRV_INIT;
	char *s;

	is_int(label_users_parse("g1,g2,g1", 8, &v), 0, "users parsed");
	is_int(v.n, 2, "a repeated name counts once");
	s = label_users_join(&v);
	is_str(s, "g1,g2", "joined back");
	free(s);
	label_users_add(&v, "g3");
	label_users_add(&v, "g2");
	is_int(v.n, 3, "add: new names only");
	strv_push(&alive, "g3");
	strv_push(&alive, "self");
	label_users_add(&v, "self");
	is_int(label_users_prune(&v, "self", running_list, &alive), 1,
	       "prune: one running other remains");
	s = label_users_join(&v);
	is_str(s, "g3", "prune: self and dead guests dropped");
	free(s);
	strv_free(&v);
	strv_free(&alive);

	is_int(label_users_parse("", 0, &v), 0, "empty value: empty list");
	s = label_users_join(&v);
	is_str(s, "", "empty list joins to \"\"");
	free(s);
	strv_free(&v);
	is_int(label_users_parse("g1,", 3, &v), -EINVAL, "trailing comma");
	strv_free(&v);
	is_int(label_users_parse("g1,,g2", 6, &v), -EINVAL, "empty element");
	strv_free(&v);
	is_int(label_users_parse("../x", 4, &v), -EINVAL, "no guest name");
	strv_free(&v);
	is_int(label_users_parse("g1\0g2", 5, &v), -EINVAL, "NUL inside");
	strv_free(&v);
	ok(label_guest_name_ok("web-1.x_y") && !label_guest_name_ok(".mcs") &&
		   !label_guest_name_ok("a/b") && !label_guest_name_ok(""),
	   "guest names as [vmseal] name allows them");
}

static void test_list_lines(void)
{
	const char *path = "/img/a b\\c\nd\t\x7f\xc3\xa9.qcow2";
	char *line = label_list_line(2049, 1234567, path), *back = NULL;
	dev_t dev;
	ino_t ino;

	is_str(line, "2049 1234567 /img/a\\040b\\134c\\012d\\011\\177\\303\\251.qcow2\n",
	       "record line escapes blanks, '\\', controls and high bytes");
	line[strlen(line) - 1] = '\0';
	is_int(label_list_parse(line, &dev, &ino, &back), 0, "line parsed");
	ok(dev == 2049 && ino == 1234567, "dev and ino back");
	is_str(back, path, "path back byte for byte");
	free(back);
	free(line);
	is_int(label_list_parse("1 2 relative", &dev, &ino, &back), -EINVAL,
	       "relative path refused");
	is_int(label_list_parse("1 2 /a b", &dev, &ino, &back), -EINVAL,
	       "raw blank refused");
	is_int(label_list_parse("1 2 /a\\000", &dev, &ino, &back), -EINVAL,
	       "escaped NUL refused");
	is_int(label_list_parse("1 2 /a\\08", &dev, &ino, &back), -EINVAL,
	       "short escape refused");
	is_int(label_list_parse("x 2 /a", &dev, &ino, &back), -EINVAL,
	       "no number refused");
	is_int(label_list_parse("99999999999999999999999 2 /a", &dev, &ino,
				&back),
	       -EINVAL, "overflow refused");
}

/* ---- on real files ---- */

static char *xattr_of(const char *path, const char *name)
{
	char buf[4096];
	ssize_t n = lgetxattr(path, name, buf, sizeof(buf) - 1);

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

static char *ctx_of(const char *path)
{
	char *con = NULL, *r;

	if (lgetfilecon_raw(path, &con) < 0)
		return NULL;
	r = xstrdup(con);
	freecon(con);
	return r;
}

static bool has_ctx(const char *path, const char *want)
{
	char *got = ctx_of(path);
	bool r = got && want ? strcmp(got, want) == 0 : got == want;

	if (!r)
		tap_diag("%s: context %s, want %s", path, got ? got : "(none)",
			 want ? want : "(none)");
	free(got);
	return r;
}

static bool has_xattr(const char *path, const char *name, const char *want)
{
	char *got = xattr_of(path, name);
	bool r = got && want ? strcmp(got, want) == 0 : got == want;

	if (!r)
		tap_diag("%s: %s is %s, want %s", path, name,
			 got ? got : "(none)", want ? want : "(none)");
	free(got);
	return r;
}

static char *make_file(const char *name, const char *ctx)
{
	char *path = xasprintf("%s/%s", tmp_dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd >= 0)
		close(fd);
	removexattr(path, "security.selinux");
	if (ctx)
		setfilecon_raw(path, ctx);
	return path;
}

/* A session of guest with path labelled ctx; the global lock let go. */
static int start(struct label_session *s, const char *guest,
		 const char *path, const char *ctx, bool writable,
		 struct strv *notes, struct vs_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct label_target t = { path, fd, ctx, writable };
	int rc = label_session_start(s, base, guest, notes, err);

	if (rc == 0) {
		rc = label_apply(s, &t, 1, err);
		label_session_unlock(s);
	}
	close(fd);
	return rc;
}

static int end(struct label_session *s)
{
	struct strv notes = STRV_INIT;
	struct vs_err err = { 0 };
	int rc = label_session_end(s, &notes, &err);

	if (rc < 0)
		tap_diag("end: %s: %s", err.context, err.msg);
	strv_free(&notes);
	return rc;
}

static void test_apply_restore(void)
{
	struct label_session s = LABEL_SESSION_INIT;
	struct strv notes = STRV_INIT;
	struct vs_err err = { 0 };
	char *a = make_file("a.qcow2", ORIG_CTX);
	char *rec = xasprintf("%s/.labels/g1", base);
	struct stat st;
	int rc;

	rc = start(&s, "g1", a, IMG_CTX, true, &notes, &err);
	if (!is_int(rc, 0, "apply: a labelled file"))
		tap_diag("%s: %s", err.context, err.msg);
	ok(has_ctx(a, IMG_CTX), "getfilecon: the image context while it runs");
	ok(has_xattr(a, LABEL_XATTR_ORIG, ORIG_CTX),
	   "trusted.vmseal.label remembers the original");
	ok(has_xattr(a, LABEL_XATTR_USERS, "g1"), "trusted.vmseal.users: g1");
	{
		FILE *f = fopen(rec, "re");
		char line[4096] = "";
		char *want;

		stat(a, &st);
		want = xasprintf("%ju %ju %s\n", (uintmax_t)st.st_dev,
				 (uintmax_t)st.st_ino, a);
		if (f) {
			if (!fgets(line, sizeof(line), f))
				line[0] = '\0';
			fclose(f);
		}
		is_str(line, want, "the record lists dev ino path");
		free(want);
	}
	is_int(end(&s), 0, "end of the run");
	ok(has_ctx(a, ORIG_CTX), "getfilecon: the original is back");
	ok(has_xattr(a, LABEL_XATTR_ORIG, NULL) &&
		   has_xattr(a, LABEL_XATTR_USERS, NULL),
	   "vmseal's attributes removed");
	ok(access(rec, F_OK) < 0 && errno == ENOENT, "the record is removed");

	/* A file that had no context at all. */
	free(a);
	a = make_file("none.raw", NULL);
	rc = start(&s, "g1", a, CONTENT_CTX, false, &notes, &err);
	is_int(rc, 0, "apply: a file without a context");
	ok(has_ctx(a, CONTENT_CTX), "labelled with the content context");
	ok(has_xattr(a, LABEL_XATTR_ORIG, LABEL_NONE),
	   "remembered as " LABEL_NONE);
	is_int(end(&s), 0, "end");
	ok(has_ctx(a, NULL), "restored to no context (security.selinux removed)");
	free(a);
	free(rec);
	strv_free(&notes);
}

/* Lines of guest's record that name path. */
static int record_lists(const char *guest, const char *path)
{
	char *rec = xasprintf("%s/.labels/%s", base, guest);
	FILE *f = fopen(rec, "re");
	char line[4096];
	size_t pl = strlen(path);
	int n = 0;

	while (f && fgets(line, sizeof(line), f)) {
		size_t l = strcspn(line, "\n");

		n += l > pl && line[l - pl - 1] == ' ' &&
		     !strncmp(line + l - pl, path, pl);
	}
	if (f)
		fclose(f);
	free(rec);
	return n;
}

/* label_add() with the file's own descriptor. */
static int add(struct label_session *s, const char *path, const char *ctx,
	       bool writable, struct vs_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct label_target t = { path, fd, ctx, writable };
	int rc = label_add(s, &t, err);

	close(fd);
	return rc;
}

static int drop(struct label_session *s, const char *path, struct vs_err *err)
{
	int fd = open(path, O_PATH | O_CLOEXEC);
	int rc = label_drop(s, fd, err);

	close(fd);
	return rc;
}

/*
 * A running guest takes files up and lets them go (the monitor gate's
 * snapshots, jobs, hot-plug and detach).
 */
static void test_add_drop(void)
{
	struct label_session s = LABEL_SESSION_INIT, s2 = LABEL_SESSION_INIT;
	struct strv notes = STRV_INIT;
	struct vs_err err = { 0 };
	char *a = make_file("ad-top.qcow2", ORIG_CTX);
	char *n = make_file("ad-new.qcow2", ORIG_CTX);
	char *b = make_file("ad-base.qcow2", ORIG_CTX);
	char *c = make_file("ad-shared.qcow2", ORIG_CTX);
	char *x = make_file("ad-other.qcow2", ORIG_CTX);

	is_int(start(&s, "g1", a, IMG_CTX, true, &notes, &err), 0,
	       "add/drop: g1 runs with its top labelled");
	is_int(add(&s, n, IMG_CTX, true, &err), 0, "a new writable layer");
	ok(has_ctx(n, IMG_CTX) && has_xattr(n, LABEL_XATTR_ORIG, ORIG_CTX) &&
		   has_xattr(n, LABEL_XATTR_USERS, "g1"),
	   "it gets the image label, its original remembered, g1 its user");
	ok(record_lists("g1", n) == 1 && record_lists("g1", a) == 1,
	   "the record lists it beside the launch's file");
	is_int(add(&s, b, CONTENT_CTX, false, &err), 0, "a new read-only member");
	ok(has_ctx(b, CONTENT_CTX), "it gets the content label");
	is_int(add(&s, b, IMG_CTX, true, &err), 0,
	       "a job writes into it (commit's base)");
	ok(has_ctx(b, IMG_CTX) && has_xattr(b, LABEL_XATTR_ORIG, ORIG_CTX),
	   "it moves to the image label, the original still remembered");
	ok(record_lists("g1", b) == 1, "listed once");
	is_int(add(&s, a, CONTENT_CTX, false, &err), 0,
	       "a read-only use of a writable file");
	ok(has_ctx(a, IMG_CTX), "keeps the image label");
	is_int(drop(&s, n, &err), 0, "the new layer is dropped");
	ok(has_ctx(n, ORIG_CTX) && has_xattr(n, LABEL_XATTR_ORIG, NULL) &&
		   has_xattr(n, LABEL_XATTR_USERS, NULL),
	   "its original label is back, vmseal's attributes gone");
	ok(record_lists("g1", n) == 0 && record_lists("g1", a) == 1,
	   "it left the record, the rest stays");
	is_int(drop(&s, x, &err), 0, "dropping a file never labelled: 0");
	ok(has_ctx(x, ORIG_CTX) && has_xattr(x, LABEL_XATTR_ORIG, NULL),
	   "... and it is left alone");

	/* Another running guest reads c with the content label. */
	is_int(start(&s2, "g2", c, CONTENT_CTX, false, &notes, &err), 0,
	       "g2 runs with a shared member");
	is_int(add(&s, c, CONTENT_CTX, false, &err), 0,
	       "g1 takes it up read-only too");
	ok(has_xattr(c, LABEL_XATTR_USERS, "g2,g1"), "users: g2,g1");
	vs_err_clear(&err);
	is_int(add(&s, c, IMG_CTX, true, &err), -EBUSY,
	       "g1 would write it: refused, g2 reads it");
	has_str(err.msg, "in use by running guest g2", "says who uses it");
	ok(has_ctx(c, CONTENT_CTX), "its label is unchanged");
	is_int(drop(&s, c, &err), 0, "g1 lets go of the shared member");
	ok(has_ctx(c, CONTENT_CTX) && has_xattr(c, LABEL_XATTR_USERS, "g2"),
	   "g2 still runs: the label stays, g2 its only user");
	is_int(end(&s2), 0, "g2 ends");
	ok(has_ctx(c, ORIG_CTX), "the shared member's original is back");

	is_int(end(&s), 0, "g1 ends");
	ok(has_ctx(a, ORIG_CTX) && has_ctx(b, ORIG_CTX),
	   "the top and the base written by the job get theirs back");
	strv_free(&notes);
	free(a);
	free(n);
	free(b);
	free(c);
	free(x);
}

static void test_shared(void)
{
	struct label_session s1 = LABEL_SESSION_INIT, s2 = LABEL_SESSION_INIT;
	struct strv notes = STRV_INIT;
	struct vs_err err = { 0 };
	char *b = make_file("base.qcow2", ORIG_CTX);
	char *top = make_file("top2.qcow2", ORIG_CTX);

	is_int(start(&s1, "g1", b, CONTENT_CTX, false, &notes, &err), 0,
	       "g1 labels the shared backing file");
	is_int(start(&s2, "g2", b, CONTENT_CTX, false, &notes, &err), 0,
	       "g2 labels it too");
	ok(has_xattr(b, LABEL_XATTR_USERS, "g1,g2"), "users: g1,g2");
	ok(has_xattr(b, LABEL_XATTR_ORIG, ORIG_CTX),
	   "the original is remembered once");
	is_int(end(&s1), 0, "g1 ends");
	ok(has_ctx(b, CONTENT_CTX), "g2 still runs: the file stays labelled");
	ok(has_xattr(b, LABEL_XATTR_USERS, "g2"), "users: g2");
	is_int(end(&s2), 0, "g2 ends");
	ok(has_ctx(b, ORIG_CTX) && has_xattr(b, LABEL_XATTR_USERS, NULL),
	   "the last user gone: original back");

	/* A running guest's file would be taken away by another label. */
	is_int(start(&s1, "g1", top, IMG_CTX, true, &notes, &err), 0,
	       "g1 labels its image");
	vs_err_clear(&err);
	is_int(start(&s2, "g2", top, "u:object_r:svirt_image_t:s0:c1,c2", true,
		     &notes, &err),
	       -EBUSY, "g2 may not relabel a file g1 uses");
	has_str(err.msg, "in use by running guest g1", "...the message says who");
	ok(has_ctx(top, IMG_CTX) && has_xattr(top, LABEL_XATTR_USERS, "g1"),
	   "...and g1's label and users are untouched");
	end(&s2);
	is_int(end(&s1), 0, "g1 ends");
	ok(has_ctx(top, ORIG_CTX), "restored");
	free(b);
	free(top);
	strv_free(&notes);
}

static void test_leftovers(void)
{
	struct label_session s = LABEL_SESSION_INIT;
	struct strv notes = STRV_INIT;
	struct vs_err err = { 0 };
	char *f = make_file("left.qcow2", CONTENT_CTX);

	/* A crashed run left its remembered original and a dead user. */
	setxattr(f, LABEL_XATTR_ORIG, ORIG_CTX, strlen(ORIG_CTX), 0);
	setxattr(f, LABEL_XATTR_USERS, "dead1", 5, 0);
	is_int(start(&s, "g1", f, IMG_CTX, true, &notes, &err), 0,
	       "apply over a crash's leftovers");
	ok(has_xattr(f, LABEL_XATTR_ORIG, ORIG_CTX),
	   "an earlier original is not overwritten");
	ok(has_xattr(f, LABEL_XATTR_USERS, "g1"),
	   "a guest that no longer runs is dropped from the users");
	is_int(end(&s), 0, "end");
	ok(has_ctx(f, ORIG_CTX), "the earlier original is what comes back");
	free(f);
	strv_free(&notes);
}

/* A vmseal that dies with labels applied: a child that exits. */
static void crash_run(const char *guest, const char *path)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct label_session s = LABEL_SESSION_INIT;
		struct strv notes = STRV_INIT;
		struct vs_err err = { 0 };
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		struct label_target t = { path, fd, IMG_CTX, true };
		char level[32];
		int rc = label_session_start(&s, base, guest, &notes, &err);

		if (rc == 0)
			rc = label_mcs_reserve(&s, level, sizeof(level), &err);
		if (rc == 0)
			rc = label_apply(&s, &t, 1, &err);
		_exit(rc == 0 ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "a vmseal labels %s and dies", guest);
}

static size_t mcs_entries(const char *guest)
{
	char *dir = xasprintf("%s/.mcs", base);
	char cmd[512];
	FILE *p;
	size_t n = 0;
	char line[256];

	snprintf(cmd, sizeof(cmd), "grep -lx '%s' %s/* 2>/dev/null", guest,
		 dir);
	p = popen(cmd, "re");
	while (p && fgets(line, sizeof(line), p))
		n++;
	if (p)
		pclose(p);
	free(dir);
	return n;
}

static void test_crash(void)
{
	struct label_session s = LABEL_SESSION_INIT;
	struct label_restore_stats st;
	struct strv notes = STRV_INIT;
	struct vs_err err = { 0 };
	char *f = make_file("crash.qcow2", ORIG_CTX);
	char *g = make_file("gone.qcow2", ORIG_CTX);
	char *moved = xasprintf("%s/moved.qcow2", tmp_dir);
	int rc;

	crash_run("g9", f);
	ok(has_ctx(f, IMG_CTX), "its label stays after the crash");
	is_int(mcs_entries("g9"), 1, "its category pair is still registered");
	rc = label_restore_guest(base, "g9", &st, &notes, &err);
	if (!is_int(rc, 0, "restore-labels g9"))
		tap_diag("%s: %s", err.context, err.msg);
	ok(st.restored == 1 && st.kept == 0 && st.skipped == 0,
	   "one restored (%zu/%zu/%zu)", st.restored, st.kept, st.skipped);
	ok(has_ctx(f, ORIG_CTX) && has_xattr(f, LABEL_XATTR_ORIG, NULL),
	   "original back, remembered value removed");
	is_int(mcs_entries("g9"), 0, "its stale pair is removed");
	is_int(label_restore_guest(base, "g9", &st, &notes, &err), -ENOENT,
	       "a second restore-labels: nothing recorded");
	has_str(err.msg, "no labels are recorded for guest g9", "...says so");
	is_int(label_restore_guest(base, "never", &st, &notes, &err), -ENOENT,
	       "restore-labels of an unknown guest: nothing recorded");

	/* A recorded path that now names another file is left alone. */
	crash_run("g8", g);
	rename(g, moved);
	{
		char *other = make_file("gone.qcow2", ORIG_CTX);

		free(other);
	}
	strv_free(&notes);
	rc = label_restore_guest(base, "g8", &st, &notes, &err);
	ok(rc == 0 && st.skipped == 1 && st.restored == 0,
	   "a replaced file is skipped (%d, %zu skipped)", rc, st.skipped);
	ok(notes.n == 1 && strstr(notes.v[0], "no longer the file that was relabelled"),
	   "...with a note naming it");
	ok(has_ctx(moved, IMG_CTX), "...and the moved file keeps its label");
	strv_free(&notes);

	/* A leftover record is restored when the guest starts again. */
	crash_run("g7", f);
	rc = label_session_start(&s, base, "g7", &notes, &err);
	is_int(rc, 0, "g7 starts again");
	ok(notes.n == 1 && strstr(notes.v[0], "earlier run of g7 left: 1 restored"),
	   "...restoring what its crashed run left");
	ok(has_ctx(f, ORIG_CTX), "...the file has its original back");
	label_session_unlock(&s);
	vs_err_clear(&err);
	rc = label_restore_guest(base, "g7", &st, &notes, &err);
	is_int(rc, -EBUSY, "restore-labels of a running guest is refused");
	has_str(err.msg, "guest g7 is running", "...saying it runs");
	end(&s);
	free(f);
	free(g);
	free(moved);
	strv_free(&notes);
}

static void test_mcs_registry(void)
{
	struct label_session s1 = LABEL_SESSION_INIT, s2 = LABEL_SESSION_INIT;
	struct strv notes = STRV_INIT;
	struct vs_err err = { 0 };
	char l1[32] = "", l2[32] = "", *entry;
	unsigned x, y;

	is_int(label_session_start(&s1, base, "m1", &notes, &err), 0, "m1");
	is_int(label_mcs_reserve(&s1, l1, sizeof(l1), &err), 0,
	       "m1 reserves a pair");
	label_session_unlock(&s1);
	is_int(label_session_start(&s2, base, "m2", &notes, &err), 0, "m2");
	is_int(label_mcs_reserve(&s2, l2, sizeof(l2), &err), 0,
	       "m2 reserves a pair");
	label_session_unlock(&s2);
	ok(strncmp(l1, "s0:c", 4) == 0 &&
		   label_mcs_parse(l1 + 3, &x, &y) == 0 && x < y,
	   "level %s is s0:cX,cY with X<Y", l1);
	ok(strcmp(l1, l2) != 0, "two running guests: two pairs (%s, %s)", l1,
	   l2);
	entry = xasprintf("%s/.mcs/%s", base, l1 + 3);
	{
		int fd = open(entry, O_RDONLY | O_CLOEXEC);

		ok(fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) < 0 &&
			   errno == EWOULDBLOCK,
		   "the pair's registry file is held while m1 runs");
		if (fd >= 0)
			close(fd);
	}
	is_int(mcs_entries("m1"), 1, "the registry file names m1");
	end(&s1);
	ok(access(entry, F_OK) < 0, "m1's pair is released at its end");
	end(&s2);
	is_int(mcs_entries("m2"), 0, "m2's too");
	free(entry);
	strv_free(&notes);
}

/* Root, and security.selinux stored where the test writes. */
static const char *why_no_files(void)
{
	char *probe;
	const char *why = NULL;

	if (geteuid() != 0)
		return "needs root (trusted.* and security.* attributes)";
	probe = make_file("probe", NULL);
	if (lsetxattr(probe, "security.selinux", ORIG_CTX,
		      strlen(ORIG_CTX) + 1, 0) < 0)
		why = "the test directory's filesystem does not store security.selinux";
	else if (lsetxattr(probe, "trusted.vmseal.test", "x", 1, 0) < 0)
		why = "the test directory's filesystem does not store trusted.*";
	unlink(probe);
	free(probe);
	return why;
}

int main(void)
{
	const char *t = getenv("TMPDIR");
	const char *why;

	test_with_mcs();
	test_mcs_strings();
	test_virtual_files();
	test_users();
	test_list_lines();

	tmp_dir = xasprintf("%s/vmseal-label.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmp_dir)) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return tap_done();
	}
	base = xasprintf("%s/run", tmp_dir);
	mkdir(base, 0755);
	why = why_no_files();
	if (why) {
		tap_skip(why, "labels on real files");
	} else {
		test_apply_restore();
		test_shared();
		test_add_drop();
		test_leftovers();
		test_crash();
		test_mcs_registry();
	}
	if (is_selinux_enabled() > 0)
		tap_skip("the policy decides; e2e covers it",
			 "label_check_access with SELinux enabled");
	else
		tap_skip("SELinux is disabled on this host",
			 "label_check_access (needs an enabled policy)");
	{
		char *cmd = xasprintf("rm -rf '%s'", tmp_dir);

		if (system(cmd) != 0)
			tap_diag("could not remove %s", tmp_dir);
		free(cmd);
	}
	free(base);
	free(tmp_dir);
	return tap_done();
}
