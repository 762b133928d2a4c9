#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# [selinux] labels with a real QEMU on a host where SELinux is disabled:
# explicit image-label and backing-label are still applied (ext4 stores
# security.selinux for root) and read back with getfilecon while the
# guest runs; restored after a quit, after SIGTERM to vmseal, and after
# SIGKILL to vmseal followed by `vmseal restore-labels`; a backing file
# two guests share stays labelled until the last one goes; mode =
# required refuses to start (71); mode = off labels nothing.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

GETCON=$E2E_BUILD/tests/e2e/getfilecon
IMG_CTX=system_u:object_r:svirt_image_t:s0:c11,c22
RO_CTX=system_u:object_r:virt_content_t:s0
ORIG=system_u:object_r:user_tmp_t:s0

missing=$(e2e_missing "$QEMU" qemu-img qemu-io "$VMSEAL" "$QMP" "$GETCON")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps, make test-bins)" "labels e2e"
	tap_done
	exit
fi
if [ "$(id -u)" != 0 ]; then
	skip "needs root (trusted.* and security.selinux attributes)" "labels e2e"
	tap_done
	exit
fi
if [ -e /sys/fs/selinux/enforce ]; then
	skip "SELinux is enabled here: this test's made-up labels would be enforced" "labels e2e"
	tap_done
	exit
fi
e2e_setup
guest_chain "$E2E_TMP/images" >/dev/null
ok $? "chain created"
qemu-img create -q -f qcow2 -F qcow2 -b mid.qcow2 "$E2E_TMP/images/top2.qcow2" 16M
IMGS=$E2E_TMP/images
if ! chcon "$ORIG" "$IMGS/top.qcow2" 2>"$E2E_TMP/chcon"; then
	skip "the test directory's filesystem stores no SELinux labels: $(cat "$E2E_TMP/chcon")" "labels e2e"
	tap_done
	exit
fi

# write_ini NAME TOP [SELINUX LINES...]
write_ini() {
	local name=$1 top=$2 extra
	shift 2
	extra=$(printf '%s\n' "$@")
	cat >"$E2E_TMP/$name.ini" <<-INI
	[vmseal]
	version = 1
	name = $name
	[emulator]
	args = -machine pc -accel tcg -m 64 -nographic -nodefaults -S
	args = -qmp unix:$(e2e_run_dir "$name")/qmp.sock,server=on,wait=off
	[sandbox]
	[selinux]
	$extra
	[disk root]
	image = $IMGS/$top
	format = qcow2
	device = none
	INI
}

con() { "$GETCON" "$@"; }

# labels_are TOP MID BASE: what each image's context is now.
labels_are() {
	local got
	got="$(con "$IMGS/top.qcow2") $(con "$IMGS/mid.qcow2") $(con "$IMGS/base.qcow2")"
	[ "$got" = "$1 $2 $3" ] && return 0
	diag "contexts: $got" "want:     $1 $2 $3"
	return 1
}

# originals: top has one, mid and base have none
labels_original() {
	labels_are "$ORIG" "(none)" "(none)" &&
		[ "$(con "$IMGS/top.qcow2" trusted.vmseal.label)" = "(none)" ] &&
		[ "$(con "$IMGS/base.qcow2" trusted.vmseal.users)" = "(none)" ]
}

# start NAME: runs NAME in the background; VPID, QPID and SOCK set.
start() {
	"$VMSEAL" run "$E2E_TMP/$1.ini" >"$E2E_TMP/$1.out" 2>"$E2E_TMP/$1.err" &
	VPID=$!
	e2e_track "$VPID"
	SOCK=$(e2e_run_dir "$1")/qmp.sock
	e2e_qmp "$SOCK" >/dev/null
	QPID=$(e2e_child_of "$VPID")
	[ -n "$QPID" ] && e2e_track "$QPID"
}

LABELS=("image-label = $IMG_CTX" "backing-label = $RO_CTX")
write_ini g1 top.qcow2 "${LABELS[@]}" "label = system_u:system_r:svirt_t:s0:c11,c22"

"$VMSEAL" check "$E2E_TMP/g1.ini" >"$E2E_TMP/check" 2>&1
grep -q "^selinux mode auto: SELinux disabled: derived labels skipped" "$E2E_TMP/check" &&
	[ "$(grep -c "label $IMG_CTX (from image-label)" "$E2E_TMP/check")" = 1 ] &&
	[ "$(grep -c "label $RO_CTX (from backing-label)" "$E2E_TMP/check")" = 2 ]
ok $? "check: each member's label and where it comes from" || diag "$(cat "$E2E_TMP/check")"
labels_original
ok $? "check changes no label"

# --- a normal quit ---
start g1
labels_are "$IMG_CTX" "$RO_CTX" "$RO_CTX"
ok $? "running: top has image-label, mid and base backing-label (getfilecon)"
[ "$(con "$IMGS/top.qcow2" trusted.vmseal.label)" = "$ORIG" ] &&
	[ "$(con "$IMGS/mid.qcow2" trusted.vmseal.label)" = "<none>" ] &&
	[ "$(con "$IMGS/base.qcow2" trusted.vmseal.users)" = "g1" ]
ok $? "the originals are remembered in trusted.vmseal.label, the user in .users"
grep -q "note: SELinux is disabled: derived labels skipped" "$E2E_TMP/g1.err" &&
	grep -q "label = system_u:system_r:svirt_t:s0:c11,c22 not applied" "$E2E_TMP/g1.err"
ok $? "notes: derived labels skipped, explicit exec label not applicable" || diag "$(cat "$E2E_TMP/g1.err")"
[ "$(wc -l <"$VMSEAL_RUN_DIR/.labels/g1")" = 3 ]
ok $? "the record lists the three relabelled files"
e2e_hmp "$SOCK" 'qemu-io root "read -P 0x11 0 1M"' >/dev/null
grep -q '^read 1048576/1048576 bytes at offset 0' "$E2E_TMP/g1.out"
ok $? "the relabelled chain still reads through its descriptors"
e2e_qmp "$SOCK" '{"execute":"quit"}' >/dev/null
e2e_wait_exit "$VPID" 30
ok $? "g1 quits, vmseal exits 0"
labels_original
ok $? "after the quit every original is back, vmseal's attributes gone"
[ ! -e "$VMSEAL_RUN_DIR/.labels/g1" ] && [ -z "$(ls "$VMSEAL_RUN_DIR/.mcs")" ]
ok $? "record removed"

# --- SIGTERM to vmseal ---
start g1
labels_are "$IMG_CTX" "$RO_CTX" "$RO_CTX"
ok $? "running again: labelled"
kill -TERM "$VPID"
e2e_wait_exit "$VPID" 30
rc=$?
# QEMU ends cleanly on SIGTERM: status 0 and a line saying why.
[ $rc = 0 ] && grep -q "terminating on signal 15" "$E2E_TMP/g1.err"
ok $? "SIGTERM to vmseal: forwarded, the emulator ends" || diag "exit $rc" "$(cat "$E2E_TMP/g1.err")"
labels_original
ok $? "after SIGTERM every original is back"

# --- SIGKILL to vmseal, then restore-labels ---
start g1
kill -KILL "$VPID"
wait "$VPID" 2>/dev/null
labels_are "$IMG_CTX" "$RO_CTX" "$RO_CTX"
ok $? "SIGKILL to vmseal: the labels stay behind"
e2e_stop_pid "$QPID"
"$VMSEAL" restore-labels g1 >"$E2E_TMP/rl" 2>&1
rc=$?
[ $rc = 0 ] && grep -q "^g1: 3 labels restored, 0 kept" "$E2E_TMP/rl"
ok $? "vmseal restore-labels g1" || diag "exit $rc" "$(cat "$E2E_TMP/rl")"
labels_original
ok $? "after restore-labels every original is back"
"$VMSEAL" restore-labels g1 >"$E2E_TMP/rl" 2>&1
rc=$?
[ $rc = 69 ] && grep -q "no labels are recorded for guest g1" "$E2E_TMP/rl"
ok $? "restore-labels again: nothing recorded (69)" || diag "exit $rc" "$(cat "$E2E_TMP/rl")"

# --- two guests sharing mid and base ---
write_ini g2 top2.qcow2 "${LABELS[@]}"
start g1
p1=$VPID s1=$SOCK
start g2
p2=$VPID s2=$SOCK
[ "$(con "$IMGS/base.qcow2" trusted.vmseal.users)" = "g1,g2" ] &&
	[ "$(con "$IMGS/top2.qcow2")" = "$IMG_CTX" ]
ok $? "two guests: the shared backing files list both"
e2e_qmp "$s1" '{"execute":"quit"}' >/dev/null
e2e_wait_exit "$p1" 30
ok $? "g1 quits"
labels_are "$ORIG" "$RO_CTX" "$RO_CTX" &&
	[ "$(con "$IMGS/base.qcow2" trusted.vmseal.users)" = "g2" ]
ok $? "g1's own image is restored, the shared ones stay labelled for g2"
e2e_qmp "$s2" '{"execute":"quit"}' >/dev/null
e2e_wait_exit "$p2" 30
ok $? "g2 quits"
labels_original && [ "$(con "$IMGS/top2.qcow2")" = "(none)" ]
ok $? "the last user gone: every original back"

# --- required and off ---
write_ini g3 top.qcow2 "mode = required" "${LABELS[@]}"
"$VMSEAL" run "$E2E_TMP/g3.ini" >/dev/null 2>"$E2E_TMP/g3.err"
rc=$?
[ $rc = 71 ] && grep -q "SELinux is disabled on this host and \[selinux\] mode = required: not starting" "$E2E_TMP/g3.err"
ok $? "mode = required without SELinux: refused (71)" || diag "exit $rc" "$(cat "$E2E_TMP/g3.err")"
labels_original
ok $? "...and nothing was labelled"

write_ini g4 top.qcow2 "mode = off" "${LABELS[@]}"
"$VMSEAL" check "$E2E_TMP/g4.ini" | grep -c "label unchanged (SELinux off)" | grep -qx 3
ok $? "mode = off: check says every label stays"
start g4
labels_original
ok $? "mode = off: explicit labels are not applied either"
e2e_qmp "$SOCK" '{"execute":"quit"}' >/dev/null
e2e_wait_exit "$VPID" 30
ok $? "g4 quits"

skip "SELinux is disabled on this host" "the emulator runs in its exec context (setexeccon, nnp_transition)"
skip "SELinux is disabled on this host" "selinux_check_access refuses a context that may not read an image (exit 71)"

tap_done
