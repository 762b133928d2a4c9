#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The control socket: status, lock on request and lock-after, one vmseal
# per guest; and the broker's unlink rule for the emulator's sockets.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

missing=$(e2e_missing "$QEMU" qemu-img qemu-io "$VMSEAL" "$QMP")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps, make test-bins)" "lock e2e"
	tap_done
	exit
fi
e2e_setup
guest_chain "$E2E_TMP/images" >/dev/null
# A file the broker may serve, to see served turn into refused.
ALLOWED=/usr/share/qemu/kvmvapic.bin

# write_ini NAME [EXTRA SANDBOX LINE]
# kernel-opens = no: every open reaches the broker, whose answers these
# tests are about (with it on, read-only opens in the jail are the kernel's).
write_ini() {
	cat >"$E2E_TMP/$1.ini" <<-INI
	[vmseal]
	version = 1
	name = $1
	[emulator]
	args = -machine pc -accel tcg -m 64 -nographic -nodefaults -S
	args = -qmp unix:$(e2e_run_dir "$1")/qmp.sock,server=on,wait=off
	[sandbox]
	user = $E2E_USER
	kernel-opens = no
	${2:-}
	[disk root]
	image = $E2E_TMP/images/top.qcow2
	format = qcow2
	device = none
	INI
}

add_node() { # SOCK NODE FILE: a read-only file node by path
	e2e_qmp "$1" "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"node-name\":\"$2\",\"filename\":\"$3\",\"read-only\":true}}"
}

write_ini g1
"$VMSEAL" run "$E2E_TMP/g1.ini" >"$E2E_TMP/g1.out" 2>"$E2E_TMP/g1.err" &
vpid=$!
e2e_track "$vpid"
sock=$(e2e_run_dir g1)/qmp.sock
e2e_qmp "$sock" >/dev/null
ok $? "guest g1 runs, its QMP socket in its runtime directory"

"$VMSEAL" status g1 >"$E2E_TMP/st" 2>&1
rc=$?
[ $rc = 0 ] && grep -q "pid=$(e2e_child_of "$vpid") policy=broker locked=no" "$E2E_TMP/st"
ok $? "status: emulator pid, policy, not locked" || diag "$(cat "$E2E_TMP/st")"

"$VMSEAL" run "$E2E_TMP/g1.ini" >/dev/null 2>"$E2E_TMP/second"
rc=$?
[ $rc = 69 ] && grep -q "guest g1 is already running (vmseal pid $vpid)" "$E2E_TMP/second"
ok $? "a second run of g1 is refused (exit 69)" || diag "exit $rc" "$(cat "$E2E_TMP/second")"

# The attack: the emulator's uid owns RUN/g1 (it reaches it in its jail
# where the parents are not in the way: here, from inside it) and could
# remove a lock file in it; then a second run would take a fresh lock and
# run g1 twice.  The lock is the directory itself, which only root may
# remove.
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	( cd "$(e2e_run_dir g1)" && for f in *; do
		[ -S "$f" ] || setpriv --reuid="$(id -u "$E2E_USER")" --regid="$(id -g "$E2E_USER")" \
			--clear-groups rm -f "$f"
	done )
	timeout 20 "$VMSEAL" run "$E2E_TMP/g1.ini" >/dev/null 2>"$E2E_TMP/third"
	rc=$?
	[ $rc = 69 ] && grep -q "guest g1 is already running" "$E2E_TMP/third"
	ok $? "the guest's uid removing its runtime directory's files: a second run is still refused" ||
		diag "exit $rc" "$(cat "$E2E_TMP/third")"
else
	skip "needs root and setpriv" "the guest's uid removing the lock"
fi

[[ $(add_node "$sock" before "$ALLOWED") == '{"return": {}}'* ]]
ok $? "before lock: an allowed file is served"

# A storm of signals at the supervisor while it serves: it survives,
# nothing is lost, and the emulator is not disturbed.
( for i in $(seq 2000); do
	kill -USR1 "$vpid"; kill -USR2 "$vpid"; kill -WINCH "$vpid"
	kill -ALRM "$vpid"; kill -PIPE "$vpid"; kill -CHLD "$vpid"
done 2>/dev/null ) &
storm=$!
e2e_track "$storm"
served=0
for i in $(seq 40); do
	[[ $(add_node "$sock" "storm$i" "$ALLOWED") == '{"return": {}}'* ]] &&
		served=$((served + 1))
done
wait "$storm"
kill -0 "$vpid" && [ "$served" = 40 ]
ok $? "a signal storm at the supervisor: all 40 opens served, it lives on" ||
	diag "served $served" "$(tail -5 "$E2E_TMP/g1.err")"

"$VMSEAL" lock g1 >"$E2E_TMP/lk" 2>&1
[ $? = 0 ] && grep -qx "g1: locked" "$E2E_TMP/lk"
ok $? "vmseal lock g1" || diag "$(cat "$E2E_TMP/lk")"
grep -q "broker locked on request" "$E2E_TMP/g1.err"
ok $? "the supervisor logs the lock"

reply=$(add_node "$sock" after "$ALLOWED")
[[ $reply == *'"error"'*'Permission denied'* ]]
ok $? "after lock: the same file is refused" || diag "$reply"

e2e_hmp "$sock" 'qemu-io root "read -P 0x33 2M 1M"' >/dev/null
grep -q '^read 1048576/1048576 bytes at offset 2097152' "$E2E_TMP/g1.out" &&
	! grep -q 'Pattern verification failed' "$E2E_TMP/g1.out"
ok $? "after lock: the disk still reads through its descriptors"

"$VMSEAL" status g1 | grep -q 'locked=yes'
ok $? "status says locked"
"$VMSEAL" lock g1 | grep -qx "g1: already locked"
ok $? "a second lock says already locked"

if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	# Even the guest's own user, who owns the runtime directory.
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$VMSEAL" lock g1 >"$E2E_TMP/nobody" 2>&1
	rc=$?
	[ $rc != 0 ] && ! grep -q locked "$E2E_TMP/nobody"
	ok $? "another user cannot use the control socket" || diag "$(cat "$E2E_TMP/nobody")"
else
	skip "needs root and setpriv" "another user cannot use the control socket"
fi

e2e_qmp "$sock" '{"execute":"quit"}' >/dev/null
e2e_wait_exit "$vpid" 30
ok $? "g1 quits, vmseal exits 0"
[ ! -e "$(e2e_run_dir g1)/control.sock" ] && [ ! -e "$(e2e_run_dir g1)/vmseal.pid" ] &&
	[ ! -e "$(e2e_run_dir g1)/emulator.pid" ]
ok $? "control socket and pid files removed at exit"
"$VMSEAL" status g1 >/dev/null 2>&1
[ $? = 69 ]
ok $? "status of a stopped guest: exit 69"

write_ini g2 "lock-after = 2"
"$VMSEAL" run "$E2E_TMP/g2.ini" >"$E2E_TMP/g2.out" 2>"$E2E_TMP/g2.err" &
vpid=$!
e2e_track "$vpid"
sock=$(e2e_run_dir g2)/qmp.sock
[[ $(add_node "$sock" early "$ALLOWED") == '{"return": {}}'* ]]
ok $? "lock-after: served before the time is up"
sleep 3
reply=$(add_node "$sock" late "$ALLOWED")
[[ $reply == *'Permission denied'* ]] && grep -q "broker locked after 2 s (lock-after)" "$E2E_TMP/g2.err"
ok $? "lock-after = 2: refused after 2 s, and logged" || diag "$reply" "$(cat "$E2E_TMP/g2.err")"

# The broker removes a stale socket only in the runtime directory.
: >"$E2E_TMP/plain"
reply=$(e2e_hmp "$sock" "chardev-add socket,id=c1,path=$E2E_TMP/elsewhere.sock,server=on,wait=off")
# The broker answers the emulator before it logs: the line may come later.
for i in $(seq 20); do
	grep -q "denied unlink $E2E_TMP/elsewhere.sock" "$E2E_TMP/g2.err" && break
	sleep 0.1
done
grep -q "denied unlink $E2E_TMP/elsewhere.sock" "$E2E_TMP/g2.err"
ok $? "unlink outside the runtime directory refused" || diag "$reply"
e2e_qmp "$sock" '{"execute":"quit"}' >/dev/null
e2e_wait_exit "$vpid" 30
ok $? "g2 quits"

tap_done
