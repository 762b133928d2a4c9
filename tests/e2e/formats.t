#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The formats of issue 4 through the real QEMU 7.2, every file a passed
# descriptor: a qcow2 top with an external data file over a QED over raw,
# and a VMDK delta link over its parent; QEMU reads each layer's pattern
# over QMP.  Then the chain record: written on the first run, "reused
# (unchanged)" on the second, "re-resolved" naming the member that
# changed on the third; check and argv never write it; a VMDK with
# extents is refused with the reason.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

missing=$(e2e_missing "$QEMU" qemu-img qemu-io "$VMSEAL" "$QMP")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps, make test-bins)" "formats e2e"
	tap_done
	exit
fi
e2e_setup
I=$E2E_TMP/img
mkdir -p "$I"
cd "$I" || exit 1
q() { qemu-img create -q "$@" >/dev/null; }
io() { qemu-io "$@" >/dev/null; }

# The qcow2/data file/QED/raw chain, one MiB of a pattern per layer.
q -f raw base.raw 4M
io -f raw -c 'write -P 0x11 0 1M' base.raw
q -f qed -F raw -b base.raw mid.qed 4M
io -f qed -c 'write -P 0x22 1M 1M' mid.qed
q -f qcow2 -o data_file=top.data -F qed -b mid.qed top.qcow2 4M
io -f qcow2 -c 'write -P 0x33 2M 1M' top.qcow2
# The VMDK delta chain.
q -f vmdk vbase.vmdk 4M
io -f vmdk -c 'write -P 0x44 0 1M' vbase.vmdk
q -f vmdk -F vmdk -b vbase.vmdk vdelta.vmdk 4M
io -f vmdk -c 'write -P 0x55 1M 1M' vdelta.vmdk

REC=$E2E_TMP/rec/chain.json
ini=$E2E_TMP/guest.ini
out=$E2E_TMP/stdout
err=$E2E_TMP/stderr
sock=$(e2e_run_dir fmt)/qmp.sock
cat >"$ini" <<INI
[vmseal]
version = 1
name = fmt
[emulator]
binary = $QEMU
args = -machine pc -accel tcg -m 128 -nographic -nodefaults -S
args = -qmp unix:$sock,server=on,wait=off
[sandbox]
user = $E2E_USER
[chain]
record = $REC
[disk root]
image = $I/top.qcow2
format = qcow2
device = none
data-file = allow
[disk vm]
image = $I/vdelta.vmdk
format = vmdk
device = none
INI

"$VMSEAL" argv "$ini" >"$E2E_TMP/argv"
grep -qx 'driver=qcow2,node-name=root,file=vs0f0,data-file=vs0d0,backing=vs0b1' "$E2E_TMP/argv" &&
	grep -qx 'driver=file,node-name=vs0d0,filename=/dev/fdset/2' "$E2E_TMP/argv" &&
	grep -qx 'driver=qed,node-name=vs0b1,file=vs0f1,read-only=on,backing=vs0b2' "$E2E_TMP/argv" &&
	grep -qx 'driver=vmdk,node-name=vm,file=vs1f0,backing=vs1b1' "$E2E_TMP/argv" &&
	! grep -q "$I" "$E2E_TMP/argv"
ok $? "argv: data-file node, QED and VMDK nodes, no image path" || diag "$(cat "$E2E_TMP/argv")"
[ ! -e "$REC" ]
ok $? "argv writes no chain record"
"$VMSEAL" check "$ini" >/dev/null
[ $? = 0 ] && [ ! -e "$REC" ]
ok $? "check passes and writes no chain record"

# start: runs the guest; its pid in vpid once QMP answers.
start() {
	"$VMSEAL" run "$ini" >"$out" 2>"$err" &
	vpid=$!
	e2e_track "$vpid"
	e2e_qmp "$sock" >/dev/null
	ok $? "$1: QMP answers" || diag "$(cat "$err")"
}

stop() {
	e2e_qmp "$sock" '{"execute":"quit"}' >/dev/null
	e2e_wait_exit "$vpid" 30
	ok $? "$1: exits 0 after quit" || diag "$(cat "$err")"
}

start "first run"
for r in "root 0x11 0" "root 0x22 1M" "root 0x33 2M" "vm 0x44 0" "vm 0x55 1M"; do
	set -- $r
	e2e_hmp "$sock" "qemu-io $1 \"read -P $2 $3 1M\"" >/dev/null
done
sleep 0.5
[ "$(grep -c '^read 1048576/1048576 bytes' "$out")" = 5 ] &&
	! grep -q 'Pattern verification failed' "$out"
ok $? "QEMU reads raw, QED, qcow2 data file and both VMDK layers through the fds" ||
	diag "$(cat "$out")"
grep -q "disk root: chain resolved (no previous record)" "$err"
ok $? "first run: no previous record" || diag "$(cat "$err")"
stop "first run"

[ -f "$REC" ] && [ "$(stat -c %a "$REC")" = 644 ] && [ "$(stat -c %a "$(dirname "$REC")")" = 755 ]
ok $? "the record exists, mode 0644 in a 0755 directory"
python3 - "$REC" "$I" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
i = sys.argv[2]
d = {x["name"]: x for x in r["disks"]}
c = d["root"]["chain"]
assert r["version"] == 2 and r["guest"] == "fmt"
assert [m["filename"] for m in c] == [i + "/top.qcow2", i + "/mid.qed", i + "/base.raw"]
assert [m["format"] for m in c] == ["qcow2", "qed", "raw"]
v = [m["vmseal"] for m in c]
assert v[0]["data-file"]["filename"] == i + "/top.data"
assert v[0]["access"] == "read-write" and v[1]["access"] == "read-only"
assert all(len(m["header-sha256"]) == 64 for m in v)
assert v[0]["backing"] == {"name": "mid.qed", "format": "qed"}
assert [m["format"] for m in d["vm"]["chain"]] == ["vmdk", "vmdk"]
PY
ok $? "the record holds both chains, the data file, access modes, digests"

start "second run"
stop "second run"
grep -q "disk root: chain record reused (unchanged)" "$err" &&
	grep -q "disk vm: chain record reused (unchanged)" "$err"
ok $? "second run: record reused (unchanged)" || diag "$(cat "$err")"

touch -d '2001-01-01' base.raw
io -f vmdk -c 'write -P 0x77 2M 64k' vdelta.vmdk
start "third run"
# A write by the guest changes the top (and its data file) for the next
# launch's comparison: the record tells what the emulator was given.
e2e_hmp "$sock" 'qemu-io root "write -P 0x66 3M 64k"' >/dev/null
sleep 0.5
grep -q '^wrote 65536/65536 bytes at offset 3145728' "$out"
ok $? "a write through the top goes to its data file"
stop "third run"
qemu-io -r -f raw -c 'read -P 0x66 3M 64k' top.data | grep -q '^read 65536/65536'
ok $? "the write is in top.data"
grep -q "disk root: chain re-resolved: $I/base.raw changed (mtime)" "$err" &&
	grep -qE "disk vm: chain re-resolved: $I/vdelta.vmdk changed \((size, )?mtime" "$err"
ok $? "third run: re-resolved, naming the member and what changed" || diag "$(cat "$err")"

# A VMDK with extents: resolved by `chain`, refused by check (QEMU 7.2
# cannot take extents as descriptors).
q -f vmdk -o subformat=monolithicFlat flat.vmdk 1M
"$VMSEAL" chain "$I/flat.vmdk" --format vmdk | grep -q "extent 'flat-flat.vmdk' -> $I/flat-flat.vmdk"
ok $? "chain shows a VMDK's extent"
sed -i "s#image = $I/vdelta.vmdk#image = $I/flat.vmdk#" "$ini"
"$VMSEAL" check "$ini" >/dev/null 2>"$err"
[ $? = 66 ] && grep -q "$I/flat.vmdk: offset 0x.*QEMU 7.2 cannot take extents as descriptors" "$err"
ok $? "check refuses a VMDK with extents, saying why" || diag "$(cat "$err")"

tap_done
