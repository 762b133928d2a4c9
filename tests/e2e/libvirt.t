#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Under real libvirt: a TCG domain whose <emulator> is the vmseal symlink
# and whose disk is a 3-level qcow2 chain with <backingStore>; libvirt
# probes the wrapper's capabilities, starts the domain, QEMU reads every
# layer (qemu-io through virsh), runs with Seccomp 2, and virsh destroy
# ends it.  Skips, saying why, only when libvirtd cannot start here.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

for tool in virsh /usr/sbin/libvirtd /usr/sbin/virtlogd; do
	if ! command -v "$tool" >/dev/null; then
		skip "$tool is not installed (make deps installs libvirt-daemon-system)" "libvirt e2e"
		tap_done
		exit
	fi
done
missing=$(e2e_missing "$QEMU" qemu-img qemu-io "$VMSEAL")
if [ -n "$missing" ] || [ "$(id -u)" != 0 ]; then
	skip "${missing:-root} needed (make deps)" "libvirt e2e"
	tap_done
	exit
fi
e2e_setup
DOM=vmseal-e2e-$$
IMG=/var/lib/libvirt/images/$DOM
VIRSH=(virsh -q -c qemu:///system)
started=()
kvm_mode=

cleanup_libvirt() {
	"${VIRSH[@]}" destroy "$DOM" >/dev/null 2>&1
	"${VIRSH[@]}" undefine "$DOM" >/dev/null 2>&1
	rm -rf "$IMG"
	rm -f /var/cache/libvirt/qemu/capabilities/"$(printf %s "$WRAPPER" | sha256sum | cut -d' ' -f1)".xml
	local pid
	for pid in "${started[@]}"; do
		e2e_stop_pid "$pid"
	done
	# /dev/kvm as it was (see below).
	[ -n "$kvm_mode" ] && chown "${kvm_mode%:*}" /dev/kvm && chmod "${kvm_mode##*:}" /dev/kvm
	_e2e_cleanup
}
trap cleanup_libvirt EXIT

# libvirtd re-probes an emulator whose capabilities say KVM when its qemu
# user cannot open /dev/kvm: Debian's udev would make it root:kvm 0660.
if [ -c /dev/kvm ]; then
	kvm_mode="$(stat -c %u:%g /dev/kvm):$(stat -c %a /dev/kvm)"
	chgrp kvm /dev/kvm 2>/dev/null && chmod 0660 /dev/kvm
fi

# The daemons, unless they already run.
start_daemon() { # BINARY PIDFILE
	local pid
	pid=$(cat "$2" 2>/dev/null)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		return 0
	fi
	"$1" -d || return 1
	for i in $(seq 50); do
		pid=$(cat "$2" 2>/dev/null)
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && break
		sleep 0.1
	done
	[ -n "$pid" ] || return 1
	started+=("$pid")
}
if ! start_daemon /usr/sbin/virtlogd /run/virtlogd.pid ||
	! start_daemon /usr/sbin/libvirtd /run/libvirtd.pid ||
	! timeout 60 "${VIRSH[@]}" version >"$E2E_TMP/version" 2>&1; then
	skip "libvirtd cannot start on this machine: $(tail -1 "$E2E_TMP/version" 2>/dev/null)" "libvirt e2e"
	tap_done
	exit
fi
ok 0 "libvirtd answers ($(grep -i 'running hypervisor' "$E2E_TMP/version" | tr -s ' '))"

# The wrapper as an admin installs it: a symlink named like the emulator,
# somewhere libvirt's qemu user can execute it.
mkdir -p "$E2E_TMP/libexec"
install -m 0755 "$VMSEAL" "$E2E_TMP/libexec/vmseal"
ln -s vmseal "$E2E_TMP/libexec/qemu-system-x86_64"
WRAPPER=$E2E_TMP/libexec/qemu-system-x86_64

mkdir -p "$IMG"
guest_chain "$IMG" >/dev/null
ok $? "3-level chain in $IMG"
cat >"$E2E_TMP/dom.xml" <<XML
<domain type='qemu'>
  <name>$DOM</name>
  <memory unit='MiB'>128</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>$WRAPPER</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$IMG/top.qcow2'/>
      <backingStore type='file'>
        <format type='qcow2'/>
        <source file='$IMG/mid.qcow2'/>
        <backingStore type='file'>
          <format type='qcow2'/>
          <source file='$IMG/base.qcow2'/>
          <backingStore/>
        </backingStore>
      </backingStore>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='pty'/>
  </devices>
</domain>
XML
timeout 300 "${VIRSH[@]}" define "$E2E_TMP/dom.xml" >"$E2E_TMP/define" 2>&1
ok $? "virsh define (libvirt probes the wrapper's capabilities)" || diag "$(cat "$E2E_TMP/define")"
timeout 300 "${VIRSH[@]}" start "$DOM" >"$E2E_TMP/start" 2>&1
ok $? "virsh start" || diag "$(cat "$E2E_TMP/start")" "$(tail -20 /var/log/libvirt/qemu/"$DOM".log 2>/dev/null)"

sup=$(cat /run/libvirt/qemu/"$DOM".pid 2>/dev/null)
qpid=$(e2e_child_of "${sup:-0}")
[ -n "$sup" ] && [ "$(readlink "/proc/$sup/exe")" = "$E2E_TMP/libexec/vmseal" ] &&
	[ -n "$qpid" ] && [ "$(readlink "/proc/$qpid/exe")" = "$(readlink -f "$QEMU")" ]
ok $? "libvirt's pid is vmseal's supervisor, QEMU its child"
grep -q '^Seccomp:[[:space:]]*2$' "/proc/$qpid/status"
ok $? "QEMU runs with Seccomp: 2"
tr '\0' '\n' <"/proc/$qpid/cmdline" >"$E2E_TMP/argv"
! grep -q "$IMG/" "$E2E_TMP/argv" && [ "$(grep -c '"filename":"/dev/fdset/' "$E2E_TMP/argv")" = 3 ]
ok $? "no image path in QEMU's command line: three file nodes on fd sets" || diag "$(grep blockdev -A1 "$E2E_TMP/argv")"

log=/var/log/libvirt/qemu/$DOM.log
for p in "0x11 0" "0x22 1M" "0x33 2M"; do
	"${VIRSH[@]}" qemu-monitor-command --hmp "$DOM" "qemu-io libvirt-1-format \"read -P ${p% *} ${p#* } 1M\"" >/dev/null 2>&1
done
sleep 1
[ "$(grep -c '^read 1048576/1048576 bytes' "$log")" -ge 3 ] && ! grep -q 'Pattern verification failed' "$log"
ok $? "virsh qemu-monitor-command: base, mid and top patterns read" || diag "$(tail -20 "$log")"
reply=$("${VIRSH[@]}" qemu-monitor-command "$DOM" "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"node-name\":\"byname\",\"filename\":\"$IMG/base.qcow2\",\"read-only\":true}}" 2>&1)
[[ $reply == *'Permission denied'* ]]
ok $? "an image opened by path from QMP is refused" || diag "$reply"

timeout 60 "${VIRSH[@]}" destroy "$DOM" >"$E2E_TMP/destroy" 2>&1
ok $? "virsh destroy" || diag "$(cat "$E2E_TMP/destroy")"
for i in $(seq 100); do kill -0 "$qpid" 2>/dev/null || kill -0 "$sup" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$qpid" 2>/dev/null && ! kill -0 "$sup" 2>/dev/null
ok $? "QEMU and vmseal are gone"
"${VIRSH[@]}" undefine "$DOM" >/dev/null 2>&1
ok $? "virsh undefine"

tap_done
