#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The jail, Landlock and the death signal, attacked by a static probe
# (tests/probes/jail_probe.c) run as the emulator: host sockets (a 0777
# pathname socket, an abstract one), the host's files (/run, /home, the
# image directory, another guest's runtime directory), host processes
# (/proc/PID, kill), an allow-root emulator killing its supervisor, and a
# supervisor killed from outside.  Each must fail.  Then real QEMU in the
# jail: what it sees, network = none, and QMP at its documented path.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

PROBE=$E2E_BUILD/tests/probes/jail_probe
missing=$(e2e_missing "$QEMU" qemu-img "$VMSEAL" "$QMP" "$PROBE" setpriv)
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps, make test-bins)" "jail e2e"
	tap_done
	exit
fi
if [ "$(id -u)" != 0 ]; then
	skip "the jail needs vmseal to run as root" "jail e2e"
	tap_done
	exit
fi
e2e_setup
mkdir -p "$E2E_TMP/images" "$E2E_TMP/host" "$(e2e_run_dir other)"
qemu-img create -q -f qcow2 "$E2E_TMP/images/top.qcow2" 16M
chmod 0755 "$E2E_TMP/host"
abs=vmseal-jail-t-$$
landlock_abi=$("$PROBE" landlock-abi)

# What the probe aims at: a world-writable socket, an abstract one, and a
# process of the emulator's own user outside the jail.
"$PROBE" listen-unix "$E2E_TMP/host/world.sock" listen-abstract "$abs" sleep 120 \
	>"$E2E_TMP/listener.out" &
e2e_track $!
setpriv --reuid="$E2E_USER" --regid="$(id -g "$E2E_USER")" --clear-groups sleep 120 &
victim=$!
e2e_track "$victim"
for i in $(seq 50); do
	[ -S "$E2E_TMP/host/world.sock" ] && break
	sleep 0.1
done

# write_ini NAME BINARY "ARGS" SANDBOX-LINES...
write_ini() {
	local name=$1 bin=$2 args=$3
	shift 3
	{
		printf '[vmseal]\nversion = 1\nname = %s\n' "$name"
		printf '[emulator]\nbinary = %s\nargs = %s\n' "$bin" "$args"
		printf '[sandbox]\n'
		printf '%s\n' "$@"
	} >"$E2E_TMP/$name.ini"
}

probe_args="connect-unix $E2E_TMP/host/world.sock connect-abstract $abs"
probe_args+=" stat /run stat /home stat /var stat /etc/passwd stat $E2E_TMP/images"
probe_args+=" stat $(e2e_run_dir other) stat /proc/$victim readlink /proc/$victim/exe"
probe_args+=" kill $victim 0 stat $(e2e_run_dir a1)"
write_ini a1 "$PROBE" "$probe_args" "user = $E2E_USER"
"$VMSEAL" run "$E2E_TMP/a1.ini" >"$E2E_TMP/a1.out" 2>"$E2E_TMP/a1.err"
ok $? "the probe ran as the emulator" || diag "$(cat "$E2E_TMP/a1.err")"

# refused WHAT ARG ERRNO...: the probe's line for it names one of ERRNO.
refused() {
	local line
	line=$(grep -F "$1 $2: " "$E2E_TMP/a1.out")
	shift 2
	for e in "$@"; do
		[ "$line" = "${line%: "$e"}" ] || return 0
	done
	diag "probe said: ${line:-nothing}"
	return 1
}
refused connect-unix "$E2E_TMP/host/world.sock" ENOENT
ok $? "a world-writable unix socket on the host cannot be reached"
if [ "${landlock_abi:-0}" -ge 6 ]; then
	refused connect-abstract "$abs" EPERM
	ok $? "an abstract socket made outside cannot be reached (Landlock scope)"
else
	skip "Landlock ABI ${landlock_abi:-none} has no abstract socket scoping (6)" "abstract socket"
fi
for p in /run /home /var /etc/passwd "$E2E_TMP/images" "$(e2e_run_dir other)"; do
	refused stat "$p" ENOENT
	ok $? "the jail does not show $p"
done
refused stat "/proc/$victim" ENOENT && refused readlink "/proc/$victim/exe" ENOENT
ok $? "host processes are not in the jail's /proc"
refused kill "$victim 0" ESRCH EPERM
ok $? "a process of the same user outside cannot be signalled"
grep -qF "stat $(e2e_run_dir a1): OK" "$E2E_TMP/a1.out"
ok $? "its own runtime directory is there, at its host path"

# Read-only opens in the jail reach the kernel (the Landlock fast path):
# what the allowlist serves opens, a passed image does not reopen, the
# image by its path is not there.
write_ini a4 "$PROBE" "open /etc/ld.so.cache open /proc/self/fd/3 open $E2E_TMP/images/top.qcow2" \
	"user = $E2E_USER"
printf '[disk root]\nimage = %s/images/top.qcow2\nformat = qcow2\ndevice = none\n' "$E2E_TMP" >>"$E2E_TMP/a4.ini"
"$VMSEAL" check "$E2E_TMP/a4.ini" >"$E2E_TMP/a4.check" 2>&1
"$VMSEAL" run "$E2E_TMP/a4.ini" >"$E2E_TMP/a1.out" 2>"$E2E_TMP/a4.err"
if grep -q '^read-only opens: answered by the kernel' "$E2E_TMP/a4.check"; then
	grep -qx "open /etc/ld.so.cache: OK" "$E2E_TMP/a1.out"
	ok $? "fast path: an allowlisted file opens read-only" || diag "$(cat "$E2E_TMP/a1.out" "$E2E_TMP/a4.err")"
	refused open /proc/self/fd/3 EACCES
	ok $? "fast path: the passed image cannot be reopened through /proc/self/fd (Landlock)"
	refused open "$E2E_TMP/images/top.qcow2" ENOENT
	ok $? "fast path: the image is not in the jail by its path"
else
	skip "no Landlock: read-only opens still go to the broker" "fast path"
fi

# allow-root: uid 0 without capabilities tries to kill its supervisor.
write_ini a2 "$PROBE" "sleep 1 kill-parent 9 sleep 60" "user = root" "allow-root = yes"
"$VMSEAL" run "$E2E_TMP/a2.ini" >"$E2E_TMP/a2.out" 2>"$E2E_TMP/a2.err" &
vpid=$!
e2e_track "$vpid"
ppid_probe=$(e2e_child_of "$vpid")
for i in $(seq 50); do
	grep -q kill-parent "$E2E_TMP/a2.out" && break
	sleep 0.1
done
sleep 0.3
kill -0 "$vpid" 2>/dev/null
ok $? "an allow-root emulator cannot kill its supervisor" || diag "$(cat "$E2E_TMP/a2.out")"
kill -TERM "$vpid" 2>/dev/null
e2e_wait_exit "$vpid" 10 >/dev/null

# dead PID: gone, or a zombie nobody reaps: it runs no more.
dead() {
	local st
	st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}
[ -n "$ppid_probe" ] && dead "$ppid_probe"
ok $? "and it ended with its supervisor"

# kill(0, SIGKILL) reaches the caller's process group, the supervisor's:
# Landlock's signal scope spares the supervisor (the emulator dies alone).
# In a session of its own, so nothing of the test is in that group.
if [ "${landlock_abi:-0}" -ge 6 ]; then
	write_ini a5 "$PROBE" "sleep 1 kill 0 9 sleep 60" "user = root" "allow-root = yes"
	setsid "$VMSEAL" run -v "$E2E_TMP/a5.ini" >"$E2E_TMP/a5.out" 2>"$E2E_TMP/a5.err" &
	vpid=$!
	e2e_track "$vpid"
	e2e_wait_exit "$vpid" 20 2>/dev/null
	grep -q "guest a5 stopped: status 137" "$E2E_TMP/a5.err"
	ok $? "nor its process group: kill(0, SIGKILL) ends the emulator alone" ||
		diag "$(cat "$E2E_TMP/a5.err")"
else
	skip "Landlock ABI ${landlock_abi:-none} has no signal scoping (6)" "kill 0"
fi

# The supervisor SIGKILLed from outside: the emulator must not outlive it.
write_ini a3 "$PROBE" "sleep 60" "user = $E2E_USER"
"$VMSEAL" run "$E2E_TMP/a3.ini" >"$E2E_TMP/a3.out" 2>"$E2E_TMP/a3.err" &
vpid=$!
e2e_track "$vpid"
emu=$(e2e_child_of "$vpid")
for i in $(seq 50); do
	[ "$(cat "/proc/$emu/comm" 2>/dev/null)" = jail_probe ] && break
	sleep 0.1
done
{
	kill -KILL "$vpid"
	wait "$vpid"
} 2>/dev/null
for i in $(seq 30); do
	dead "$emu" && break
	sleep 0.1
done
dead "$emu"
ok $? "a supervisor killed by SIGKILL takes the emulator with it"
e2e_track "$emu"

# Real QEMU in the jail.
write_ini q1 "$QEMU" "-machine pc -accel tcg -m 64 -nographic -nodefaults -S -qmp unix:$(e2e_run_dir q1)/qmp.sock,server=on,wait=off" \
	"user = $E2E_USER"
printf '[disk root]\nimage = %s/images/top.qcow2\nformat = qcow2\ndevice = none\n' "$E2E_TMP" >>"$E2E_TMP/q1.ini"
"$VMSEAL" check "$E2E_TMP/q1.ini" >"$E2E_TMP/check.out" 2>&1
grep -q '^jail: on: mount, PID, IPC and UTS namespaces, network host' "$E2E_TMP/check.out" &&
	grep -q '^landlock: ' "$E2E_TMP/check.out" && grep -q '^death signal: ' "$E2E_TMP/check.out"
ok $? "check says which layers are on" || diag "$(cat "$E2E_TMP/check.out")"
"$VMSEAL" run "$E2E_TMP/q1.ini" >"$E2E_TMP/q1.out" 2>"$E2E_TMP/q1.err" &
vpid=$!
e2e_track "$vpid"
sock=$(e2e_run_dir q1)/qmp.sock
e2e_qmp "$sock" '{"execute":"query-status"}' | grep -q prelaunch
ok $? "QEMU answers QMP from the jail at the documented path" || diag "$(cat "$E2E_TMP/q1.err")"
qpid=$(e2e_child_of "$vpid")
root=/proc/$qpid/root
[ -d "$root/usr/lib" ] && [ ! -e "$root/run" ] && [ ! -e "$root/home" ] &&
	[ ! -e "$root$E2E_TMP/images" ] && [ ! -e "$root$(e2e_run_dir other)" ] &&
	[ -S "$root$sock" ]
ok $? "QEMU's root: /usr, its runtime dir, no /run, /home, images or other guests" ||
	diag "$(ls -la "$root" "$root$E2E_TMP" 2>&1)"
grep -qE '^NSpid:[[:space:]]+[0-9]+[[:space:]]+2$' "/proc/$qpid/status"
ok $? "QEMU is pid 2 of its own PID namespace"
rootopts=$(awk '$5 == "/" { print $6 }' "/proc/$qpid/mountinfo")
[[ ,$rootopts, == *,ro,* && ,$rootopts, == *,nosuid,* && ,$rootopts, == *,nodev,* ]]
ok $? "QEMU's root is mounted read-only, nosuid, nodev ($rootopts)"
own=0
for ns in mnt pid ipc uts; do
	[ "$(readlink "/proc/$qpid/ns/$ns")" != "$(readlink /proc/self/ns/$ns)" ] || own=1
done
[ $own = 0 ]
ok $? "mount, PID, IPC and UTS namespaces of its own"
[ "$(readlink "/proc/$qpid/ns/net")" = "$(readlink /proc/self/ns/net)" ]
ok $? "network = host (the default) keeps the host's network namespace"
e2e_qmp "$sock" '{"execute":"quit"}' >/dev/null
e2e_wait_exit "$vpid" 20
ok $? "QEMU quits cleanly" || diag "$(cat "$E2E_TMP/q1.err")"

sed -i 's/^\[sandbox\]$/[sandbox]\nnetwork = none/' "$E2E_TMP/q1.ini"
"$VMSEAL" run "$E2E_TMP/q1.ini" >"$E2E_TMP/q2.out" 2>"$E2E_TMP/q2.err" &
vpid=$!
e2e_track "$vpid"
e2e_qmp "$sock" '{"execute":"query-status"}' | grep -q prelaunch
ok $? "network = none: QEMU starts" || diag "$(cat "$E2E_TMP/q2.err")"
qpid=$(e2e_child_of "$vpid")
[ -n "$qpid" ] && [ "$(readlink "/proc/$qpid/ns/net")" != "$(readlink /proc/self/ns/net)" ]
ok $? "network = none: a network namespace of its own"
e2e_qmp "$sock" '{"execute":"quit"}' >/dev/null
e2e_wait_exit "$vpid" 20 >/dev/null

# A chain member the emulator could read by path is refused.
mkdir -p "$E2E_TMP/fw"
cp "$E2E_TMP/images/top.qcow2" "$E2E_TMP/fw/in-allow.qcow2"
write_ini c1 "$QEMU" "-machine pc -S" "user = $E2E_USER" "allow = $E2E_TMP/fw"
printf '[disk root]\nimage = %s/fw/in-allow.qcow2\nformat = qcow2\ndevice = none\n' "$E2E_TMP" >>"$E2E_TMP/c1.ini"
"$VMSEAL" check "$E2E_TMP/c1.ini" >"$E2E_TMP/c1.out" 2>&1
rc=$?
[ $rc = 66 ] && grep -q "lies beneath $E2E_TMP/fw" "$E2E_TMP/c1.out"
ok $? "an image beneath an allowlisted tree is refused (66)" || diag "rc $rc: $(cat "$E2E_TMP/c1.out")"

# The emulator named through a link outside every tree the jail holds:
# the jail binds the file at that path too, so the exec finds it.
mkdir -p "$E2E_TMP/links"
ln -s "$QEMU" "$E2E_TMP/links/qemu"
write_ini l1 "$E2E_TMP/links/qemu" "-version" "user = $E2E_USER"
"$VMSEAL" run "$E2E_TMP/l1.ini" >"$E2E_TMP/l1.out" 2>"$E2E_TMP/l1.err"
rc=$?
[ $rc = 0 ] && grep -q '^QEMU emulator version' "$E2E_TMP/l1.out"
ok $? "an emulator named through a link outside the jail's trees runs" ||
	diag "rc $rc: $(cat "$E2E_TMP/l1.err")"

tap_done
