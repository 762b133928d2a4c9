#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The chain record follows hot-plug, detach and media change through the
# monitor gate: a disk attached while the guest runs (vmseal attach, or
# libvirt's blockdev-add + device_add) and the medium in a removable
# device join the record as "live" entries whose chain qemu-img agrees
# with, follow a snapshot, and leave it on detach, device_del and eject;
# the next run rewrites the record from the config.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

missing=$(e2e_missing "$QEMU" qemu-img qemu-io "$VMSEAL" "$QMP" python3)
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps, make test-bins)" "gate record e2e"
	tap_done
	exit
fi
e2e_setup
I=$E2E_TMP/img
guest_chain "$I" >/dev/null || exit 1
REC=$E2E_TMP/rec/gr.json
SOCK=$(e2e_run_dir gr)/monitor.sock
(cd "$I" && qemu-img create -q -f qcow2 hotbase.qcow2 4M &&
	qemu-io -f qcow2 -c 'write -P 0x55 0 1M' hotbase.qcow2 >/dev/null &&
	qemu-img create -q -f qcow2 -F qcow2 -b hotbase.qcow2 hot.qcow2 &&
	qemu-img create -q -f qcow2 -F qcow2 -b hotbase.qcow2 hot2.qcow2)
head -c 1M /dev/zero | tr '\0' '\146' >"$I/cd1.raw"
head -c 1M /dev/zero | tr '\0' '\147' >"$I/cd2.raw"

q() {
	"$QMP" -w 20 "$SOCK" "$@"
}

# rec NAME: the record's entry for NAME as "image format live | filenames",
# or "none".
rec() {
	python3 - "$REC" "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for d in r["disks"]:
    if d["name"] == sys.argv[2]:
        print(d["image"], d["format"], d.get("live", "-"), "|",
              " ".join(m["filename"] for m in d["chain"]))
        break
else:
    print("none")
PY
}
# imgfiles IMAGE: qemu-img's view of IMAGE's chain (-U: QEMU runs).
imgfiles() {
	qemu-img info -U --backing-chain --output=json "$1" |
		grep -o '"filename": *"[^"]*"' | cut -d'"' -f4 | xargs
}
# agrees NAME IMAGE: the record's chain for NAME is qemu-img's for IMAGE.
agrees() {
	local r
	r=$(rec "$1")
	[ "${r#*| }" = "$(imgfiles "$2")" ]
}

cat >"$E2E_TMP/gr.ini" <<INI
[vmseal]
version = 1
name = gr
[emulator]
args = -machine pc -accel tcg -m 64 -nographic -nodefaults -S
args = -device ide-cd,id=cd0,bus=ide.1 -device virtio-scsi-pci,id=scsi0
[sandbox]
user = $E2E_USER
[chain]
record = $REC
[disk root]
image = $I/top.qcow2
format = qcow2
device = none
INI
"$VMSEAL" run "$E2E_TMP/gr.ini" >"$E2E_TMP/out" 2>"$E2E_TMP/err" &
vpid=$!
e2e_track "$vpid"
q '{"execute":"query-status"}' | grep -q '"status": "prelaunch"'
ok $? "the guest runs with a chain record" || diag "$(cat "$E2E_TMP/err")"
[ "$(rec root)" = "$I/top.qcow2 qcow2 - | $I/top.qcow2 $I/mid.qcow2 $I/base.qcow2" ]
ok $? "the record holds the config's disk" || diag "$(rec root)"

# --- vmseal attach, snapshot, detach ---
"$VMSEAL" attach gr hot --image "$I/hot.qcow2" --format qcow2 >"$E2E_TMP/r" 2>&1
[ "$(rec hot)" = "$I/hot.qcow2 qcow2 hot-plug | $I/hot.qcow2 $I/hotbase.qcow2" ] &&
	agrees hot "$I/hot.qcow2"
ok $? "vmseal attach: the hot-plugged disk's chain joins the record, as qemu-img sees it" ||
	diag "$(cat "$E2E_TMP/r")" "$(rec hot)" "$(imgfiles "$I/hot.qcow2")"
"$VMSEAL" snapshot gr hot "$I/hots1.qcow2" >"$E2E_TMP/r" 2>&1
[ "$(rec hot)" = "$I/hot.qcow2 qcow2 hot-plug | $I/hots1.qcow2 $I/hot.qcow2 $I/hotbase.qcow2" ] &&
	agrees hot "$I/hots1.qcow2"
ok $? "a snapshot of it moves its record to hots1.qcow2, the attached image kept" ||
	diag "$(cat "$E2E_TMP/r")" "$(rec hot)"
"$VMSEAL" detach gr hot >"$E2E_TMP/r" 2>&1
[ "$(rec hot)" = none ] &&
	[ "$(rec root)" = "$I/top.qcow2 qcow2 - | $I/top.qcow2 $I/mid.qcow2 $I/base.qcow2" ]
ok $? "vmseal detach: it leaves the record, the config's disk stays" ||
	diag "$(cat "$E2E_TMP/r")" "$(rec hot)" "$(rec root)"

# --- libvirt's hot-plug: blockdev-add, device_add; device_del ---
q "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"filename\":\"$I/hot2.qcow2\",\"node-name\":\"h2-storage\",\"auto-read-only\":true}}" \
	'{"execute":"blockdev-add","arguments":{"node-name":"h2-format","read-only":false,"driver":"qcow2","file":"h2-storage"}}' \
	'{"execute":"device_add","arguments":{"driver":"scsi-hd","bus":"scsi0.0","drive":"h2-format","id":"sd1"}}' >"$E2E_TMP/r"
sleep 0.3
[ "$(rec sd1)" = "$I/hot2.qcow2 qcow2 hot-plug | $I/hot2.qcow2 $I/hotbase.qcow2" ] &&
	agrees sd1 "$I/hot2.qcow2"
ok $? "device_add on a node added through the gate: disk sd1 joins the record" ||
	diag "$(cat "$E2E_TMP/r")" "$(rec sd1)"
q '{"execute":"device_del","arguments":{"id":"sd1"}}' >"$E2E_TMP/r"
for i in $(seq 50); do
	[ "$(rec sd1)" = none ] && break
	sleep 0.1
done
[ "$(rec sd1)" = none ]
ok $? "device_del: DEVICE_DELETED takes sd1 out of the record" || diag "$(cat "$E2E_TMP/r")" "$(rec sd1)"
vsg=$(q '{"execute":"query-named-block-nodes","arguments":{"flat":true}}' | grep -o '"node-name": "vsgate-[0-9]*[-f]*"' | cut -d'"' -f4)
for n in h2-format $vsg h2-storage; do
	q "{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"$n\"}}" >/dev/null
done

# --- media: vmseal media, blockdev-change-medium, eject ---
"$VMSEAL" media gr cd0 "$I/cd1.raw" >"$E2E_TMP/r" 2>&1
sleep 0.3
[ "$(rec cd0)" = "$I/cd1.raw raw medium | $I/cd1.raw" ]
ok $? "vmseal media: cd0's medium cd1.raw joins the record" || diag "$(cat "$E2E_TMP/r")" "$(rec cd0)"
"$VMSEAL" media gr cd0 --eject >"$E2E_TMP/r" 2>&1
sleep 0.3
[ "$(rec cd0)" = none ]
ok $? "vmseal media --eject: it leaves the record" || diag "$(cat "$E2E_TMP/r")" "$(rec cd0)"
q "{\"execute\":\"blockdev-change-medium\",\"arguments\":{\"id\":\"cd0\",\"filename\":\"$I/cd2.raw\",\"format\":\"raw\",\"read-only-mode\":\"read-only\"}}" >"$E2E_TMP/r"
sleep 0.3
grep -q '"return"' "$E2E_TMP/r" && [ "$(rec cd0)" = "$I/cd2.raw raw medium | $I/cd2.raw" ]
ok $? "blockdev-change-medium: the new medium cd2.raw is recorded" || diag "$(cat "$E2E_TMP/r")" "$(rec cd0)"
q '{"execute":"eject","arguments":{"id":"cd0","force":true}}' >"$E2E_TMP/r"
sleep 0.3
[ "$(rec cd0)" = none ]
ok $? "eject: the medium leaves the record" || diag "$(cat "$E2E_TMP/r")" "$(rec cd0)"

# --- left attached at stop: the next run rewrites the record ---
"$VMSEAL" attach gr hot --image "$I/hot.qcow2" --format qcow2 --readonly >/dev/null 2>&1
[ "$(rec hot)" != none ]
ok $? "(attached again)"
"$VMSEAL" stop gr >/dev/null 2>&1
e2e_wait_exit "$vpid" 30
"$VMSEAL" run "$E2E_TMP/gr.ini" >/dev/null 2>"$E2E_TMP/err2" &
vpid=$!
e2e_track "$vpid"
q '{"execute":"query-status"}' >/dev/null
[ "$(rec hot)" = none ] && [ "$(rec root)" != none ]
ok $? "the next run's record holds only the config's disks" || diag "$(cat "$REC")"
e2e_stop_pid "$vpid"
tap_done
