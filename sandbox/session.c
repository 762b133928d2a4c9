/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fd.h"
#include "sandbox/policy.h"
#include "sandbox/session.h"

struct helper_arg {
	const struct session_spec *s;
	pid_t child;
	atomic_bool stop;
};

static void *helper_main(void *p)
{
	struct helper_arg *h = p;

	h->s->helper(h->s->arg, h->child, &h->stop);
	return NULL;
}

static void __attribute__((noreturn))
child_main(const struct session_spec *s, int sock, int out)
{
	struct vs_err err = { 0 };
	const struct policy_opts o = { .policy = VS_POLICY_BROKER };
	struct vs_filter *f;
	int nfd;

	/* A helper may signal before the scenario installed its handler. */
	signal(SIGUSR1, SIG_IGN);
	if (policy_build(&o, &f, &err) < 0 || policy_load(f, &nfd, &err) < 0)
		_exit(100);
	if (fd_send(sock, nfd) < 0)
		_exit(101);
	close(nfd);
	close(sock);
	s->child(s->arg, out);
	_exit(0);
}

static int serve(const struct session_spec *s, int nfd, struct broker *b,
		 struct vs_err *err)
{
	int rc = broker_init(b, nfd, s->allow, s->deny, s->n_deny, err);

	if (rc == 0 && s->run_dir)
		rc = broker_set_run_dir(b, s->run_dir, s->run_keep, err);
	return rc;
}

/* The subprocess that serves when the broker must be killable. */
static pid_t broker_process(const struct session_spec *s, int nfd)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct vs_err err = { 0 };
		struct broker b;
		struct broker_event ev;
		struct pollfd p = { .fd = nfd, .events = POLLIN };

		if (serve(s, nfd, &b, &err) < 0)
			_exit(1);
		while (poll(&p, 1, -1) >= 0 && !(p.revents & (POLLHUP | POLLERR)))
			if (broker_handle(&b, &ev) < 0)
				break;
		_exit(0);
	}
	return pid;
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int session_run(const struct session_spec *s, struct session_result *r,
		struct vs_err *err)
{
	struct broker b = { .proc_fd = -1, .run_fd = -1, .notify_fd = -1 };
	struct helper_arg h = { .s = s };
	pthread_t thread;
	bool have_thread = false, serving = false, reaped = false;
	int sv[2], pipefd[2], nfd = -1, rc = 0;
	pid_t pid, bpid = -1;
	size_t got = 0;
	struct timespec t0;

	atomic_init(&h.stop, false);
	memset(r, 0, sizeof(*r));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return vs_errnof(err, errno, "socketpair");
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		close(sv[0]);
		close(sv[1]);
		return vs_errnof(err, errno, "pipe");
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		rc = vs_errnof(err, errno, "fork");
		close(sv[1]);
		close(pipefd[1]);
		goto out;
	}
	if (pid == 0) {
		close(sv[0]);
		close(pipefd[0]);
		child_main(s, sv[1], pipefd[1]);
	}
	close(sv[1]);
	close(pipefd[1]);
	rc = fd_recv(sv[0], &nfd);
	if (rc < 0) {
		vs_errnof(err, -rc, "the child sent no listener");
		kill(pid, SIGKILL);
		goto out;
	}
	if (s->killable_broker) {
		bpid = broker_process(s, nfd);
		close(nfd);
		nfd = -1;
	} else {
		rc = serve(s, nfd, &b, err);
		if (rc < 0) {
			kill(pid, SIGKILL);
			goto out;
		}
		serving = true;
	}
	if (s->helper) {
		h.child = pid;
		have_thread = pthread_create(&thread, NULL, helper_main, &h) == 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p[2] = { { pipefd[0], POLLIN, 0 },
				       { serving ? nfd : -1, POLLIN, 0 } };
		long left = (long)s->timeout_s * 1000 - elapsed_ms(&t0);

		if (left <= 0) {
			r->timed_out = true;
			kill(pid, SIGKILL);
			break;
		}
		if (poll(p, 2, (int)(left > 1000 ? 1000 : left)) < 0 &&
		    errno != EINTR)
			break;
		if (p[1].revents & POLLIN) {
			struct broker_event ev;

			broker_handle(&b, &ev);
		}
		if (p[0].revents & (POLLIN | POLLHUP)) {
			ssize_t n = read(pipefd[0], r->out + got,
					 sizeof(r->out) - 1 - got);

			if (n <= 0)
				break;
			got += (size_t)n;
			r->out[got] = '\0';
			if (bpid > 0 && strstr(r->out, SESSION_KILL_BROKER)) {
				kill(bpid, SIGKILL);
				waitpid(bpid, NULL, 0);
				bpid = -1;
			}
		}
	}
	atomic_store(&h.stop, true);
	if (have_thread)
		pthread_join(thread, NULL);
	while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
		;
	reaped = true;
	r->served = b.served;
	r->denied = b.denied;
out:
	if (!reaped && pid > 0)
		waitpid(pid, &r->status, 0);
	if (bpid > 0) {
		kill(bpid, SIGKILL);
		waitpid(bpid, NULL, 0);
	}
	if (serving)
		broker_fini(&b);
	if (nfd >= 0)
		close(nfd);
	close(sv[0]);
	close(pipefd[0]);
	return rc;
}
