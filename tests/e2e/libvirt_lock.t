#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Two wrapped domains under a real (private) libvirtd: B must not get
# write access, through vmseal's monitor gate, to an image A's QEMU is
# writing.  Plain QEMU refuses that with its image locks (`Failed to get
# "write" lock`); the gate's file nodes keep QEMU's locking in wrap mode,
# so hot-plug and block-copy onto A's disk fail the same way, while a
# <shareable/> disk both domains write (share-rw) still attaches.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

. "$(dirname "$0")/lib/libvirtd.sh"

missing=$(e2e_missing virsh "$QEMU" qemu-img qemu-io "$VMSEAL")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps)" "libvirt lock e2e"
	tap_done
	exit
fi
e2e_setup
if ! libvirtd_start; then
	skip "$LV_WHY" "libvirt lock e2e"
	tap_done
	exit
fi
A=vmseal-lka-$$
B=vmseal-lkb-$$
VIRSH=("${LV_VIRSH[@]}")
QUID=$(id -u libvirt-qemu 2>/dev/null || echo 64055)
install -d -o "$QUID" -m 0755 "$LV_VMSEAL/wrap/$QUID"
mkdir -p "$E2E_TMP/libexec"
install -m 0755 "$VMSEAL" "$E2E_TMP/libexec/vmseal"
ln -s vmseal "$E2E_TMP/libexec/qemu-system-x86_64"
WRAPPER=$E2E_TMP/libexec/qemu-system-x86_64

guest_chain "$E2E_TMP/a" >/dev/null && guest_chain "$E2E_TMP/b" >/dev/null &&
	qemu-img create -q -f raw "$E2E_TMP/a/shared.raw" 1M &&
	qemu-img create -q -f qcow2 "$E2E_TMP/b/target.qcow2" 16M
ok $? "images: a 3-level chain for each domain, a raw disk both share"
chown -R "$QUID" "$E2E_TMP/a" "$E2E_TMP/b"
XA=$E2E_TMP/a/top.qcow2

lv_domain_xml "$A" "$WRAPPER" "$E2E_TMP/a" \
	"<disk type='file' device='disk'>" \
	"  <driver name='qemu' type='raw'/>" \
	"  <source file='$E2E_TMP/a/shared.raw'/>" \
	"  <target dev='sdb' bus='scsi'/>" \
	"  <shareable/>" \
	"</disk>" \
	"<controller type='scsi' model='virtio-scsi'/>" >"$E2E_TMP/a.xml"
lv_domain_xml "$B" "$WRAPPER" "$E2E_TMP/b" \
	"<controller type='scsi' model='virtio-scsi'/>" >"$E2E_TMP/b.xml"
for d in A B; do
	dom=${!d}
	out=$(timeout 300 "${VIRSH[@]}" define "$E2E_TMP/${d,}.xml" 2>&1) &&
		out=$(timeout 300 "${VIRSH[@]}" start "$dom" 2>&1)
	ok $? "virsh start $d: a wrapped guest" ||
		diag "$out" "$(tail -20 "$LV_LOG/qemu/$dom.log" 2>/dev/null)"
done
qa=$(cat "$LV_RUN/qemu/$A.pid" 2>/dev/null)
qb=$(cat "$LV_RUN/qemu/$B.pid" 2>/dev/null)
grep -q '^Seccomp:[[:space:]]*2$' "/proc/${qa:-0}/status" 2>/dev/null &&
	grep -q '^Seccomp:[[:space:]]*2$' "/proc/${qb:-0}/status" 2>/dev/null
ok $? "both QEMUs run sealed (pids $qa, $qb)"

blocks() { # DOM: its disks' targets and sources
	"${VIRSH[@]}" domblklist "$1" 2>&1 | awk 'NF == 2 { print $1, $2 }'
}
# The attack: B hot-plugs A's active layer, writable, through the gate.
out=$(timeout 120 "${VIRSH[@]}" attach-disk "$B" "$XA" sda --subdriver qcow2 --targetbus scsi --live 2>&1)
rc=$?
[ $rc -ne 0 ] && grep -q 'lock' <<<"$out"
ok $? "B's attach-disk of A's written top.qcow2 is refused by QEMU's image lock" ||
	diag "rc $rc: $out" "$(blocks "$B")"
! blocks "$B" | grep -qF "$XA"
ok $? "B has no disk on A's image" || diag "$(blocks "$B")"

# The same through blockdev-add straight on the gate (no libvirt).
reply=$("${VIRSH[@]}" qemu-monitor-command "$B" "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"qcow2\",\"node-name\":\"steal\",\"file\":{\"driver\":\"file\",\"filename\":\"$XA\"}}}" 2>&1)
[[ $reply == *'Failed to get \"write\" lock'* ]]
ok $? "B's blockdev-add of A's top.qcow2 (read-write) fails to get the write lock" || diag "$reply"

# A block copy of B's disk onto A's active layer (reused as it is).
out=$(timeout 120 "${VIRSH[@]}" blockcopy "$B" vda "$XA" --reuse-external --wait --finish --transient-job 2>&1)
rc=$?
[ $rc -ne 0 ]
ok $? "B's blockcopy onto A's top.qcow2 is refused" || diag "rc $rc: $out"

# A itself is unharmed: its disk still reads its own data.
out=$(blocks "$A")
grep -qxF "vda $XA" <<<"$out"
ok $? "A's disk is still its top.qcow2" || diag "$out"
out=$(qemu-io -U -r -f qcow2 -c 'read -P 0x33 2M 1M' "$XA" 2>&1)
! grep -q -e 'failed' -e 'Could not' <<<"$out"
ok $? "A's top.qcow2 still holds A's data" || diag "$out"

# What QEMU allows, the gate allows: a <shareable/> raw disk both write.
out=$(timeout 120 "${VIRSH[@]}" attach-disk "$B" "$E2E_TMP/a/shared.raw" sdb --targetbus scsi --mode shareable --live 2>&1)
ok $? "B's attach-disk --mode shareable of the disk A shares succeeds" ||
	diag "$out" "$(tail -5 "$LV_LOG/qemu/$B.log")"
blocks "$B" | grep -qxF "sdb $E2E_TMP/a/shared.raw"
ok $? "B now has the shared disk as sdb" || diag "$(blocks "$B")"

# Once A is gone, its image is B's to take.
timeout 60 "${VIRSH[@]}" destroy "$A" >/dev/null 2>&1
for i in $(seq 100); do kill -0 "${qa:-0}" 2>/dev/null || break; sleep 0.1; done
out=$(timeout 120 "${VIRSH[@]}" attach-disk "$B" "$XA" sda --subdriver qcow2 --targetbus scsi --live 2>&1)
ok $? "after A stops, B's attach-disk of top.qcow2 succeeds" ||
	diag "$out" "$(tail -5 "$LV_LOG/qemu/$B.log")"
grep -q '^Seccomp:[[:space:]]*2$' "/proc/${qb:-0}/status" 2>/dev/null &&
	[ "$(cat "$LV_RUN/qemu/$B.pid" 2>/dev/null)" = "$qb" ]
ok $? "B is the same sealed QEMU throughout"

timeout 60 "${VIRSH[@]}" destroy "$B" >/dev/null 2>&1
"${VIRSH[@]}" undefine "$A" >/dev/null 2>&1
"${VIRSH[@]}" undefine "$B" >/dev/null 2>&1

tap_done
