/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `vmseal run`: the steps of a launch, in order.  Everything before the
 * fork only reads, opens and prepares; any step that fails stops here
 * with its exit code and the emulator is never started.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "launcher/argv.h"
#include "launcher/confine.h"
#include "launcher/control.h"
#include "launcher/exec.h"
#include "launcher/exitcode.h"
#include "launcher/gate.h"
#include "launcher/identity.h"
#include "launcher/inplace.h"
#include "launcher/labels.h"
#include "launcher/log.h"
#include "launcher/notify.h"
#include "launcher/outputs.h"
#include "launcher/plan.h"
#include "launcher/record_use.h"
#include "launcher/run.h"
#include "launcher/rundir.h"
#include "launcher/supervise.h"
#include "launcher/wrap.h"
#include "sandbox/broker.h"
#include "sandbox/policy.h"
#include "sandbox/privs.h"

extern char **environ;

/* A daemon's last error, for the process waiting in the foreground. */
static char last_error[2200];

int run_fail(const struct vs_err *e, int code)
{
	vs_err_str(e, last_error, sizeof(last_error));
	vlog(LOG_ERR, "%s", last_error);
	return code;
}

void run_allowlist(const struct guest_config *cfg, struct allowlist *al)
{
	const char *files[3] = { cfg->kernel, NULL, NULL };

	if (cfg->kernel)
		files[1] = cfg->initrd;
	allowlist_build(al, cfg->binary, cfg->allow,
			cfg->kernel ? files : NULL);
}

char **run_argv(const struct plan *plan)
{
	char **argv = argv_build(plan);
	size_t n = argv_rewrite_io_uring(argv);

	if (n)
		vlog(LOG_NOTICE,
		     "notice: %zu aio=io_uring option%s rewritten to aio=threads: "
		     "the filter refuses io_uring, which could open files past it",
		     n, n == 1 ? "" : "s");
	return argv;
}

/*
 * The identities of every file passed (chain members and data files):
 * the broker refuses them whatever the path.
 */
static struct devino *chain_identities(const struct plan *p, size_t *n)
{
	struct devino *d = xcalloc((size_t)p->n_fds + 1, sizeof(*d));
	struct plan_fd *fds = xcalloc((size_t)p->n_fds + 1, sizeof(*fds));

	*n = plan_fds(p, fds);
	for (size_t k = 0; k < *n; k++) {
		d[k].dev = fds[k].st->st_dev;
		d[k].ino = fds[k].st->st_ino;
	}
	free(fds);
	return d;
}

static void pass_table(const struct plan *p, int *src, int *dst)
{
	struct plan_fd *fds = xcalloc((size_t)p->n_fds + 1, sizeof(*fds));
	size_t n = plan_fds(p, fds);

	for (size_t k = 0; k < n; k++) {
		src[k] = fds[k].src;
		dst[k] = fds[k].dst;
	}
	free(fds);
}

int run_privs(const struct guest_config *cfg, const char *name, bool record,
	      struct privs *p, struct identity *id)
{
	struct vs_err err = { 0 };
	bool warn_root;

	if (identity_resolve(cfg, name, record, p, id, &warn_root, &err) < 0)
		return run_fail(&err, id->pool_failed ? EXIT_SANDBOX : EXIT_CONFIG);
	if (warn_root)
		vlog(LOG_WARNING,
		     "warning: %s: the emulator runs as root (allow-root = yes): "
		     "it keeps root's access to every file it can reach without "
		     "opening",
		     cfg->path);
	return 0;
}

/* Everything a run holds, released in one place on every path. */
struct run {
	struct plan plan;
	char **argv;
	struct allowlist al;
	struct broker b;
	struct vs_filter *filter;
	struct rundir rd;
	int control_fd;
	int sigfd;
	int notify_fd;
	struct devino *deny;
	int *src, *dst;
	const char **out_paths;	/* the broker's output files (-D) */
	int *out_fds;
	size_t n_out;
	struct privs privs;
	struct identity id;
	const struct run_opts *opts;
	/* The options with --log and --pidfile made absolute (a daemon cds to /). */
	struct run_opts abs_opts;
	char *abs_log, *abs_pidfile;
	const char *name;
	int ready_fd;		/* daemon: to the waiting foreground process */
	int start_code;		/* daemon: a failed start's exit code */
	int output_fd;		/* daemon: the emulator's stdout and stderr */
	bool pidfile_written;
	struct labels labels;
	struct record_live live;	/* RUN/.chains/NAME while it runs */
	/* A wrapped command line (vmseal wrap), or NULL. */
	struct wrap *wrap;
	const char *binary;	/* the emulator that is executed */
	struct confine confine;	/* the jail and Landlock */
	struct gate *gate;	/* the monitor gate (run, QEMU), or NULL */
	int gate_peer;		/* QEMU's end of its monitor channel */
	pid_t emu_pid;		/* the emulator, once it runs */
};

static void run_release(struct run *r)
{
	/* First, while the emulator's images are still held open. */
	labels_release(&r->labels);
	/* The jail's init, and with it anything left in the jail. */
	confine_release(&r->confine);
	outputs_remove_pidfile(&r->plan.out);
	gate_close(r->gate);
	if (r->gate_peer >= 0)
		close(r->gate_peer);
	if (r->pidfile_written)
		unlink(r->opts->pidfile);
	if (r->output_fd >= 0)
		close(r->output_fd);
	if (r->notify_fd >= 0)
		close(r->notify_fd);
	if (r->sigfd >= 0)
		close(r->sigfd);
	if (r->control_fd >= 0)
		close(r->control_fd);
	record_live_release(&r->live);
	rundir_release(&r->rd);
	broker_fini(&r->b);
	allowlist_free(&r->al);
	policy_free(r->filter);
	strv_free_array(r->argv);
	plan_free(&r->plan);
	privs_free(&r->privs);
	free(r->abs_log);
	free(r->abs_pidfile);
	free(r->out_paths);
	free(r->out_fds);
	free(r->deny);
	free(r->src);
	free(r->dst);
}

/* The output files the broker serves by path (-D): their paths and fds. */
static void broker_outputs(struct run *r)
{
	const struct outputs *o = &r->plan.out;

	for (size_t i = 0; i < o->n; i++) {
		if (o->v[i].kind != OUT_LOG || o->v[i].fd < 0)
			continue;
		r->out_paths = xrealloc(r->out_paths,
					(r->n_out + 1) * sizeof(*r->out_paths));
		r->out_fds = xrealloc(r->out_fds,
				      (r->n_out + 1) * sizeof(*r->out_fds));
		r->out_paths[r->n_out] = o->v[i].path;
		r->out_fds[r->n_out++] = o->v[i].fd;
	}
	r->b.out_paths = r->out_paths;
	r->b.out_fds = r->out_fds;
	r->b.n_out = r->n_out;
}

/*
 * vmseal's own sockets in the runtime directory: the emulator may unlink
 * its sockets there, never these (a monitor of its own in the gate's
 * place would talk to vmseal's clients).
 */
static const char *const run_kept[] = { RUNDIR_CONTROL, GATE_SOCKET, NULL };

/*
 * What a launch needs once its argv and plan exist: the descriptor table,
 * the filter, the runtime directory (optional for a wrapper, which may
 * not be root), the broker, the control socket and the pid files.
 */
static int prepare_common(struct run *r, const struct guest_config *cfg,
			  bool rundir_optional)
{
	struct vs_err err = { 0 };
	struct rundir_owner owner;
	size_t n_deny;
	int rc;

	owner = (struct rundir_owner){
		.uid = r->privs.uid,
		.gid = r->privs.gid,
		/* As root: one uid per running guest unless both share. */
		.exclusive = r->privs.change,
		.share = cfg->share_user,
	};
	rc = rundir_take(r->opts->run_dir, r->name, &owner, &r->rd, &err);
	/*
	 * Wrapped, QEMU's caller learns of its exit before vmseal's helper
	 * has let go of the directory and the uid: a guest started again at
	 * once (virsh destroy; virsh start) waits for that, up to 3 s.
	 */
	for (int i = 0; r->wrap && rc < 0 && i < 30 &&
			(err.code == EBUSY || err.code == EUSERS); i++) {
		usleep(100 * 1000);
		vs_err_clear(&err);
		rc = rundir_take(r->opts->run_dir, r->name, &owner, &r->rd, &err);
	}
	if (rc < 0) {
		if (err.code == EBUSY || err.code == EUSERS)
			return run_fail(&err, EXIT_UNAVAILABLE);
		if (!rundir_optional)
			return run_fail(&err, EXIT_SANDBOX);
		vlog(LOG_NOTICE, "notice: no runtime directory (%s): the guest "
				 "has no control socket (lock, status)",
		     err.msg);
	}
	/* Under the run lock: a second start never truncates a first's. */
	if (outputs_open(&r->plan.out, r->rd.fd, &err) < 0)
		return run_fail(&err, EXIT_SANDBOX);
	r->src = xcalloc((size_t)r->plan.n_fds + 1, sizeof(int));
	r->dst = xcalloc((size_t)r->plan.n_fds + 1, sizeof(int));
	pass_table(&r->plan, r->src, r->dst);
	r->deny = chain_identities(&r->plan, &n_deny);
	if (cfg->policy == VS_POLICY_BROKER) {
		run_allowlist(cfg, &r->al);
		for (size_t i = 0; r->wrap && i < r->wrap->files.n; i++)
			allowlist_add(&r->al, ALLOW_FILE, r->wrap->files.v[i],
				      "command line");
		if (broker_init(&r->b, -1, &r->al, r->deny, n_deny, &err) < 0 ||
		    (r->rd.fd >= 0 &&
		     broker_set_run_dir(&r->b, r->rd.path, run_kept, &err) < 0))
			return run_fail(&err, EXIT_SANDBOX);
		/* It serves as root what the emulator's user could read. */
		r->b.emu_uid = r->privs.uid;
		r->b.emu_gid = r->privs.gid;
		r->b.emu_groups = r->privs.groups;
		r->b.n_emu_groups = r->privs.n_groups;
		/* -D PATH: QEMU fopen()s it; the broker hands it ours. */
		broker_outputs(r);
		if (r->wrap) {
			r->b.sockets = r->wrap->sockets.v;
			r->b.n_sockets = r->wrap->sockets.n;
		}
	}
	if (r->rd.fd >= 0) {
		r->control_fd = control_listen(r->rd.fd, &err);
		if (r->control_fd < 0) {
			vs_err_prefix(&err, "%s", r->rd.path);
			return run_fail(&err, EXIT_SANDBOX);
		}
		if (rundir_write_pid(&r->rd, RUNDIR_PID, getpid(), &err) < 0)
			return run_fail(&err, EXIT_SANDBOX);
	}
	confine_plan(&r->confine, cfg, r->argv, r->binary,
		     cfg->policy == VS_POLICY_BROKER ? &r->al : NULL,
		     r->rd.fd >= 0 ? r->rd.path : NULL, r->wrap != NULL,
		     r->wrap ? r->wrap->sockets.v : NULL);
	if (confine_check_images(&r->confine, &r->plan, &err) < 0)
		return run_fail(&err, EXIT_IMAGE);
	if (cfg->network == VS_NETWORK_NONE && !r->confine.jailed) {
		vs_errf(&err, EPERM, "network = none needs the jail (%s)",
			r->confine.no_jail);
		return run_fail(&err, EXIT_SANDBOX);
	}
	/* Read-only opens skip the broker only where jail and Landlock confine them. */
	if (policy_build(&(struct policy_opts){
				 .policy = cfg->policy,
				 .kernel_ro_opens = confine_kernel_ro_opens(
					 &r->confine, cfg->policy),
			 },
			 &r->filter, &err) < 0)
		return run_fail(&err, EXIT_SANDBOX);
	if (r->opts->pidfile) {
		if (pidfile_write(r->opts->pidfile, getpid(), &err) < 0)
			return run_fail(&err, EXIT_SANDBOX);
		r->pidfile_written = true;
	}
	return 0;
}

/*
 * A [monitor] group the emulator's user is in would hand the emulator its
 * own monitor, through which vmseal opens files for it: refused.  Without
 * a switch of users the emulator is vmseal's own uid and owns the socket
 * anyway.
 */
static int monitor_group_check(const struct run *r,
			       const struct guest_config *cfg,
			       struct vs_err *err)
{
	bool in = r->privs.gid == cfg->monitor_gid;

	for (size_t i = 0; i < r->privs.n_groups; i++)
		in |= r->privs.groups[i] == cfg->monitor_gid;
	if (r->privs.change && in)
		return vs_errf(err, EINVAL,
			       "%s: [monitor] group %s: the emulator's user %s "
			       "is in it and would reach its own monitor",
			       cfg->path, cfg->monitor_group,
			       r->privs.user_name);
	return 0;
}

/*
 * The monitor gate for a QEMU guest in the fdset dialect: its channel is
 * the descriptor after the plan's, its socket RUN/NAME/monitor.sock.
 */
static int prepare_gate(struct run *r, const struct guest_config *cfg)
{
	struct vs_err err = { 0 };
	struct gate_setup gs = {
		.cfg = cfg,
		.plan = &r->plan,
		.name = r->name,
		.run_dir_fd = r->rd.fd,
		.run_dir = r->rd.path,
		.group = (gid_t)-1,
		.qemu_fd = (r->plan.first_fd ? r->plan.first_fd : PLAN_FIRST_FD) +
			   r->plan.n_fds,
		.run_base = r->opts->run_dir,
		.live_fd = r->live.fd,
		.hooks = {
			.changed = gate_record_pin,
			.changed_arg = (void *)cfg,
			/* Under libvirt (wrap mode) its security driver labels. */
			.label_use = labels_gate_use,
			.label_drop = labels_gate_drop,
			.label_arg = &r->labels,
		},
		.listen_fd = -1,
	};

	if (r->rd.fd < 0 || !config_emulator_is_qemu(cfg) ||
	    cfg->dialect != VS_DIALECT_FDSET)
		return 0;
	if (cfg->monitor_group) {
		if (monitor_group_check(r, cfg, &err) < 0)
			return run_fail(&err, EXIT_CONFIG);
		if (rundir_open_to_group(&r->rd, cfg->monitor_gid, &err) < 0)
			return run_fail(&err, EXIT_SANDBOX);
		gs.group = cfg->monitor_gid;
	}
	if (gate_open(&gs, &r->gate, &r->gate_peer, &err) < 0)
		return run_fail(&err, EXIT_SANDBOX);
	gate_argv(r->gate, &r->argv);
	r->src[r->plan.n_fds] = r->gate_peer;
	r->dst[r->plan.n_fds] = gs.qemu_fd;
	return 0;
}

/* Steps up to the fork for a guest config; the exit code, 0 when ready. */
static int prepare(struct run *r, const struct guest_config *cfg)
{
	struct vs_err err = { 0 };
	int rc;

	rc = run_privs(cfg, r->name, true, &r->privs, &r->id);
	if (rc)
		return rc;
	rc = plan_build(cfg, true, &r->plan, &err);
	if (rc < 0)
		return run_fail(&err, rc == -PLAN_EOUTPUT ? EXIT_CONFIG : EXIT_IMAGE);
	r->argv = run_argv(&r->plan);
	rc = prepare_common(r, cfg, false);
	if (rc)
		return rc;
	/* Under the run lock, so two launches never race on the record. */
	r->live.base = r->opts->run_dir;
	rc = record_use(&r->plan, &r->live);
	if (rc)
		return rc;
	rc = prepare_gate(r, cfg);
	if (rc)
		return rc;
	/* Labelled last: any failure from here on restores them in release. */
	return labels_prepare(&r->labels, cfg, &r->plan, r->opts->run_dir);
}

/*
 * A wrapped command line whose caller hands over its QMP monitor as a
 * listening socket (libvirt): the gate keeps that socket, accepts the
 * caller itself, and QEMU's -chardev (rewritten by wrap_build) gets the
 * private channel at the same number.  No chain record: the caller keeps
 * its own (libvirt's domain XML).
 */
static int prepare_wrapped_gate(struct run *r, const struct guest_config *cfg)
{
	struct vs_err err = { 0 };
	struct gate_setup gs = {
		.cfg = cfg,
		.plan = &r->plan,
		.name = r->name,
		.run_dir_fd = r->rd.fd,
		.run_dir = r->rd.fd >= 0 ? r->rd.path : NULL,
		.group = (gid_t)-1,
		.qemu_fd = r->wrap->monitor_fd,
		.run_base = r->opts->run_dir,
		.live_fd = -1,
		.listen_fd = r->wrap->monitor_fd,
		.argv = r->argv,
	};

	if (r->wrap->monitor_fd < 0 || !config_emulator_is_qemu(cfg))
		return 0;
	if (gate_open(&gs, &r->gate, &r->gate_peer, &err) < 0)
		return run_fail(&err, EXIT_SANDBOX);
	/* The gate holds its own copy; the number is the channel's now. */
	close(r->wrap->monitor_fd);
	r->src[r->plan.n_fds] = r->gate_peer;
	r->dst[r->plan.n_fds] = gs.qemu_fd;
	return 0;
}

/*
 * The same for a wrapped command line: its disks are already open, its
 * argv rewritten; nothing is labelled (under libvirt, libvirt does that).
 */
static int prepare_wrapped(struct run *r, const struct guest_config *cfg)
{
	int rc = run_privs(cfg, r->name, true, &r->privs, &r->id);
	size_t n;

	if (rc)
		return rc;
	/* The run owns the plan and argv from here. */
	r->plan = r->wrap->plan;
	memset(&r->wrap->plan, 0, sizeof(r->wrap->plan));
	r->argv = steal_ptr(&r->wrap->argv);
	n = argv_rewrite_io_uring(r->argv);
	if (n)
		vlog(LOG_NOTICE, "notice: %zu aio=io_uring option%s rewritten to "
				 "aio=threads: the filter refuses io_uring",
		     n, n == 1 ? "" : "s");
	rc = prepare_common(r, cfg, true);
	if (rc)
		return rc;
	return prepare_wrapped_gate(r, cfg);
}

/* A daemon's report to the foreground process: its exit code and why. */
struct ready_msg {
	int code;
	char msg[sizeof(last_error)];
};

static void report_ready(struct run *r, int code)
{
	struct ready_msg m = { .code = code };

	if (r->ready_fd < 0)
		return;
	if (code)
		snprintf(m.msg, sizeof(m.msg), "%s", last_error);
	(void)write_full(r->ready_fd, &m, sizeof(m));
	close(r->ready_fd);
	r->ready_fd = -1;
}

static void on_ready(void *arg)
{
	struct run *r = arg;
	char state[256];

	snprintf(state, sizeof(state),
		 "READY=1\nMAINPID=%d\nSTATUS=guest %s runs",
		 (int)(r->wrap ? r->emu_pid : getpid()), r->name);
	notify_manager(state);
	report_ready(r, 0);
	if (r->opts->daemon || r->opts->verbose)
		vlog(LOG_INFO, "guest %s is up", r->name);
}

/*
 * Detaches: the foreground process waits for the daemon's word on a pipe
 * and exits with it, so an init script learns whether the guest started.
 * Returns in the daemon (0, *ready_fd set) only.
 */
static int daemonize(const struct run_opts *o, const char *name,
		     bool wrapped, int *ready_fd)
{
	_cleanup_free_ char *fallback = NULL;
	const char *log = o->log;
	struct ready_msg m;
	int p[2], null;
	pid_t pid;
	ssize_t n;

	/*
	 * No syslog (a container): `run` logs to a file and says so; a
	 * wrapped -daemonize (libvirt's) only says so, on the stderr its
	 * caller reads (a domain log), rather than leave a file per start.
	 */
	if (!log && wrapped && !log_syslog_available())
		fprintf(stderr, "vmseal: notice: no syslog socket (%s): vmseal's "
				"messages after the start are not kept\n",
			LOG_SYSLOG_SOCKET);
	else if (!log && !log_syslog_available()) {
		log = fallback = log_fallback_path(name);
		if (!log) {
			fprintf(stderr, "vmseal: no syslog socket (%s) and no log "
					"directory: %s; use --log\n",
				LOG_SYSLOG_SOCKET, strerror(errno));
			return EXIT_USAGE;
		}
		fprintf(stderr, "vmseal: notice: no syslog socket (%s): "
				"logging to %s\n",
			LOG_SYSLOG_SOCKET, log);
	}

	if (pipe2(p, O_CLOEXEC) < 0) {
		perror("vmseal: pipe");
		return EXIT_SANDBOX;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("vmseal: fork");
		return EXIT_SANDBOX;
	}
	if (pid > 0) {
		close(p[1]);
		waitpid(pid, NULL, 0);
		n = read(p[0], &m, sizeof(m));
		if (n != (ssize_t)sizeof(m)) {
			fprintf(stderr, "vmseal: the guest's supervisor died while "
					"starting; see the log\n");
			return EXIT_SANDBOX;
		}
		if (m.code)
			fprintf(stderr, "vmseal: %s\n", m.msg);
		exit(m.code);
	}
	close(p[0]);
	if (setsid() < 0 || (pid = fork()) < 0)
		_exit(EXIT_SANDBOX);
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0)
		_exit(EXIT_SANDBOX);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		_exit(EXIT_SANDBOX);
	if (log && log_use_file(log) < 0) {
		struct ready_msg e = { .code = EXIT_USAGE };

		snprintf(e.msg, sizeof(e.msg), "cannot open the log %s: %s",
			 log, strerror(errno));
		(void)write_full(p[1], &e, sizeof(e));
		_exit(EXIT_USAGE);
	}
	if (fallback)
		vlog(LOG_NOTICE, "notice: no syslog socket (%s): logging here",
		     LOG_SYSLOG_SOCKET);
	if (!log)
		log_use_syslog();
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	dup2(null, STDERR_FILENO);
	close(null);
	*ready_fd = p[1];
	return 0;
}

/*
 * The emulator's stdout and stderr, a pipe we log from: a daemon's own
 * point to it (they were /dev/null); otherwise ours are kept in saved[]
 * and put back once the emulator is started (unstash_stdio()).
 */
static int output_pipe(int *read_end, bool daemon, int saved[2])
{
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	if (!daemon) {
		saved[0] = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
		saved[1] = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	}
	/* Only our end is non-blocking: the emulator writes as usual. */
	fcntl(p[1], F_SETFL, 0);
	dup2(p[1], STDOUT_FILENO);
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	*read_end = p[0];
	return 0;
}

static void unstash_stdio(int saved[2])
{
	for (int i = 0; i < 2; i++) {
		if (saved[i] < 0)
			continue;
		dup2(saved[i], i == 0 ? STDOUT_FILENO : STDERR_FILENO);
		close(saved[i]);
		saved[i] = -1;
	}
}

/* path made absolute against the current directory; NULL stays NULL. */
static char *absolute(const char *path)
{
	_cleanup_free_ char *cwd = NULL;

	if (!path || path[0] == '/')
		return path ? xstrdup(path) : NULL;
	cwd = getcwd(NULL, 0);
	return cwd ? xasprintf("%s/%s", cwd, path) : xstrdup(path);
}

/* Detaches if asked, prepares (config or wrapped), launches, supervises. */
static int launch(struct run *r, const struct guest_config *cfg)
{
	const struct run_opts *o;
	_cleanup_free_ char *qmp = NULL;
	struct vs_err err = { 0 };
	struct launch_spec spec;
	struct supervisor sup;
	enum launch_step step;
	int saved[2] = { -1, -1 };
	sigset_t block, old;
	pid_t pid;
	int rc;

	r->abs_opts = *r->opts;
	r->abs_opts.log = r->abs_log = absolute(r->opts->log);
	r->abs_opts.pidfile = r->abs_pidfile = absolute(r->opts->pidfile);
	r->opts = o = &r->abs_opts;
	if (o->daemon) {
		rc = daemonize(o, r->name, r->wrap != NULL, &r->ready_fd);
		if (rc)
			return rc;
	}
	/* The broker holds descriptors and reads the emulator's memory. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/*
	 * Blocked before anything is labelled: a SIGTERM while preparing
	 * waits in the signalfd and reaches the emulator, and the labels
	 * are restored on the way out instead of staying behind.
	 */
	supervise_sigset(&block);
	sigprocmask(SIG_BLOCK, &block, &old);
	rc = r->wrap ? prepare_wrapped(r, cfg) : prepare(r, cfg);
	if (rc)
		goto out;
	/* Relayed line by line: to the log, or to the journal with priorities. */
	if ((o->daemon || log_stderr_is_journal()) &&
	    output_pipe(&r->output_fd, o->daemon, saved) < 0) {
		vs_errnof(&err, errno, "pipe for the emulator's output");
		rc = run_fail(&err, EXIT_SANDBOX);
		goto out;
	}
	r->sigfd = signalfd(-1, &block, SFD_CLOEXEC);
	if (r->sigfd < 0) {
		vs_errnof(&err, errno, "signalfd");
		rc = run_fail(&err, EXIT_SANDBOX);
		goto out;
	}
	/* From the thread that forks the emulator: the jail dies with it. */
	if (confine_start(&r->confine, r->name, &err) < 0) {
		rc = run_fail(&err, EXIT_SANDBOX);
		goto out;
	}
	if (o->verbose)
		confine_log(&r->confine);
	spec = (struct launch_spec){
		.binary = r->binary,
		.argv = r->argv,
		.envp = environ,
		.src_fds = r->src,
		.dst_fds = r->dst,
		.n_fds = (size_t)r->plan.n_fds + (r->gate ? 1 : 0),
		.policy = cfg->policy,
		.filter = r->filter,
		.privs = &r->privs,
		.keep_fds = r->wrap ? r->wrap->keep : NULL,
		.n_keep = r->wrap ? r->wrap->n_keep : 0,
		.exec_context = r->labels.exec,
		.jail = r->confine.jailed ? &r->confine.jail : NULL,
		.landlock = r->confine.landlock_abi > 0 ? &r->confine.ll : NULL,
	};
	/* Wrapped, the emulator keeps our pid and we go on in a helper. */
	rc = r->wrap ? launch_in_place(&spec, &old, &pid, &r->notify_fd, &step,
				       &err) :
		       launch_start(&spec, &old, &pid, &r->notify_fd, &step, &err);
	unstash_stdio(saved);
	/* The emulator holds its own copies now (or nothing was started). */
	plan_close_fds(&r->plan);
	if (r->gate_peer >= 0) {
		close(r->gate_peer);
		r->gate_peer = -1;
	}
	if (rc < 0) {
		rc = run_fail(&err, step == LAUNCH_EXEC ? EXIT_NOEXEC :
							  EXIT_SANDBOX);
		goto out;
	}
	log_set_emulator_pid(pid);
	if (outputs_write_pid(&r->plan.out, pid, &err) < 0)
		run_fail(&err, 0); /* as emulator.pid: for others to read */
	r->emu_pid = pid;
	/*
	 * The caller's descriptors are QEMU's alone: a save image held here
	 * would outlive its unlink by libvirt for the guest's whole life.
	 */
	for (size_t i = 0; r->wrap && i < r->wrap->n_keep; i++)
		close(r->wrap->keep[i]);
	/* The broker's /proc/self/fd is the emulator's until reopened. */
	if (r->wrap && cfg->policy == VS_POLICY_BROKER &&
	    broker_reopen_self(&r->b, &err) < 0) {
		kill(pid, SIGKILL);
		rc = run_fail(&err, EXIT_SANDBOX);
		goto out;
	}
	/* The control socket's process is the helper now. */
	if (r->wrap && r->rd.fd >= 0 &&
	    rundir_write_pid(&r->rd, RUNDIR_PID, getpid(), &err) < 0)
		run_fail(&err, 0);
	qmp = supervise_qmp_path(r->argv);
	sup = (struct supervisor){
		.pid = pid,
		.emu_is_parent = r->wrap != NULL,
		.policy = vs_policy_name(cfg->policy),
		.sigfd = r->sigfd,
		.control_fd = r->control_fd,
		.lock_after = cfg->lock_after,
		.verbose = o->verbose,
		.daemon = o->daemon,
		.output_fd = r->output_fd,
		/* With the gate, up is when QEMU greets it. */
		.ready_socket = r->gate ? NULL : qmp,
		.on_ready = on_ready,
		.ready_arg = r,
		.gate = r->gate,
	};
	if (cfg->policy == VS_POLICY_BROKER) {
		if (r->notify_fd < 0) {
			/* Fail closed: never leave an emulator whose opens hang. */
			kill(pid, SIGKILL);
			sup.on_ready = NULL;
			supervise(&sup);
			vs_errf(&err, EPROTO, "the emulator started without a broker");
			rc = run_fail(&err, EXIT_SANDBOX);
			goto out;
		}
		broker_set_listener(&r->b, r->notify_fd);
		sup.broker = &r->b;
	}
	if (r->rd.fd >= 0 &&
	    rundir_write_pid(&r->rd, RUNDIR_EMU_PID, pid, &err) < 0)
		run_fail(&err, 0); /* a status helper, not a safety layer */
	rc = supervise(&sup);
	/* A helper that stops on its own leaves no emulator without a broker. */
	if (r->wrap && getppid() == pid)
		kill(pid, SIGKILL);
	notify_manager("STOPPING=1");
	if (o->daemon || o->verbose)
		vlog(LOG_INFO, "guest %s stopped: status %d", r->name, rc);
	/* A guest that ended before it was ready is a failed start. */
	if (r->ready_fd >= 0) {
		snprintf(last_error, sizeof(last_error),
			 "guest %s ended while starting (status %d); see the log",
			 r->name, rc);
		r->start_code = rc ? rc : EXIT_SANDBOX;
	}
out:
	unstash_stdio(saved);
	if (rc && !r->start_code)
		r->start_code = rc;
	return rc;
}

/*
 * Releases everything, then tells a foreground process still waiting how
 * the start ended: only once the runtime directory is let go, so that a
 * start tried again at once does not find the failed guest "running".
 */
static int run_finish(struct run *r, int rc)
{
	run_release(r);
	if (r->ready_fd >= 0)
		report_ready(r, r->start_code ? r->start_code : EXIT_SANDBOX);
	return rc;
}

#define RUN_INIT(o, n, bin)                                                  \
	{                                                                    \
		.b = { .proc_fd = -1, .run_fd = -1, .notify_fd = -1 },       \
		.rd = { .fd = -1, .id_fd = -1 },                            \
		.control_fd = -1,                                            \
		.sigfd = -1, .notify_fd = -1, .opts = (o), .name = (n),      \
		.ready_fd = -1, .output_fd = -1, .labels = LABELS_INIT,      \
		.live = RECORD_LIVE_INIT,                                     \
		.binary = (bin), .confine = CONFINE_INIT,                    \
		.gate_peer = -1,                                             \
	}

int run_guest(const struct guest_config *cfg, const struct run_opts *o)
{
	struct run r = RUN_INIT(o, cfg->name, cfg->binary);
	return run_finish(&r, launch(&r, cfg));
}

int run_wrapped(const struct guest_config *cfg, struct wrap *w,
		const struct run_opts *o)
{
	struct run r = RUN_INIT(o, w->name, w->argv[0]);

	r.wrap = w;
	return run_finish(&r, launch(&r, cfg));
}
