/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `vmseal selftest`: the hardening policy tests, for users.  Every row
 * makes the forbidden thing happen for real (a probe in a forked child
 * under the filter, a child racing a live broker, a real emulator looked
 * at from outside) and compares what the kernel answered with what the
 * policy promises.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <seccomp.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/escape.h"
#include "common/fd.h"
#include "common/xalloc.h"
#include "launcher/commands.h"
#include "launcher/exitcode.h"
#include "launcher/qmp.h"
#include "launcher/run.h"
#include "launcher/selftest_jail.h"
#include "launcher/selftest_siblings.h"
#include "launcher/rundir.h"
#include "sandbox/brokertest.h"
#include "sandbox/policy.h"
#include "sandbox/probe.h"

enum row_status { ROW_PASS, ROW_FAIL, ROW_SKIP, ROW_INFO };

struct report {
	bool json;
	unsigned n[4];
	struct json_object *rows;
};

static const char *const status_word[] = { "PASS", "FAIL", "SKIP", "INFO" };

static void row(struct report *rep, enum row_status st, const char *group,
		const char *name, const char *got, const char *note)
{
	rep->n[st]++;
	if (rep->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "status",
				       json_object_new_string(status_word[st]));
		json_object_object_add(o, "group", json_object_new_string(group));
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "result", json_object_new_string(got));
		if (note)
			json_object_object_add(o, "note",
					       json_object_new_string(note));
		json_object_array_add(rep->rows, o);
		return;
	}
	printf("%s %s: %s -> %s%s%s%s\n", status_word[st], group, name, got,
	       note ? " (" : "", note ? note : "", note ? ")" : "");
	fflush(stdout);
}

static const char *expect_str(const struct expect *x, char *buf, size_t len)
{
	switch (x->kind) {
	case EXPECT_SUCCESS:
		return "success";
	case EXPECT_KILL:
		return "killed (SIGSYS)";
	case EXPECT_FAILED_EXEC:
		return "exited 127";
	case EXPECT_ERRNO:
		snprintf(buf, len, "%s", strerrorname_np(x->err));
		return buf;
	}
	return "?";
}

static void filter_rows(struct report *rep)
{
	static const enum vs_policy pols[] = { VS_POLICY_BROKER, VS_POLICY_DENY,
					       VS_POLICY_KILL };
	struct probe_result *ctl = xcalloc(probes_count, sizeof(*ctl));
	bool *have_ctl = xcalloc(probes_count, sizeof(*have_ctl));

	for (size_t i = 0; i < probes_count; i++) {
		struct vs_err err = { 0 };

		have_ctl[i] = probe_run(&probes[i], VS_POLICY_DENY, true, &ctl[i],
					&err) == 0;
	}
	for (size_t k = 0; k < 3; k++) {
		char group[32];

		snprintf(group, sizeof(group), "filter %s",
			 vs_policy_name(pols[k]));
		for (size_t i = 0; i < probes_count; i++) {
			const struct probe *pr = &probes[i];
			struct vs_err err = { 0 };
			struct probe_result r;
			char got[64], want[64], cgot[64], note[160];

			if (probe_run(pr, pols[k], false, &r, &err) < 0) {
				row(rep, ROW_FAIL, group, pr->name, err.msg, NULL);
				continue;
			}
			probe_describe(&r, got, sizeof(got));
			if (!probe_check(pr, pols[k], &r)) {
				snprintf(note, sizeof(note), "want %s: %s",
					 expect_str(&pr->expect[pols[k]], want,
						    sizeof(want)), pr->why);
				row(rep, ROW_FAIL, group, pr->name, got, note);
				continue;
			}
			/*
			 * A refusal the call would give anyway proves nothing;
			 * allowed calls are meant to look the same.
			 */
			if (pr->expect[pols[k]].kind != EXPECT_SUCCESS &&
			    have_ctl[i] && probe_check(pr, pols[k], &ctl[i])) {
				snprintf(note, sizeof(note),
					 "the same without the filter (%s): proves nothing here",
					 probe_describe(&ctl[i], cgot, sizeof(cgot)));
				row(rep, ROW_SKIP, group, pr->name, got, note);
				continue;
			}
			row(rep, ROW_PASS, group, pr->name, got, NULL);
		}
	}
	free(ctl);
	free(have_ctl);
}

static long sc_getpid(void) { return syscall(SYS_getpid); }
static long sc_file_setattr(void) { return syscall(469, AT_FDCWD, "/nonexistent-vmseal-probe/x", NULL, 0, 0); }
static long sc_470(void) { return syscall(470, 0, 0, 0, 0, 0, 0); }
static long sc_1000(void) { return syscall(1000, 0, 0, 0, 0, 0, 0); }

/*
 * The ceiling: numbers above the table's highest answer ENOSYS.  This
 * kernel has no syscall above it either, so the proof moves the ceiling
 * of the very program vmseal loads down onto calls it does have.
 */
static void ceiling_rows(struct report *rep)
{
	static const struct {
		const char *name;
		long (*run)(void);
		int max_nr;	/* 0: the table's own ceiling */
	} rows[] = {
		{ "getpid (39) with the ceiling moved to 38", sc_getpid, 38 },
		{ "file_setattr (469) with the ceiling moved to 468", sc_file_setattr, 468 },
		{ "syscall 470", sc_470, 0 },
		{ "syscall 1000", sc_1000, 0 },
	};
	const struct policy_opts o = { .policy = VS_POLICY_DENY };

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct probe pr = { rows[i].name, rows[i].run,
					  { { EXPECT_ERRNO, ENOSYS },
					    { EXPECT_ERRNO, ENOSYS },
					    { EXPECT_ERRNO, ENOSYS } }, "" };
		struct probe_result r, ctl;
		struct vs_filter *f = NULL;
		struct vs_err err = { 0 };
		char got[64], cgot[64], note[160];
		int rc;

		rc = rows[i].max_nr ?
			     policy_build_ceiling(&o, rows[i].max_nr, &f, &err) :
			     policy_build(&o, &f, &err);
		if (rc == 0)
			rc = probe_run_filter(&pr, f, &r, &err);
		policy_free(f);
		if (rc == 0 && rows[i].max_nr)
			rc = probe_run(&pr, VS_POLICY_DENY, false, &ctl, &err);
		if (rc < 0) {
			row(rep, ROW_FAIL, "ceiling", rows[i].name, err.msg, NULL);
			continue;
		}
		probe_describe(&r, got, sizeof(got));
		if (!probe_check(&pr, VS_POLICY_DENY, &r)) {
			row(rep, ROW_FAIL, "ceiling", rows[i].name, got, "want ENOSYS");
			continue;
		}
		if (rows[i].max_nr) {
			if (probe_check(&pr, VS_POLICY_DENY, &ctl)) {
				row(rep, ROW_FAIL, "ceiling", rows[i].name, got,
				    "the same with the table's ceiling: proves nothing");
				continue;
			}
			snprintf(note, sizeof(note), "with the table's ceiling: %s",
				 probe_describe(&ctl, cgot, sizeof(cgot)));
		} else {
			snprintf(note, sizeof(note),
				 "above %d, Linux %s; not killed", policy_syscall_max(),
				 syscalls_x86_64_kernel);
		}
		row(rep, ROW_PASS, "ceiling", rows[i].name, got, note);
	}
}

/* What a denial log line makes of a path built to forge a line. */
static void log_rows(struct report *rep)
{
	static const char forged[] = "/x\nvmseal: broker locked on request: FAKE\x1b[2K\r\xff";
	char out[VS_ESCAPE_SIZE(sizeof(forged))];

	vs_escape(forged, out, sizeof(out));
	if (strpbrk(out, "\n\r\x1b") || strchr(out, '\xff') ||
	    !strstr(out, "\\nvmseal: broker locked"))
		row(rep, ROW_FAIL, "logs", "a path forging a 'vmseal: broker locked' line",
		    out, "newline, CR, ESC or a non-UTF-8 byte left raw");
	else
		row(rep, ROW_PASS, "logs", "a path forging a 'vmseal: broker locked' line",
		    out, "every log line, syslog and the relayed emulator output are escaped");
}

static void broker_rows(struct report *rep)
{
	struct bt_fixture f;
	struct vs_err err = { 0 };
	char got[256];
	int fd;

	if (bt_fixture_make(&f, &err) < 0) {
		row(rep, ROW_FAIL, "broker", "scratch directory", err.msg, NULL);
		return;
	}
	/* The row the io_uring rules close, shown open without them. */
	fd = bt_io_uring_openat(f.secret);
	if (fd >= 0) {
		close(fd);
		row(rep, ROW_INFO, "broker", "io_uring OPENAT without the filter",
		    "opened", "the bypass is real on this kernel");
	} else {
		row(rep, ROW_INFO, "broker", "io_uring OPENAT without the filter",
		    strerrorname_np(-fd) ?: "error", "io_uring unavailable here");
	}
	for (size_t i = 0; i < bt_scenarios_count; i++) {
		const struct bt_scenario *sc = &bt_scenarios[i];
		bool pass = false;

		if (bt_run(sc, &f, got, sizeof(got), &pass, &err) < 0) {
			row(rep, ROW_FAIL, "broker", sc->name, err.msg, NULL);
			continue;
		}
		row(rep, pass ? ROW_PASS : ROW_FAIL, "broker", sc->name, got,
		    pass ? NULL : sc->expect);
	}
	bt_fixture_remove(&f);
}

/* Two concurrent guests under two allocated uids: launcher/selftest_siblings.c. */
static void jail_rows(struct report *rep)
{
	static const enum row_status st[] = { [JAIL_PASS] = ROW_PASS,
					      [JAIL_FAIL] = ROW_FAIL,
					      [JAIL_SKIP] = ROW_SKIP };
	struct jail_row rows[JAIL_ROWS_MAX];
	size_t n = selftest_jail(rows);

	for (size_t i = 0; i < n; i++)
		row(rep, st[rows[i].verdict], rows[i].group, rows[i].name,
		    rows[i].got, NULL);
}

static void sibling_rows(struct report *rep)
{
	static const enum row_status st[] = { [SIBLING_PASS] = ROW_PASS,
					      [SIBLING_FAIL] = ROW_FAIL,
					      [SIBLING_SKIP] = ROW_SKIP };
	struct sibling_row rows[SIB_COUNT];
	char why[256];
	bool skip;

	if (selftest_siblings(rows, &skip, why, sizeof(why)) < 0) {
		row(rep, skip ? ROW_SKIP : ROW_FAIL, "two guests", "set-up", why,
		    NULL);
		return;
	}
	for (int i = 0; i < SIB_COUNT; i++)
		row(rep, st[rows[i].verdict], "two guests", rows[i].name,
		    rows[i].got, rows[i].note[0] ? rows[i].note : NULL);
}

/* One field of a /proc status file ("Seccomp", "NoNewPrivs", "Uid"). */
static bool status_field(const char *path, const char *field, char *out,
			 size_t len)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[256];
	size_t n = strlen(field);

	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, n) && line[n] == ':') {
			snprintf(out, len, "%s", line + n + 1 + strspn(line + n + 1, " \t"));
			out[strcspn(out, "\n")] = '\0';
			return true;
		}
	}
	return false;
}

/*
 * Every thread of pid: Seccomp 2 and NoNewPrivs 1; the uid.  Rows under
 * group.
 */
static void process_rows(struct report *rep, const char *group, pid_t pid)
{
	char dir[64], path[PATH_MAX], v[64], got[128], uid[64] = "?";
	unsigned threads = 0, bad_seccomp = 0, bad_nnp = 0;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *e;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	d = opendir(dir);
	if (!d) {
		row(rep, ROW_FAIL, group, "emulator process", strerror(errno), NULL);
		return;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/status", dir, e->d_name);
		threads++;
		if (!status_field(path, "Seccomp", v, sizeof(v)) || strcmp(v, "2"))
			bad_seccomp++;
		if (!status_field(path, "NoNewPrivs", v, sizeof(v)) || strcmp(v, "1"))
			bad_nnp++;
	}
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	status_field(path, "Uid", uid, sizeof(uid));
	snprintf(got, sizeof(got), "%u of %u threads", threads - bad_seccomp,
		 threads);
	row(rep, threads && !bad_seccomp ? ROW_PASS : ROW_FAIL, group,
	    "Seccomp: 2 in every thread", got, NULL);
	snprintf(got, sizeof(got), "%u of %u threads", threads - bad_nnp, threads);
	row(rep, threads && !bad_nnp ? ROW_PASS : ROW_FAIL, group,
	    "NoNewPrivs: 1 in every thread", got, NULL);
	{
		unsigned ru = 0, eu = 0, su = 0, fu = 0;
		bool root = sscanf(uid, "%u %u %u %u", &ru, &eu, &su, &fu) != 4 ||
			    !ru || !eu || !su || !fu;

		snprintf(got, sizeof(got),
			 "uid %u (real, effective, saved, fs: %u %u %u %u)", eu,
			 ru, eu, su, fu);
		row(rep, root ? ROW_FAIL : ROW_PASS, group,
		    "runs as an unprivileged user", got,
		    root ? "the emulator runs as root" : NULL);
	}
}

static void guest_rows(struct report *rep, const char *name)
{
	char group[96];
	pid_t pid;

	snprintf(group, sizeof(group), "guest %s", name);
	if (rundir_read_pid(name, RUNDIR_EMU_PID, &pid) < 0 || kill(pid, 0) < 0) {
		row(rep, ROW_FAIL, group, "running", "no emulator pid",
		    "is it running? (vmseal status NAME)");
		return;
	}
	process_rows(rep, group, pid);
}

/* blockdev-add of a file node by path: the reply line. */
static bool refused(const char *reply)
{
	return strstr(reply, "Permission denied") ||
	       strstr(reply, "No such file or directory");
}

static void add_by_path(struct qmp *q, const char *node, const char *path,
			bool ro, char *reply, size_t len)
{
	struct json_object *cmd = json_object_new_object();
	struct json_object *args = json_object_new_object();

	json_object_object_add(cmd, "execute", json_object_new_string("blockdev-add"));
	json_object_object_add(args, "driver", json_object_new_string("file"));
	json_object_object_add(args, "node-name", json_object_new_string(node));
	json_object_object_add(args, "filename", json_object_new_string(path));
	json_object_object_add(args, "read-only", json_object_new_boolean(ro));
	json_object_object_add(cmd, "arguments", args);
	if (qmp_exec(q, json_object_to_json_string_ext(cmd, JSON_C_TO_STRING_PLAIN),
		     reply, len) < 0)
		snprintf(reply, len, "(no reply)");
	json_object_put(cmd);
}

/*
 * The forked child of emulator_rows(): stdin and stdout on /dev/null,
 * stderr into errlog, then a whole `vmseal run` of cfg under run_dir.  A
 * set-up step that fails ends it with 71, saying which on its stderr.
 */
static int emulator_child(const struct guest_config *cfg, const char *errlog,
			  const char *run_dir)
{
	int efd = open(errlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int nfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	const char *step = NULL;

	if (efd < 0)
		step = "open of the error log";
	else if (dup2(efd, STDERR_FILENO) < 0)
		step = "dup2 onto stderr";
	else if (nfd < 0)
		step = "open of /dev/null";
	else if (dup2(nfd, STDIN_FILENO) < 0 || dup2(nfd, STDOUT_FILENO) < 0)
		step = "dup2 onto stdin and stdout";
	if (step) {
		dprintf(STDERR_FILENO, "vmseal selftest: child: %s: %s\n", step,
			strerror(errno));
		return EXIT_SANDBOX;
	}
	return run_guest(cfg, &(struct run_opts){ .run_dir = run_dir });
}

/*
 * Connects to the child's QMP socket within wait_s seconds; gives up at
 * once when the child has exited, with its status and first error line.
 */
static int emulator_qmp(struct qmp *q, const char *sock, pid_t child,
			const char *errlog, int wait_s, struct vs_err *err)
{
	for (int i = 0; i < wait_s * 10; i++) {
		struct timespec pause = { 0, 100 * 1000 * 1000 };
		int status;

		if (qmp_open(q, sock, 0, err) == 0)
			return 0;
		if (waitpid(child, &status, WNOHANG) == child) {
			_cleanup_fclose_ FILE *f = fopen(errlog, "re");
			char line[200] = "";

			if (f && fgets(line, sizeof(line), f))
				line[strcspn(line, "\n")] = '\0';
			return vs_errf(err, ECHILD, "vmseal run exited %d: %s",
				       WIFEXITED(status) ? WEXITSTATUS(status) :
							   128 + WTERMSIG(status),
				       line[0] ? line : "(no message)");
		}
		nanosleep(&pause, NULL);
	}
	return -err->code;
}

static void emulator_rows(struct report *rep, const char *emulator)
{
	const char *group = "emulator";
	struct bt_fixture f;
	struct vs_err err = { 0 };
	_cleanup_free_ char *ini = NULL, *disk = NULL, *sock = NULL;
	_cleanup_free_ char *errlog = NULL, *run = NULL, *record = NULL;
	char reply[4096], name[64];
	struct guest_config *cfg = NULL;
	struct qmp q = { .fd = -1 };
	pid_t child = -1, emu;
	int status, fd;

	if (bt_fixture_make(&f, &err) < 0) {
		row(rep, ROW_FAIL, group, "scratch directory", err.msg, NULL);
		return;
	}
	snprintf(name, sizeof(name), "selftest-%d", (int)getpid());
	disk = xasprintf("%s/disk.raw", f.allowed);
	run = xasprintf("%s/runtime", f.dir);
	sock = xasprintf("%s/%s/qmp.sock", run, name);
	errlog = xasprintf("%s/stderr", f.dir);
	record = xasprintf("%s/chain.json", f.dir);
	fd = open(disk, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, 1 << 20) < 0 || close(fd) < 0) {
		row(rep, ROW_FAIL, group, "scratch disk", strerror(errno), NULL);
		goto out;
	}
	/* As root, vmseal runs emulators as an unprivileged user only. */
	ini = xasprintf("[vmseal]\nversion = 1\nname = %s\n"
			"[emulator]\nbinary = %s\n"
			"args = -machine none -nodefaults -display none -S\n"
			"args = -qmp unix:%s,server=on,wait=off\n"
			"[sandbox]\n%s\n"
			"[chain]\nrecord = %s\n"
			"[disk d]\nimage = %s\nformat = raw\ndevice = none\n",
			name, emulator, sock,
			geteuid() == 0 ? "user = nobody" : "", record, disk);
	if (config_parse("selftest.ini", ini, strlen(ini), &cfg, &err) < 0) {
		row(rep, ROW_FAIL, group, "config", err.msg, NULL);
		goto out;
	}
	/*
	 * The emulator's user must reach its runtime directory: modes set
	 * by chmod, whatever the umask.
	 */
	if (chmod(f.dir, 0755) < 0 || mkdir(run, 0755) < 0 ||
	    chmod(run, 0755) < 0) {
		row(rep, ROW_FAIL, group, "runtime directory", strerror(errno),
		    run);
		goto out;
	}
	fflush(NULL);
	child = fork();
	if (child == 0)
		_exit(emulator_child(cfg, errlog, run));
	if (child < 0 || emulator_qmp(&q, sock, child, errlog, 20, &err) < 0) {
		row(rep, ROW_FAIL, group, "starts under the broker, QMP answers",
		    child < 0 ? strerror(errno) : err.msg, NULL);
		if (child > 0 && waitpid(child, &status, WNOHANG) == 0) {
			kill(child, SIGTERM);
			waitpid(child, &status, 0);
		}
		goto out;
	}
	row(rep, ROW_PASS, group, "starts under the broker, QMP answers",
	    emulator, NULL);
	if (rundir_read_pid_in(run, name, RUNDIR_EMU_PID, &emu) == 0)
		process_rows(rep, group, emu);
	else
		row(rep, ROW_FAIL, group, "emulator process", "no emulator.pid",
		    run);
	add_by_path(&q, "byname", disk, false, reply, sizeof(reply));
	row(rep, strstr(reply, "Permission denied") ? ROW_PASS : ROW_FAIL, group,
	    "blockdev-add of its own disk by path", reply, NULL);
	/*
	 * Read-only: refused by the broker, or, in the jail, where such
	 * opens reach the kernel, not there at all.
	 */
	add_by_path(&q, "shadow", "/etc/shadow", true, reply, sizeof(reply));
	row(rep, refused(reply) ? ROW_PASS : ROW_FAIL, group,
	    "blockdev-add of /etc/shadow read-only", reply, NULL);
	add_by_path(&q, "secret", f.secret, true, reply, sizeof(reply));
	row(rep, refused(reply) ? ROW_PASS : ROW_FAIL, group,
	    "blockdev-add of a file outside the allowlist", reply, NULL);
	qmp_exec(&q, "{\"execute\":\"query-named-block-nodes\"}", reply,
		 sizeof(reply));
	row(rep, strstr(reply, "\"/dev/fdset/") ? ROW_PASS : ROW_FAIL, group,
	    "its disk is reached through /dev/fdset", strstr(reply, "\"/dev/fdset/") ?
	    "yes" : "no", NULL);
	qmp_exec(&q, "{\"execute\":\"quit\"}", reply, sizeof(reply));
	qmp_close(&q);
	waitpid(child, &status, 0);
	snprintf(reply, sizeof(reply), "exit %d",
		 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	row(rep, WIFEXITED(status) && WEXITSTATUS(status) == 0 ? ROW_PASS :
								 ROW_FAIL,
	    group, "quits cleanly under vmseal", reply, NULL);
out:
	config_free(cfg);
	bt_fixture_remove(&f);
}

int cmd_selftest(const struct cli *cli)
{
	struct report rep = { .json = cli->json };
	struct utsname u;
	char head[256];

	uname(&u);
	snprintf(head, sizeof(head),
		 "vmseal %s selftest on Linux %s (%s), filter compiled by libseccomp %s, uid %u",
		 VMSEAL_VERSION, u.release, u.machine,
		 policy_precompiled_libseccomp, (unsigned)geteuid());
	if (rep.json)
		rep.rows = json_object_new_array();
	else
		printf("%s\n", head);
	filter_rows(&rep);
	ceiling_rows(&rep);
	log_rows(&rep);
	broker_rows(&rep);
	sibling_rows(&rep);
	jail_rows(&rep);
	if (cli->guest)
		guest_rows(&rep, cli->guest);
	if (cli->emulator)
		emulator_rows(&rep, cli->emulator);
	if (rep.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "about", json_object_new_string(head));
		json_object_object_add(o, "results", rep.rows);
		json_object_object_add(o, "passed", json_object_new_int((int)rep.n[ROW_PASS]));
		json_object_object_add(o, "failed", json_object_new_int((int)rep.n[ROW_FAIL]));
		json_object_object_add(o, "skipped", json_object_new_int((int)rep.n[ROW_SKIP]));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
	} else {
		printf("%u passed, %u failed, %u skipped\n", rep.n[ROW_PASS],
		       rep.n[ROW_FAIL], rep.n[ROW_SKIP]);
	}
	return rep.n[ROW_FAIL] ? 1 : 0;
}
