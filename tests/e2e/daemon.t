#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Init-script launch: run --daemon returns once the guest is up (or with
# the start's error), logs to a file that SIGHUP reopens, stop ends
# emulator and supervisor and cleans up; systemd's readiness protocol;
# the LSB init script from contrib/ (install.t verifies the unit).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

missing=$(e2e_missing "$QEMU" qemu-img qemu-io "$VMSEAL" "$QMP")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps, make test-bins)" "daemon e2e"
	tap_done
	exit
fi
e2e_setup
guest_chain "$E2E_TMP/images" >/dev/null

write_ini() { # NAME
	cat >"$E2E_TMP/$1.ini" <<-INI
	[vmseal]
	version = 1
	name = $1
	[emulator]
	args = -machine pc -accel tcg -m 64 -nographic -nodefaults -S
	args = -qmp unix:$(e2e_run_dir "$1")/qmp.sock,server=on,wait=off
	[sandbox]
	[disk root]
	image = $E2E_TMP/images/top.qcow2
	format = qcow2
	device = none
	INI
}

# gone PID: not running within 10 s.
gone() {
	local i
	for i in $(seq 100); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

write_ini d1
log=$E2E_TMP/d1.log
"$VMSEAL" run --daemon --pidfile "$E2E_TMP/d1.pid" --log "$log" "$E2E_TMP/d1.ini" \
	>"$E2E_TMP/d1.out" 2>&1
rc=$?
sup=$(cat "$E2E_TMP/d1.pid" 2>/dev/null)
[ -n "$sup" ] && e2e_track "$sup"
emu=$(cat "$(e2e_run_dir d1)/emulator.pid" 2>/dev/null)
[ -n "$emu" ] && e2e_track "$emu"
[ $rc = 0 ] && [ ! -s "$E2E_TMP/d1.out" ]
ok $? "run --daemon returns 0, quietly" || diag "exit $rc" "$(cat "$E2E_TMP/d1.out")"
"$QMP" "$(e2e_run_dir d1)/qmp.sock" '{"execute":"query-status"}' | grep -q '"status": "prelaunch"'
ok $? "the guest's QMP socket answers as soon as run returned"
[ -n "$sup" ] && kill -0 "$sup" &&
	[ "$(ps -o sid= -p "$sup" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')" ] &&
	[ "$(ps -o ppid= -p "$sup" | tr -d ' ')" != $$ ] &&
	[ "$(ps -o ppid= -p "$emu" | tr -d ' ')" = "$sup" ]
ok $? "the pid file names the detached supervisor (another session), parent of the emulator"
"$VMSEAL" status d1 | grep -q "^d1: pid=$emu policy=broker"
ok $? "status: running"

e2e_hmp "$(e2e_run_dir d1)/qmp.sock" 'qemu-io root "read -P 0x33 2M 1M"' >/dev/null
sleep 0.5
grep -q "emulator\[$emu\]: read 1048576/1048576 bytes at offset 2097152" "$log"
ok $? "the emulator's output is in the log, as emulator[QEMU's pid]" || diag "$(cat "$log")"
mv "$log" "$log.1"
kill -HUP "$sup"
sleep 0.5
e2e_hmp "$(e2e_run_dir d1)/qmp.sock" 'qemu-io root "read -P 0x22 1M 1M"' >/dev/null
sleep 0.5
grep -q 'read 1048576/1048576 bytes at offset 1048576' "$log" && kill -0 "$emu"
ok $? "SIGHUP reopens the log (rotation), the emulator keeps running"

"$VMSEAL" stop d1 >"$E2E_TMP/stop" 2>&1
rc=$?
[ $rc = 0 ] && grep -qx "d1: stopped" "$E2E_TMP/stop" && gone "$emu" && gone "$sup"
ok $? "stop: emulator and supervisor gone" || diag "exit $rc" "$(cat "$E2E_TMP/stop")"
[ ! -e "$E2E_TMP/d1.pid" ] && [ ! -e "$(e2e_run_dir d1)/control.sock" ] &&
	[ ! -e "$(e2e_run_dir d1)/emulator.pid" ] && [ ! -e "$(e2e_run_dir d1)/qmp.sock" ]
ok $? "pid file and runtime files removed"
[ ! -e "$(e2e_run_dir d1)" ]
ok $? "the emptied runtime directory removed" || diag "$(ls -la "$(e2e_run_dir d1)")"
grep -q 'guest d1 stopped: status 0' "$log"
ok $? "the log says the guest stopped with status 0 (QEMU's answer to SIGTERM)"
"$VMSEAL" status d1 >/dev/null 2>&1
[ $? = 69 ]
ok $? "status of the stopped guest: 69"
"$VMSEAL" stop d1 >/dev/null 2>&1
[ $? = 69 ]
ok $? "stop of a stopped guest: 69"

# An emulator killed outright leaves its QMP socket; vmseal removes it.
write_ini k1
"$VMSEAL" run --daemon --pidfile "$E2E_TMP/k1.pid" --log "$E2E_TMP/k1.log" "$E2E_TMP/k1.ini" \
	>/dev/null 2>&1
ksup=$(cat "$E2E_TMP/k1.pid" 2>/dev/null)
[ -n "$ksup" ] && e2e_track "$ksup"
kemu=$(cat "$(e2e_run_dir k1)/emulator.pid" 2>/dev/null)
[ -S "$(e2e_run_dir k1)/qmp.sock" ] && kill -KILL "$kemu" && gone "$ksup" &&
	[ ! -e "$(e2e_run_dir k1)/qmp.sock" ] && [ ! -e "$(e2e_run_dir k1)" ]
ok $? "SIGKILL to QEMU: its stale qmp.sock and the runtime directory removed" ||
	diag "$(ls -la "$(e2e_run_dir k1)" 2>&1)"

# A start that fails says why, from the daemon, in the foreground.
sed 's|top.qcow2|missing.qcow2|' "$E2E_TMP/d1.ini" >"$E2E_TMP/bad.ini"
"$VMSEAL" run --daemon --log "$E2E_TMP/bad.log" "$E2E_TMP/bad.ini" >/dev/null 2>"$E2E_TMP/bad.err"
rc=$?
[ $rc = 66 ] && grep -q "missing.qcow2: cannot open" "$E2E_TMP/bad.err"
ok $? "a failing --daemon start exits with its code (66) and message" ||
	diag "exit $rc" "$(cat "$E2E_TMP/bad.err")"

# A start whose emulator dies after its QMP socket exists is a failed
# start, every time: a disk another guest holds (QEMU: Failed to get
# "write" lock, after it listens on -qmp), and a device that fails after
# the monitor is set up.  Up means: a QMP command answered, and the
# emulator alive after the answer.
# The image's write lock is held by a plain qemu-io, not by a vmseal
# guest: vmseal itself refuses a chain holding another running guest's
# writable image before any emulator starts (pin.t).
mkfifo "$E2E_TMP/hold.in"
qemu-io -f qcow2 "$E2E_TMP/images/top.qcow2" <"$E2E_TMP/hold.in" >/dev/null 2>&1 &
hsup=$!
e2e_track "$hsup"
exec 8>"$E2E_TMP/hold.in"
# Waits for qemu-io's lock in /proc/locks: a qemu-img polling the image
# would hold a lock of its own and could make qemu-io fail to start.
for i in $(seq 100); do
	e2e_locked "$E2E_TMP/images/top.qcow2" && break
	sleep 0.05
done
! qemu-img info "$E2E_TMP/images/top.qcow2" >/dev/null 2>&1
ok $? "a process holding the image's write lock started"
write_ini h2
fails=0 ups=0
for i in $(seq 50); do
	"$VMSEAL" run --daemon --log "$E2E_TMP/h2.log" "$E2E_TMP/h2.ini" >/dev/null 2>"$E2E_TMP/h2.err"
	rc=$?
	[ $rc != 0 ] && grep -q "guest h2 ended while starting (status 1)" "$E2E_TMP/h2.err" &&
		fails=$((fails + 1))
done
ups=$(grep -c 'guest h2 is up' "$E2E_TMP/h2.log")
# A start that wrongly came up must not outlive the test.
[ "$ups" = 0 ] || "$VMSEAL" stop h2 >/dev/null 2>&1
[ $fails = 50 ] && [ "$ups" = 0 ] && grep -q 'Failed to get "write" lock' "$E2E_TMP/h2.log"
ok $? "a locked image: 50 of 50 --daemon starts report the failure" ||
	diag "$fails failures reported, $ups 'is up' lines" "$(cat "$E2E_TMP/h2.err")" "$(tail -5 "$E2E_TMP/h2.log")"
ls "$(e2e_run_dir h2)" | grep -q sock
ok $((!$?)) "no socket left in the failed guest's runtime directory"
sed 's|-nodefaults -S|-nodefaults -S -device virtio-blk-pci,drive=nosuch|; s|top.qcow2|mid.qcow2|; s|h2|h3|g' \
	"$E2E_TMP/h2.ini" >"$E2E_TMP/h3.ini"
sed -i 's|^format = qcow2|format = qcow2\nreadonly = yes|' "$E2E_TMP/h3.ini"
fails=0
for i in $(seq 20); do
	"$VMSEAL" run --daemon --log "$E2E_TMP/h3.log" "$E2E_TMP/h3.ini" >/dev/null 2>&1 ||
		fails=$((fails + 1))
done
[ $fails = 20 ] && ! grep -q 'is up' "$E2E_TMP/h3.log" && grep -q "can't find value 'nosuch'" "$E2E_TMP/h3.log"
ok $? "a device failing after the monitor exists: 20 of 20 starts report the failure" ||
	diag "$fails failures" "$(grep -v denied "$E2E_TMP/h3.log" | tail -5)"
ns=$E2E_TMP/notify-h2.sock
"$E2E_BUILD/tests/e2e/notify_listen" "$ns" 30 >"$E2E_TMP/notify-h2" &
lpid=$!
e2e_track "$lpid"
for i in $(seq 50); do [ -S "$ns" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$ns "$VMSEAL" run "$E2E_TMP/h2.ini" >/dev/null 2>&1
rc=$?
sleep 0.2
kill "$lpid" 2>/dev/null
wait "$lpid" 2>/dev/null
[ $rc = 1 ] && ! grep -q READY=1 "$E2E_TMP/notify-h2"
ok $? "sd_notify: no READY=1 for the locked image, vmseal exits 1" ||
	diag "exit $rc" "$(cat "$E2E_TMP/notify-h2")"
exec 8>&-
gone "$hsup"
ok $? "the process holding the lock stopped"

# systemd's readiness protocol, with a stand-in manager.
write_ini n1
ns=$E2E_TMP/notify.sock
"$E2E_BUILD/tests/e2e/notify_listen" "$ns" 30 >"$E2E_TMP/notify" &
lpid=$!
e2e_track "$lpid"
for i in $(seq 50); do [ -S "$ns" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$ns "$VMSEAL" run "$E2E_TMP/n1.ini" >/dev/null 2>&1 &
vpid=$!
e2e_track "$vpid"
wait "$lpid"
rc=$?
grep -q "^READY=1;MAINPID=$vpid;STATUS=guest n1 runs" "$E2E_TMP/notify" &&
	"$QMP" "$(e2e_run_dir n1)/qmp.sock" '{"execute":"query-status"}' | grep -q prelaunch
ok $((rc)) "sd_notify: READY=1 with MAINPID once QMP answers" || diag "$(cat "$E2E_TMP/notify")"
kill -TERM "$vpid"
e2e_wait_exit "$vpid" 30
ok $? "SIGTERM to vmseal: QEMU shuts down, vmseal exits 0"

# The LSB init script, live.  Its guest is named by [vmseal] name, not by
# the file name: i1-file.ini holds guest i1.
conf=$E2E_TMP/etc
mkdir -p "$conf"
write_ini i1
cp "$E2E_TMP/i1.ini" "$conf/i1-file.ini"
initd() {
	VMSEAL=$VMSEAL VMSEAL_CONF_DIR=$conf VMSEAL_LOG_DIR=$E2E_TMP/logs \
		sh "$E2E_ROOT/contrib/init.d/vmseal" "$@"
}
initd start >"$E2E_TMP/i.out" 2>&1
rc=$?
sup=$(cat "$(e2e_run_dir i1)/vmseal.pid" 2>/dev/null)
emu=$(cat "$(e2e_run_dir i1)/emulator.pid" 2>/dev/null)
[ -n "$sup" ] && e2e_track "$sup"
[ $rc = 0 ] && grep -qx "i1: started" "$E2E_TMP/i.out" && [ -s "$E2E_TMP/logs/i1.log" ]
ok $? "init.d start: started, named by [vmseal] name, logs to i1.log" || diag "$(cat "$E2E_TMP/i.out")"
initd status >"$E2E_TMP/i.st"
[ $? = 0 ] && grep -qx "i1: running" "$E2E_TMP/i.st"
ok $? "init.d status: running (0)"
initd status i1-file >"$E2E_TMP/i.st"
[ $? = 0 ] && grep -qx "i1: running" "$E2E_TMP/i.st"
ok $? "init.d status by the file's name: the guest it names, running"
initd start i1 >"$E2E_TMP/i.out" 2>&1
[ $? = 0 ] && grep -qx "i1: already running" "$E2E_TMP/i.out"
ok $? "init.d start of the running guest: already running"
initd stop i1-file >"$E2E_TMP/i.stop" 2>&1
[ $? = 0 ] && gone "$emu" && gone "$sup"
ok $? "init.d stop: QEMU and vmseal ended" || diag "$(cat "$E2E_TMP/i.stop")"
initd status i1 >"$E2E_TMP/i.st"
[ $? = 3 ] && grep -qx "i1: stopped" "$E2E_TMP/i.st"
ok $? "init.d status: stopped (3)"
! ps -eo pid,args | grep -v grep | grep -q -- "$conf/i1-file.ini\|$(e2e_run_dir i1)/qmp.sock"
ok $? "no process of i1 left"

# A guest whose start fails after its monitor exists is not "started".
write_ini i2
"$VMSEAL" run --daemon --pidfile "$E2E_TMP/i2.pid" --log "$E2E_TMP/i2.log" "$E2E_TMP/i2.ini" \
	>/dev/null 2>&1
hsup=$(cat "$E2E_TMP/i2.pid" 2>/dev/null)
[ -n "$hsup" ] && e2e_track "$hsup"
sed 's|name = i2|name = i3|; s|/i2/|/i3/|' "$E2E_TMP/i2.ini" >"$conf/i3.ini"
initd start i3 >"$E2E_TMP/i.out" 2>&1
rc=$?
[ $rc = 1 ] && grep -q "i3: failed to start" "$E2E_TMP/i.out" && ! grep -q started "$E2E_TMP/i.out"
ok $? "init.d start of a guest whose image is locked: failed (1)" || diag "exit $rc" "$(cat "$E2E_TMP/i.out")"
"$VMSEAL" stop i2 >/dev/null 2>&1
gone "$hsup"

tap_done
