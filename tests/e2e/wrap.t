#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The drop-in wrapper: QEMU command lines as an admin or libvirt writes
# them (-drive key=value, -blockdev JSON with the whole graph, a monitor
# socket passed as fd=N), run with every disk as a descriptor; refusals;
# -pidfile/-daemonize as libvirt's capability probe uses them; the symlink.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

missing=$(e2e_missing "$QEMU" qemu-img qemu-io "$VMSEAL" "$QMP")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps, make test-bins)" "wrap e2e"
	tap_done
	exit
fi
e2e_setup
I=$E2E_TMP/images
guest_chain "$I" >/dev/null
S=$E2E_TMP/sockets
mkdir -p "$S"
chown "$E2E_USER" "$S"
printf '[vmseal]\nversion = 1\nname = wrap\n[sandbox]\nuser = %s\n' "$E2E_USER" >"$E2E_TMP/wrap.ini"
BASE=(-machine pc -accel tcg -m 64 -nodefaults -display none -S)

# wrapped NAME ARGS...: vmseal wrap in the background; sets vpid, qpid.
wrapped() {
	local name=$1
	shift
	"$VMSEAL" wrap --config "$E2E_TMP/wrap.ini" -- "$QEMU" "$@" \
		>"$E2E_TMP/$name.out" 2>"$E2E_TMP/$name.err" &
	vpid=$!
	e2e_track "$vpid"
}

reads_patterns() { # SOCK NODE OUT: qemu-io reads the three layers
	e2e_hmp "$1" "qemu-io $2 \"read -P 0x11 0 1M\"" >/dev/null
	e2e_hmp "$1" "qemu-io $2 \"read -P 0x22 1M 1M\"" >/dev/null
	e2e_hmp "$1" "qemu-io $2 \"read -P 0x33 2M 1M\"" >/dev/null
	[ "$(grep -c '^read 1048576/1048576 bytes' "$3")" = 3 ] &&
		! grep -q 'Pattern verification failed' "$3"
}

# 1. -drive key=value, as an admin writes it.
wrapped w1 "${BASE[@]}" -qmp "unix:$S/w1.sock,server=on,wait=off" \
	-drive "file=$I/top.qcow2,format=qcow2,if=none,id=root"
e2e_qmp "$S/w1.sock" >/dev/null
ok $? "-drive: QEMU runs under the wrapper" || diag "$(cat "$E2E_TMP/w1.err")"
# QEMU keeps the caller's pid; vmseal's helper (broker, control socket)
# is its child.
qpid=$vpid
helper=$(e2e_child_of "$qpid")
rd=$(e2e_run_dir "wrap-$qpid")
[ "$(readlink "/proc/$qpid/exe")" = "$(readlink -f "$QEMU")" ] &&
	[ "$(readlink "/proc/$helper/exe")" = "$(readlink -f "$VMSEAL")" ] &&
	[ "$(cat "$rd/emulator.pid")" = "$qpid" ] && [ "$(cat "$rd/vmseal.pid")" = "$helper" ]
ok $? "-drive: the pid the caller started is QEMU, vmseal's helper its child" ||
	diag "qemu $(readlink "/proc/$qpid/exe") helper $(readlink "/proc/$helper/exe")"
tr '\0' '\n' <"/proc/$qpid/cmdline" >"$E2E_TMP/w1.argv"
grep -q '^file=/dev/fdset/1000000,format=qcow2,if=none,id=root,backing=vs0b1$' "$E2E_TMP/w1.argv" &&
	! grep -q "$I" "$E2E_TMP/w1.argv"
ok $? "-drive: file= rewritten to an fd set, vmseal's backing nodes, no image path left" ||
	diag "$(cat "$E2E_TMP/w1.argv")"
grep -q '^Seccomp:[[:space:]]*2$' "/proc/$qpid/status" &&
	grep -qE "^Uid:[[:space:]]+$(id -u "$E2E_USER")[[:space:]]" "/proc/$qpid/status"
ok $? "-drive: Seccomp 2, as $E2E_USER"
mv "$I" "$I.moved"
reads_patterns "$S/w1.sock" root "$E2E_TMP/w1.out"
ok $? "-drive: every layer read through descriptors after the images moved" ||
	diag "$(cat "$E2E_TMP/w1.out")"
e2e_hmp "$S/w1.sock" 'qemu-io root "write -P 0x55 3M 64k"' >/dev/null
grep -q '^wrote 65536/65536' "$E2E_TMP/w1.out"
ok $? "-drive: writes go through the read-write descriptor"
reply=$(e2e_qmp "$S/w1.sock" "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"node-name\":\"x\",\"filename\":\"$I.moved/base.qcow2\",\"read-only\":true}}")
[[ $reply == *'Permission denied'* ]]
ok $? "-drive: an image by path is still refused" || diag "$reply"
e2e_qmp "$S/w1.sock" '{"execute":"quit"}' >/dev/null
e2e_wait_exit "$vpid" 30
ok $? "-drive: quit, the wrapper exits 0"
mv "$I.moved" "$I"

# 2. libvirt's form: the whole graph in JSON, explicit backing, a monitor
# socket bound by the caller and passed as fd=30, an fd nobody names.
guest_chain "$I" >/dev/null
"$E2E_BUILD/tests/e2e/listen_fd" "$S/mon.sock" 30 "$VMSEAL" wrap --config "$E2E_TMP/wrap.ini" -- \
	"$QEMU" "${BASE[@]}" -chardev socket,id=charmonitor,fd=30,server=on,wait=off \
	-mon chardev=charmonitor,id=monitor,mode=control \
	-blockdev "{\"driver\":\"file\",\"filename\":\"$I/base.qcow2\",\"node-name\":\"libvirt-3-storage\",\"auto-read-only\":true,\"discard\":\"unmap\"}" \
	-blockdev '{"node-name":"libvirt-3-format","read-only":true,"driver":"qcow2","file":"libvirt-3-storage","backing":null}' \
	-blockdev "{\"driver\":\"file\",\"filename\":\"$I/mid.qcow2\",\"node-name\":\"libvirt-2-storage\",\"auto-read-only\":true,\"discard\":\"unmap\"}" \
	-blockdev '{"node-name":"libvirt-2-format","read-only":true,"driver":"qcow2","file":"libvirt-2-storage","backing":"libvirt-3-format"}' \
	-blockdev "{\"driver\":\"file\",\"filename\":\"$I/top.qcow2\",\"node-name\":\"libvirt-1-storage\",\"auto-read-only\":true,\"discard\":\"unmap\"}" \
	-blockdev '{"node-name":"libvirt-1-format","read-only":false,"driver":"qcow2","file":"libvirt-1-storage","backing":"libvirt-2-format"}' \
	>"$E2E_TMP/w2.out" 2>"$E2E_TMP/w2.err" 9</etc/hostname &
vpid=$!
e2e_track "$vpid"
e2e_qmp "$S/mon.sock" >/dev/null
ok $? "libvirt form: the monitor socket passed as fd=30 answers" || diag "$(cat "$E2E_TMP/w2.err")"
qpid=$vpid
[ -S "/proc/$qpid/fd/30" ] || [ "$(readlink "/proc/$qpid/fd/30" | cut -c1-7)" = "socket:" ]
ok $? "libvirt form: fd 30 is there in QEMU, same number"
! ls -l "/proc/$qpid/fd/" | grep -q ' -> /etc/hostname$'
ok $? "libvirt form: an fd nobody names (9, /etc/hostname) is not inherited"
tr '\0' '\n' <"/proc/$qpid/cmdline" >"$E2E_TMP/w2.argv"
[ "$(grep -c '"filename":"/dev/fdset/' "$E2E_TMP/w2.argv")" = 3 ] && ! grep -q "$I" "$E2E_TMP/w2.argv" &&
	grep -q '"backing":"libvirt-2-format"' "$E2E_TMP/w2.argv" && ! grep -q 'node-name=vs' "$E2E_TMP/w2.argv"
ok $? "libvirt form: three file nodes rewritten, its own backing kept, none added" ||
	diag "$(cat "$E2E_TMP/w2.argv")"
reads_patterns "$S/mon.sock" libvirt-1-format "$E2E_TMP/w2.out"
ok $? "libvirt form: every layer read" || diag "$(cat "$E2E_TMP/w2.out")"
e2e_hmp "$S/mon.sock" 'qemu-io libvirt-1-format "write -P 0x55 3M 64k"' >/dev/null
grep -q '^wrote 65536/65536' "$E2E_TMP/w2.out"
ok $? "libvirt form: auto-read-only top reopened read-write through its second fd"
e2e_qmp "$S/mon.sock" '{"execute":"quit"}' >/dev/null
e2e_wait_exit "$vpid" 30
ok $? "libvirt form: quit, exit 0"

# 3. Refusals: formats never guessed, temporary images never made.
refused() { # NAME MESSAGE ARGS...
	local name=$1 msg=$2 rc
	shift 2
	"$VMSEAL" wrap --config "$E2E_TMP/wrap.ini" -- "$QEMU" "$@" >/dev/null 2>"$E2E_TMP/r.err"
	rc=$?
	[ $rc = 64 ] && grep -q -- "$msg" "$E2E_TMP/r.err"
	ok $? "refused (64): $name" || diag "exit $rc" "$(cat "$E2E_TMP/r.err")"
}
refused "-hda" "never probes" -hda "$I/top.qcow2"
refused "-cdrom" "never probes" -cdrom "$I/top.qcow2"
refused "-drive without format" "has no format=" -drive "file=$I/top.qcow2,if=none"
refused "-drive snapshot=on" "snapshot=on" -drive "file=$I/top.qcow2,format=qcow2,snapshot=on"
refused "-snapshot" "temporary image" -snapshot -drive "file=$I/top.qcow2,format=qcow2"
refused "-drive json:" "absolute path" -drive 'file=json:{"driver":"file","filename":"/etc/shadow"},format=raw'

# 4. libvirt's capability probe: -pidfile and -daemonize done by vmseal.
"$VMSEAL" wrap --config "$E2E_TMP/wrap.ini" -- "$QEMU" -S -no-user-config -nodefaults -nographic \
	-machine none,accel=tcg -qmp "unix:$S/probe.sock,server=on,wait=off" \
	-pidfile "$E2E_TMP/probe.pid" -daemonize >"$E2E_TMP/p.out" 2>&1
rc=$?
pid=$(cat "$E2E_TMP/probe.pid" 2>/dev/null)
[ -n "$pid" ] && e2e_track "$pid"
[ $rc = 0 ] && [ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe")" = "$(readlink -f "$QEMU")" ] &&
	grep -q '^Seccomp:[[:space:]]*2$' "/proc/$pid/status"
ok $? "-daemonize: returns 0, the pid file names QEMU itself (Seccomp: 2)" || diag "$(cat "$E2E_TMP/p.out")"
e2e_qmp "$S/probe.sock" '{"execute":"query-version"}' | grep -q '"major": 7'
ok $? "-daemonize: QMP answers at once"
kill -TERM "$pid"
for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$pid" 2>/dev/null && [ ! -e "$E2E_TMP/probe.pid" ]
ok $? "-daemonize: SIGTERM to that pid ends it all, the pid file is removed"

# 4b. -incoming defer (libvirt's restore): an inherited read-only file,
# pipe or socket is the stream named later (migrate-incoming "fd:N") and
# keeps its number; a writable file and a directory are strays, closed.
echo stream >"$E2E_TMP/stream"
: >"$E2E_TMP/rw"
incoming() { # NAME ARGS...: QEMU's fd table in $E2E_TMP/NAME.fds
	local name=$1
	shift
	"$VMSEAL" wrap --config "$E2E_TMP/wrap.ini" -- "$QEMU" "${BASE[@]}" \
		-qmp "unix:$S/$name.sock,server=on,wait=off" "$@" \
		>"$E2E_TMP/$name.out" 2>"$E2E_TMP/$name.err" \
		24<"$E2E_TMP/stream" 25<>"$E2E_TMP/rw" 26<"$E2E_TMP" 27<&"$pipe_fd" &
	vpid=$!
	e2e_track "$vpid"
	e2e_qmp "$S/$name.sock" >/dev/null
	qpid=$vpid
	ls -l "/proc/$qpid/fd/" >"$E2E_TMP/$name.fds"
	e2e_qmp "$S/$name.sock" '{"execute":"quit"}' >/dev/null
	e2e_wait_exit "$vpid" 30
}
exec {pipe_fd}< <(sleep 60)
incoming in1 -incoming defer
grep -q " 24 -> $E2E_TMP/stream\$" "$E2E_TMP/in1.fds" && grep -q ' 27 -> pipe:' "$E2E_TMP/in1.fds" &&
	! grep -qE " 2[56] -> " "$E2E_TMP/in1.fds"
ok $? "-incoming defer: read-only file 24 and pipe 27 kept, read-write 25 and directory 26 closed" ||
	diag "$(cat "$E2E_TMP/in1.fds" "$E2E_TMP/in1.err")"
incoming in2
! grep -qE " 2[4-7] -> " "$E2E_TMP/in2.fds"
ok $? "no -incoming: none of the four unnamed descriptors reaches QEMU" || diag "$(cat "$E2E_TMP/in2.fds")"
incoming in3 -incoming fd:27
grep -q ' 27 -> pipe:' "$E2E_TMP/in3.fds" && ! grep -qE " 2[456] -> " "$E2E_TMP/in3.fds"
ok $? "-incoming fd:27: the named descriptor alone is kept" || diag "$(cat "$E2E_TMP/in3.fds")"
exec {pipe_fd}<&-

# 4c. The seed's own syntax: -drive file=fd:N,format=F,backing=fd:M with
# descriptors the caller passes, each checked and decoded by vmseal (never
# probed) and turned into fd sets and an explicit graph.
guest_chain "$I" >/dev/null
fdform() { # NAME DRIVE...: vmseal wrap with top 40 (rw), mid 41, base 42
	local name=$1
	shift
	"$VMSEAL" wrap --config "$E2E_TMP/wrap.ini" -- "$QEMU" "${BASE[@]}" \
		-qmp "unix:$S/$name.sock,server=on,wait=off" "$@" \
		>"$E2E_TMP/$name.out" 2>"$E2E_TMP/$name.err" \
		40<>"$I/top.qcow2" 41<"$I/mid.qcow2" 42<"$I/base.qcow2" &
	vpid=$!
	e2e_track "$vpid"
}
fdform fd1 -drive "file=fd:40,format=qcow2,if=none,id=root,backing=fd:41,backing.backing=fd:42"
e2e_qmp "$S/fd1.sock" >/dev/null
ok $? "fd: form: QEMU runs with a 3-level chain given as descriptors" || diag "$(cat "$E2E_TMP/fd1.err")"
tr '\0' '\n' <"/proc/$vpid/cmdline" >"$E2E_TMP/fd1.argv"
ls -l "/proc/$vpid/fd/" >"$E2E_TMP/fd1.fds"
grep -q '^file=/dev/fdset/[0-9]*,format=qcow2,if=none,id=root,backing=vs0b1$' "$E2E_TMP/fd1.argv" &&
	grep -q 'node-name=vs0b2' "$E2E_TMP/fd1.argv" && ! grep -q 'fd:4' "$E2E_TMP/fd1.argv" &&
	! grep -qE ' 4[012] -> ' "$E2E_TMP/fd1.fds"
ok $? "fd: form: fd sets and vmseal's explicit graph, the caller's numbers not left in QEMU" ||
	diag "$(cat "$E2E_TMP/fd1.argv")"
mv "$I" "$I.moved"
reads_patterns "$S/fd1.sock" root "$E2E_TMP/fd1.out"
ok $? "fd: form: every layer read" || diag "$(cat "$E2E_TMP/fd1.out")"
mv "$I.moved" "$I"
e2e_qmp "$S/fd1.sock" '{"execute":"quit"}' >/dev/null
e2e_wait_exit "$vpid" 30
fdrefused() { # NAME MESSAGE DRIVE
	fdform "$1" -drive "$3"
	e2e_wait_exit "$vpid" 30
	local rc=$?
	[ $rc = 66 ] && grep -q -- "$2" "$E2E_TMP/$1.err"
	ok $? "fd: form refused (66): $1" || diag "exit $rc" "$(cat "$E2E_TMP/$1.err")"
}
fdrefused ro-top "needs read-write" "file=fd:41,format=qcow2,if=none,backing=fd:42"
fdrefused short "no backing=fd:N gives it" "file=fd:40,format=qcow2,if=none,backing=fd:41"
fdrefused closed "not an open descriptor" "file=fd:40,format=qcow2,if=none,backing=fd:41,backing.backing=fd:47"
fdrefused wrongfmt "magic" "file=fd:40,format=qcow2,if=none,backing=fd:41,backing.format=qed,backing.backing=fd:42"

# 5. The symlink named like the emulator.
mkdir -p "$E2E_TMP/bin"
ln -s "$VMSEAL" "$E2E_TMP/bin/qemu-system-x86_64"
VMSEAL_WRAP_CONFIG=$E2E_TMP/wrap.ini "$E2E_TMP/bin/qemu-system-x86_64" -version >"$E2E_TMP/v.out" 2>&1
[ $? = 0 ] && grep -q '^QEMU emulator version 7' "$E2E_TMP/v.out"
ok $? "symlink: qemu-system-x86_64 -version passes through (filtered)" || diag "$(cat "$E2E_TMP/v.out")"
VMSEAL_WRAP_CONFIG=$E2E_TMP/wrap.ini "$E2E_TMP/bin/qemu-system-x86_64" -device help >"$E2E_TMP/d.out" 2>&1
[ $? = 0 ] && grep -q 'virtio-blk-pci' "$E2E_TMP/d.out"
ok $? "symlink: -device help passes through"
printf '[vmseal]\nversion = 1\n[emulator]\nbinary = %s\n[sandbox]\nuser = %s\n' \
	"$E2E_TMP/bin/qemu-system-x86_64" "$E2E_USER" >"$E2E_TMP/loop.ini"
VMSEAL_WRAP_CONFIG=$E2E_TMP/loop.ini "$E2E_TMP/bin/qemu-system-x86_64" -version >/dev/null 2>"$E2E_TMP/l.err"
[ $? = 64 ] && grep -q 'is vmseal itself' "$E2E_TMP/l.err"
ok $? "symlink: a config pointing back at vmseal is refused, no loop"

tap_done
