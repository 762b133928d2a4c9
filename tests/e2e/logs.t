#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Quiet, honest logs: the probes QEMU makes on every start and does
# without are no denials (one line at -v); a refused image open hints at
# what works, never at an allow entry; stderr lines carry their syslog
# priority when stderr is journald's stream; a daemon with no syslog
# socket says so and logs to a file.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

missing=$(e2e_missing "$QEMU" qemu-img "$VMSEAL" "$QMP")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps, make test-bins)" "logs e2e"
	tap_done
	exit
fi
e2e_setup
mkdir -p "$E2E_TMP/img"
chmod 755 "$E2E_TMP/img"
qemu-img create -q -f qcow2 "$E2E_TMP/img/root.qcow2" 16M
qemu-img create -q -f qcow2 "$E2E_TMP/img/hot.qcow2" 16M
qemu-img create -q -f raw "$E2E_TMP/img/plain.dat" 1M
chmod 644 "$E2E_TMP"/img/*

# kernel-opens = no: every open reaches the broker, whose answers these
# tests are about (with it on, read-only opens in the jail are the kernel's).
write_ini() { # NAME
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
	[disk root]
	image = $E2E_TMP/img/root.qcow2
	format = qcow2
	device = none
	INI
}

# start NAME LOG [OPTION...]: run --daemon, logging to LOG.
start() {
	local name=$1 log=$2
	shift 2
	"$VMSEAL" run --daemon "$@" --pidfile "$E2E_TMP/$name.pid" --log "$log" \
		"$E2E_TMP/$name.ini" >"$E2E_TMP/$name.out" 2>&1
	local rc=$?
	[ -s "$E2E_TMP/$name.pid" ] && e2e_track "$(cat "$E2E_TMP/$name.pid")"
	return $rc
}

stop() { # NAME
	"$VMSEAL" stop "$1" >/dev/null 2>&1
}

# The routine probes: not denials; -v sums them up in one line.
write_ini q1
start q1 "$E2E_TMP/q1.log"
ok $? "a guest starts"
e2e_hmp "$(e2e_run_dir q1)/qmp.sock" 'info status' >/dev/null
stop q1
! grep -q 'denied open\|denied unlink' "$E2E_TMP/q1.log" && grep -q 'guest q1 stopped' "$E2E_TMP/q1.log"
ok $? "a normal start and stop: no 'denied' line" || diag "$(cat "$E2E_TMP/q1.log")"
! grep -q 'routine probe' "$E2E_TMP/q1.log"
ok $? "without -v the routine probes are not mentioned"
start q1 "$E2E_TMP/q1v.log" -v
stop q1
grep 'routine probe' "$E2E_TMP/q1v.log" >"$E2E_TMP/q1v.routine"
[ "$(grep -c 'routine probe' "$E2E_TMP/q1v.routine")" -ge 1 ] &&
	grep -q '/etc/libnl/classid\|/sys/bus/nd/devices\|/dev/sgx_vepc' "$E2E_TMP/q1v.routine" &&
	! grep -q 'denied open\|denied unlink' "$E2E_TMP/q1v.log"
ok $? "-v: the routine probes summed up in a line, no 'denied'" || diag "$(grep -v served "$E2E_TMP/q1v.log")"

# A refused image open: the hint says what works; a read-only file that
# is no image keeps its allow hint.
write_ini h1
start h1 "$E2E_TMP/h1.log"
e2e_hmp "$(e2e_run_dir h1)/qmp.sock" "drive_add 0 if=none,id=hot,file=$E2E_TMP/img/hot.qcow2" >/dev/null
e2e_hmp "$(e2e_run_dir h1)/qmp.sock" "drive_add 0 if=none,id=ro,readonly=on,format=raw,file=$E2E_TMP/img/plain.dat" >/dev/null
sleep 0.3
stop h1
grep "denied open $E2E_TMP/img/hot.qcow2" "$E2E_TMP/h1.log" >"$E2E_TMP/h1.hot"
grep -q 'images reach the emulator only as descriptors; add it to the config or use the monitor gate' "$E2E_TMP/h1.hot" &&
	! grep -q "allow = " "$E2E_TMP/h1.hot"
ok $? "a refused image open: 'images reach the emulator only as descriptors', no allow hint" ||
	diag "$(grep denied "$E2E_TMP/h1.log")"
grep "denied open $E2E_TMP/img/plain.dat" "$E2E_TMP/h1.log" | grep -q "to allow it: 'allow = $E2E_TMP/img/plain.dat' in \[sandbox\]"
ok $? "a refused read-only open of a plain file: the allow hint" || diag "$(grep denied "$E2E_TMP/h1.log")"

# journald's stream: every line of vmseal's led by its priority.
sed 's|root.qcow2|missing.qcow2|' "$E2E_TMP/q1.ini" >"$E2E_TMP/bad.ini"
: >"$E2E_TMP/j.err"
stream=$(stat -c '%d:%i' "$E2E_TMP/j.err")
JOURNAL_STREAM=$stream "$VMSEAL" run "$E2E_TMP/bad.ini" 2>>"$E2E_TMP/j.err"
[ $? = 66 ] && [ -s "$E2E_TMP/j.err" ] && ! grep -qv '^<[0-7]>vmseal: ' "$E2E_TMP/j.err" &&
	grep -q '^<3>vmseal: .*missing.qcow2' "$E2E_TMP/j.err"
ok $? "JOURNAL_STREAM names stderr: every line '<N>vmseal: ', an error at <3>" || diag "$(cat "$E2E_TMP/j.err")"
sed 's|-nodefaults -S|-nodefaults -S -device virtio-blk-pci,drive=nosuch|; s|q1|j1|g' "$E2E_TMP/q1.ini" >"$E2E_TMP/j1.ini"
: >"$E2E_TMP/j1.err"
stream=$(stat -c '%d:%i' "$E2E_TMP/j1.err")
JOURNAL_STREAM=$stream "$VMSEAL" run -v "$E2E_TMP/j1.ini" >>"$E2E_TMP/j1.err" 2>>"$E2E_TMP/j1.err"
[ $? = 1 ] && ! grep -qv '^<[0-7]>' "$E2E_TMP/j1.err" &&
	grep -q "^<3>qemu-system-x86_64: -device virtio-blk-pci,drive=nosuch: Property" "$E2E_TMP/j1.err" &&
	grep -q '^<6>vmseal: guest j1 stopped: status 1' "$E2E_TMP/j1.err"
ok $? "JOURNAL_STREAM: QEMU's own error relayed at <3>, every line with a priority" || diag "$(cat "$E2E_TMP/j1.err")"
JOURNAL_STREAM=1:1 "$VMSEAL" run "$E2E_TMP/bad.ini" 2>"$E2E_TMP/j2.err"
grep -q '^vmseal: .*missing.qcow2' "$E2E_TMP/j2.err" && ! grep -q '^<' "$E2E_TMP/j2.err"
ok $? "JOURNAL_STREAM naming another stream: no prefix" || diag "$(cat "$E2E_TMP/j2.err")"

# SeaBIOS clears the screen with escape codes on the serial console: the
# log gets them escaped, never raw.
sed 's|-nodefaults -S|-nodefaults -serial stdio|; s|q1|b1|g' "$E2E_TMP/q1.ini" >"$E2E_TMP/b1.ini"
start b1 "$E2E_TMP/b1.log"
for i in $(seq 50); do grep -q SeaBIOS "$E2E_TMP/b1.log" && break; sleep 0.1; done
sleep 0.5
stop b1
grep -q 'emulator\[[0-9]*\]: .*SeaBIOS' "$E2E_TMP/b1.log" && ! grep -q "$(printf '\033')" "$E2E_TMP/b1.log" &&
	grep -q '\\x1b' "$E2E_TMP/b1.log"
ok $? "SeaBIOS's escape codes are in the log escaped (\\x1b), never raw" || diag "$(cat -v "$E2E_TMP/b1.log" | grep -v denied | head)"

# No syslog socket: the daemon says so and logs to a file.
if [ -S /dev/log ]; then
	skip "/dev/log exists on this host" "a daemon without syslog falls back to a file"
	skip "/dev/log exists on this host" "a wrapped -daemonize without syslog leaves no log file"
else
	write_ini s1
	VMSEAL_LOG_DIR=$E2E_TMP/varlog "$VMSEAL" run --daemon --pidfile "$E2E_TMP/s1.pid" \
		"$E2E_TMP/s1.ini" >"$E2E_TMP/s1.out" 2>&1
	rc=$?
	[ -s "$E2E_TMP/s1.pid" ] && e2e_track "$(cat "$E2E_TMP/s1.pid")"
	stop s1
	[ $rc = 0 ] && grep -q "no syslog socket (/dev/log): logging to $E2E_TMP/varlog/s1.log" "$E2E_TMP/s1.out" &&
		grep -q 'no syslog socket (/dev/log): logging here' "$E2E_TMP/varlog/s1.log" &&
		grep -q 'guest s1 is up' "$E2E_TMP/varlog/s1.log"
	ok $? "a daemon without syslog: says so, logs to \$VMSEAL_LOG_DIR/NAME.log" ||
		diag "exit $rc" "$(cat "$E2E_TMP/s1.out")" "$(cat "$E2E_TMP/varlog/s1.log" 2>&1)"
	printf '[vmseal]\nversion = 1\nname = w1\n' >"$E2E_TMP/w1.ini"
	VMSEAL_LOG_DIR=$E2E_TMP/varlog2 timeout 20 "$VMSEAL" wrap --config "$E2E_TMP/w1.ini" -- \
		"$QEMU" -machine none -display none -S -daemonize -pidfile "$E2E_TMP/w1.pid" \
		>"$E2E_TMP/w1.out" 2>&1
	rc=$?
	[ -s "$E2E_TMP/w1.pid" ] && e2e_track "$(cat "$E2E_TMP/w1.pid")" && e2e_stop_pid "$(cat "$E2E_TMP/w1.pid")"
	[ $rc = 0 ] && grep -q "no syslog socket (/dev/log): vmseal's messages after the start are not kept" "$E2E_TMP/w1.out" &&
		[ -z "$(ls -A "$E2E_TMP/varlog2" 2>/dev/null)" ]
	ok $? "a wrapped -daemonize without syslog: says so on its caller's stderr, leaves no log file" ||
		diag "exit $rc" "$(cat "$E2E_TMP/w1.out")" "$(ls -la "$E2E_TMP/varlog2" 2>&1)"
fi

tap_done
