#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A block device in a chain: refused unless the disk sets block-device =
# allow; allowed, it is reached like a file (O_PATH beneath the root,
# then reopened), sized with BLKGETSIZE64, passed as a host_device node,
# and QEMU reads the pattern written on it.  Needs a loop device; the
# refusal of a device node is also tested from mknod in chain_test and
# hostile.t, which run everywhere.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

missing=$(e2e_missing "$QEMU" qemu-img qemu-io losetup "$VMSEAL" "$QMP")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps, make test-bins)" "block device e2e"
	tap_done
	exit
fi
e2e_setup
R=$E2E_TMP/root
mkdir -p "$R"
truncate -s 4M "$E2E_TMP/backing.raw"
qemu-io -f raw -c 'write -P 0x5a 0 1M' "$E2E_TMP/backing.raw" >/dev/null
if ! loop=$(losetup -f --show "$E2E_TMP/backing.raw" 2>"$E2E_TMP/err"); then
	skip "no loop device here: $(head -c 100 "$E2E_TMP/err")" "block device e2e"
	tap_done
	exit
fi
trap 'losetup -d "$loop"; _e2e_cleanup' EXIT
# The device node lies beneath the root, like any member.
mknod "$R/disk" b "$((0x$(stat -c %t "$loop")))" "$((0x$(stat -c %T "$loop")))"
ok $? "a node for $loop beneath the root"

"$VMSEAL" chain "$R/disk" --format raw >/dev/null 2>"$E2E_TMP/err"
[ $? = 66 ] && grep -q "not a regular file (block device); refused unless --block-device is given" "$E2E_TMP/err"
ok $? "without --block-device: refused" || diag "$(cat "$E2E_TMP/err")"
"$VMSEAL" chain "$R/disk" --format raw --block-device --json >"$E2E_TMP/out"
[ $? = 0 ] && grep -q '"virtual-size": 4194304' "$E2E_TMP/out" &&
	grep -q '"block-device": true' "$E2E_TMP/out"
ok $? "with --block-device: resolved, size from BLKGETSIZE64" || diag "$(cat "$E2E_TMP/out")"

cd "$R" || exit 1
qemu-img create -q -f qcow2 -u -F raw -b disk top.qcow2 4M
sock=$(e2e_run_dir blk)/qmp.sock
ini=$E2E_TMP/guest.ini
cat >"$ini" <<INI
[vmseal]
version = 1
name = blk
[emulator]
binary = $QEMU
args = -machine pc -accel tcg -m 128 -nographic -nodefaults -S
args = -qmp unix:$sock,server=on,wait=off
[sandbox]
user = $E2E_USER
[chain]
record = none
[disk root]
image = $R/top.qcow2
format = qcow2
device = none
INI
"$VMSEAL" check "$ini" >/dev/null 2>"$E2E_TMP/err"
[ $? = 66 ] && grep -q "$R/top.qcow2: offset 0x.*(block device); refused" "$E2E_TMP/err"
ok $? "a block device as backing member without block-device = allow: refused" ||
	diag "$(cat "$E2E_TMP/err")"
echo "block-device = allow" >>"$ini"
"$VMSEAL" argv "$ini" >"$E2E_TMP/argv"
grep -qx 'driver=host_device,node-name=vs0f1,filename=/dev/fdset/2,auto-read-only=on' "$E2E_TMP/argv"
ok $? "allowed: the device is a host_device node" || diag "$(cat "$E2E_TMP/argv")"

"$VMSEAL" run "$ini" >"$E2E_TMP/out" 2>"$E2E_TMP/err" &
vpid=$!
e2e_track "$vpid"
e2e_qmp "$sock" >/dev/null
ok $? "QEMU starts with the device passed" || diag "$(cat "$E2E_TMP/err")"
e2e_hmp "$sock" 'qemu-io root "read -P 0x5a 0 1M"' >/dev/null
e2e_hmp "$sock" 'qemu-io root "write -P 0x33 1M 64k"' >/dev/null
sleep 0.5
grep -q '^read 1048576/1048576 bytes' "$E2E_TMP/out" && ! grep -q 'Pattern verification failed' "$E2E_TMP/out"
ok $? "QEMU reads the device's pattern through the descriptor" || diag "$(cat "$E2E_TMP/out")"
e2e_qmp "$sock" '{"execute":"quit"}' >/dev/null
e2e_wait_exit "$vpid" 30
ok $? "exits 0"
qemu-io -r -f raw -c 'read -P 0 1M 64k' "$E2E_TMP/backing.raw" | grep -q '^read 65536/65536'
ok $? "the write landed in top.qcow2, not on the read-only device"

tap_done
