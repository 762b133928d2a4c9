#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A 3-level qcow2 chain, reached only through descriptors: QEMU under
# vmseal reads every layer's pattern after the images' directory was
# renamed, writes land in the top image only, and opening an image by
# path fails with Permission denied under vmseal but works without it.
# Runs under TCG, and once more under KVM when /dev/kvm is usable.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

missing=$(e2e_missing "$QEMU" qemu-img qemu-io "$VMSEAL" "$QMP")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps, make test-bins)" "chain e2e"
	tap_done
	exit
fi
e2e_setup

# chain_case ACCEL: the whole scenario under one accelerator.
chain_case() {
	local accel=$1 d="$E2E_TMP/$1" img out err sock ini vpid qpid rc
	local base_md5 mid_md5 reply
	img="$d/images"
	# The emulator's sockets live in the guest's runtime directory: the
	# only place the broker lets it remove a stale socket before bind.
	sock="$(e2e_run_dir "chain-$accel")/qmp.sock"
	ini="$d/guest.ini"
	out="$d/stdout"
	err="$d/stderr"
	mkdir -p "$d"
	guest_chain "$img"
	ok $? "$accel: 3-level chain created with patterns" || return
	base_md5=$(md5sum <"$img/base.qcow2")
	mid_md5=$(md5sum <"$img/mid.qcow2")

	cat >"$ini" <<-INI
	[vmseal]
	version = 1
	name = chain-$accel
	[emulator]
	binary = $QEMU
	args = -machine pc -accel $accel -m 128 -nographic -nodefaults -S
	args = -qmp unix:$sock,server=on,wait=off
	[sandbox]
	policy = broker
	user = $E2E_USER
	[disk root]
	image = $img/top.qcow2
	format = qcow2
	device = none
	INI

	"$VMSEAL" run "$ini" >"$out" 2>"$err" &
	vpid=$!
	e2e_track "$vpid"
	e2e_qmp "$sock" >/dev/null
	ok $? "$accel: QMP answers" || { diag "$(cat "$err")"; return; }
	qpid=$(e2e_child_of "$vpid")
	grep -q '^Seccomp:[[:space:]]*2$' "/proc/$qpid/status"
	ok $? "$accel: the emulator (pid $qpid) runs with Seccomp: 2"
	# Ours, and QEMU's own -sandbox stacked on it.
	grep -q '^Seccomp_filters:[[:space:]]*2$' "/proc/$qpid/status" &&
		grep -q -- '-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny' \
			<(tr '\0' ' ' <"/proc/$qpid/cmdline")
	ok $? "$accel: QEMU's -sandbox is layered on vmseal's filter (2 filters)"

	mv "$img" "$d/moved"
	ok $? "$accel: images directory renamed under the running guest"
	img="$d/moved"

	e2e_hmp "$sock" 'qemu-io root "read -P 0x11 0 1M"' >/dev/null
	e2e_hmp "$sock" 'qemu-io root "read -P 0x22 1M 1M"' >/dev/null
	e2e_hmp "$sock" 'qemu-io root "read -P 0x33 2M 1M"' >/dev/null
	# QEMU 7.2 prints qemu-io's results on its own stdout.
	[ "$(grep -c '^read 1048576/1048576 bytes' "$out")" = 3 ] &&
		! grep -q 'Pattern verification failed' "$out"
	ok $? "$accel: base, mid and top patterns read through the fds" ||
		diag "$(cat "$out")"
	e2e_hmp "$sock" 'qemu-io root "read -P 0x44 0 1M"' >/dev/null
	grep -q 'Pattern verification failed at offset 0' "$out"
	ok $? "$accel: a wrong pattern is noticed (the check is live)"

	e2e_hmp "$sock" 'qemu-io root "write -P 0x44 3M 64k"' >/dev/null
	grep -q '^wrote 65536/65536 bytes at offset 3145728' "$out"
	ok $? "$accel: write through the top descriptor"

	reply=$(e2e_qmp "$sock" "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"node-name\":\"byname\",\"filename\":\"$img/base.qcow2\"}}")
	[[ $reply == *'"error"'*'Permission denied'* ]]
	ok $? "$accel: blockdev-add of an image by path fails with Permission denied" ||
		diag "$reply"
	reply=$(e2e_qmp "$sock" "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"node-name\":\"byname\",\"filename\":\"$img/base.qcow2\",\"read-only\":true}}")
	# In the jail a read-only open reaches the kernel, where the image
	# directory does not exist; without it the broker refuses.
	[[ $reply == *'"error"'*'Permission denied'* || $reply == *'"error"'*'No such file or directory'* ]]
	ok $? "$accel: ... also read-only" || diag "$reply"
	grep -q "vmseal: denied open $img/base.qcow2 " "$err"
	ok $? "$accel: the broker logged the denial"

	e2e_qmp "$sock" '{"execute":"quit"}' >/dev/null
	e2e_wait_exit "$vpid" 30
	rc=$?
	ok $((rc != 0)) "$accel: vmseal exits with QEMU's status 0 after quit" ||
		diag "status $rc" "$(cat "$err")"
	[ "$rc" = 0 ]
	ok $? "$accel: exit status is 0"

	qemu-io -r -f qcow2 -c 'read -P 0x44 3M 64k' "$img/top.qcow2" |
		grep -q '^read 65536/65536'
	ok $? "$accel: the write is in top.qcow2"
	[ "$(md5sum <"$img/base.qcow2")" = "$base_md5" ] &&
		[ "$(md5sum <"$img/mid.qcow2")" = "$mid_md5" ]
	ok $? "$accel: base.qcow2 and mid.qcow2 unchanged"
}

chain_case tcg

# The control: the same command line with paths and without vmseal lets
# blockdev-add open the image, so it was the filter that refused it.
ctl="$E2E_TMP/control"
mkdir -p "$ctl"
guest_chain "$ctl/images" >/dev/null
"$QEMU" -machine pc -accel tcg -m 128 -nographic -nodefaults -S \
	-qmp "unix:$ctl/qmp.sock,server=on,wait=off" \
	-blockdev "driver=file,node-name=f0,filename=$ctl/images/top.qcow2" \
	-blockdev driver=qcow2,node-name=root,file=f0 \
	>"$ctl/stdout" 2>"$ctl/stderr" &
cpid=$!
e2e_track "$cpid"
reply=$(e2e_qmp "$ctl/qmp.sock" "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"node-name\":\"byname\",\"filename\":\"$ctl/images/base.qcow2\"}}" '{"execute":"quit"}')
[[ $reply == '{"return": {}}'* ]]
ok $? "control: without vmseal the same blockdev-add succeeds" || diag "$reply"
e2e_wait_exit "$cpid" 30 >/dev/null

if why=$(e2e_kvm_usable); then
	chain_case kvm
else
	skip "$why" "kvm: chain e2e under -accel kvm"
fi

tap_done
