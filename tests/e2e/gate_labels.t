#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# SELinux labels follow the monitor gate: a snapshot overlay, a job's
# target and a hot-plugged disk get labels before QEMU has them, the
# members a stream, a commit or a detach drop get theirs back at once.
# Part 1 (SELinux disabled, as on most test hosts): explicit image-label
# and backing-label, which ext4 stores for root without a policy, read
# back with getfilecon.  Part 2 (SELinux enabled): the derived sVirt
# labels; skipped, with the reason, where SELinux is off.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

GETCON=$E2E_BUILD/tests/e2e/getfilecon
IMG_CTX=system_u:object_r:svirt_image_t:s0:c11,c22
RO_CTX=system_u:object_r:virt_content_t:s0
ORIG=system_u:object_r:user_tmp_t:s0

missing=$(e2e_missing "$QEMU" qemu-img qemu-io "$VMSEAL" "$QMP" "$GETCON")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps, make test-bins)" "gate labels e2e"
	tap_done
	exit
fi
if [ "$(id -u)" != 0 ]; then
	skip "needs root (trusted.* and security.selinux attributes)" "gate labels e2e"
	tap_done
	exit
fi
e2e_setup
IMGS=$E2E_TMP/images
guest_chain "$IMGS" >/dev/null || exit 1
(cd "$IMGS" && qemu-img create -q -f qcow2 hotbase.qcow2 4M &&
	qemu-io -f qcow2 -c 'write -P 0x55 0 1M' hotbase.qcow2 >/dev/null &&
	qemu-img create -q -f qcow2 -F qcow2 -b hotbase.qcow2 hot.qcow2 &&
	qemu-img create -q -f qcow2 -F qcow2 -b hotbase.qcow2 hot2.qcow2 &&
	qemu-img create -q -f qcow2 hot3.qcow2 4M)
con() { "$GETCON" "$@"; }
q() { "$QMP" -w 20 "$SOCK" "$@"; }

# labels FILE...: the contexts of files in $IMGS, blank-separated.
labels() {
	local f out=
	for f in "$@"; do
		out="$out $(con "$IMGS/$f")"
	done
	echo "${out# }"
}

write_ini() {
	cat >"$E2E_TMP/$1.ini" <<-INI
	[vmseal]
	version = 1
	name = $1
	[emulator]
	args = -machine pc -accel tcg -m 64 -nographic -nodefaults -S
	[sandbox]
	user = $E2E_USER
	[chain]
	record = none
	[selinux]
	$2
	$3
	[disk root]
	image = $IMGS/top.qcow2
	format = qcow2
	device = none
	INI
}

part1() {
	if [ -e /sys/fs/selinux/enforce ]; then
		skip "SELinux is enabled here: part 1's made-up labels would be enforced" "gate labels, explicit"
		return
	fi
	if ! chcon "$ORIG" "$IMGS/top.qcow2" 2>"$E2E_TMP/chcon"; then
		skip "the test directory's filesystem stores no SELinux labels: $(cat "$E2E_TMP/chcon")" "gate labels, explicit"
		return
	fi
	chcon "$ORIG" "$IMGS"/*.qcow2
	write_ini gl "image-label = $IMG_CTX" "backing-label = $RO_CTX"
	"$VMSEAL" run "$E2E_TMP/gl.ini" >/dev/null 2>"$E2E_TMP/gl.err" &
	vpid=$!
	e2e_track "$vpid"
	SOCK=$(e2e_run_dir gl)/monitor.sock
	q '{"execute":"query-status"}' >/dev/null
	[ "$(labels top.qcow2 mid.qcow2 base.qcow2)" = "$IMG_CTX $RO_CTX $RO_CTX" ]
	ok $? "launch: top image-label, mid and base backing-label" ||
		diag "$(labels top.qcow2 mid.qcow2 base.qcow2)" "$(cat "$E2E_TMP/gl.err")"

	# snapshot: vmseal creates s1.qcow2; it is the new writable layer.
	"$VMSEAL" snapshot gl root "$IMGS/s1.qcow2" >"$E2E_TMP/r" 2>&1
	[ "$(labels s1.qcow2 top.qcow2)" = "$IMG_CTX $IMG_CTX" ] &&
		[ "$(con "$IMGS/s1.qcow2" trusted.vmseal.label)" = "<none>" ] &&
		grep -q " $IMGS/s1.qcow2\$" "$VMSEAL_RUN_DIR/.labels/gl"
	ok $? "snapshot: the new overlay s1.qcow2 gets image-label, and is in the labels record" ||
		diag "$(cat "$E2E_TMP/r")" "$(labels s1.qcow2 top.qcow2)"

	# stream --base base: top and mid are dropped, theirs come back.
	"$VMSEAL" stream gl root --base "$IMGS/base.qcow2" >"$E2E_TMP/r" 2>&1
	[ "$(labels s1.qcow2 top.qcow2 mid.qcow2 base.qcow2)" = "$IMG_CTX $ORIG $ORIG $RO_CTX" ] &&
		[ "$(con "$IMGS/top.qcow2" trusted.vmseal.label)" = "(none)" ] &&
		! grep -q " $IMGS/mid.qcow2\$" "$VMSEAL_RUN_DIR/.labels/gl"
	ok $? "stream: the dropped top and mid get their labels back at once" ||
		diag "$(cat "$E2E_TMP/r")" "$(labels s1.qcow2 top.qcow2 mid.qcow2 base.qcow2)"

	# commit --pivot: the job writes base, s1 is dropped.
	"$VMSEAL" commit --pivot gl root >"$E2E_TMP/r" 2>&1
	[ "$(labels base.qcow2 s1.qcow2)" = "$IMG_CTX (none)" ]
	ok $? "commit: base, which the job writes, gets image-label; the dropped s1 its none" ||
		diag "$(cat "$E2E_TMP/r")" "$(labels base.qcow2 s1.qcow2)"

	# attach and detach a qcow2 with its backing file.
	"$VMSEAL" attach gl hot --image "$IMGS/hot.qcow2" --format qcow2 >"$E2E_TMP/r" 2>&1
	[ "$(labels hot.qcow2 hotbase.qcow2)" = "$IMG_CTX $RO_CTX" ]
	ok $? "attach: the hot-plugged disk image-label, its backing file backing-label" ||
		diag "$(cat "$E2E_TMP/r")" "$(labels hot.qcow2 hotbase.qcow2)"
	"$VMSEAL" detach gl hot >"$E2E_TMP/r" 2>&1
	[ "$(labels hot.qcow2 hotbase.qcow2)" = "$ORIG $ORIG" ] &&
		[ "$(con "$IMGS/hotbase.qcow2" trusted.vmseal.users)" = "(none)" ]
	ok $? "detach: both get their labels back" ||
		diag "$(cat "$E2E_TMP/r")" "$(labels hot.qcow2 hotbase.qcow2)"

	# Another guest reads hot2.qcow2: relabelling it writable for this
	# one would take it away from that one under SELinux.
	chcon "$ORIG" "$IMGS/hot2.qcow2"
	sed -e 's/^name = gl/name = gl2/' -e "s|^image = .*|image = $IMGS/hot2.qcow2|" \
		-e '/^user = /d' -e '$a readonly = yes' "$E2E_TMP/gl.ini" >"$E2E_TMP/gl2.ini"
	"$VMSEAL" run "$E2E_TMP/gl2.ini" >/dev/null 2>"$E2E_TMP/gl2.err" &
	v2=$!
	e2e_track "$v2"
	"$QMP" -w 20 "$(e2e_run_dir gl2)/monitor.sock" '{"execute":"query-status"}' >/dev/null
	# gl2's QEMU locks its launch image against writers: the gate's
	# lock test refuses first, before any label changes.
	"$VMSEAL" attach gl hot2 --image "$IMGS/hot2.qcow2" --format qcow2 >"$E2E_TMP/r" 2>&1
	rc=$?
	[ $rc = 1 ] && grep -q "vmseal: .*hot2.qcow2: .*(QEMU image lock)" "$E2E_TMP/r" &&
		[ "$(labels hot2.qcow2)" = "$RO_CTX" ]
	ok $? "attach of a file another guest's QEMU reads unshared: refused, its label kept" ||
		diag "rc $rc" "$(cat "$E2E_TMP/r")" "$(labels hot2.qcow2)" "$(cat "$E2E_TMP/gl2.err")"
	# A file gl2 hot-plugged read-only holds no lock (locking: off):
	# the labels refuse it.
	chcon "$ORIG" "$IMGS/hot3.qcow2"
	"$VMSEAL" attach gl2 h3 --image "$IMGS/hot3.qcow2" --format qcow2 --readonly >"$E2E_TMP/r" 2>&1 &&
		"$VMSEAL" attach gl hot3 --image "$IMGS/hot3.qcow2" --format qcow2 >"$E2E_TMP/r" 2>&1
	rc=$?
	[ $rc = 1 ] && grep -q "vmseal: .*in use by running guest gl2" "$E2E_TMP/r" &&
		[ "$(labels hot3.qcow2)" = "$RO_CTX" ]
	ok $? "attach of a file another guest reads with another label: refused, its label kept" ||
		diag "rc $rc" "$(cat "$E2E_TMP/r")" "$(labels hot3.qcow2)" "$(cat "$E2E_TMP/gl2.err")"
	"$VMSEAL" stop gl2 >/dev/null 2>&1
	e2e_wait_exit "$v2" 30

	"$VMSEAL" stop gl >/dev/null 2>&1
	e2e_wait_exit "$vpid" 30
	[ "$(labels base.qcow2 top.qcow2 mid.qcow2 hot.qcow2 hot2.qcow2 hotbase.qcow2 hot3.qcow2)" = "$ORIG $ORIG $ORIG $ORIG $ORIG $ORIG $ORIG" ] &&
		[ ! -e "$VMSEAL_RUN_DIR/.labels/gl" ]
	ok $? "after stop every label is the original, the record gone" ||
		diag "$(labels base.qcow2 top.qcow2 mid.qcow2 hot.qcow2 hot2.qcow2 hotbase.qcow2 hot3.qcow2)"
}

part2() {
	local img ctx orig
	if [ ! -e /sys/fs/selinux/enforce ]; then
		skip "SELinux is disabled on this host: the derived sVirt labels need a policy" "gate labels, derived"
		return
	fi
	guest_chain "$IMGS/d" >/dev/null || return
	write_ini gd "mode = required" ""
	sed -i "s|^image = .*|image = $IMGS/d/top.qcow2|" "$E2E_TMP/gd.ini"
	"$VMSEAL" run "$E2E_TMP/gd.ini" >/dev/null 2>"$E2E_TMP/gd.err" &
	vpid=$!
	e2e_track "$vpid"
	SOCK=$(e2e_run_dir gd)/monitor.sock
	q '{"execute":"query-status"}' >/dev/null
	img=$(con "$IMGS/d/top.qcow2")
	orig=$(con "$IMGS/d/mid.qcow2" trusted.vmseal.label)
	"$VMSEAL" snapshot gd root "$IMGS/d/s1.qcow2" >"$E2E_TMP/r" 2>&1
	ctx=$(con "$IMGS/d/s1.qcow2")
	[ -n "$img" ] && [ "$ctx" = "$img" ]
	ok $? "derived: the new overlay gets the guest's image context ($img)" ||
		diag "$(cat "$E2E_TMP/r")" "$ctx"
	"$VMSEAL" stream gd root >"$E2E_TMP/r" 2>&1
	[ "$(con "$IMGS/d/mid.qcow2")" = "$orig" ]
	ok $? "derived: a member the stream dropped gets its context back ($orig)" ||
		diag "$(cat "$E2E_TMP/r")" "$(con "$IMGS/d/mid.qcow2")"
	"$VMSEAL" stop gd >/dev/null 2>&1
	e2e_wait_exit "$vpid" 30
}

part1
part2
tap_done
