#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Privilege drop: the emulator runs as the configured user, with no
# supplementary groups and no capabilities unless listed, NO_NEW_PRIVS, in
# every thread; it reads a chain of root-owned 0600 images it could never
# open itself; the runtime directory is its own; root only when allowed.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

missing=$(e2e_missing "$QEMU" qemu-img qemu-io "$VMSEAL" "$QMP")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps, make test-bins)" "privs e2e"
	tap_done
	exit
fi
if [ "$(id -u)" != 0 ]; then
	skip "needs root to switch users" "privs e2e"
	tap_done
	exit
fi
e2e_setup
guest_chain "$E2E_TMP/images" >/dev/null
chmod 0600 "$E2E_TMP"/images/*.qcow2
chmod 0700 "$E2E_TMP/images"
nobody_uid=$(id -u nobody) nobody_gid=$(id -g nobody)

# write_ini NAME SANDBOX-LINES...
write_ini() {
	local name=$1
	shift
	{
		printf '[vmseal]\nversion = 1\nname = %s\n' "$name"
		printf '[emulator]\nargs = -machine pc -accel tcg -m 64 -nographic -nodefaults -S\n'
		printf 'args = -qmp unix:%s/qmp.sock,server=on,wait=off\n' "$(e2e_run_dir "$name")"
		printf '[sandbox]\n'
		printf '%s\n' "$@"
		printf '[disk root]\nimage = %s/images/top.qcow2\nformat = qcow2\ndevice = none\n' "$E2E_TMP"
	} >"$E2E_TMP/$name.ini"
}

# start NAME: runs the guest in the background; sets vpid, qpid, sock.
start() {
	"$VMSEAL" run "$E2E_TMP/$1.ini" >"$E2E_TMP/$1.out" 2>"$E2E_TMP/$1.err" &
	vpid=$!
	e2e_track "$vpid"
	sock=$(e2e_run_dir "$1")/qmp.sock
	e2e_qmp "$sock" >/dev/null || diag "$(cat "$E2E_TMP/$1.err")"
	qpid=$(e2e_child_of "$vpid")
}

stop() {
	e2e_qmp "$sock" '{"execute":"quit"}' >/dev/null
	e2e_wait_exit "$vpid" 30
}

# every_thread PID FIELD VALUE: FIELD is VALUE in every /proc/PID/task/*.
every_thread() {
	local t n=0
	for t in /proc/"$1"/task/*; do
		grep -qE "^$2:[[:space:]]+$3\$" "$t/status" || return 1
		n=$((n + 1))
	done
	[ "$n" -gt 0 ]
}

write_ini p1 "user = nobody"
start p1
grep -qE "^Uid:[[:space:]]+$nobody_uid[[:space:]]+$nobody_uid[[:space:]]+$nobody_uid[[:space:]]+$nobody_uid$" /proc/$qpid/status &&
	grep -qE "^Gid:[[:space:]]+$nobody_gid[[:space:]]+$nobody_gid[[:space:]]+$nobody_gid[[:space:]]+$nobody_gid$" /proc/$qpid/status
ok $? "the emulator runs as nobody: real, effective, saved and fs ids" || diag "$(grep -E '^(Uid|Gid)' /proc/$qpid/status)"
grep -qE '^Groups:[[:space:]]*$' /proc/$qpid/status
ok $? "no supplementary groups"
for cap in CapEff CapPrm CapInh CapBnd CapAmb; do
	every_thread "$qpid" "$cap" 0000000000000000
	ok $? "$cap is empty in every thread" || diag "$(grep "^$cap" /proc/$qpid/task/*/status)"
done
every_thread "$qpid" NoNewPrivs 1 && every_thread "$qpid" Seccomp 2
ok $? "NoNewPrivs: 1 and Seccomp: 2 in every thread"
[ "$(stat -c %U:%a "$(e2e_run_dir p1)")" = "nobody:700" ]
ok $? "the runtime directory belongs to the emulator's user, mode 0700"
[ "$(stat -c %U:%a "$E2E_TMP/images/base.qcow2")" = "root:600" ] &&
	! setpriv --reuid=nobody --regid=nogroup --clear-groups cat "$E2E_TMP/images/base.qcow2" >/dev/null 2>&1
ok $? "the images are root's, 0600: nobody cannot open them"
e2e_hmp "$sock" 'qemu-io root "read -P 0x11 0 1M"' >/dev/null
e2e_hmp "$sock" 'qemu-io root "read -P 0x22 1M 1M"' >/dev/null
e2e_hmp "$sock" 'qemu-io root "read -P 0x33 2M 1M"' >/dev/null
[ "$(grep -c '^read 1048576/1048576 bytes' "$E2E_TMP/p1.out")" = 3 ] &&
	! grep -q 'Pattern verification failed' "$E2E_TMP/p1.out"
ok $? "yet the emulator as nobody reads the whole chain through its descriptors"
"$VMSEAL" selftest --guest p1 >"$E2E_TMP/st" 2>&1
grep -q '^PASS guest p1: runs as an unprivileged user' "$E2E_TMP/st" &&
	[ "$(grep -c '^PASS guest p1' "$E2E_TMP/st")" = 3 ]
ok $? "selftest --guest p1: uid, NoNewPrivs and Seccomp rows pass" || diag "$(grep 'guest p1' "$E2E_TMP/st")"
stop
ok $? "p1 quits"

write_ini p2 "user = nobody" "groups = users" "keep-caps = net_admin, CAP_NET_RAW"
"$VMSEAL" check "$E2E_TMP/p2.ini" | grep -q "runs as user nobody (uid $nobody_uid), group nogroup (gid $nobody_gid), supplementary groups 100, capabilities net_admin,net_raw, NO_NEW_PRIVS"
ok $? "check shows user, group, groups and capabilities"
start p2
grep -qE '^Groups:[[:space:]]*100[[:space:]]*$' /proc/$qpid/status
ok $? "groups = users: exactly that supplementary group"
for cap in CapEff CapPrm CapInh CapBnd CapAmb; do
	every_thread "$qpid" "$cap" 0000000000003000
	ok $? "keep-caps: $cap holds net_admin and net_raw only" || diag "$(grep "^$cap" /proc/$qpid/status)"
done
stop
ok $? "p2 quits"

write_ini p3 "policy = broker"
"$VMSEAL" check "$E2E_TMP/p3.ini" >"$E2E_TMP/p3.out" 2>"$E2E_TMP/p3.err"
[ $? = 0 ] && grep -qE "^uid [0-9]+ is guest p3's own, to be allocated at the first run from uid-range 1879048192-1879113727" "$E2E_TMP/p3.out" &&
	[ ! -e "$E2E_TMP/state/uids" ]
ok $? "no user while root: check shows the uid the guest would get and records nothing" || diag "$(cat "$E2E_TMP/p3.out" "$E2E_TMP/p3.err")"
write_ini p4 "user = root"
"$VMSEAL" run "$E2E_TMP/p4.ini" >/dev/null 2>"$E2E_TMP/p4.err"
[ $? = 65 ] && grep -q "set allow-root = yes" "$E2E_TMP/p4.err"
ok $? "user = root without allow-root: refused (65)"
write_ini p5 "user = nosuchuser-vmseal"
"$VMSEAL" check "$E2E_TMP/p5.ini" >/dev/null 2>"$E2E_TMP/p5.err"
[ $? = 65 ] && grep -q "no such user 'nosuchuser-vmseal'" "$E2E_TMP/p5.err"
ok $? "unknown user: refused (65)"
write_ini p6 "user = nobody" "keep-caps = frobnicate"
"$VMSEAL" check "$E2E_TMP/p6.ini" >/dev/null 2>"$E2E_TMP/p6.err"
[ $? = 65 ] && grep -q "unknown capability 'frobnicate'" "$E2E_TMP/p6.err"
ok $? "unknown capability: refused (65)"

write_ini p7 "user = root" "allow-root = yes"
start p7
grep -q "warning: .*the emulator runs as root (allow-root = yes)" "$E2E_TMP/p7.err"
ok $? "user = root with allow-root: a warning"
grep -qE '^Uid:[[:space:]]+0[[:space:]]' /proc/$qpid/status &&
	every_thread "$qpid" CapEff 0000000000000000 && every_thread "$qpid" CapBnd 0000000000000000
ok $? "...and root without any capability, bounding set empty"
stop
ok $? "p7 quits"

tap_done
