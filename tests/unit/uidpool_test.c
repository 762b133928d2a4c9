/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The uid pool: per-name assignments that survive (the record), never
 * given twice, skipping ids that have a passwd or group entry or a
 * running process, a full range refused, a state directory others could
 * write refused, peek writing nothing.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "sandbox/uidpool.h"
#include "tests/lib/tap.h"

/* Blanks to make an nsswitch.conf line longer than vmseal reads. */
#define BLANKS64 "                                                                "
#define BLANKS512 BLANKS64 BLANKS64 BLANKS64 BLANKS64 BLANKS64 BLANKS64 \
	BLANKS64 BLANKS64

static char *dir;

static int assign(const char *name, uid_t first, uid_t last, uid_t *uid,
		  struct vs_err *err)
{
	memset(err, 0, sizeof(*err));
	return uidpool_assign(dir, name, first, last, uid, err);
}

static char *slurp(const char *path)
{
	char buf[4096];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return xstrdup("");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return xstrdup(buf);
}

/* Forks a process that runs as id until killed; its pid or -1. */
static pid_t process_as(uid_t id)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (setresgid(id, id, id) < 0 || setresuid(id, id, id) < 0)
			_exit(1);
		(void)!write(p[1], "x", 1);
		pause();
		_exit(0);
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1) {
		close(p[0]);
		return -1;
	}
	close(p[0]);
	return pid;
}

/* A fresh fake root r: its nsswitch.conf, passwd and group, a directory. */
static void fake_root(const char *r, const char *nss, const char *passwd,
		      const char *group, const char *subdir)
{
	const char *const files[][2] = {
		{ "etc/nsswitch.conf", nss },
		{ "etc/passwd", passwd },
		{ "etc/group", group },
	};
	char *cmd = xasprintf("rm -rf '%s' && mkdir -p '%s/etc'", r, r);

	(void)!system(cmd);
	free(cmd);
	if (subdir) {
		cmd = xasprintf("mkdir -p '%s/%s'", r, subdir);
		(void)!system(cmd);
		free(cmd);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *path = xasprintf("%s/%s", r, files[i][0]);
		FILE *f = fopen(path, "we");

		if (f) {
			fputs(files[i][1], f);
			fclose(f);
		}
		free(path);
	}
}

int main(void)
{
	struct vs_err err;
	uid_t a, a2, b, c, first = UIDPOOL_FIRST, peek;
	bool fresh;
	char why[128];
	char *text, *rec;
	pid_t pid;

	dir = xasprintf("%s/vmseal-uidpool.%d", getenv("TMPDIR") ?: "/tmp",
			(int)getpid());
	rec = xasprintf("%s/uids", dir);

	/* Peek on a missing directory: the first free id, nothing written. */
	memset(&err, 0, sizeof(err));
	ok(uidpool_peek(dir, "a", first, first + 9, &peek, &fresh, &err) == 0 &&
		   fresh,
	   "peek without a state directory: a fresh uid (%s)", err.msg);
	ok(access(dir, F_OK) < 0, "peek created nothing");

	ok(assign("a", first, first + 9, &a, &err) == 0, "a gets a uid (%s)",
	   err.msg);
	is_int(a, peek, "the uid peek announced");
	ok(assign("b", first, first + 9, &b, &err) == 0, "b gets a uid");
	ok(b != a, "another one (%u, a has %u)", (unsigned)b, (unsigned)a);
	ok(assign("a", first, first + 9, &a2, &err) == 0 && a2 == a,
	   "a gets the same uid again");
	memset(&err, 0, sizeof(err));
	ok(uidpool_peek(dir, "b", first, first + 9, &peek, &fresh, &err) == 0 &&
		   !fresh && peek == b,
	   "peek of b: its recorded uid");
	text = slurp(rec);
	has_str(text, "\na ", "the record names a");
	has_str(text, "\nb ", "the record names b");
	free(text);
	ok(assign("c", first, first + 1, &c, &err) == -ENOSPC,
	   "a full range is refused (-ENOSPC)");
	has_str(err.msg, "no free uid left", "...saying so");
	ok(assign("a", first + 100, first + 200, &a2, &err) == 0 && a2 == a,
	   "a keeps its uid when the range changes (stable)");
	ok(assign("../x", first, first + 9, &c, &err) == -EINVAL,
	   "a name that is no guest name is refused");

	/* Ids somebody uses are skipped. */
	ok(!uidpool_id_free(0, why, sizeof(why)), "uid 0 is not free: %s", why);
	if (getpwnam("nobody")) {
		ok(!uidpool_id_free(getpwnam("nobody")->pw_uid, why, sizeof(why)),
		   "nobody's uid is not free: %s", why);
		ok(assign("n", getpwnam("nobody")->pw_uid,
			  getpwnam("nobody")->pw_uid + 1, &c, &err) == 0 &&
			   c == getpwnam("nobody")->pw_uid + 1,
		   "an id with a passwd entry is skipped");
		/* A recorded uid that has since got a passwd entry. */
		{
			FILE *f = fopen(rec, "ae");

			if (f) {
				fprintf(f, "q %u\n",
					(unsigned)getpwnam("nobody")->pw_uid);
				fclose(f);
			}
		}
		ok(assign("q", first, first + 9, &c, &err) == -EEXIST &&
			   strstr(err.msg, "now has a passwd or group entry"),
		   "a recorded uid that now has a passwd entry is refused (%s)",
		   err.msg);
	} else {
		tap_skip("no user nobody", "passwd entry skipped");
		tap_skip("no user nobody", "passwd entry skipped (2)");
		tap_skip("no user nobody", "passwd entry skipped (3)");
	}
	if (geteuid() == 0 && (pid = process_as(first + 1000)) > 0) {
		ok(!uidpool_id_free(first + 1000, why, sizeof(why)) &&
			   strstr(why, "process"),
		   "an id a process runs with is not free: %s", why);
		ok(assign("p", first + 1000, first + 1001, &c, &err) == 0 &&
			   c == first + 1001,
		   "...and is skipped");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		ok(uidpool_id_free(first + 1000, why, sizeof(why)),
		   "once it is gone the id is free");
	} else {
		tap_skip("needs root to run a process as another uid",
			 "process ids skipped");
		tap_skip("needs root", "process ids skipped (2)");
		tap_skip("needs root", "process ids skipped (3)");
	}

	/*
	 * The lookup without NSS: only where passwd and group come from the
	 * files alone (and nss-systemd, with nothing it could add), and then
	 * it must say what NSS says.  A fake root for each case.
	 */
	{
		char *r = xasprintf("%s/root", dir);
		const struct {
			const char *nss;	/* nsswitch.conf */
			const char *mkdir;	/* under the root, or NULL */
			uid_t id;
			int want;
			const char *what;
		} cases[] = {
			{ "passwd: files\ngroup: files\n", NULL, 4242, 1, "a uid in passwd" },
			{ "passwd: files\ngroup: files\n", NULL, 4343, 1, "a gid in group only" },
			{ "passwd: files\ngroup: files\n", NULL, 4444, 0, "an id in neither" },
			{ "passwd: files systemd\ngroup: files [NOTFOUND=return] systemd\n",
			  NULL, 4444, 0, "files and systemd without userdb" },
			{ "passwd: files systemd\ngroup: files systemd\n", "run/systemd/userdb",
			  4444, -1, "systemd with a userdb service: NSS must tell" },
			{ "passwd: files systemd\ngroup: files systemd\n", "etc/userdb",
			  4444, -1, "systemd with a drop-in directory: NSS must tell" },
			{ "passwd: files systemd\ngroup: files systemd\n", NULL,
			  65534, -1, "an id nss-systemd makes up itself" },
			{ "passwd: files ldap\ngroup: files\n", NULL, 4444, -1,
			  "another service for passwd" },
			{ "passwd: files\ngroup: sss files\n", NULL, 4444, -1,
			  "another service for group" },
			{ "passwd: files\n", NULL, 4444, -1, "no group line" },
			{ "passwd: compat\ngroup: compat\n", NULL, 4444, -1, "compat" },
			{ "passwd: ldap\ngroup: files\npasswd: files\n", NULL, 4444,
			  -1, "a second passwd line" },
			{ "passwd: files" BLANKS512 "ldap\ngroup: files\n",
			  NULL, 4444, -1, "a passwd line longer than read" },
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			fake_root(r, cases[i].nss,
				  "root:x:0:0::/root:/bin/sh\n"
				  "guest:x:4242:100::/:/bin/false\n",
				  "root:x:0:\nkvmish:x:4343:\n", cases[i].mkdir);
			why[0] = '\0';
			is_int(uidpool_named_files(r, cases[i].id, why, sizeof(why)),
			       cases[i].want, "without NSS: %s (%s)", cases[i].what,
			       why);
		}
		free(r);
	}
	/*
	 * A user by name without NSS: only where the files are NSS's first
	 * service for passwd and group and an entry found there ends the
	 * lookup, and only for what glibc's files service would match.
	 */
	{
		char *r = xasprintf("%s/root", dir), grp[64];
		const char *const fine = "passwd: files systemd\ngroup: files\n";
		const struct {
			const char *nss, *passwd, *name;
			int want;
			uid_t uid;
			gid_t gid;
			const char *group, *what;
		} cases[] = {
			{ fine, "guest:x:4242:100::/:/bin/false\n", "guest", 1, 4242,
			  100, "users", "a user in passwd, its group in group" },
			{ "passwd: files ldap\ngroup: files [NOTFOUND=return] sss\n",
			  "guest:x:4242:100::/:/bin/false\n", "guest", 1, 4242, 100,
			  "users", "files first, other services after" },
			{ "passwd: ldap files\ngroup: files\n",
			  "guest:x:4242:100::/:/bin/false\n", "guest", 0, 0, 0, NULL,
			  "another service first: NSS must tell" },
			{ "passwd: files [SUCCESS=continue] ldap\ngroup: files\n",
			  "guest:x:4242:100::/:/bin/false\n", "guest", 0, 0, 0, NULL,
			  "a match that does not end the lookup" },
			{ "passwd: files\n", "guest:x:4242:100::/:/bin/false\n",
			  "guest", 0, 0, 0, NULL, "no group line" },
			{ "passwd: files\ngroup: sss files\ngroup: files\n",
			  "guest:x:4242:100::/:/bin/false\n", "guest", 0, 0, 0, NULL,
			  "a second group line" },
			{ fine, "guest:x:4242:100::/:/bin/false\n", "nobody", 0, 0, 0,
			  NULL, "a name not in the file (nss-systemd may make it up)" },
			{ fine, "guest:x:4242:4444::/:/bin/false\n", "guest", 0, 0, 0,
			  NULL, "a gid not in group" },
			{ fine, "guestx:x:1:1::/:/bin/false\nguest:x:4242:100::/:\n",
			  "guest", 1, 4242, 100, "users", "a longer name is not it" },
			{ fine, "guest:x:4242:100::/:\nguest:x:5:5::/:\n", "guest", 1,
			  4242, 100, "users", "the first of two entries" },
			{ fine, " guest:x:5:5::/:\nguest:x:4242:100::/:\n", "guest", 0,
			  0, 0, NULL, "a line with a leading blank" },
			{ fine, "guest:x::100::/:\n", "guest", 0, 0, 0, NULL,
			  "an empty uid" },
			{ fine, "guest:x:4242:100::/:\n", "gu:est", 0, 0, 0, NULL,
			  "a name with a colon" },
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			uid_t u = 0;
			gid_t g = 0;
			int rc;

			fake_root(r, cases[i].nss, cases[i].passwd,
				  "root:x:0:\nusers:x:100:guest\n", NULL);
			grp[0] = '\0';
			rc = uidpool_user_files(r, cases[i].name, &u, &g, grp,
						sizeof(grp));
			ok(rc == cases[i].want &&
			   (rc == 0 || (u == cases[i].uid && g == cases[i].gid &&
					!strcmp(grp, cases[i].group))),
			   "user without NSS: %s (%d: %u %u %s)", cases[i].what, rc,
			   (unsigned)u, (unsigned)g, grp);
		}
		free(r);
	}
	/* On this host: where the files answer by name, what NSS answers. */
	{
		FILE *pf = fopen("/etc/passwd", "re");
		struct passwd *pw;
		struct group *gr;
		int asked = 0, wrong = 0;
		char grp[64];
		uid_t u;
		gid_t g;

		while (pf && (pw = fgetpwent(pf))) {
			if (uidpool_user_files("", pw->pw_name, &u, &g, grp,
					       sizeof(grp)) != 1)
				continue;
			asked++;
			gr = getgrgid(g);
			wrong += !getpwnam(pw->pw_name) ||
				 getpwnam(pw->pw_name)->pw_uid != u ||
				 getpwnam(pw->pw_name)->pw_gid != g ||
				 !gr || strcmp(gr->gr_name, grp);
		}
		if (pf)
			fclose(pf);
		ok(wrong == 0, "on this host a user by name from the files is what "
		   "NSS says (%d answered, %d wrong)", asked, wrong);
	}
	/* On this host: where it answers, what NSS answers. */
	{
		uid_t ids[] = { 0, 1, 65534, first, first + 1, 4242 };
		FILE *pf = fopen("/etc/passwd", "re");
		struct passwd *pw;
		int asked = 0, wrong = 0, rc;

		for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
			rc = uidpool_named_files("", ids[i], why, sizeof(why));
			if (rc < 0)
				continue;
			asked++;
			wrong += (rc == 1) != (getpwuid(ids[i]) ||
					       getgrgid((gid_t)ids[i]));
		}
		while (pf && (pw = fgetpwent(pf))) {
			rc = uidpool_named_files("", pw->pw_uid, why, sizeof(why));
			asked += rc >= 0;
			wrong += rc == 0;
		}
		if (pf)
			fclose(pf);
		ok(wrong == 0, "on this host the files answer as NSS does where "
		   "they answer (%d answered, %d wrong)", asked, wrong);
	}

	/* The record and the directory are trusted only when they are ours. */
	chmod(dir, 0777);
	ok(assign("a", first, first + 9, &a2, &err) == -EPERM,
	   "a state directory others may write is refused");
	has_str(err.msg, "writable by nobody else", "...saying so");
	chmod(dir, 0700);
	{
		FILE *f = fopen(rec, "ae");

		if (f) {
			fputs("garbage\n", f);
			fclose(f);
		}
	}
	ok(assign("a", first, first + 9, &a2, &err) == -EINVAL,
	   "a damaged record is refused, not rewritten");
	has_str(err.msg, "not a 'NAME UID' line", "...naming the line");

	text = xasprintf("rm -rf '%s'", dir);
	(void)!system(text);
	free(text);
	free(rec);
	free(dir);
	return tap_done();
}
