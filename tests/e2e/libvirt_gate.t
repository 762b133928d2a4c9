#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The monitor gate in wrap mode, under a real (private) libvirtd: libvirt
# hands QEMU its monitor as a listening socket; vmseal's helper keeps it,
# accepts libvirt itself and gives QEMU a private channel, so every file
# libvirt names on the monitor reaches QEMU as a descriptor.  Live disk
# operations as an admin runs them (snapshot, active and intermediate
# commit, pull, copy, hot-plug, media change); after each QEMU is still sealed, and at the
# end every header QEMU wrote names real paths and every layer reads back.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

. "$(dirname "$0")/lib/libvirtd.sh"

missing=$(e2e_missing virsh "$QEMU" qemu-img qemu-io "$VMSEAL")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps)" "libvirt gate e2e"
	tap_done
	exit
fi
e2e_setup
if ! libvirtd_start; then
	skip "$LV_WHY" "libvirt gate e2e"
	tap_done
	exit
fi
DOM=vmseal-gate-$$
IMG=$E2E_TMP/images
VIRSH=("${LV_VIRSH[@]}")
QUID=$(id -u libvirt-qemu 2>/dev/null || echo 64055)
install -d -o "$QUID" -m 0755 "$LV_VMSEAL/wrap/$QUID"
mkdir -p "$E2E_TMP/libexec"
install -m 0755 "$VMSEAL" "$E2E_TMP/libexec/vmseal"
ln -s vmseal "$E2E_TMP/libexec/qemu-system-x86_64"
WRAPPER=$E2E_TMP/libexec/qemu-system-x86_64
log=$LV_LOG/qemu/$DOM.log

mkdir -p "$IMG"
guest_chain "$IMG" >/dev/null
qemu-img create -q -f raw "$IMG/cd1.raw" 1M && qemu-io -f raw -c 'write -P 0x44 0 1M' "$IMG/cd1.raw" >/dev/null &&
	qemu-img create -q -f raw "$IMG/cd2.raw" 1M && qemu-io -f raw -c 'write -P 0x55 0 1M' "$IMG/cd2.raw" >/dev/null &&
	qemu-img create -q -f qcow2 "$IMG/hotbase.qcow2" 16M && qemu-io -f qcow2 -c 'write -P 0x66 0 1M' "$IMG/hotbase.qcow2" >/dev/null &&
	qemu-img create -q -f qcow2 -F qcow2 -b "$IMG/hotbase.qcow2" "$IMG/hot.qcow2" 16M &&
	qemu-io -f qcow2 -c 'write -P 0x77 1M 1M' "$IMG/hot.qcow2" >/dev/null
ok $? "images: a 3-level chain, two CD images, a 2-level hot-plug chain"
chown -R "$QUID" "$IMG"
lv_domain_xml "$DOM" "$WRAPPER" "$IMG" \
	"<disk type='file' device='cdrom'>" \
	"  <driver name='qemu' type='raw'/>" \
	"  <source file='$IMG/cd1.raw'/>" \
	"  <target dev='hdc' bus='ide'/>" \
	"  <readonly/>" \
	"</disk>" \
	"<controller type='scsi' model='virtio-scsi'/>" >"$E2E_TMP/dom.xml"
timeout 300 "${VIRSH[@]}" define "$E2E_TMP/dom.xml" >"$E2E_TMP/define" 2>&1
ok $? "virsh define" || diag "$(cat "$E2E_TMP/define")"
timeout 300 "${VIRSH[@]}" start "$DOM" >"$E2E_TMP/start" 2>&1
ok $? "virsh start: libvirt talks QMP to QEMU through vmseal's gate" ||
	diag "$(cat "$E2E_TMP/start")" "$(tail -20 "$log" 2>/dev/null)"
qpid=$(cat "$LV_RUN/qemu/$DOM.pid" 2>/dev/null)
helper=$(e2e_child_of "${qpid:-0}")
tr '\0' '\n' <"/proc/${qpid:-0}/cmdline" >"$E2E_TMP/argv"
grep -q '^socket,id=charmonitor,fd=[0-9]*$' "$E2E_TMP/argv" &&
	grep -q '^chardev=charmonitor,id=monitor,mode=control$' "$E2E_TMP/argv"
ok $? "QEMU's monitor is the gate's channel (-chardev socket,id=charmonitor,fd=N, no server=)" ||
	diag "$(grep -A1 -e -chardev -e -mon "$E2E_TMP/argv")"
mfd=$(sed -n 's/^socket,id=charmonitor,fd=//p' "$E2E_TMP/argv")
[ -n "$helper" ] && ls -l "/proc/$helper/fd" | grep -q socket &&
	[ "$(stat -L -c %F "/proc/$qpid/fd/$mfd" 2>/dev/null)" = socket ] &&
	! grep -q 'ACCEPTCONN' /dev/null
ok $? "vmseal's helper (pid $helper) holds libvirt's monitor socket, QEMU fd $mfd its channel"

sealed() { # WHAT
	grep -q '^Seccomp:[[:space:]]*2$' "/proc/$qpid/status" 2>/dev/null &&
		[ "$(cat "$LV_RUN/qemu/$DOM.pid" 2>/dev/null)" = "$qpid" ]
	ok $? "after $1: the same QEMU runs, Seccomp: 2"
}
active() { "${VIRSH[@]}" domblklist "$DOM" 2>/dev/null | awk '$1 == "vda" { print $2 }'; }
# The chain as the headers name it: real paths only.
headers_real() { # IMAGE WHAT
	local info
	info=$(qemu-img info -U --backing-chain "$1" 2>&1)
	! grep -q -e /dev/fdset -e 'json:' <<<"$info" && ! grep -q 'Could not' <<<"$info"
	ok $? "after $2: the headers of $(basename "$1")'s chain name real paths" || diag "$info"
}
# HMP qemu-io prints on QEMU's stdout (the domain log): the log's new part.
hmp_read() { # NODE PATTERN OFFSET
	local at
	at=$(stat -c %s "$log")
	"${VIRSH[@]}" qemu-monitor-command --hmp "$DOM" "qemu-io $1 \"read -P $2 $3 1M\"" 2>&1
	sleep 0.3
	tail -c +$((at + 1)) "$log"
}
node_of() { # DEV: its format node, as libvirt named it
	"${VIRSH[@]}" qemu-monitor-command "$DOM" '{"execute":"query-block"}' 2>/dev/null |
		python3 -c 'import json,sys
for b in json.load(sys.stdin)["return"]:
    q = b.get("qdev", "")
    if q == sys.argv[1] or q.endswith("/" + sys.argv[1]) or "/" + sys.argv[1] + "/" in q:
        print(b["inserted"]["node-name"]) if "inserted" in b else None' "$1"
}
reads_all() { # WHAT
	local n
	n=$(node_of virtio-disk0)
	: >"$E2E_TMP/reads"
	for p in "0x11 0" "0x22 1M" "0x33 2M"; do
		hmp_read "$n" ${p% *} ${p#* } >>"$E2E_TMP/reads"
	done
	[ -n "$n" ] && ! grep -q -e 'failed' -e 'rror' "$E2E_TMP/reads" &&
		[ "$(grep -c 'read 1048576/1048576' "$E2E_TMP/reads")" = 3 ]
	ok $? "after $1: QEMU reads every layer's data through $n" || diag "$(cat "$E2E_TMP/reads")"
}
sealed start

# 1. External disk-only snapshot: libvirt pre-creates s1.qcow2, blockdev-adds
# it by path (the gate opens it), formats it with blockdev-create (its
# backing-file string checked), and snapshots with blockdev-snapshot.
out=$(timeout 120 "${VIRSH[@]}" snapshot-create-as "$DOM" s1 --disk-only --atomic --no-metadata \
	--diskspec vda,file="$IMG/s1.qcow2" --diskspec hdc,snapshot=no 2>&1)
ok $? "virsh snapshot-create-as --disk-only --atomic --no-metadata" || diag "$out" "$(tail -5 "$log")"
[ "$(active)" = "$IMG/s1.qcow2" ]
ok $? "the active layer is s1.qcow2 ($(active))"
sealed snapshot
headers_real "$IMG/s1.qcow2" snapshot
reads_all snapshot

# 2. Active commit with pivot: s1 folds down into base.qcow2 (through top
# and mid), which becomes the active layer.
out=$(timeout 120 "${VIRSH[@]}" blockcommit "$DOM" vda --active --pivot --wait 2>&1)
ok $? "virsh blockcommit --active --pivot" || diag "$out" "$(tail -5 "$log")"
[ "$(active)" = "$IMG/base.qcow2" ]
ok $? "the active layer is base.qcow2 ($(active))"
sealed "active commit"
reads_all "active commit"

# 2b. Intermediate commits, twice into the same base (image locks rotate):
# snapshots s3 and s4 over base, then s3 into base, then s4's data again.
out=$(timeout 120 "${VIRSH[@]}" snapshot-create-as "$DOM" s3 --disk-only --atomic --no-metadata \
	--diskspec vda,file="$IMG/s3.qcow2" --diskspec hdc,snapshot=no 2>&1) &&
	out=$(timeout 120 "${VIRSH[@]}" snapshot-create-as "$DOM" s4 --disk-only --atomic --no-metadata \
		--diskspec vda,file="$IMG/s4.qcow2" --diskspec hdc,snapshot=no 2>&1) &&
	out=$(timeout 120 "${VIRSH[@]}" snapshot-create-as "$DOM" s5 --disk-only --atomic --no-metadata \
		--diskspec vda,file="$IMG/s5.qcow2" --diskspec hdc,snapshot=no 2>&1)
ok $? "three more snapshots: s5 -> s4 -> s3 -> base" || diag "$out"
out=$(timeout 120 "${VIRSH[@]}" blockcommit "$DOM" vda --top "$IMG/s3.qcow2" --base "$IMG/base.qcow2" --wait 2>&1)
ok $? "virsh blockcommit --top s3 --base base" || diag "$out" "$(tail -5 "$log")"
out=$(timeout 120 "${VIRSH[@]}" blockcommit "$DOM" vda --top "$IMG/s4.qcow2" --base "$IMG/base.qcow2" --wait 2>&1)
ok $? "virsh blockcommit --top s4 --base base (the same base written again)" || diag "$out" "$(tail -5 "$log")"
sealed "intermediate commits"
headers_real "$IMG/s5.qcow2" "intermediate commits"
info=$(qemu-img info -U "$IMG/s5.qcow2" 2>&1)
grep -q "backing file: $IMG/base.qcow2" <<<"$info"
ok $? "s5.qcow2's header now names base.qcow2" || diag "$info"
reads_all "intermediate commits"

# 3. Pull: a fresh snapshot s2, then everything below streams into it.
out=$(timeout 120 "${VIRSH[@]}" snapshot-create-as "$DOM" s2 --disk-only --atomic --no-metadata \
	--diskspec vda,file="$IMG/s2.qcow2" --diskspec hdc,snapshot=no 2>&1) &&
	out=$(timeout 120 "${VIRSH[@]}" blockpull "$DOM" vda --wait 2>&1)
ok $? "virsh snapshot s2, then blockpull --wait" || diag "$out" "$(tail -5 "$log")" "$(grep vmseal "$log" | tail -5)"
sealed blockpull
info=$(qemu-img info -U "$IMG/s2.qcow2" 2>&1)
! grep -q 'backing file' <<<"$info"
ok $? "after blockpull: s2.qcow2 stands alone" || diag "$info"
reads_all blockpull

# 4. Copy: --finish (the copy is left as it is), then --pivot (the copy
# becomes the disk).  libvirt pre-creates the target; the gate opens it.
out=$(timeout 120 "${VIRSH[@]}" blockcopy "$DOM" vda "$IMG/copy.qcow2" --wait --finish --transient-job 2>&1)
ok $? "virsh blockcopy --wait --finish" || diag "$out" "$(tail -5 "$log")"
sealed "blockcopy --finish"
out=$(qemu-io -U -r -f qcow2 -c 'read -P 0x11 0 1M' -c 'read -P 0x22 1M 1M' -c 'read -P 0x33 2M 1M' "$IMG/copy.qcow2" 2>&1)
! grep -q -e 'failed' -e 'Could not' <<<"$out"
ok $? "the finished copy holds every layer's data" || diag "$out"
out=$(timeout 120 "${VIRSH[@]}" blockcopy "$DOM" vda "$IMG/copy2.qcow2" --wait --pivot --transient-job 2>&1)
ok $? "virsh blockcopy --wait --pivot" || diag "$out" "$(tail -5 "$log")"
[ "$(active)" = "$IMG/copy2.qcow2" ]
ok $? "the active layer is copy2.qcow2 ($(active))"
sealed "blockcopy --pivot"
headers_real "$IMG/copy2.qcow2" "blockcopy --pivot"
reads_all "blockcopy --pivot"

# 5. Hot-plug a qcow2 with a backing chain, read both layers, unplug it.
out=$(timeout 120 "${VIRSH[@]}" attach-disk "$DOM" "$IMG/hot.qcow2" sda --subdriver qcow2 --targetbus scsi --live 2>&1)
ok $? "virsh attach-disk of a 2-level qcow2 chain" || diag "$out" "$(tail -5 "$log")"
sealed attach-disk
n=$(node_of scsi0-0-0-0)
r=$(hmp_read "$n" 0x66 0; hmp_read "$n" 0x77 1M)
[ -n "$n" ] && ! grep -q -e 'failed' -e 'rror' <<<"$r" && [ "$(grep -c 'read 1048576/1048576' <<<"$r")" = 2 ]
ok $? "the hot-plugged disk reads both layers through $n" || diag "$r" "$(tail -5 "$log")"
out=$(timeout 120 "${VIRSH[@]}" detach-disk "$DOM" sda --live 2>&1)
ok $? "virsh detach-disk" || diag "$out" "$(tail -5 "$log")"
sealed detach-disk

# 6. Media: --update to another image, --eject, --insert the first again.
out=$(timeout 60 "${VIRSH[@]}" change-media "$DOM" hdc "$IMG/cd2.raw" --update --live 2>&1)
ok $? "virsh change-media --update" || diag "$out" "$(tail -5 "$log")"
r=$(hmp_read "$(node_of ide0-1-0)" 0x55 0)
! grep -q -e 'failed' -e 'rror' <<<"$r" && grep -q 'read 1048576/1048576' <<<"$r"
ok $? "the new medium reads" || diag "$r"
out=$(timeout 60 "${VIRSH[@]}" change-media "$DOM" hdc --eject --live 2>&1)
ok $? "virsh change-media --eject" || diag "$out" "$(tail -5 "$log")"
out=$(timeout 60 "${VIRSH[@]}" change-media "$DOM" hdc "$IMG/cd1.raw" --insert --live 2>&1)
ok $? "virsh change-media --insert" || diag "$out" "$(tail -5 "$log")"
r=$(hmp_read "$(node_of ide0-1-0)" 0x44 0)
! grep -q -e 'failed' -e 'rror' <<<"$r" && grep -q 'read 1048576/1048576' <<<"$r"
ok $? "the re-inserted medium reads" || diag "$r"
sealed change-media

# 7. Refusals through the gate, answered with a vmseal: error.
reply=$("${VIRSH[@]}" qemu-monitor-command "$DOM" '{"execute":"blockdev-add","arguments":{"driver":"file","node-name":"bad","filename":"json:{\"driver\":\"file\",\"filename\":\"/etc/shadow\"}"}}' 2>&1)
[[ $reply == *'vmseal:'* ]]
ok $? "a json: filename is refused with a vmseal: error" || diag "$reply"
ln -s "$IMG/base.qcow2" "$IMG/link.qcow2"
reply=$("${VIRSH[@]}" qemu-monitor-command "$DOM" "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"node-name\":\"bad\",\"filename\":\"$IMG/link.qcow2\"}}" 2>&1)
[[ $reply == *'vmseal:'* ]]
ok $? "a symlink is refused with a vmseal: error" || diag "$reply"
reply=$("${VIRSH[@]}" qemu-monitor-command --hmp "$DOM" 'drive_add 0 file=/etc/shadow,if=none' 2>&1)
[[ $reply == *'vmseal:'* ]]
ok $? "HMP drive_add file=/etc/shadow is refused with a vmseal: error" || diag "$reply"

# The end: QEMU stopped, the disk's chain read by qemu-io.
final=$(active)
timeout 60 "${VIRSH[@]}" destroy "$DOM" >/dev/null 2>&1
for i in $(seq 100); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$qpid" 2>/dev/null
ok $? "virsh destroy ends QEMU"
headers_real "$final" "every operation"
out=$(qemu-io -r -f qcow2 -c 'read -P 0x11 0 1M' -c 'read -P 0x22 1M 1M' -c 'read -P 0x33 2M 1M' "$final" 2>&1)
! grep -q -e 'failed' -e 'Could not' <<<"$out"
ok $? "the final active layer $(basename "$final") reads every layer's data" || diag "$out"
"${VIRSH[@]}" undefine "$DOM" >/dev/null 2>&1

tap_done
