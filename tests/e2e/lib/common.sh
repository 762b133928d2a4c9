# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the e2e tests: paths, a temp dir removed on exit, processes
# ended by pid on exit, QMP, and checks that decide whether a test can run.
# Source it after tests/lib/tap.sh.

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
VMSEAL=${VMSEAL:-$E2E_ROOT/vmseal}
E2E_BUILD=${E2E_BUILD:-$E2E_ROOT/build}
QMP=$E2E_BUILD/tests/e2e/qmp
QEMU=${QEMU:-/usr/bin/qemu-system-x86_64}
# The unprivileged user test guests run as ([sandbox] user): vmseal
# refuses to run an emulator as root unless told to.
E2E_USER=${E2E_USER:-nobody}

. "$E2E_ROOT/tests/e2e/lib/guest.sh"

_e2e_pids=()
E2E_TMP=

# Every process a test starts is recorded here and ended by its pid.
e2e_track() {
	_e2e_pids+=("$@")
}

e2e_stop_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

_e2e_cleanup() {
	local pid
	for pid in "${_e2e_pids[@]}"; do
		e2e_stop_pid "$pid"
	done
	[ -n "$E2E_TMP" ] && rm -rf "$E2E_TMP"
}

# e2e_setup: creates $E2E_TMP and arranges the cleanup.  Guests started
# by the test keep their runtime directories (sockets, pid files) in
# $E2E_TMP/run instead of /run/vmseal.
e2e_setup() {
	E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmseal-e2e.XXXXXX") || exit 1
	trap _e2e_cleanup EXIT
	trap 'exit 130' INT TERM
	# The emulator runs as $E2E_USER and must reach its runtime
	# directory inside (its images it gets as descriptors).
	chmod 755 "$E2E_TMP"
	export VMSEAL_RUN_DIR=$E2E_TMP/run
	# Uids vmseal allocates (guests without [sandbox] user) and chain
	# records (pins) are kept here, not in /var/lib/vmseal.
	export VMSEAL_STATE_DIR=$E2E_TMP/state
	# A daemon with no syslog socket (and output files beneath the log
	# directory) writes here, never to the host's /var/log/vmseal.
	export VMSEAL_LOG_DIR=$E2E_TMP/log
}

# e2e_run_dir NAME: a guest's runtime directory (where its sockets go).
e2e_run_dir() {
	echo "$VMSEAL_RUN_DIR/$1"
}

# e2e_missing CMD...: prints the first command that is not installed.
e2e_missing() {
	local c
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1 && [ ! -x "$c" ]; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

# e2e_child_of PID: the pid of PID's child that is the emulator vmseal
# runs, not the jail's init (its other child when jailed: pid 1 of the
# jail's PID namespace from the moment it exists).
e2e_child_of() {
	local parent=$1 i child
	for i in $(seq 100); do
		for child in $(cat "/proc/$parent/task/$parent/children" 2>/dev/null); do
			grep -qE '^NSpid:.*[[:space:]]1$' "/proc/$child/status" 2>/dev/null && continue
			echo "$child"
			return 0
		done
		sleep 0.05
	done
	return 1
}

# e2e_locked FILE: whether /proc/locks lists a lock on FILE's inode
# (MAJ:MIN:INODE, a field of its own).
e2e_locked() {
	local ino
	ino=$(stat -c %i "$1") || return 1
	awk -v ino="$ino" '{ for (k = 1; k <= NF; k++)
		if ($k ~ "^[0-9a-f]+:[0-9a-f]+:" ino "$") found = 1 }
		END { exit !found }' /proc/locks
}

# e2e_wait_exit PID SECONDS: waits for a child of this shell; its status.
e2e_wait_exit() {
	local pid=$1 limit=$2 i
	for i in $(seq $((limit * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		return 255
	fi
	wait "$pid"
}

# e2e_qmp SOCKET JSON...: the replies, one per line.
e2e_qmp() {
	"$QMP" -w 20 "$@"
}

# e2e_hmp SOCKET COMMAND: an HMP command through QMP.
e2e_hmp() {
	local sock=$1 cmd=$2
	cmd=${cmd//\\/\\\\}
	cmd=${cmd//\"/\\\"}
	e2e_qmp "$sock" "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"$cmd\"}}"
}

# e2e_kvm_usable: whether /dev/kvm can create a VM; says why not.
e2e_kvm_usable() {
	"$E2E_BUILD/tests/e2e/kvm_usable"
}
