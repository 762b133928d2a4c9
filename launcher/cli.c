/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "common/cleanup.h"
#include "launcher/cli.h"

/* What follows a command: nothing, or one FILE / NAME (optional or not). */
enum positional { POS_NONE, POS_ONE, POS_OPTIONAL, POS_REST,
		  POS_GATE /* NAME ARGS..., options anywhere */ };

struct command {
	const char *name;
	enum cli_command cmd;
	const char *shortopts;		/* getopt, after the leading '+' */
	const struct option *longopts;
	enum positional pos;
	const char *usage;
};

enum { OPT_JSON = 256, OPT_BPF, OPT_PFC, OPT_POLICY, OPT_EMULATOR, OPT_GUEST,
       OPT_FORMAT, OPT_ROOT, OPT_MAX_DEPTH, OPT_BACKING_FORMAT, OPT_DATA_FILE,
       OPT_BLOCK_DEVICE, OPT_DAEMON, OPT_PIDFILE, OPT_LOG, OPT_TIMEOUT,
       OPT_CONFIG, OPT_DRY_RUN, OPT_ACCEPT, OPT_BASE, OPT_PIVOT, OPT_IMAGE,
       OPT_READONLY, OPT_DEVICE, OPT_EJECT };

static const struct option help_only[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct option run_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "daemon", no_argument, NULL, OPT_DAEMON },
	{ "pidfile", required_argument, NULL, OPT_PIDFILE },
	{ "log", required_argument, NULL, OPT_LOG },
	{ NULL, 0, NULL, 0 },
};

static const struct option wrap_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ NULL, 0, NULL, 0 },
};

static const struct option stop_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ NULL, 0, NULL, 0 },
};

static const struct option filter_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "bpf", no_argument, NULL, OPT_BPF },
	{ "pfc", no_argument, NULL, OPT_PFC },
	{ "policy", required_argument, NULL, OPT_POLICY },
	{ NULL, 0, NULL, 0 },
};

static const struct option selftest_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "emulator", required_argument, NULL, OPT_EMULATOR },
	{ "guest", required_argument, NULL, OPT_GUEST },
	{ NULL, 0, NULL, 0 },
};

static const struct option chain_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "max-depth", required_argument, NULL, OPT_MAX_DEPTH },
	{ "backing-format", required_argument, NULL, OPT_BACKING_FORMAT },
	{ "data-file", no_argument, NULL, OPT_DATA_FILE },
	{ "block-device", no_argument, NULL, OPT_BLOCK_DEVICE },
	{ "accept", no_argument, NULL, OPT_ACCEPT },
	{ NULL, 0, NULL, 0 },
};

static const struct option gate_json_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ NULL, 0, NULL, 0 },
};

static const struct option commit_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "base", required_argument, NULL, OPT_BASE },
	{ "pivot", no_argument, NULL, OPT_PIVOT },
	{ NULL, 0, NULL, 0 },
};

static const struct option stream_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "base", required_argument, NULL, OPT_BASE },
	{ NULL, 0, NULL, 0 },
};

static const struct option copy_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "pivot", no_argument, NULL, OPT_PIVOT },
	{ NULL, 0, NULL, 0 },
};

static const struct option attach_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "image", required_argument, NULL, OPT_IMAGE },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "readonly", no_argument, NULL, OPT_READONLY },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ NULL, 0, NULL, 0 },
};

static const struct option media_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "eject", no_argument, NULL, OPT_EJECT },
	{ NULL, 0, NULL, 0 },
};

#define GATE_EXIT_HELP                                                       \
	"\n"                                                                 \
	"Exit 0 on success, 1 when QEMU or the gate answered an error, 64 on\n" \
	"a usage error, 69 when NAME is not running.\n"                      \
	"\n"                                                                 \
	"  -h, --help     show this help\n"

static const struct command commands[] = {
	{ "qmp", CMD_QMP, "h", help_only, POS_GATE,
	  "Usage: vmseal qmp NAME JSON\n"
	  "\n"
	  "Send one QMP command (a JSON object) to the running guest NAME\n"
	  "through its monitor gate, RUN/NAME/monitor.sock, and print QEMU's\n"
	  "reply line on stdout.  Commands naming files are rewritten by the\n"
	  "gate (or refused with a \"vmseal: \" error) as for any client.\n"
	  GATE_EXIT_HELP },
	{ "snapshot", CMD_SNAPSHOT, "h", gate_json_opts, POS_GATE,
	  "Usage: vmseal snapshot [--json] NAME DISK FILE\n"
	  "\n"
	  "External snapshot of a running guest's DISK: vmseal creates FILE (a\n"
	  "qcow2 overlay naming the current active layer), QEMU switches the\n"
	  "disk to it (blockdev-snapshot).  FILE must lie beneath the guest's\n"
	  "roots.\n"
	  "  --json         print the result as JSON\n"
	  GATE_EXIT_HELP },
	{ "commit", CMD_COMMIT, "h", commit_opts, POS_GATE,
	  "Usage: vmseal commit [--json] [--base FILE] [--pivot] NAME DISK\n"
	  "\n"
	  "Commit DISK's active layer (and every layer above FILE) into its\n"
	  "backing image, or into FILE.  With --pivot the base becomes the\n"
	  "active layer and the committed layers leave the chain; without, the\n"
	  "data is copied and the chain stays.  A progress bar on a terminal.\n"
	  "\n"
	  "  --base FILE    commit down to FILE (a member of the chain)\n"
	  "  --pivot        make the base the active layer\n"
	  "  --json         print the result as JSON\n"
	  GATE_EXIT_HELP },
	{ "stream", CMD_STREAM, "h", stream_opts, POS_GATE,
	  "Usage: vmseal stream [--json] [--base FILE] NAME DISK\n"
	  "\n"
	  "Pull the data of DISK's backing members (those above FILE, or all)\n"
	  "into its active layer, then drop the emptied members from the\n"
	  "chain; the active layer's header names FILE (or no backing).\n"
	  "\n"
	  "  --base FILE    keep FILE and what lies below it\n"
	  "  --json         print the result as JSON\n"
	  GATE_EXIT_HELP },
	{ "copy", CMD_COPY, "h", copy_opts, POS_GATE,
	  "Usage: vmseal copy [--json] [--pivot] NAME DISK FILE\n"
	  "\n"
	  "Copy DISK (its whole chain) into a new standalone qcow2 FILE that\n"
	  "vmseal creates beneath the guest's roots; with --pivot the guest\n"
	  "goes on with FILE and the old chain leaves it.\n"
	  "\n"
	  "  --pivot        switch the disk to FILE when the copy is done\n"
	  "  --json         print the result as JSON\n"
	  GATE_EXIT_HELP },
	{ "attach", CMD_ATTACH, "h", attach_opts, POS_GATE,
	  "Usage: vmseal attach [--json] NAME DISK --image FILE --format F\n"
	  "                     [--readonly] [--device TYPE]\n"
	  "\n"
	  "Hot-plug FILE (format F, with its backing chain resolved under the\n"
	  "guest's rules) as node DISK, and with --device as a guest device of\n"
	  "that type (e.g. virtio-blk-pci) with id DISK.\n"
	  "\n"
	  "  --image FILE   the image (absolute, beneath the guest's roots)\n"
	  "  --format F     its format (never probed)\n"
	  "  --readonly     attach it read-only\n"
	  "  --device TYPE  also add a device of TYPE\n"
	  "  --json         print the result as JSON\n"
	  GATE_EXIT_HELP },
	{ "detach", CMD_DETACH, "h", gate_json_opts, POS_GATE,
	  "Usage: vmseal detach [--json] NAME DISK\n"
	  "\n"
	  "Remove DISK: its device (if any) and every node of its chain.\n"
	  "  --json         print the result as JSON\n"
	  GATE_EXIT_HELP },
	{ "media", CMD_MEDIA, "h", media_opts, POS_GATE,
	  "Usage: vmseal media [--json] [--format F] NAME DEVICE FILE\n"
	  "       vmseal media [--json] NAME DEVICE --eject\n"
	  "\n"
	  "Change the medium of the removable DEVICE (an ide-cd or floppy id):\n"
	  "eject what is inserted and insert FILE (format F, default raw),\n"
	  "read-only.\n"
	  "\n"
	  "  --format F     FILE's format (default raw)\n"
	  "  --eject        only eject\n"
	  "  --json         print the result as JSON\n"
	  GATE_EXIT_HELP },
	{ "check", CMD_CHECK, "h", help_only, POS_ONE,
	  "Usage: vmseal check FILE\n"
	  "\n"
	  "Validate the guest config FILE, resolve every disk's backing chain\n"
	  "(each image opened read-only, nothing modified) and print the plan:\n"
	  "every chain member with its format, size, access mode, descriptor\n"
	  "and node name, and what the broker will serve.  No emulator is\n"
	  "started.\n"
	  "\n"
	  "  -h, --help     show this help\n" },
	{ "argv", CMD_ARGV, "h", help_only, POS_ONE,
	  "Usage: vmseal argv FILE\n"
	  "\n"
	  "Print the emulator command line that `vmseal run FILE` would exec,\n"
	  "one argument per line.  Descriptor numbers are those the emulator\n"
	  "will see.  No emulator is started.\n"
	  "\n"
	  "  -h, --help     show this help\n" },
	{ "run", CMD_RUN, "hv", run_opts, POS_ONE,
	  "Usage: vmseal run [-v] [--daemon [--log FILE]] [--pidfile FILE] FILE\n"
	  "\n"
	  "Launch the guest described by FILE: resolve and open every chain,\n"
	  "start the emulator with only those descriptors under the seccomp\n"
	  "policy of FILE, serve its opens (policy broker), forward SIGINT,\n"
	  "SIGTERM, SIGHUP, SIGQUIT and SIGWINCH to it, and exit with its\n"
	  "status.  The guest's runtime directory, /run/vmseal/NAME\n"
	  "($VMSEAL_RUN_DIR/NAME), holds its control socket and pid files while\n"
	  "it runs; a second `vmseal run` of the same guest is refused (exit\n"
	  "69).  Refused opens are reported once per path as\n"
	  "\"vmseal: denied open PATH (FLAGS): reason [pid P, syscall]\",\n"
	  "with the config line that would allow it where that is safe.  Under\n"
	  "systemd (Type=notify) READY=1 is sent when the guest's first -qmp\n"
	  "unix: socket answers (at once when it has none).\n"
	  "\n"
	  "  -v, --verbose  also report every request the broker served or\n"
	  "                 that failed (e.g. ENOENT), and a count at exit\n"
	  "  --daemon       detach (double fork, new session, stdio to\n"
	  "                 /dev/null); return once the guest is up (its -qmp\n"
	  "                 socket answers) with 0, or with the start's error;\n"
	  "                 log to syslog, or to --log FILE, with the\n"
	  "                 emulator's own output; SIGHUP reopens the log\n"
	  "                 instead of reaching the emulator\n"
	  "  --pidfile FILE also write the supervisor's pid to FILE\n"
	  "  --log FILE     with --daemon: log to FILE instead of syslog\n"
	  "  -h, --help     show this help\n" },
	{ "wrap", CMD_WRAP, "h", wrap_opts, POS_REST,
	  "Usage: vmseal wrap [--config FILE] [--dry-run] -- EMULATOR [ARGS...]\n"
	  "\n"
	  "Run an emulator command line as it stands, with every file-backed\n"
	  "disk turned into descriptors: each -drive and -blockdev (key=value\n"
	  "or JSON) that names a file gets the file opened by vmseal, the name\n"
	  "replaced by /dev/fdset/N, and, where its format node names no\n"
	  "backing, vmseal's own backing nodes.  A disk must state its format\n"
	  "(-hda, -cdrom and friends are refused: vmseal never probes).\n"
	  "Descriptors the caller passes (fd=N, -add-fd) stay open with their\n"
	  "numbers; -pidfile and -daemonize are done by vmseal; everything else\n"
	  "passes byte for byte.  Invoked through a symlink named like the\n"
	  "emulator (/usr/libexec/vmseal/qemu-system-x86_64), vmseal wraps\n"
	  "/usr/bin/qemu-system-x86_64, or [emulator] binary of\n"
	  "/etc/vmseal/wrap.ini ($VMSEAL_WRAP_CONFIG), never a PATH search.\n"
	  "\n"
	  "  --config FILE  [sandbox] and [chain] settings (a guest config\n"
	  "                 without disks); default /etc/vmseal/wrap.ini when\n"
	  "                 it exists\n"
	  "  --dry-run      print the emulator argv, one argument per line,\n"
	  "                 and start nothing\n"
	  "  -h, --help     show this help\n" },
	{ "stop", CMD_STOP, "h", stop_opts, POS_ONE,
	  "Usage: vmseal stop [--timeout SECONDS] NAME\n"
	  "\n"
	  "Stop the running guest NAME: SIGTERM to its supervisor, which\n"
	  "passes it to the emulator (QEMU shuts down on it), then wait until\n"
	  "the supervisor has exited and cleaned up.  After SECONDS (default\n"
	  "60) the emulator is killed.  Exit 0 once stopped, 69 when NAME is\n"
	  "not running, 1 when it would not stop.\n"
	  "\n"
	  "  --timeout S    seconds to wait before SIGKILL\n"
	  "  -h, --help     show this help\n" },
	{ "filter", CMD_FILTER, "h", filter_opts, POS_OPTIONAL,
	  "Usage: vmseal filter [--bpf|--pfc] FILE\n"
	  "       vmseal filter [--bpf|--pfc] --policy broker|deny|kill\n"
	  "\n"
	  "Print the seccomp rules the emulator of FILE (or of a policy) runs\n"
	  "under: every syscall with its action and the reason it is there.\n"
	  "\n"
	  "  --pfc          print the loaded program as readable pseudo-code instead\n"
	  "  --bpf          write the compiled BPF program to stdout (binary;\n"
	  "                 refused on a terminal)\n"
	  "  --policy P     the filter of policy P, without a config\n"
	  "  -h, --help     show this help\n" },
	{ "lock", CMD_LOCK, "h", help_only, POS_ONE,
	  "Usage: vmseal lock NAME\n"
	  "\n"
	  "Ask the running guest NAME's supervisor, over its control socket,\n"
	  "to refuse every further open: the emulator keeps only the\n"
	  "descriptors it holds.  Exit 0 when locked, 69 when NAME is not\n"
	  "running.\n"
	  "\n"
	  "  -h, --help     show this help\n" },
	{ "status", CMD_STATUS, "h", help_only, POS_ONE,
	  "Usage: vmseal status NAME\n"
	  "\n"
	  "Print the state of the guest NAME (emulator pid, policy, whether\n"
	  "the broker is locked, requests served and denied).  Exit 0 when it\n"
	  "runs, 69 when it does not.\n"
	  "\n"
	  "  -h, --help     show this help\n" },
	{ "restore-labels", CMD_RESTORE_LABELS, "h", help_only, POS_ONE,
	  "Usage: vmseal restore-labels NAME\n"
	  "\n"
	  "Give back their SELinux labels to the images the guest NAME had\n"
	  "relabelled ([selinux]), after vmseal itself died without doing it:\n"
	  "every file in RUN/.labels/NAME is reached again by path (no\n"
	  "symlink, same device and inode, else skipped with a note) and gets\n"
	  "its remembered context back unless another running guest still\n"
	  "uses it.  `vmseal run` does this itself on every normal exit and\n"
	  "when NAME starts again.  Exit 0 when done, 69 when nothing is\n"
	  "recorded for NAME or NAME is running, 71 when a label cannot be\n"
	  "restored.\n"
	  "\n"
	  "  -h, --help     show this help\n" },
	{ "chain", CMD_CHAIN, "h", chain_opts, POS_ONE,
	  "Usage: vmseal chain IMAGE --format F [--json] [--root DIR]...\n"
	  "                    [--max-depth N] [--backing-format F]\n"
	  "                    [--data-file] [--block-device]\n"
	  "       vmseal chain --accept FILE\n"
	  "\n"
	  "Resolve IMAGE's backing chain under the rules `run` uses and print\n"
	  "it, top first: path, format, virtual size, access mode, device and\n"
	  "inode, size, mtime and a SHA-256 of the header bytes read.  Every\n"
	  "file is opened read-only; nothing is started or written.\n"
	  "Exit 0, 64 on a usage error, 66 when the chain is refused.\n"
	  "\n"
	  "  --format F          IMAGE's format (qcow2, raw, qed, vmdk); never\n"
	  "                      probed\n"
	  "  --json              a JSON array like qemu-img info --backing-chain\n"
	  "                      --output=json, with vmseal's fields added\n"
	  "  --root DIR          a directory the chain must stay beneath (may\n"
	  "                      repeat; default: IMAGE's directory)\n"
	  "  --max-depth N       backing members below the top (default 64,\n"
	  "                      at most 4096)\n"
	  "  --backing-format F  the format of backing members whose header\n"
	  "                      records none (a statement, not a guess)\n"
	  "  --data-file         follow a qcow2 external data file\n"
	  "  --block-device      members may be block devices\n"
	  "  --accept FILE       approve the changed backing references of the\n"
	  "                      guest config FILE's disks: resolve its chains\n"
	  "                      as `run` would, show each change, and write\n"
	  "                      them into its chain record (the guest must be\n"
	  "                      stopped; 69 when it runs)\n"
	  "  -h, --help          show this help\n" },
	{ "selftest", CMD_SELFTEST, "h", selftest_opts, POS_NONE,
	  "Usage: vmseal selftest [--json] [--emulator PATH] [--guest NAME]\n"
	  "\n"
	  "The hardening policy tests: fork probes that make every forbidden\n"
	  "syscall for real under each policy, and race the broker, and print\n"
	  "one line per row (PASS/FAIL/SKIP NAME -> RESULT), then a summary.\n"
	  "Needs no config.  Exit 0 when nothing failed, 1 otherwise.\n"
	  "\n"
	  "  --json           one JSON document instead of lines\n"
	  "  --emulator PATH  also start PATH (QEMU) under the broker and\n"
	  "                   probe it from outside\n"
	  "  --guest NAME     also check the running guest NAME: uid,\n"
	  "                   NoNewPrivs and Seccomp: 2 in every thread\n"
	  "  -h, --help       show this help\n" },
};

void cli_usage(FILE *f, enum cli_command cmd)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (commands[i].cmd == cmd) {
			fputs(commands[i].usage, f);
			return;
		}
	}
	fputs("Usage: vmseal [-h|--help] [-V|--version] COMMAND [ARGS]\n"
	      "\n"
	      "Start a virtual machine emulator so that it can never open a\n"
	      "disk image by path: vmseal resolves every disk's backing chain\n"
	      "itself, passes each image as an inherited descriptor, and runs\n"
	      "the emulator under a seccomp filter in which open() is refused\n"
	      "or answered by vmseal's broker from a read-only allowlist.\n"
	      "\n"
	      "Commands:\n"
	      "  check FILE      validate FILE, resolve every chain, print the\n"
	      "                  plan; no emulator is started\n"
	      "  argv FILE       print the emulator argv that run would exec, one\n"
	      "                  argument per line\n"
	      "  run FILE        launch the guest and supervise it until it exits\n"
	      "  filter FILE     print the seccomp rules (--pfc, --bpf: the program)\n"
	      "  wrap -- EMU ... run an emulator command line with its disks as\n"
	      "                  descriptors (also: a symlink named like EMU)\n"
	      "  stop NAME       stop a running guest\n"
	      "  lock NAME       make a running guest's broker refuse every open\n"
	      "  status NAME     show a running guest's state\n"
	      "  restore-labels NAME\n"
	      "                  restore the SELinux labels a crashed run left\n"
	      "  chain IMAGE     resolve and print one image's backing chain\n"
	      "                  (--format F [--json]); nothing is started\n"
	      "  selftest        run the hardening policy tests on this host\n"
	      "  qmp NAME JSON   one QMP command through a guest's monitor gate\n"
	      "  snapshot, commit, stream, copy, attach, detach, media NAME ...\n"
	      "                  live disk operations through the gate\n"
	      "\n"
	      "Options:\n"
	      "  -h, --help     show this help; vmseal COMMAND --help for a command\n"
	      "  -V, --version  show the version\n"
	      "\n"
	      "Exit status: 0 on success (run: the emulator's own status, or\n"
	      "128+N when signal N killed it); 1 selftest found a failure, the\n"
	      "supervisor answered an error (lock, status) or the guest would\n"
	      "not stop (stop); 64 usage error (wrap: a command line refused);\n"
	      "65 invalid config; 66 image or chain refused; 69 guest not\n"
	      "running (lock, status, stop), already running (run) or nothing\n"
	      "to restore (restore-labels); 71 sandbox setup failed; 126\n"
	      "emulator not executable.\n",
	      f);
}

/* "vmseal: WHAT 'ARG'" and where to find help; exit 64 follows. */
static int usage_error(const struct command *c, const char *what,
		       const char *arg)
{
	if (arg)
		fprintf(stderr, "vmseal: %s '%s'\n", what, arg);
	else
		fprintf(stderr, "vmseal: %s\n", what);
	fprintf(stderr, "Try 'vmseal%s%s --help'.\n", c ? " " : "",
		c ? c->name : "");
	return -EINVAL;
}

static int parse_command(const struct command *c, int argc, char **argv,
			 struct cli *out)
{
	char shortopts[16];
	int opt;

	/* chain takes options after IMAGE too (its usage puts them there). */
	snprintf(shortopts, sizeof(shortopts), "%s:%s",
		 c->cmd == CMD_CHAIN || c->pos == POS_GATE ? "" : "+",
		 c->shortopts);
	optind = 0; /* 0: glibc starts afresh, so chain may permute */
	while ((opt = getopt_long(argc, argv, shortopts, c->longopts, NULL)) !=
	       -1) {
		switch (opt) {
		case 'h':
			out->help = true;
			return 0;
		case 'v':
			out->verbose = true;
			break;
		case OPT_JSON:
			out->json = true;
			break;
		case OPT_BPF:
			out->bpf = true;
			break;
		case OPT_PFC:
			out->pfc = true;
			break;
		case OPT_POLICY:
			out->policy = optarg;
			break;
		case OPT_EMULATOR:
			out->emulator = optarg;
			break;
		case OPT_GUEST:
			out->guest = optarg;
			break;
		case OPT_FORMAT:
			out->format = optarg;
			break;
		case OPT_ROOT:
			if (out->n_roots == CLI_ROOTS_MAX)
				return usage_error(c, "too many --root options",
						   NULL);
			out->roots[out->n_roots++] = optarg;
			break;
		case OPT_MAX_DEPTH:
			out->max_depth = optarg;
			break;
		case OPT_BACKING_FORMAT:
			out->backing_format = optarg;
			break;
		case OPT_DATA_FILE:
			out->data_file = true;
			break;
		case OPT_BLOCK_DEVICE:
			out->block_device = true;
			break;
		case OPT_ACCEPT:
			out->accept = true;
			break;
		case OPT_DAEMON:
			out->daemon = true;
			break;
		case OPT_PIDFILE:
			out->pidfile = optarg;
			break;
		case OPT_LOG:
			out->log = optarg;
			break;
		case OPT_TIMEOUT:
			out->timeout = optarg;
			break;
		case OPT_CONFIG:
			out->config = optarg;
			break;
		case OPT_DRY_RUN:
			out->dry_run = true;
			break;
		case OPT_BASE:
			out->base = optarg;
			break;
		case OPT_PIVOT:
			out->pivot = true;
			break;
		case OPT_IMAGE:
			out->image = optarg;
			break;
		case OPT_READONLY:
			out->readonly = true;
			break;
		case OPT_DEVICE:
			out->device = optarg;
			break;
		case OPT_EJECT:
			out->eject = true;
			break;
		case ':':
			return usage_error(c, "option needs a value",
					   argv[optind - 1]);
		default:
			return usage_error(c, "unknown option", argv[optind - 1]);
		}
	}
	if (out->bpf && out->pfc)
		return usage_error(c, "--bpf and --pfc exclude each other", NULL);
	if (out->log && !out->daemon)
		return usage_error(c, "--log goes with --daemon", NULL);
	if (c->pos == POS_GATE) {
		if (optind >= argc)
			return usage_error(c, "no guest name given", NULL);
		out->arg = argv[optind];
		out->rest = argv + optind + 1;
		return 0;
	}
	if (c->pos == POS_REST) {
		if (optind >= argc)
			return usage_error(c, "no emulator given", NULL);
		out->rest = argv + optind;
		return 0;
	}
	if (c->pos == POS_NONE && optind < argc)
		return usage_error(c, "unexpected argument", argv[optind]);
	if (c->pos == POS_ONE && optind >= argc)
		return usage_error(c, c->cmd == CMD_LOCK || c->cmd == CMD_STATUS ||
					      c->cmd == CMD_STOP ||
					      c->cmd == CMD_RESTORE_LABELS ?
					      "no guest name given" :
				   c->cmd == CMD_CHAIN ? "no image given" :
					      "no config file given",
				   NULL);
	if (optind + 1 < argc)
		return usage_error(c, "unexpected argument", argv[optind + 1]);
	out->arg = optind < argc ? argv[optind] : NULL;
	return 0;
}

int cli_parse(int argc, char **argv, struct cli *out)
{
	static const struct option global_opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(out, 0, sizeof(*out));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+hV", global_opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			out->help = true;
			return 0;
		case 'V':
			out->version = true;
			return 0;
		default:
			return usage_error(NULL, "unknown option", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error(NULL, "no command given", NULL);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			out->cmd = commands[i].cmd;
			return parse_command(&commands[i], argc - optind,
					     argv + optind, out);
		}
	}
	return usage_error(NULL, "unknown command", argv[optind]);
}
