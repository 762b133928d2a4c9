/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The read-back after the privilege drop.  First the comparisons alone,
 * fed values that differ in one place each; then live: privs_drop() in a
 * child where a seccomp filter turns one call of the drop into a no-op
 * that says it succeeded (SECCOMP_RET_ERRNO with errno 0), so only the
 * read-back can notice that the drop did not happen.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/privs.h"
#include "tests/lib/tap.h"

#define NOBODY 65534

static void test_pure(void)
{
	static const gid_t asked[] = { 36, 44 };
	const struct privs p = { .change = true, .uid = NOBODY, .gid = NOBODY,
				 .groups = (gid_t *)asked, .n_groups = 2,
				 .caps = 1ULL << 12 };
	static const gid_t same[] = { 44, 36 }, other[] = { 36, 0 };
	const struct privs_ids good = { { NOBODY, NOBODY, NOBODY },
					{ NOBODY, NOBODY, NOBODY }, same, 2 };
	const uint64_t caps_good[5] = { p.caps, p.caps, p.caps, p.caps, p.caps };
	static const struct {
		int field, slot;	/* field 0 uid, 1 gid */
		const char *want;
	} ids[] = {
		{ 0, 0, "uids read back as 0 65534 65534, not 65534" },
		{ 0, 1, "uids read back as 65534 0 65534, not 65534" },
		{ 0, 2, "uids read back as 65534 65534 0, not 65534" },
		{ 1, 0, "gids read back as 0 65534 65534, not 65534" },
		{ 1, 1, "gids read back as 65534 0 65534, not 65534" },
		{ 1, 2, "gids read back as 65534 65534 0, not 65534" },
	};
	static const char *const set[5] = { "effective", "permitted",
					    "inheritable", "bounding",
					    "ambient" };
	struct vs_err err = { 0 };
	struct privs_ids got;

	is_int(privs_check_ids(&p, &good, &err), 0,
	       "ids as asked (groups in another order) pass");
	is_int(privs_check_caps(&p, caps_good, &err), 0,
	       "capabilities as asked pass");
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		got = good;
		if (ids[i].field == 0)
			got.uid[ids[i].slot] = 0;
		else
			got.gid[ids[i].slot] = 0;
		vs_err_clear(&err);
		ok(privs_check_ids(&p, &got, &err) == -EPERM &&
			   !strcmp(err.msg, ids[i].want),
		   "refused: %s", err.msg);
	}
	got = good;
	got.n_groups = 1;
	vs_err_clear(&err);
	ok(privs_check_ids(&p, &got, &err) == -EPERM &&
		   strstr(err.msg, "1 supplementary groups read back, not 2"),
	   "refused: a group missing (%s)", err.msg);
	got.n_groups = -1;
	ok(privs_check_ids(&p, &got, &err) == -EPERM,
	   "refused: the groups unreadable");
	got = good;
	got.groups = other;
	vs_err_clear(&err);
	ok(privs_check_ids(&p, &got, &err) == -EPERM &&
		   strstr(err.msg, "group 0 was not asked for"),
	   "refused: a group not asked for (%s)", err.msg);
	for (int i = 0; i < 5; i++) {
		uint64_t caps[5] = { p.caps, p.caps, p.caps, p.caps, p.caps };

		caps[i] |= 1ULL << 21;	/* CAP_SYS_ADMIN */
		vs_err_clear(&err);
		ok(privs_check_caps(&p, caps, &err) == -EPERM &&
			   strstr(err.msg, set[i]),
		   "refused: %s capabilities with one more (%s)", set[i],
		   err.msg);
	}
}

/*
 * In a child: makes syscall nr (with arg0 == a0 when a0 >= 0) a no-op
 * answering 0, drops to nobody, and writes privs_drop()'s result and
 * message to out.
 */
static void drop_child(int nr, long a0, int out)
{
	const struct privs p = { .change = true, .uid = NOBODY, .gid = NOBODY };
	struct vs_err err = { 0 };
	char line[1100];
	const gid_t extra = 4242;
	int rc;

	/* A supplementary group the drop must take away. */
	if (setgroups(1, &extra) < 0)
		_exit(99);
	if (nr >= 0) {
		scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
		/* Spelled out: clang wants every field of SCMP_A0's struct. */
		struct scmp_arg_cmp cmp = {
			.arg = 0,
			.op = SCMP_CMP_EQ,
			.datum_a = (scmp_datum_t)a0,
			.datum_b = 0,
		};

		if (!ctx ||
		    seccomp_rule_add_exact_array(ctx, SCMP_ACT_ERRNO(0), nr,
						 a0 < 0 ? 0 : 1, &cmp) < 0 ||
		    seccomp_load(ctx) < 0)
			_exit(100);
	}
	rc = privs_drop(&p, &err);
	snprintf(line, sizeof(line), "%d %s", rc, err.msg);
	_exit(write(out, line, strlen(line)) < 0 ? 101 : 0);
}

static void drop_faulted(int nr, long a0, const char *what, const char *want)
{
	char got[1100] = "";
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe(pfd) < 0) {
		ok(0, "%s: pipe: %s", what, strerror(errno));
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		drop_child(nr, a0, pfd[1]);
	}
	close(pfd[1]);
	n = read(pfd[0], got, sizeof(got) - 1);
	got[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	waitpid(pid, &status, 0);
	if (!want)
		is_str(got, "0 ", "%s: privs_drop succeeds", what);
	else
		has_str(got, want, "%s: the read-back refuses it", what);
}

/*
 * An allocated uid (no_passwd) is not looked up: named by its number
 * even where the passwd file has it; a numeric user otherwise is.
 */
static void test_no_passwd(void)
{
	struct privs_want w = { .source = "t.ini", .user = "65534",
				.group = "65534" };
	struct passwd *pw = getpwuid(NOBODY);
	char name[64] = "";
	struct vs_err err = { 0 };
	struct privs p;
	bool warn;

	if (pw)
		snprintf(name, sizeof(name), "%s", pw->pw_name);
	ok(privs_resolve(&w, 0, &p, &warn, &err) == 0 && p.uid == NOBODY &&
		   !strcmp(p.user_name, pw ? name : "65534"),
	   "numeric user looked up: named %s", p.user_name);
	privs_free(&p);
	w.no_passwd = true;
	ok(privs_resolve(&w, 0, &p, &warn, &err) == 0 && p.uid == NOBODY &&
		   p.gid == NOBODY && !strcmp(p.user_name, "65534"),
	   "allocated uid (no_passwd) not looked up: named %s", p.user_name);
	privs_free(&p);
}

int main(void)
{
	test_pure();
	test_no_passwd();
	if (geteuid() != 0) {
		tap_skip("needs root to change uid", "live drop, faults injected");
		return tap_done();
	}
	drop_faulted(-1, -1, "no fault (the control)", NULL);
	drop_faulted(SCMP_SYS(setresuid), -1,
		     "setresuid made a no-op",
		     "-1 uids read back as 0 0 0, not 65534");
	drop_faulted(SCMP_SYS(setresgid), -1,
		     "setresgid made a no-op",
		     "-1 gids read back as 0 0 0, not 65534");
	drop_faulted(SCMP_SYS(setgroups), -1,
		     "setgroups made a no-op (group 4242 kept)",
		     "-1 1 supplementary groups read back, not 0");
	drop_faulted(SCMP_SYS(prctl), PR_CAPBSET_DROP,
		     "PR_CAPBSET_DROP made a no-op",
		     "-1 bounding capabilities read back as");
	return tap_done();
}
