#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A vmseal run guest's gate gives its file nodes locking: off, so QEMU's
# image locks no longer keep it off an image some other process writes:
# a wrapped libvirt domain's QEMU, or a plain qemu-io that vmseal run does
# not know about (it is in no RUN/.chains).  The gate tests QEMU's lock
# bytes itself and refuses what QEMU with its locks on would refuse:
# hot-plug (vmseal attach, a raw blockdev-add) of an image another
# process writes, read-only or not; a backing member another process
# writes; a writable node on an image another process reads without
# sharing writes; a job writing a node another process began to write.
# The guest's own launch images, which its QEMU locks itself, stay its.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

missing=$(e2e_missing "$QEMU" qemu-img qemu-io "$VMSEAL" "$QMP")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps, make test-bins)" "gate image lock e2e"
	tap_done
	exit
fi
e2e_setup
I=$E2E_TMP/img
guest_chain "$I" >/dev/null || exit 1
(cd "$I" && for f in w r w2 free; do qemu-img create -q -f qcow2 $f.qcow2 4M || exit 1; done &&
	qemu-img create -q -f qcow2 wbase.qcow2 4M &&
	qemu-img create -q -f qcow2 -F qcow2 -b wbase.qcow2 over.qcow2) || exit 1
SOCK=$(e2e_run_dir lk)/monitor.sock
q() { "$QMP" -w 20 "$SOCK" "$@"; }

# hold FILE [qemu-io options]: a qemu-io holding FILE open (and QEMU's
# locks on it) until its fifo, fd 8+N, is closed; waits for its locks in
# /proc/locks.  Sets held_pid.
nfifo=0
hold() {
	local f=$1 i
	shift
	nfifo=$((nfifo + 1))
	mkfifo "$E2E_TMP/hold$nfifo.in"
	# Without the other holders' fifos: each ends when its own closes.
	(for i in $(seq 9 $((7 + nfifo))); do eval "exec $i>&-"; done
	 exec qemu-io "$@" -f qcow2 "$f" <"$E2E_TMP/hold$nfifo.in" >/dev/null 2>&1) &
	held_pid=$!
	e2e_track "$held_pid"
	eval "exec $((8 + nfifo))>\"$E2E_TMP/hold$nfifo.in\""
	for i in $(seq 100); do
		e2e_locked "$f" && return 0
		sleep 0.05
	done
	return 1
}

# refused_lock CMD...: fails with vmseal's image-lock refusal.
refused_lock() {
	"$@" >"$E2E_TMP/r" 2>&1
	grep -q "vmseal: .*by another process (QEMU image lock)" "$E2E_TMP/r"
}

cat >"$E2E_TMP/lk.ini" <<INI
[vmseal]
version = 1
name = lk
[emulator]
args = -machine pc -accel tcg -m 64 -nographic -nodefaults -S
[sandbox]
user = $E2E_USER
[chain]
record = none
[disk root]
image = $I/top.qcow2
format = qcow2
device = none
INI
"$VMSEAL" run "$E2E_TMP/lk.ini" >"$E2E_TMP/out" 2>"$E2E_TMP/err" &
vl=$!
e2e_track "$vl"
q '{"execute":"query-status"}' >/dev/null
ok $? "the guest runs" || diag "$(cat "$E2E_TMP/err")"

hold "$I/w.qcow2" && wpid=$held_pid && hold "$I/wbase.qcow2" && hold "$I/r.qcow2" -r
ok $? "qemu-io holds w.qcow2 and wbase.qcow2 writable, r.qcow2 read-only"

# --- the attack: another process writes the image ---
refused_lock "$VMSEAL" attach lk a1 --image "$I/w.qcow2" --format qcow2 &&
	grep -q "$I/w.qcow2: the image is written by another process" "$E2E_TMP/r"
ok $? "vmseal attach of an image qemu-io writes: refused, naming the file" || diag "$(cat "$E2E_TMP/r")"
refused_lock "$VMSEAL" attach lk a2 --image "$I/w.qcow2" --format qcow2 --readonly
ok $? "vmseal attach --readonly of it: refused (a qcow2 node shares no writes)" || diag "$(cat "$E2E_TMP/r")"
refused_lock q "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"node-name\":\"a3\",\"filename\":\"$I/w.qcow2\"}}"
ok $? "a raw QMP blockdev-add of it through monitor.sock: refused" || diag "$(cat "$E2E_TMP/r")"
refused_lock q "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"node-name\":\"a4\",\"filename\":\"$I/w.qcow2\",\"auto-read-only\":true}}"
ok $? "auto-read-only does not make it pass" || diag "$(cat "$E2E_TMP/r")"
refused_lock "$VMSEAL" attach lk a5 --image "$I/over.qcow2" --format qcow2 --readonly &&
	grep -q "$I/wbase.qcow2: the image is written by another process" "$E2E_TMP/r"
ok $? "an overlay whose backing file qemu-io writes: refused, naming the backing file" || diag "$(cat "$E2E_TMP/r")"
q '{"execute":"query-named-block-nodes","arguments":{"flat":true}}' >"$E2E_TMP/r"
grep -q '"return"' "$E2E_TMP/r" && ! grep -q '"node-name": "a[1-5]"' "$E2E_TMP/r"
ok $? "none of them reached QEMU" || diag "$(grep -o '"node-name": "[^"]*"' "$E2E_TMP/r")"

# --- another process reads it and does not share writes ---
refused_lock "$VMSEAL" attach lk b1 --image "$I/r.qcow2" --format qcow2 &&
	grep -q "$I/r.qcow2: the image is in use, unshared, by another process" "$E2E_TMP/r"
ok $? "a writable attach of an image qemu-io -r reads: refused" || diag "$(cat "$E2E_TMP/r")"
"$VMSEAL" attach lk b2 --image "$I/r.qcow2" --format qcow2 --readonly >"$E2E_TMP/r" 2>&1
ok $? "a read-only attach of it: allowed, as QEMU allows two readers" || diag "$(cat "$E2E_TMP/r")"
# A node no writable parent holds gets read-only descriptors only; QEMU
# asks to write it when a parent does, and cannot.
q "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"node-name\":\"b3\",\"filename\":\"$I/r.qcow2\",\"auto-read-only\":true}}" >"$E2E_TMP/r"
grep -q '^{"return": {}}' "$E2E_TMP/r"
ok $? "a lone auto-read-only node on it: added, read-only as QEMU would open it" || diag "$(cat "$E2E_TMP/r")"
q '{"execute":"blockdev-add","arguments":{"driver":"qcow2","node-name":"b4","file":"b3","read-only":false}}' >"$E2E_TMP/r"
grep -q '"error"' "$E2E_TMP/r" &&
	! q '{"execute":"query-named-block-nodes","arguments":{"flat":true}}' | grep -q '"node-name": "b4"'
ok $? "a writable qcow2 over that node: QEMU cannot write it" || diag "$(cat "$E2E_TMP/r")"

# --- a job writing a node another process began writing meanwhile ---
"$VMSEAL" attach lk c1 --image "$I/w2.qcow2" --format qcow2 --readonly >"$E2E_TMP/r" 2>&1
ok $? "w2.qcow2 attached read-only" || diag "$(cat "$E2E_TMP/r")"
hold "$I/w2.qcow2"
ok $? "qemu-io now holds w2.qcow2 writable (the gate's node has locking off)"
refused_lock "$VMSEAL" stream lk c1
ok $? "a stream into it: refused, it needs w2.qcow2 writable" || diag "$(cat "$E2E_TMP/r")"

# --- the guest's own launch images: its own QEMU's locks ---
q "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"node-name\":\"own\",\"filename\":\"$I/top.qcow2\"}}" >"$E2E_TMP/r"
grep -q '^{"return": {}}' "$E2E_TMP/r"
ok $? "its own launch top, which its QEMU locks: not refused for its own lock" || diag "$(cat "$E2E_TMP/r")"
(cd "$I" && qemu-img create -q -f qcow2 -F qcow2 -b base.qcow2 own2.qcow2)
"$VMSEAL" attach lk d1 --image "$I/own2.qcow2" --format qcow2 --readonly >"$E2E_TMP/r" 2>&1
ok $? "an overlay over its own launch base: attached" || diag "$(cat "$E2E_TMP/r")"
"$VMSEAL" attach lk d2 --image "$I/free.qcow2" --format qcow2 >"$E2E_TMP/r" 2>&1
ok $? "an image no one holds: attached writable" || diag "$(cat "$E2E_TMP/r")"

# --- the holder gone, the image is free ---
exec 9>&-
e2e_wait_exit "$wpid" 10
for i in $(seq 100); do
	e2e_locked "$I/w.qcow2" || break
	sleep 0.05
done
"$VMSEAL" attach lk e1 --image "$I/w.qcow2" --format qcow2 >"$E2E_TMP/r" 2>&1
ok $? "once qemu-io closed w.qcow2: attached writable" || diag "$(cat "$E2E_TMP/r")"
grep -q "QEMU image lock" "$E2E_TMP/err"
ok $? "the refusals are logged" || diag "$(tail -5 "$E2E_TMP/err")"

"$VMSEAL" stop lk >/dev/null 2>&1
e2e_wait_exit "$vl" 30
tap_done
