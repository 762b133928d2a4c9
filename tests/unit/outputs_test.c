/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The emulator's output files: which arguments name one, where they may
 * be, and how each argument is rewritten (launcher/outputs.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "conf/config.h"
#include "launcher/outputs.h"
#include "tests/lib/tap.h"

#define RUN "/t/run"
#define LOG "/t/log"

/* A config named g whose args line is args; NULL when it does not parse. */
static struct guest_config *config(const char *args, const char *extra)
{
	struct guest_config *cfg = NULL;
	struct vs_err err = { 0 };
	char *ini = xasprintf("[vmseal]\nversion = 1\nname = g\n[emulator]\n"
			      "args = %s\n%s",
			      args, extra ? extra : "");

	if (config_parse("g.ini", ini, strlen(ini), &cfg, &err) < 0)
		tap_diag("config: %s", err.msg);
	free(ini);
	return cfg;
}

/* outputs_find on args: its return, the outputs in *o, the message. */
static int find(const char *args, const char *extra, struct outputs *o,
		struct vs_err *err)
{
	struct guest_config *cfg = config(args, extra);
	int rc;

	memset(err, 0, sizeof(*err));
	if (!cfg)
		return -999;
	rc = outputs_find(cfg, o, err);
	config_free(cfg);
	return rc;
}

/* The rewritten argument i of args, "(kept)" or "(left out)". */
static char *rewritten(const char *args, size_t i)
{
	struct guest_config *cfg = config(args, NULL);
	struct vs_err err = { 0 };
	struct outputs o;
	int fd = 10, set = 5;
	char *r;
	bool skip;

	if (!cfg || outputs_find(cfg, &o, &err) < 0) {
		config_free(cfg);
		return xstrdup("(refused)");
	}
	outputs_assign(&o, &fd, &set);
	r = outputs_rewrite(&o, i, cfg->args[i], &skip);
	if (!r)
		r = xstrdup(skip ? "(left out)" : "(kept)");
	outputs_free(&o);
	config_free(cfg);
	return r;
}

static void is_rewrite(const char *args, size_t i, const char *want,
		       const char *what)
{
	char *got = rewritten(args, i);

	tap_is_str(got, want, "%s", what);
	free(got);
}

int main(void)
{
	struct outputs o;
	struct vs_err err;
	int rc;

	setenv("VMSEAL_RUN_DIR", RUN, 1);
	setenv("VMSEAL_LOG_DIR", LOG, 1);

	rc = find("-serial file:" RUN "/g/serial.log -D " LOG "/g/q.log "
		  "-chardev file,id=c,path=" LOG "/g/a,,b.log,append=on "
		  "--pidfile " RUN "/g/q.pid -monitor stdio",
		  NULL, &o, &err);
	tap_is_int(rc, 0, "four outputs beneath the runtime and log dirs");
	tap_is_int((long long)o.n, 4, "each one found, -monitor stdio is none");
	if (o.n == 4) {
		tap_is_str(o.v[0].path, RUN "/g/serial.log", "file: path");
		tap_is_int(o.v[1].kind, OUT_LOG, "-D");
		tap_is_str(o.v[2].path, LOG "/g/a,b.log", "path= with ,, unescaped");
		tap_ok(o.v[2].append, "append=on");
		tap_is_int(o.v[3].kind, OUT_PIDFILE, "--pidfile, two dashes");
	}
	outputs_free(&o);

	rc = find("-serial file:/tmp/x.log", NULL, &o, &err);
	tap_is_int(rc, -EBADR, "file: outside the roots refused");
	tap_has_str(err.msg, "beneath the guest's runtime directory " RUN "/g",
		    "the message names the runtime directory");
	rc = find("-serial file:" RUN "/g", NULL, &o, &err);
	tap_is_int(rc, -EBADR, "the runtime directory itself refused");
	rc = find("-serial file:" RUN "/g/../h/x", NULL, &o, &err);
	tap_is_int(rc, -EBADR, "a path climbing into another guest's refused");
	rc = find("-D q.log", NULL, &o, &err);
	tap_is_int(rc, -EBADR, "a relative path refused");
	rc = find("-serial file:" RUN "/g/a -monitor file:" RUN "/g/a", NULL,
		  &o, &err);
	tap_is_int(rc, -EBADR, "the same file twice refused");
	rc = find("-serial file:/srv/out/s.log", "output-dir = /srv/out\n", &o,
		  &err);
	tap_is_int(rc, 0, "beneath [emulator] output-dir");
	outputs_free(&o);
	rc = find("-chardev socket,id=m,path=" RUN "/g/m.sock -serial pty",
		  NULL, &o, &err);
	tap_ok(rc == 0 && o.n == 0, "a socket chardev and a pty: no outputs");
	outputs_free(&o);
	rc = find("-chardev backend=file,id=c,path=/etc/passwd", NULL, &o, &err);
	tap_is_int(rc, -EBADR, "backend=file spelled out: still checked");

	is_rewrite("-serial file:" RUN "/g/s", 1, "file:/dev/fdset/5",
		   "file:PATH -> file:/dev/fdset/N");
	is_rewrite("-chardev file,id=c,,x,path=" RUN "/g/a,,b,append=on", 1,
		   "file,id=c,,x,path=/dev/fdset/5,append=on",
		   "path= replaced, other items and their ,, kept");
	is_rewrite("-D " LOG "/g/q -serial file:" RUN "/g/s", 1, "(kept)",
		   "-D's path kept: the broker serves it");
	is_rewrite("-D " LOG "/g/q -serial file:" RUN "/g/s", 3,
		   "file:/dev/fdset/5", "-D takes no fd set");
	is_rewrite("-pidfile " RUN "/g/p -S", 0, "(left out)",
		   "-pidfile left out");
	is_rewrite("-pidfile " RUN "/g/p -S", 1, "(left out)",
		   "its value left out");
	is_rewrite("-pidfile " RUN "/g/p -S", 2, "(kept)", "-S kept");
	return tap_done();
}
