#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Under a real (private) libvirtd: a TCG domain whose <emulator> is the vmseal symlink
# and whose disk is a 3-level qcow2 chain with <backingStore>; libvirt
# probes the wrapper's capabilities, starts the domain, QEMU reads every
# layer (qemu-io through virsh), runs with Seccomp 2, and virsh destroy
# ends it.  Skips, saying why, only when libvirtd cannot start here.
# The daemon is private (tests/e2e/lib/libvirtd.sh): no system directory,
# daemon or /dev/kvm is touched.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

. "$(dirname "$0")/lib/libvirtd.sh"

missing=$(e2e_missing virsh "$QEMU" qemu-img qemu-io "$VMSEAL")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps)" "libvirt e2e"
	tap_done
	exit
fi
e2e_setup
if ! libvirtd_start; then
	skip "$LV_WHY" "libvirt e2e"
	tap_done
	exit
fi
ok 0 "a private libvirtd answers ($(grep -i 'running hypervisor' "$LV_DIR/version" | tr -s ' '))"
DOM=vmseal-e2e-$$
IMG=$E2E_TMP/images
VIRSH=("${LV_VIRSH[@]}")

# The wrapper as an admin installs it: a symlink named like the emulator,
# somewhere libvirt's qemu user can execute it; its runtime base for that
# user, /run/vmseal/wrap/UID, as the package makes it.
QUID=$(id -u libvirt-qemu 2>/dev/null || echo 64055)
install -d -o "$QUID" -m 0755 "$LV_VMSEAL/wrap/$QUID"
mkdir -p "$E2E_TMP/libexec"
install -m 0755 "$VMSEAL" "$E2E_TMP/libexec/vmseal"
ln -s vmseal "$E2E_TMP/libexec/qemu-system-x86_64"
WRAPPER=$E2E_TMP/libexec/qemu-system-x86_64

mkdir -p "$IMG"
guest_chain "$IMG" >/dev/null
ok $? "3-level chain in $IMG"
lv_domain_xml "$DOM" "$WRAPPER" "$IMG" \
	"<serial type='pty'/>" >"$E2E_TMP/dom.xml"
timeout 300 "${VIRSH[@]}" define "$E2E_TMP/dom.xml" >"$E2E_TMP/define" 2>&1
ok $? "virsh define (libvirt probes the wrapper's capabilities)" || diag "$(cat "$E2E_TMP/define")"
timeout 300 "${VIRSH[@]}" start "$DOM" >"$E2E_TMP/start" 2>&1
ok $? "virsh start" || diag "$(cat "$E2E_TMP/start")" "$(tail -20 "$LV_LOG/qemu/$DOM.log" 2>/dev/null)"

# QEMU keeps the pid libvirt started: its pid file names QEMU, vmseal's
# helper (broker, control socket) is QEMU's child.
qpid=$(cat "$LV_RUN/qemu/$DOM.pid" 2>/dev/null)
helper=$(e2e_child_of "${qpid:-0}")
[ -n "$qpid" ] && [ "$(readlink "/proc/$qpid/exe")" = "$(readlink -f "$QEMU")" ] &&
	[ -n "$helper" ] && [ "$(readlink "/proc/$helper/exe")" = "$E2E_TMP/libexec/vmseal" ]
ok $? "libvirt's pid file names QEMU itself, vmseal's helper its child" ||
	diag "pid $qpid: $(readlink "/proc/$qpid/exe"); child $helper: $(readlink "/proc/$helper/exe")"
ok $? "QEMU runs with Seccomp: 2"
out=$(VMSEAL_RUN_DIR=$LV_VMSEAL timeout 20 "$VMSEAL" status "$DOM" 2>&1)
[[ $out == *"pid=$qpid "* ]]
ok $? "vmseal status $DOM answers from $LV_VMSEAL/wrap/$QUID/$DOM, naming QEMU's pid" ||
	diag "$out" "$(ls -la "$LV_VMSEAL/wrap/$QUID" 2>&1)" "$(grep vmseal "$LV_LOG/qemu/$DOM.log")"
tr '\0' '\n' <"/proc/$qpid/cmdline" >"$E2E_TMP/argv"
! grep -q "$IMG/" "$E2E_TMP/argv" && [ "$(grep -c '"filename":"/dev/fdset/' "$E2E_TMP/argv")" = 3 ]
ok $? "no image path in QEMU's command line: three file nodes on fd sets" || diag "$(grep blockdev -A1 "$E2E_TMP/argv")"

log=$LV_LOG/qemu/$DOM.log
for p in "0x11 0" "0x22 1M" "0x33 2M"; do
	"${VIRSH[@]}" qemu-monitor-command --hmp "$DOM" "qemu-io libvirt-1-format \"read -P ${p% *} ${p#* } 1M\"" >/dev/null 2>&1
done
sleep 1
[ "$(grep -c '^read 1048576/1048576 bytes' "$log")" -ge 3 ] && ! grep -q 'Pattern verification failed' "$log"
ok $? "virsh qemu-monitor-command: base, mid and top patterns read" || diag "$(tail -20 "$log")"
# libvirt's monitor goes through vmseal's gate (libvirt_gate.t): a file
# named there is opened by vmseal and reaches QEMU as a descriptor.
reply=$("${VIRSH[@]}" qemu-monitor-command "$DOM" "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"node-name\":\"byname\",\"filename\":\"$IMG/base.qcow2\",\"read-only\":true}}" 2>&1)
nodes=$("${VIRSH[@]}" qemu-monitor-command "$DOM" '{"execute":"query-named-block-nodes","arguments":{"flat":true}}' 2>&1)
[[ $reply != *error* ]] && python3 -c 'import json,sys
n=[b for b in json.loads(sys.argv[1])["return"] if b["node-name"]=="byname"]
sys.exit(not n or not n[0]["file"].startswith("/dev/fdset/"))' "$nodes"
ok $? "an image named on the monitor reaches QEMU as a descriptor (/dev/fdset/N)" || diag "$reply"

# Restore: libvirtd opens the save image itself and leaves it to QEMU as
# an inherited descriptor (read-only, past libvirt's header), starts it
# with -incoming defer and names it later: migrate-incoming "fd:N".
state() { "${VIRSH[@]}" domstate "$DOM" 2>&1 | head -1; }
timeout 120 "${VIRSH[@]}" save "$DOM" "$E2E_TMP/dom.save" >"$E2E_TMP/save" 2>&1 &&
	[ "$(state)" = "shut off" ]
ok $? "virsh save (the stream leaves through getfd)" || diag "$(cat "$E2E_TMP/save")" "$(state)"
timeout 120 "${VIRSH[@]}" restore "$E2E_TMP/dom.save" >"$E2E_TMP/restore" 2>&1 &&
	[ "$(state)" = running ]
ok $? "virsh restore: the inherited save image reaches QEMU" ||
	diag "$(cat "$E2E_TMP/restore")" "$(state)" "$(tail -5 "$log")"
timeout 120 "${VIRSH[@]}" managedsave "$DOM" >"$E2E_TMP/msave" 2>&1 &&
	[ "$(state)" = "shut off" ] &&
	timeout 120 "${VIRSH[@]}" start "$DOM" >"$E2E_TMP/mstart" 2>&1 &&
	[ "$(state)" = running ] && [ ! -e "$LV_LIB/qemu/save/$DOM.save" ]
ok $? "virsh managedsave, then start resumes from the managed save image" ||
	diag "$(cat "$E2E_TMP/msave" "$E2E_TMP/mstart")" "$(state)" "$(tail -5 "$log")"
qpid=$(cat "$LV_RUN/qemu/$DOM.pid" 2>/dev/null)
helper=$(e2e_child_of "${qpid:-0}")
! ls -l "/proc/$helper/fd" | grep -q '\.save'
ok $? "vmseal's helper holds no save image either" || diag "$(ls -l "/proc/$helper/fd")"
grep -q '^Seccomp:[[:space:]]*2$' "/proc/$qpid/status" &&
	! ls -l "/proc/$qpid/fd" | grep -q '\.save$'
ok $? "the resumed QEMU is sealed and holds no save image" ||
	diag "$(ls -l "/proc/$qpid/fd")"

# The same domain on plain QEMU, side by side: libvirt's stats of the
# wrapped one are QEMU's own (RSS, vCPU time within 2x).
mkdir -p "$IMG.plain"
guest_chain "$IMG.plain" >/dev/null
sed -e "s|<name>$DOM<|<name>$DOM-plain<|" -e "s|$WRAPPER|$(readlink -f "$QEMU")|" \
	-e "s|$IMG/|$IMG.plain/|g" "$E2E_TMP/dom.xml" >"$E2E_TMP/plain.xml"
timeout 300 "${VIRSH[@]}" create "$E2E_TMP/plain.xml" >"$E2E_TMP/plain" 2>&1
ok $? "the same domain on plain QEMU runs beside it" || diag "$(cat "$E2E_TMP/plain")"
stat_of() { # DOMAIN KEY
	"${VIRSH[@]}" domstats "$1" 2>/dev/null | sed -n "s/^ *$2=//p"
}
# Both reset inside the window: each vCPU runs the same firmware boot.
sleep 2
v0=$(stat_of "$DOM" vcpu.0.time) p0=$(stat_of "$DOM-plain" vcpu.0.time)
"${VIRSH[@]}" reset "$DOM" >/dev/null 2>&1
"${VIRSH[@]}" reset "$DOM-plain" >/dev/null 2>&1
sleep 6
v1=$(stat_of "$DOM" vcpu.0.time) p1=$(stat_of "$DOM-plain" vcpu.0.time)
vr=$(stat_of "$DOM" balloon.rss) pr=$(stat_of "$DOM-plain" balloon.rss)
within2() { [ -n "$1" ] && [ -n "$2" ] && [ "$1" -gt 0 ] && [ "$2" -gt 0 ] &&
	[ $(($1 * 2)) -ge "$2" ] && [ $(($2 * 2)) -ge "$1" ]; }
within2 "$vr" "$pr"
ok $? "domstats balloon.rss within 2x of plain QEMU (wrapped $vr KiB, plain $pr KiB)"
within2 "$((v1 - v0))" "$((p1 - p0))"
ok $? "domstats vcpu.0.time over 6 s within 2x of plain QEMU (wrapped $(((v1 - v0) / 1000000)) ms, plain $(((p1 - p0) / 1000000)) ms)"
! grep -q 'cannot parse process status' "$LV_DIR/libvirtd.out"
ok $? "libvirtd parses the process status it reads" || diag "$(grep 'cannot parse' "$LV_DIR/libvirtd.out" | tail -2)"
"${VIRSH[@]}" destroy "$DOM-plain" >/dev/null 2>&1

# The wrapped domain is a vmseal guest like any other: selftest --guest
# checks QEMU's process, lock locks its broker.
VMSEAL_RUN_DIR=$LV_VMSEAL timeout 300 "$VMSEAL" selftest --guest "$DOM" >"$E2E_TMP/selftest" 2>&1
grep -q "guest $DOM" "$E2E_TMP/selftest" && ! grep "guest $DOM" "$E2E_TMP/selftest" | grep -q '^FAIL'
ok $? "vmseal selftest --guest $DOM: every row of the domain's QEMU passes" ||
	diag "$(grep "guest $DOM" "$E2E_TMP/selftest")"
out=$(VMSEAL_RUN_DIR=$LV_VMSEAL timeout 20 "$VMSEAL" lock "$DOM" 2>&1) &&
	[[ $(VMSEAL_RUN_DIR=$LV_VMSEAL timeout 20 "$VMSEAL" status "$DOM" 2>&1) == *"locked=yes"* ]]
ok $? "vmseal lock $DOM: its broker locked, status says so" || diag "$out"

timeout 60 "${VIRSH[@]}" destroy "$DOM" >"$E2E_TMP/destroy" 2>&1
ok $? "virsh destroy" || diag "$(cat "$E2E_TMP/destroy")"
for i in $(seq 100); do kill -0 "$qpid" 2>/dev/null || kill -0 "$sup" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$qpid" 2>/dev/null && ! kill -0 "$sup" 2>/dev/null
ok $? "QEMU and vmseal are gone"
"${VIRSH[@]}" undefine "$DOM" >/dev/null 2>&1
ok $? "virsh undefine"

tap_done
