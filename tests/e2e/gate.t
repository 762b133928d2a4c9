#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The monitor gate: QEMU's QMP reaches clients only through vmseal's
# RUN/NAME/monitor.sock, and every file a command names reaches QEMU as
# a descriptor.  Drives libvirt 9.0's own QMP sequences (snapshot,
# commit, stream, copy and pivot, hot-plug, media change) against a
# 3-level qcow2 chain, reads every layer back through QEMU, and checks
# the refusals, QEMU's filter log, and the headers QEMU wrote.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

missing=$(e2e_missing "$QEMU" qemu-img qemu-io "$VMSEAL" "$QMP")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps, make test-bins)" "gate e2e"
	tap_done
	exit
fi
e2e_setup
I=$E2E_TMP/img
guest_chain "$I" >/dev/null || exit 1
SOCK=$(e2e_run_dir gate)/monitor.sock

q() {
	"$QMP" -w 20 "$SOCK" "$@"
}

# io NODE CMD: qemu-io through HMP; QEMU prints its output on stdout,
# which vmseal run leaves in $E2E_TMP/out.  Prints the new lines.
io() {
	local before after
	before=$(wc -l <"$E2E_TMP/out")
	q "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"qemu-io $1 \\\"$2\\\"\"}}" >"$E2E_TMP/io"
	sleep 0.2
	cat "$E2E_TMP/io"
	tail -n +$((before + 1)) "$E2E_TMP/out"
}

# readp NODE MIB BYTE: MiB number MIB of NODE reads as BYTE.
readp() {
	local r
	r=$(io "$1" "read -P $3 $2M 1M")
	case $r in
	*"read 1048576/1048576 bytes"*) [[ $r != *"verification failed"* ]] ;;
	*) echo "readp $*: $r" >&2; return 1 ;;
	esac
}

# wait_job ID STATE: until query-jobs shows job ID in STATE (20 s).
wait_job() {
	local i
	for i in $(seq 200); do
		q '{"execute":"query-jobs"}' | grep -q "\"status\": \"$2\"[^}]*\"id\": \"$1\"" && return 0
		sleep 0.1
	done
	q '{"execute":"query-jobs"}' >&2
	return 1
}

# backing_of IMAGE: the backing file its header records (-U: QEMU runs).
backing_of() {
	qemu-img info -U --output=json "$1" | sed -n 's/.*"backing-filename": "\([^"]*\)".*/\1/p'
}

cat >"$E2E_TMP/gate.ini" <<INI
[vmseal]
version = 1
name = gate
[emulator]
args = -machine pc -accel tcg -m 64 -nographic -nodefaults -S
args = -device ide-cd,id=cd0,bus=ide.1
[sandbox]
user = $E2E_USER
[chain]
record = none
[disk root]
image = $I/top.qcow2
format = qcow2
device = none
INI
"$VMSEAL" run "$E2E_TMP/gate.ini" >"$E2E_TMP/out" 2>"$E2E_TMP/err" &
vpid=$!
e2e_track "$vpid"
q '{"execute":"query-status"}' | grep -q '"status": "prelaunch"'
ok $? "QMP answers on RUN/NAME/monitor.sock" || diag "$(cat "$E2E_TMP/err")"
qpid=$(e2e_child_of "$vpid")
[ "$(stat -c '%a %U' "$SOCK")" = "600 root" ]
ok $? "monitor.sock is 0600 root" || diag "$(stat -c '%a %U' "$SOCK")"

# The greeting is QEMU's, byte for byte; capabilities are negotiated.
greet=$("$QMP" -w 5 "$SOCK" 2>/dev/null; timeout 2 socat -u UNIX-CONNECT:"$SOCK" - 2>/dev/null | head -n 1)
q '{"execute":"query-version","id":{"x":[1,"a"]}}' | grep -q '"id": {"x": \[1, "a"\]}'
ok $? "a client's id comes back in QEMU's own spelling"

# Two clients at once, both using the same id: each gets its own answers.
seq_a=() seq_b=()
for k in $(seq 100); do
	seq_a+=('{"execute":"query-status","id":"same"}')
	seq_b+=('{"execute":"query-name","id":"same"}')
done
q "${seq_a[@]}" >"$E2E_TMP/a" &
pa=$!
q "${seq_b[@]}" >"$E2E_TMP/b" &
pb=$!
wait "$pa" "$pb"
[ "$(grep -c '"status": "prelaunch".*"id": "same"' "$E2E_TMP/a")" = 100 ] &&
	[ "$(grep -c '^{"return": {}, "id": "same"}' "$E2E_TMP/b")" = 100 ]
ok $? "two clients with the same ids get only their own 100 replies each" ||
	diag "$(sort "$E2E_TMP/a" | uniq -c | head -3; sort "$E2E_TMP/b" | uniq -c | head -3)"
q '{"execute":"cont"}' | grep -q return
ok $? "commands without an id pass (cont)"

# --- snapshot (libvirt §2): s1 on top of top.qcow2 ---
: >"$I/s1.qcow2"
r=$(q "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"filename\":\"$I/s1.qcow2\",\"node-name\":\"s1-storage\",\"auto-read-only\":true,\"discard\":\"unmap\"},\"id\":\"libvirt-414\"}" \
	"{\"execute\":\"blockdev-create\",\"arguments\":{\"job-id\":\"create-s1\",\"options\":{\"driver\":\"qcow2\",\"file\":\"s1-storage\",\"size\":16777216,\"cluster-size\":65536,\"backing-file\":\"$I/top.qcow2\",\"backing-fmt\":\"qcow2\"}},\"id\":\"libvirt-415\"}")
wait_job create-s1 concluded &&
	q '{"execute":"job-dismiss","arguments":{"id":"create-s1"}}' \
		'{"execute":"blockdev-add","arguments":{"node-name":"s1-format","read-only":false,"driver":"qcow2","file":"s1-storage","backing":null}}' \
		'{"execute":"transaction","arguments":{"actions":[{"type":"blockdev-snapshot","data":{"node":"root","overlay":"s1-format"}}]},"id":"libvirt-419"}' >"$E2E_TMP/r"
grep -q '{"return": {}, "id": "libvirt-419"}' "$E2E_TMP/r" && [ "$(backing_of "$I/s1.qcow2")" = "$I/top.qcow2" ]
ok $? "snapshot: blockdev-add, blockdev-create, blockdev-snapshot; s1 names top.qcow2" ||
	diag "$r $(cat "$E2E_TMP/r")"
io s1-format "write -P 0x44 3M 1M" | grep -q "wrote 1048576/1048576"
ok $? "the guest's writes go to the overlay"

# --- intermediate commit (libvirt §3b, without backing-file) ---
q '{"execute":"block-commit","arguments":{"device":"s1-format","job-id":"commit-mid","top-node":"vs0b1","base-node":"vs0b2","auto-finalize":true,"auto-dismiss":false},"id":"libvirt-430"}' >"$E2E_TMP/r"
wait_job commit-mid concluded &&
	q '{"execute":"job-dismiss","arguments":{"id":"commit-mid"}}' \
		'{"execute":"blockdev-del","arguments":{"node-name":"vs0b1"}}' \
		'{"execute":"blockdev-del","arguments":{"node-name":"vs0f1"}}' >>"$E2E_TMP/r"
! grep -q error "$E2E_TMP/r" && [ "$(backing_of "$I/top.qcow2")" = "$I/base.qcow2" ]
ok $? "intermediate commit of mid into base; top.qcow2 now names base.qcow2 (filled in)" ||
	diag "$(cat "$E2E_TMP/r") backing: $(backing_of "$I/top.qcow2")"

# --- stream (libvirt §4 with --base): top's data into s1 ---
q '{"execute":"block-stream","arguments":{"device":"s1-format","job-id":"pull","base-node":"vs0b2","auto-finalize":true,"auto-dismiss":false}}' >"$E2E_TMP/r"
wait_job pull concluded &&
	q '{"execute":"job-dismiss","arguments":{"id":"pull"}}' \
		'{"execute":"blockdev-del","arguments":{"node-name":"root"}}' \
		'{"execute":"blockdev-del","arguments":{"node-name":"vs0f0"}}' >>"$E2E_TMP/r"
! grep -q error "$E2E_TMP/r" && [ "$(backing_of "$I/s1.qcow2")" = "$I/base.qcow2" ]
ok $? "stream top into s1; s1 now names base.qcow2, never /dev/fdset" ||
	diag "$(cat "$E2E_TMP/r") backing: $(backing_of "$I/s1.qcow2")"

# --- active commit (libvirt §3a): s1 into base, pivot ---
q '{"execute":"block-commit","arguments":{"device":"s1-format","job-id":"commit-act","top-node":"s1-format","base-node":"vs0b2","auto-finalize":true,"auto-dismiss":false}}' >"$E2E_TMP/r"
wait_job commit-act ready &&
	q '{"execute":"job-complete","arguments":{"id":"commit-act"}}' >>"$E2E_TMP/r" &&
	wait_job commit-act concluded &&
	q '{"execute":"job-dismiss","arguments":{"id":"commit-act"}}' \
		'{"execute":"blockdev-del","arguments":{"node-name":"s1-format"}}' \
		'{"execute":"blockdev-del","arguments":{"node-name":"s1-storage"}}' >>"$E2E_TMP/r"
! grep -q error "$E2E_TMP/r"
ok $? "active commit of s1 into base, completed (pivot)" || diag "$(cat "$E2E_TMP/r")"
readp vs0b2 0 0x11 && readp vs0b2 1 0x22 && readp vs0b2 2 0x33 && readp vs0b2 3 0x44
ok $? "base now reads every layer (0x11 0x22 0x33 0x44)"

# --- copy and pivot (libvirt §5b) ---
: >"$I/copy.qcow2"
q "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"filename\":\"$I/copy.qcow2\",\"node-name\":\"copy-storage\",\"auto-read-only\":true,\"discard\":\"unmap\"}}" \
	'{"execute":"blockdev-create","arguments":{"job-id":"create-copy","options":{"driver":"qcow2","file":"copy-storage","size":16777216,"cluster-size":65536}}}' >"$E2E_TMP/r"
wait_job create-copy concluded &&
	q '{"execute":"job-dismiss","arguments":{"id":"create-copy"}}' \
		'{"execute":"blockdev-add","arguments":{"node-name":"copy-format","read-only":false,"driver":"qcow2","file":"copy-storage","backing":null}}' \
		'{"execute":"blockdev-mirror","arguments":{"job-id":"copy","device":"vs0b2","target":"copy-format","sync":"full","auto-finalize":true,"auto-dismiss":false}}' >>"$E2E_TMP/r" &&
	wait_job copy ready &&
	q '{"execute":"job-complete","arguments":{"id":"copy"}}' >>"$E2E_TMP/r" &&
	wait_job copy concluded &&
	q '{"execute":"job-dismiss","arguments":{"id":"copy"}}' \
		'{"execute":"blockdev-del","arguments":{"node-name":"vs0b2"}}' \
		'{"execute":"blockdev-del","arguments":{"node-name":"vs0f2"}}' >>"$E2E_TMP/r"
! grep -q error "$E2E_TMP/r" &&
	readp copy-format 0 0x11 && readp copy-format 1 0x22 && readp copy-format 2 0x33 && readp copy-format 3 0x44
ok $? "copy to copy.qcow2 and pivot; it reads every layer" || diag "$(cat "$E2E_TMP/r")"

# --- hot-plug of a qcow2 with a backing chain, then detach (libvirt §6) ---
(cd "$I" && qemu-img create -q -f qcow2 hotbase.qcow2 4M &&
	qemu-io -f qcow2 -c 'write -P 0x55 0 1M' hotbase.qcow2 >/dev/null &&
	qemu-img create -q -f qcow2 -F qcow2 -b hotbase.qcow2 hot.qcow2)
q "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"filename\":\"$I/hotbase.qcow2\",\"node-name\":\"hb-storage\",\"auto-read-only\":true}}" \
	'{"execute":"blockdev-add","arguments":{"node-name":"hb-format","read-only":true,"driver":"qcow2","file":"hb-storage","backing":null}}' \
	"{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"filename\":\"$I/hot.qcow2\",\"node-name\":\"hot-storage\",\"auto-read-only\":true}}" \
	'{"execute":"blockdev-add","arguments":{"node-name":"hot-format","read-only":false,"driver":"qcow2","file":"hot-storage","backing":"hb-format"}}' >"$E2E_TMP/r"
! grep -q error "$E2E_TMP/r" && readp hot-format 0 0x55
ok $? "attach: hot.qcow2 over hotbase.qcow2 reads its backing's data" || diag "$(cat "$E2E_TMP/r")"
# The same image as one node that names no backing: vmseal resolves its
# chain under the walker's rules and adds the backing nodes itself.
q "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"qcow2\",\"node-name\":\"hot2\",\"read-only\":true,\"file\":{\"driver\":\"file\",\"filename\":\"$I/hot.qcow2\"}}}" >"$E2E_TMP/r"
grep -q '"return"' "$E2E_TMP/r" && readp hot2 0 0x55
ok $? "a qcow2 node without a backing option gets vmseal's resolved backing nodes" || diag "$(cat "$E2E_TMP/r")"
vsg=$(q '{"execute":"query-named-block-nodes","arguments":{"flat":true}}' | grep -o '"node-name": "vsgate-[0-9]*[-f]*"' | cut -d'"' -f4)
dels=('{"execute":"blockdev-del","arguments":{"node-name":"hot2"}}')
for n in $vsg; do
	[[ $n == *-f ]] || dels+=("{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"$n\"}}")
done
for n in $vsg; do
	[[ $n != *-f ]] || dels+=("{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"$n\"}}")
done
q '{"execute":"blockdev-del","arguments":{"node-name":"hot-format"}}' \
	'{"execute":"blockdev-del","arguments":{"node-name":"hot-storage"}}' \
	"${dels[@]}" \
	'{"execute":"blockdev-del","arguments":{"node-name":"hb-format"}}' \
	'{"execute":"blockdev-del","arguments":{"node-name":"hb-storage"}}' >"$E2E_TMP/r"
! grep -q error "$E2E_TMP/r" && [ -n "$vsg" ] && ! q '{"execute":"query-fdsets"}' | grep -q '"fdset-id": 100[2-9]'
ok $? "detach: blockdev-del, and the gate removed their fd sets" ||
	diag "$vsg $(cat "$E2E_TMP/r"; q '{"execute":"query-fdsets"}')"

# --- media change (libvirt §7) ---
head -c 1M /dev/zero | tr '\0' '\146' >"$I/cd1.raw"
head -c 1M /dev/zero | tr '\0' '\147' >"$I/cd2.raw"
ins() {
	q "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"filename\":\"$I/$1\",\"node-name\":\"$2-storage\",\"auto-read-only\":true}}" \
		"{\"execute\":\"blockdev-add\",\"arguments\":{\"node-name\":\"$2-format\",\"read-only\":true,\"driver\":\"raw\",\"file\":\"$2-storage\"}}" \
		'{"execute":"blockdev-open-tray","arguments":{"id":"cd0","force":true}}' \
		'{"execute":"blockdev-remove-medium","arguments":{"id":"cd0"}}' \
		"{\"execute\":\"blockdev-insert-medium\",\"arguments\":{\"id\":\"cd0\",\"node-name\":\"$2-format\"}}" \
		'{"execute":"blockdev-close-tray","arguments":{"id":"cd0"}}'
}
ins cd1.raw cd1 >"$E2E_TMP/r"
readp cd1-format 0 0x66 && ! grep -q error "$E2E_TMP/r"
ok $? "media: cd1.raw inserted" || diag "$(cat "$E2E_TMP/r")"
q '{"execute":"blockdev-open-tray","arguments":{"id":"cd0","force":true}}' \
	'{"execute":"blockdev-remove-medium","arguments":{"id":"cd0"}}' \
	'{"execute":"blockdev-del","arguments":{"node-name":"cd1-format"}}' \
	'{"execute":"blockdev-del","arguments":{"node-name":"cd1-storage"}}' >"$E2E_TMP/r"
ins cd2.raw cd2 >>"$E2E_TMP/r"
readp cd2-format 0 0x67 && ! grep -q error "$E2E_TMP/r"
ok $? "media: ejected, cd2.raw inserted" || diag "$(cat "$E2E_TMP/r")"
ins cd1.raw cd1b >"$E2E_TMP/r"
readp cd1b-format 0 0x66 && ! grep -q error "$E2E_TMP/r"
ok $? "media: the first image inserted again" || diag "$(cat "$E2E_TMP/r")"

# --- refusals ---
refused() {
	local r
	r=$(q "$1")
	[[ $r == *'"error": {"class": "GenericError", "desc": "vmseal: '* ]] || {
		echo "$r" >&2
		return 1
	}
}
ln -s "$I/base.qcow2" "$I/link.qcow2"
mkdir -p "$E2E_TMP/other"
cp "$I/cd1.raw" "$E2E_TMP/other/out.raw"
refused "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"filename\":\"$E2E_TMP/other/out.raw\",\"node-name\":\"x\"}}"
ok $? "refused: a file outside the roots"
refused "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"filename\":\"$I/link.qcow2\",\"node-name\":\"x\"}}"
ok $? "refused: a symlink"
refused '{"execute":"blockdev-add","arguments":{"driver":"file","filename":"json:{\"driver\":\"file\",\"filename\":\"/etc/shadow\"}","node-name":"x"}}'
ok $? "refused: a json: name"
refused '{"execute":"blockdev-add","arguments":{"driver":"file","filename":"nbd:localhost:10809","node-name":"x"}}'
ok $? "refused: an nbd: name"
refused '{"execute":"blockdev-add","arguments":{"driver":"nbd","server":{"type":"inet","host":"localhost","port":"10809"},"node-name":"x"}}'
ok $? "refused: the nbd driver"
refused '{"execute":"human-monitor-command","arguments":{"command-line":"drive_add 0 file=/etc/shadow,if=none"}}'
ok $? "refused: HMP drive_add file=/etc/shadow"
refused '{"execute":"migrate","arguments":{"uri":"exec:cat >/tmp/x"}}'
ok $? "refused: migrate exec:"
refused "{\"execute\":\"drive-mirror\",\"arguments\":{\"device\":\"copy-format\",\"target\":\"$I/m.qcow2\",\"sync\":\"full\"}}"
ok $? "refused: drive-mirror (creates by path)"
refused "{\"execute\":\"blockdev-snapshot-sync\",\"arguments\":{\"node-name\":\"copy-format\",\"snapshot-file\":\"$I/m.qcow2\"}}"
ok $? "refused: blockdev-snapshot-sync"
refused "{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"$I/shot.ppm\"}}"
ok $? "refused: screendump outside the runtime directory"
refused '{"execute":"add-fd","arguments":{"fdset-id":1}}'
ok $? "refused: add-fd into vmseal's own fd set"

# Another running guest's top, in the same root.
mkdir -p "$I/g2"
qemu-img create -q -f qcow2 "$I/g2/top2.qcow2" 4M
sed -e 's/^name = gate/name = gate2/' -e "s|^image = .*|image = $I/g2/top2.qcow2|" \
	-e '/ide-cd/d' -e '/^user = /d' "$E2E_TMP/gate.ini" >"$E2E_TMP/gate2.ini"
"$VMSEAL" run "$E2E_TMP/gate2.ini" >/dev/null 2>"$E2E_TMP/err2" &
v2=$!
e2e_track "$v2"
"$QMP" -w 20 "$(e2e_run_dir gate2)/monitor.sock" '{"execute":"query-status"}' >/dev/null
refused "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"filename\":\"$I/g2/top2.qcow2\",\"node-name\":\"x\"}}" 2>"$E2E_TMP/r"
grep -q "running guest gate2" "$E2E_TMP/r" "$E2E_TMP/err" || q "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"filename\":\"$I/g2/top2.qcow2\",\"node-name\":\"x\"}}" | grep -q 'running guest gate2'
ok $? "refused: another running guest's top" || diag "$(cat "$E2E_TMP/r")"
e2e_stop_pid "$v2"

# Output files: opened by vmseal in the runtime directory.
q "{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"$(e2e_run_dir gate)/shot.ppm\"}}" >"$E2E_TMP/r"
grep -q '"return"' "$E2E_TMP/r" && [ -s "$(e2e_run_dir gate)/shot.ppm" ] ||
	grep -q 'no consoles\|no console\|not have a console\|There is no' "$E2E_TMP/r"
ok $? "screendump into the runtime directory reaches QEMU as a descriptor" || diag "$(cat "$E2E_TMP/r")"
q "{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,\"protocol\":\"file:$(e2e_run_dir gate)/mem.dump\"}}" >"$E2E_TMP/r"
grep -q '"return"' "$E2E_TMP/r" && [ "$(stat -c %s "$(e2e_run_dir gate)/mem.dump")" -gt 1000000 ]
ok $? "dump-guest-memory file: in the runtime directory, written through a descriptor" || diag "$(cat "$E2E_TMP/r")"
refused "{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,\"protocol\":\"file:$I/mem.dump\"}}"
ok $? "refused: dump-guest-memory to a file outside the runtime directory"
q "{\"execute\":\"blockdev-change-medium\",\"arguments\":{\"id\":\"cd0\",\"filename\":\"$I/cd2.raw\",\"format\":\"raw\",\"read-only-mode\":\"read-only\"}}" \
	'{"execute":"query-block"}' >"$E2E_TMP/r"
grep -q '^{"return": {}}' "$E2E_TMP/r" && grep -q '"file": "/dev/fdset/[0-9]*"}, "qdev": "cd0"' "$E2E_TMP/r"
ok $? "blockdev-change-medium: the new medium reaches QEMU as /dev/fdset/N" || diag "$(cat "$E2E_TMP/r")"

# A client's own descriptor (getfd with SCM_RIGHTS), then migrate fd:NAME,
# as libvirt's save does; the file lies outside the roots: it is the
# client's, not the guest's.
"$E2E_BUILD/tests/e2e/qmp_fd" "$SOCK" "$E2E_TMP/other/save.img" \
	'{"execute":"getfd","arguments":{"fdname":"migrate"},"id":"libvirt-513"}' \
	'{"execute":"migrate","arguments":{"detach":true,"resume":false,"uri":"fd:migrate"},"id":"libvirt-514"}' >"$E2E_TMP/r"
for i in $(seq 100); do
	q '{"execute":"query-migrate"}' | grep -q '"status": "completed"' && break
	sleep 0.1
done
grep -q '{"return": {}, "id": "libvirt-513"}' "$E2E_TMP/r" &&
	q '{"execute":"query-migrate"}' | grep -q '"status": "completed"' &&
	[ "$(stat -c %s "$E2E_TMP/other/save.img")" -gt 100000 ]
ok $? "getfd with the client's descriptor, then migrate fd:migrate writes the state" ||
	diag "$(cat "$E2E_TMP/r"; q '{"execute":"query-migrate"}')"
grep -q 'gate: refused blockdev-add: vmseal: ' "$E2E_TMP/err"
ok $? "refusals are logged" || diag "$(cat "$E2E_TMP/err")"
grep -q '^Seccomp:[[:space:]]*2' "/proc/$qpid/status"
ok $? "QEMU still runs under its filter (Seccomp: 2)"
! grep "denied open" "$E2E_TMP/err" | grep -q "$I"
ok $? "the filter log shows no image path: QEMU opened none by name" ||
	diag "$(grep "denied open" "$E2E_TMP/err" | grep "$I")"

"$VMSEAL" stop gate >/dev/null 2>&1
e2e_wait_exit "$vpid" 30
chain=$(qemu-img info --backing-chain "$I/copy.qcow2" 2>&1)
! grep -q 'fdset\|json:' <<<"$chain" && ! grep -q '^backing file' <<<"$chain"
ok $? "copy.qcow2 stands alone after the pivot" || diag "$chain"
for f in top.qcow2 s1.qcow2; do
	b=$(qemu-img info --output=json "$I/$f" | sed -n 's/.*"backing-filename": "\([^"]*\)".*/\1/p')
	[ -z "$b" ] || [ -e "$b" ] && [[ $b != *fdset* && $b != json:* ]] || break
done
ok $? "every header QEMU wrote names a real path" || diag "$f: $b"
# --- the admin commands over the gate, on a fresh guest ---
J=$E2E_TMP/imgc
guest_chain "$J" >/dev/null || exit 1
cp "$I/hot.qcow2" "$I/hotbase.qcow2" "$I/cd1.raw" "$I/cd2.raw" "$J/"
sed -e 's/^name = gate/name = gatec/' -e "s|^image = .*|image = $J/top.qcow2|" \
	"$E2E_TMP/gate.ini" >"$E2E_TMP/gatec.ini"
"$VMSEAL" run "$E2E_TMP/gatec.ini" >"$E2E_TMP/out" 2>"$E2E_TMP/errc" &
vc=$!
e2e_track "$vc"
SOCK=$(e2e_run_dir gatec)/monitor.sock
q '{"execute":"cont"}' >/dev/null
"$VMSEAL" qmp gatec '{"execute":"query-status","id":7}' >"$E2E_TMP/r"
[ $? = 0 ] && grep -q '"status": "running".*"id": 7' "$E2E_TMP/r"
ok $? "vmseal qmp: one command, QEMU's reply on stdout" || diag "$(cat "$E2E_TMP/r")"
"$VMSEAL" qmp gatec '{"execute":"migrate","arguments":{"uri":"exec:true"}}' >"$E2E_TMP/r"
[ $? = 1 ] && grep -q '"desc": "vmseal: migration to exec: is refused' "$E2E_TMP/r"
ok $? "vmseal qmp: a refusal exits 1 with the vmseal: error" || diag "$(cat "$E2E_TMP/r")"
"$VMSEAL" qmp nosuchguest '{"execute":"query-status"}' 2>/dev/null
[ $? = 69 ]
ok $? "vmseal qmp: a guest that is not running: 69"
"$VMSEAL" snapshot gatec root "$J/s1.qcow2" >"$E2E_TMP/r" 2>&1 &&
	grep -qx "root: $J/s1.qcow2 <- $J/top.qcow2 <- $J/mid.qcow2 <- $J/base.qcow2" "$E2E_TMP/r" &&
	[ "$(backing_of "$J/s1.qcow2")" = "$J/top.qcow2" ]
ok $? "vmseal snapshot: s1.qcow2 created by vmseal is the new active layer" || diag "$(cat "$E2E_TMP/r")"
active() {
	"$VMSEAL" qmp gatec '{"execute":"x-vmseal-query-disks"}' | sed -n 's/.*"active": "\([^"]*\)".*/\1/p'
}
io "$(active)" "write -P 0x44 3M 1M" | grep -q "wrote 1048576/1048576"
ok $? "writes reach the new active layer"
"$VMSEAL" stream gatec root --base "$J/base.qcow2" >"$E2E_TMP/r" 2>&1 &&
	grep -qx "root: $J/s1.qcow2 <- $J/base.qcow2" "$E2E_TMP/r" &&
	[ "$(backing_of "$J/s1.qcow2")" = "$J/base.qcow2" ]
ok $? "vmseal stream --base: top and mid pulled into s1, dropped from the chain" || diag "$(cat "$E2E_TMP/r")"
"$VMSEAL" commit --pivot gatec root >"$E2E_TMP/r" 2>&1 && grep -qx "root: $J/base.qcow2" "$E2E_TMP/r"
ok $? "vmseal commit --pivot: s1 committed into base, base is active" || diag "$(cat "$E2E_TMP/r")"
a=$(active)
readp "$a" 0 0x11 && readp "$a" 1 0x22 && readp "$a" 2 0x33 && readp "$a" 3 0x44
ok $? "base.qcow2 reads every layer"
"$VMSEAL" copy --json --pivot gatec root "$J/copy.qcow2" >"$E2E_TMP/r" 2>&1 &&
	grep -q "\"active\":\"vsg.*\"filename\":\"$J/copy.qcow2\"}\]}" "$E2E_TMP/r"
ok $? "vmseal copy --pivot --json: the guest runs on copy.qcow2" || diag "$(cat "$E2E_TMP/r")"
a=$(active)
readp "$a" 0 0x11 && readp "$a" 1 0x22 && readp "$a" 2 0x33 && readp "$a" 3 0x44
ok $? "copy.qcow2 reads every layer"
"$VMSEAL" attach gatec hot --image "$J/hot.qcow2" --format qcow2 --readonly >"$E2E_TMP/r" 2>&1 &&
	grep -qx "hot: $J/hot.qcow2 <- $J/hotbase.qcow2" "$E2E_TMP/r"
ok $? "vmseal attach: a qcow2 with its backing chain resolved by vmseal" || diag "$(cat "$E2E_TMP/r")"
readp hot 0 0x55
ok $? "the attached disk reads its backing's data"
"$VMSEAL" detach gatec hot >"$E2E_TMP/r" 2>&1 && grep -qx "hot: detached" "$E2E_TMP/r" &&
	! q '{"execute":"query-named-block-nodes","arguments":{"flat":true}}' | grep -q '"node-name": "hot"'
ok $? "vmseal detach: every node of its chain gone" || diag "$(cat "$E2E_TMP/r")"
"$VMSEAL" media gatec cd0 "$J/cd2.raw" >"$E2E_TMP/r" 2>&1 &&
	"$VMSEAL" media gatec cd0 --eject >>"$E2E_TMP/r" 2>&1 &&
	"$VMSEAL" media gatec cd0 "$J/cd1.raw" --json >>"$E2E_TMP/r" 2>&1 &&
	grep -q "\"medium\": \"$J/cd1.raw\"" "$E2E_TMP/r"
ok $? "vmseal media: insert, eject, insert again" || diag "$(cat "$E2E_TMP/r")"
"$VMSEAL" snapshot gatec root /etc/vmseal-gate-test.qcow2 >"$E2E_TMP/r" 2>&1
[ $? = 1 ] && grep -q "vmseal: gatec: vmseal: .*not beneath the guest's roots" "$E2E_TMP/r" && [ ! -e /etc/vmseal-gate-test.qcow2 ]
ok $? "vmseal snapshot to a file outside the roots: refused, nothing created" || diag "$(cat "$E2E_TMP/r")"
"$VMSEAL" stop gatec >/dev/null 2>&1
e2e_wait_exit "$vc" 30
# --- the chain record follows the live operations ---
K=$E2E_TMP/imgr
guest_chain "$K" >/dev/null || exit 1
sed -e 's/^name = gate/name = gater/' -e "s|^image = .*|image = $K/top.qcow2|" \
	-e '/^record = none/d' -e '/^\[chain\]/d' "$E2E_TMP/gate.ini" >"$E2E_TMP/gater.ini"
"$VMSEAL" run "$E2E_TMP/gater.ini" >/dev/null 2>"$E2E_TMP/errr" &
vr=$!
e2e_track "$vr"
"$QMP" -w 20 "$(e2e_run_dir gater)/monitor.sock" >/dev/null
"$VMSEAL" snapshot gater root "$K/s1.qcow2" >/dev/null 2>&1
"$VMSEAL" stop gater >/dev/null 2>&1
e2e_wait_exit "$vr" 30
grep -q "disk root: chain record follows the live change: active layer $K/s1.qcow2, 4 members" "$E2E_TMP/errr"
ok $? "after the snapshot the chain record pins s1.qcow2's chain" || diag "$(cat "$E2E_TMP/errr")"
"$VMSEAL" check "$E2E_TMP/gater.ini" >"$E2E_TMP/r" 2>"$E2E_TMP/r2"
[ $? = 0 ] && grep -q "disk root: starts from its active layer $K/s1.qcow2" "$E2E_TMP/r2" &&
	grep -q "$K/s1.qcow2" "$E2E_TMP/r"
ok $? "check of the same config starts from the active layer s1.qcow2 and says so" ||
	diag "$(cat "$E2E_TMP/r" "$E2E_TMP/r2")"
chainfiles() {
	"$VMSEAL" chain "$1" --format qcow2 --json | grep -o '"filename": *"[^"]*"' | cut -d'"' -f4 | xargs
}
imgfiles() {
	qemu-img info --backing-chain --output=json "$1" | grep -o '"filename": *"[^"]*"' | cut -d'"' -f4 | xargs
}
[ "$(chainfiles "$K/s1.qcow2")" = "$(imgfiles "$K/s1.qcow2")" ] &&
	[ "$(chainfiles "$K/s1.qcow2")" = "$K/s1.qcow2 $K/top.qcow2 $K/mid.qcow2 $K/base.qcow2" ]
ok $? "qemu-img info --backing-chain agrees with vmseal chain" ||
	diag "vmseal: $(chainfiles "$K/s1.qcow2")" "qemu-img: $(imgfiles "$K/s1.qcow2")"
"$VMSEAL" run "$E2E_TMP/gater.ini" >/dev/null 2>"$E2E_TMP/errr" &
vr=$!
e2e_track "$vr"
"$QMP" -w 20 "$(e2e_run_dir gater)/monitor.sock" >/dev/null
"$VMSEAL" qmp gater '{"execute":"x-vmseal-query-disks"}' | grep -q "\"active\": \"root\", \"chain\": \[ { \"node\": \"root\", \"file-node\": \"vs0f0\", \"filename\": \"$K/s1.qcow2\" }"
ok $? "the next run starts from s1.qcow2" || diag "$("$VMSEAL" qmp gater '{"execute":"x-vmseal-query-disks"}')"
"$VMSEAL" stream gater root >"$E2E_TMP/r" 2>&1 && grep -qx "root: $K/s1.qcow2" "$E2E_TMP/r"
ok $? "stream the whole chain into s1.qcow2" || diag "$(cat "$E2E_TMP/r")"
"$VMSEAL" stop gater >/dev/null 2>&1
e2e_wait_exit "$vr" 30
[ "$(chainfiles "$K/s1.qcow2")" = "$K/s1.qcow2" ] && [ "$(imgfiles "$K/s1.qcow2")" = "$K/s1.qcow2" ] &&
	"$VMSEAL" check "$E2E_TMP/gater.ini" 2>&1 | grep -q "starts from its active layer $K/s1.qcow2"
ok $? "after the stream s1.qcow2 stands alone, in the record and in qemu-img's view"
for b in 0x11:0 0x22:1 0x33:2; do
	qemu-io -r -f qcow2 -c "read -P ${b%%:*} ${b##*:}M 1M" "$K/s1.qcow2" | grep -q '^read 1048576/1048576' || break
done
ok $? "s1.qcow2 holds every layer's data"
# --- [disk] copy-on-read: the filter on top, then a stream drops the rest ---
L=$E2E_TMP/imgo
guest_chain "$L" >/dev/null || exit 1
sed -e 's/^name = gate/name = gateo/' -e "s|^image = .*|image = $L/top.qcow2|" \
	"$E2E_TMP/gate.ini" >"$E2E_TMP/gateo.ini"
echo "copy-on-read = yes" >>"$E2E_TMP/gateo.ini"
"$VMSEAL" argv "$E2E_TMP/gateo.ini" | grep -qx 'driver=copy-on-read,node-name=root,file=vs0t'
ok $? "copy-on-read = yes: QEMU's copy-on-read filter named root above the top (vs0t)"
"$VMSEAL" run "$E2E_TMP/gateo.ini" >"$E2E_TMP/out" 2>"$E2E_TMP/erro" &
vo=$!
e2e_track "$vo"
SOCK=$(e2e_run_dir gateo)/monitor.sock
q '{"execute":"cont"}' >/dev/null
readp root 0 0x11
ok $? "the guest reads MiB 0 (base) through the filter" || diag "$(cat "$E2E_TMP/erro")"
io root flush >/dev/null
qemu-img map -U --output=json "$L/top.qcow2" | grep -q '"start": 0, "length": 1048576, "depth": 0, "present": true, "zero": false, "data": true'
ok $? "copy-on-read: what was read now lies in top.qcow2" || diag "$(qemu-img map -U --output=json "$L/top.qcow2")"
"$VMSEAL" stream gateo root >"$E2E_TMP/r" 2>&1 && grep -qx "root: $L/top.qcow2" "$E2E_TMP/r"
ok $? "stream under the filter, then the emptied members dropped" || diag "$(cat "$E2E_TMP/r")"
! q '{"execute":"query-named-block-nodes","arguments":{"flat":true}}' | grep -q '"node-name": "vs0b[12]"' &&
	readp root 0 0x11 && readp root 1 0x22 && readp root 2 0x33
ok $? "mid and base left QEMU; the top alone reads every layer"
"$VMSEAL" stop gateo >/dev/null 2>&1
e2e_wait_exit "$vo" 30
[ -z "$(backing_of "$L/top.qcow2")" ]
ok $? "top.qcow2's header names no backing file any more"
# --- the attack: the emulator takes monitor.sock's name for its own ---
# QEMU unlinks a server socket's path before it binds it, through the
# broker's unlink rule for sockets in its runtime directory: a config (or
# a compromised emulator) naming monitor.sock would put a monitor of its
# own where vmseal's clients expect the gate.
sed -e 's/^name = gate/name = gatex/' -e "s|^image = .*|image = $L/top.qcow2|" \
	-e '/^copy-on-read/d' "$E2E_TMP/gate.ini" >"$E2E_TMP/gatex.ini"
X=$(e2e_run_dir gatex)
sed -i "s|^args = -device ide-cd.*|args = -chardev socket,id=evil,path=$X/monitor.sock,server=on,wait=off -mon chardev=evil,mode=control|" "$E2E_TMP/gatex.ini"
"$VMSEAL" run "$E2E_TMP/gatex.ini" >/dev/null 2>"$E2E_TMP/errx" &
vx=$!
e2e_track "$vx"
for i in $(seq 100); do
	[ -S "$X/monitor.sock" ] && break
	sleep 0.1
done
sleep 1
r=$("$VMSEAL" qmp gatex '{"execute":"x-vmseal-query-disks"}' 2>&1)
[[ $r != *CommandNotFound* ]] &&
	grep -q "Failed to unlink socket $X/monitor.sock: Operation not permitted" "$E2E_TMP/errx"
ok $? "the emulator cannot take monitor.sock's name (the broker refuses the unlink)" ||
	diag "$r" "$(cat "$E2E_TMP/errx")"
e2e_stop_pid "$vx"
tap_done
