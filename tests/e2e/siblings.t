#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest against guest.  Two guests from configs without a `user` line run
# under uids of their own; guest A's emulator is the static probe
# sibling_attack, guest B a real QEMU, and every attack A makes on B fails:
# B's monitor (add-fd of a memfd, blockdev-add of /dev/fdset/N,
# blockdev-backup of B's disk into it, qemu-io writes), signals, prlimit64,
# setpriority, /proc/B/exe and fd, a socket bound in B's runtime dir.  B's
# disk is unchanged.  Two configs naming the same user are refused unless
# both say share-user = yes; then (the control) the same probe succeeds.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

PROBE=$E2E_BUILD/tests/probes/sibling_attack
missing=$(e2e_missing "$QEMU" qemu-img qemu-io "$VMSEAL" "$QMP" "$PROBE")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps, make test-bins)" "siblings e2e"
	tap_done
	exit
fi
if [ "$(id -u)" != 0 ]; then
	skip "needs root: only root gives each guest a uid of its own" "siblings e2e"
	tap_done
	exit
fi
e2e_setup
SIZE=$((64 << 20))
mkdir -m 0700 "$E2E_TMP/images"
qemu-img create -q -f qcow2 "$E2E_TMP/images/b.qcow2" "$SIZE" &&
	qemu-io -c "write -P 0x5a 0 1M" "$E2E_TMP/images/b.qcow2" >/dev/null &&
	chmod 0600 "$E2E_TMP/images/b.qcow2" || bail "cannot make B's disk"
# Every attack the probe makes, and the errnos that count as refused: the
# uids alone give EACCES/EPERM; a PID or mount namespace (the jail) may
# hide B entirely instead (ESRCH, ENOENT).
ATTACKS="connect:EACCES|ENOENT qmp-add-fd:EACCES|ENOENT
qmp-blockdev-add:EACCES|ENOENT qmp-backup-read:EACCES|ENOENT
qmp-write:EACCES|ENOENT bind:EACCES|ENOENT kill-0:EPERM|ESRCH
sigstop:EPERM|ESRCH prlimit:EPERM|ESRCH setpriority:EPERM|ESRCH
proc-exe:EACCES|ENOENT proc-fd:EACCES|ENOENT"
# The same run from the host namespace under A's uid, with no jail: the
# uids alone must refuse every attack, with exactly these errnos.
UID_ATTACKS="connect:EACCES qmp-add-fd:EACCES qmp-blockdev-add:EACCES
qmp-backup-read:EACCES qmp-write:EACCES bind:EACCES kill-0:EPERM
sigstop:EPERM prlimit:EPERM setpriority:EPERM proc-exe:EACCES
proc-fd:EACCES"

# guest_b NAME [SANDBOX-LINE...]: the QEMU config (its disk: root).
guest_b() {
	local name=$1
	shift
	{
		printf '[vmseal]\nversion = 1\nname = %s\n' "$name"
		printf '[emulator]\nargs = -machine pc -accel tcg -m 64 -nographic -nodefaults -S\n'
		printf 'args = -qmp unix:%s/qmp.sock,server=on,wait=off\n' "$(e2e_run_dir "$name")"
		printf '[sandbox]\n'
		[ $# -gt 0 ] && printf '%s\n' "$@"
		printf '[disk root]\nimage = %s/images/b.qcow2\nformat = qcow2\ndevice = none\n' "$E2E_TMP"
	} >"$E2E_TMP/$name.ini"
}

# guest_a NAME TARGET-NAME TARGET-PID [SANDBOX-LINE...]: the probe's config.
guest_a() {
	local name=$1 target=$2 pid=$3
	shift 3
	{
		printf '[vmseal]\nversion = 1\nname = %s\n' "$name"
		printf '[emulator]\nbinary = %s\n' "$PROBE"
		printf 'args = --pid %s --dir %s --size %s\n' "$pid" "$(e2e_run_dir "$target")" "$SIZE"
		printf '[sandbox]\n'
		[ $# -gt 0 ] && printf '%s\n' "$@"
	} >"$E2E_TMP/$name.ini"
}

# start NAME: runs it in the background; sets bpid (vmseal), bqpid (QEMU).
start() {
	"$VMSEAL" run "$E2E_TMP/$1.ini" >"$E2E_TMP/$1.out" 2>"$E2E_TMP/$1.err" &
	bpid=$!
	e2e_track "$bpid"
	e2e_qmp "$(e2e_run_dir "$1")/qmp.sock" >/dev/null || diag "$(cat "$E2E_TMP/$1.err")"
	bqpid=$(cat "$(e2e_run_dir "$1")/emulator.pid" 2>/dev/null)
}

quit() {
	e2e_qmp "$(e2e_run_dir "$1")/qmp.sock" '{"execute":"quit"}' >/dev/null
	e2e_wait_exit "$bpid" 30
}

uid_of() {
	awk '/^Uid:/ { print $2 }' "/proc/$1/status"
}

# attack_line OUT NAME: the probe's line for one attack.
attack_line() {
	grep "^ATTACK name=$2 " "$1"
}

# all_fail OUT WHO LIST: one ok per attack of LIST (NAME:ERRNO|ERRNO...).
all_fail() {
	local out=$1 who=$2 a name errs line
	for a in $3; do
		name=${a%%:*} errs=${a#*:}
		line=$(attack_line "$out" "$name")
		[[ $line == *" result=failed errno="* ]] &&
			[[ ${line#* errno=} =~ ^($errs)\  ]]
		ok $? "$who: $name fails (${errs//|/ or })" || diag "${line:-no line for $name}"
	done
}

# probe_as UID TARGET-PID OUT: the probe straight from the host namespace
# under UID (and the same gid), no filter, no jail.
probe_as() {
	setpriv --reuid="$1" --regid="$1" --clear-groups "$PROBE" --pid "$2" \
		--dir "$(e2e_run_dir sibB)" --size "$SIZE" >"$3" 2>&1
}

md5_before=$(md5sum <"$E2E_TMP/images/b.qcow2")

guest_b sibB
start sibB
[ -n "$bqpid" ] && kill -0 "$bqpid" 2>/dev/null
ok $? "guest B (no user line) runs" || diag "$(cat "$E2E_TMP/sibB.err")"
uid_b=$(uid_of "$bqpid")
[ "$uid_b" -ge 1879048192 ] && [ "$uid_b" -le 1879113727 ] &&
	! getent passwd "$uid_b" >/dev/null && ! getent group "$uid_b" >/dev/null
ok $? "B runs under uid $uid_b from the default range, with no passwd or group entry"
[ "$(stat -c %u:%a "$(e2e_run_dir sibB)")" = "$uid_b:700" ]
ok $? "B's runtime dir is its uid's alone (0700)" || diag "$(stat -c '%U %a' "$(e2e_run_dir sibB)")"
qmp_b=$(e2e_run_dir sibB)/qmp.sock
setpriv --reuid=nobody --regid=nogroup --clear-groups "$QMP" "$qmp_b" >/dev/null 2>&1
[ $? != 0 ]
ok $? "another user cannot connect to B's QMP socket"

guest_a sibA sibB "$bqpid"
timeout 120 "$VMSEAL" run "$E2E_TMP/sibA.ini" >"$E2E_TMP/sibA.out" 2>"$E2E_TMP/sibA.err"
rc=$?
[ $rc = 0 ] && grep -q '^DONE$' "$E2E_TMP/sibA.out"
ok $? "the probe ran as guest A's emulator to the end" || diag "rc $rc: $(cat "$E2E_TMP/sibA.err")"
uid_a=$(sed -n 's/^SELF uid=\([0-9]*\) .*/\1/p' "$E2E_TMP/sibA.out")
[ -n "$uid_a" ] && [ "$uid_a" != "$uid_b" ] && [ "$uid_a" -ge 1879048192 ] &&
	[ "$uid_a" -le 1879113727 ]
ok $? "A runs under a uid of its own ($uid_a), not B's ($uid_b)"
all_fail "$E2E_TMP/sibA.out" "A -> B" "$ATTACKS"
probe_as "$uid_a" "$bqpid" "$E2E_TMP/uidA.out"
grep -q '^DONE$' "$E2E_TMP/uidA.out"
ok $? "the probe ran under A's uid from the host namespace" || diag "$(cat "$E2E_TMP/uidA.out")"
all_fail "$E2E_TMP/uidA.out" "uid A -> B, no jail" "$UID_ATTACKS"
kill -0 "$bqpid" 2>/dev/null && [ "$(uid_of "$bqpid")" = "$uid_b" ] &&
	grep -q '"return"' <(e2e_qmp "$qmp_b" '{"execute":"query-status"}')
ok $? "B still runs and answers"
[ ! -e "$(e2e_run_dir sibB)/.vmseal.pid.tmp" ]
ok $? "nothing was bound in B's runtime dir"
quit sibB
ok $? "B quits"
[ "$(md5sum <"$E2E_TMP/images/b.qcow2")" = "$md5_before" ]
ok $? "B's disk is unchanged (md5)"

start sibB
[ -n "$bqpid" ] && [ "$(uid_of "$bqpid")" = "$uid_b" ]
ok $? "B restarts under the same uid $uid_b" || diag "$(cat "$E2E_TMP/sibB.err")"
grep -q "^sibB $uid_b\$" "$E2E_TMP/state/uids" && grep -q "^sibA $uid_a\$" "$E2E_TMP/state/uids"
ok $? "both uids are recorded in \$VMSEAL_STATE_DIR/uids"
# The control: under B's own uid the same probe gets through, so the
# failures above are the uids' doing (this writes B's disk: last).
probe_as "$uid_b" "$bqpid" "$E2E_TMP/uidB.out"
n=$(grep -c '^ATTACK .* result=succeeded' "$E2E_TMP/uidB.out")
[ "$n" = 12 ]
ok $? "control: under B's own uid all 12 attacks succeed" || diag "$(cat "$E2E_TMP/uidB.out")"
quit sibB

# The same explicit user in two configs.
guest_b userC "user = nobody"
start userC
cpid=$bpid
guest_b userD "user = nobody"
"$VMSEAL" run "$E2E_TMP/userD.ini" >/dev/null 2>"$E2E_TMP/userD.err"
rc=$?
[ $rc = 69 ] && grep -q "uid $(id -u nobody) is already the emulator's uid of running guest userC" "$E2E_TMP/userD.err"
ok $? "a second guest with the same user is refused (69), naming the other guest" || diag "rc $rc: $(cat "$E2E_TMP/userD.err")"
guest_b userD "user = nobody" "share-user = yes"
"$VMSEAL" run "$E2E_TMP/userD.ini" >/dev/null 2>"$E2E_TMP/userD.err"
rc=$?
[ $rc = 69 ] && grep -q "running guest userC" "$E2E_TMP/userD.err"
ok $? "share-user = yes in one config only: still refused (69)" || diag "rc $rc: $(cat "$E2E_TMP/userD.err")"
bpid=$cpid
quit userC

guest_b shareC "user = nobody" "share-user = yes"
"$VMSEAL" check "$E2E_TMP/shareC.ini" >/dev/null
start shareC
cpid=$bpid cqpid=$bqpid
guest_a shareD shareC "$cqpid" "user = nobody" "share-user = yes"
timeout 120 "$VMSEAL" run "$E2E_TMP/shareD.ini" >"$E2E_TMP/shareD.out" 2>"$E2E_TMP/shareD.err"
rc=$?
[ $rc = 0 ] && grep -q '^DONE$' "$E2E_TMP/shareD.out"
ok $? "share-user = yes in both: the second guest runs" || diag "rc $rc: $(cat "$E2E_TMP/shareD.err")"
# Under one shared uid and no jail the guest's probe gets through; a jail
# that hides B even from its own uid makes this moot.
line=$(attack_line "$E2E_TMP/shareD.out" kill-0)
if [[ $line == *" result=failed errno=ESRCH"* ]]; then
	skip "B is invisible even under one uid (a PID namespace)" "shared uid, guest to guest"
else
	n=$(grep -c '^ATTACK .* result=succeeded' "$E2E_TMP/shareD.out")
	[ "$n" = 12 ]
	ok $? "under one shared uid (no jail) all 12 attacks succeed" || diag "$(grep '^ATTACK' "$E2E_TMP/shareD.out")"
fi
bpid=$cpid
quit shareC

# The same attacks between two sandboxed children under two allocated
# uids, in `vmseal selftest` (each with its control under one uid).
"$VMSEAL" selftest >"$E2E_TMP/selftest.out" 2>&1
[ "$(grep -c '^PASS two guests: uid [0-9]* -> uid [0-9]*: ' "$E2E_TMP/selftest.out")" = 8 ] &&
	! grep -qE '^(FAIL|SKIP) two guests' "$E2E_TMP/selftest.out"
ok $? "selftest: the 8 two-guest rows pass" || diag "$(grep 'two guests' "$E2E_TMP/selftest.out")"

guest_b bad "share-user = yes"
"$VMSEAL" check "$E2E_TMP/bad.ini" >/dev/null 2>"$E2E_TMP/bad.err"
[ $? = 65 ] && grep -q "'share-user = yes' needs 'user'" "$E2E_TMP/bad.err"
ok $? "share-user without user: refused (65)"

tap_done
