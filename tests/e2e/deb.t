#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Debian packages: `make deb` builds vmseal and vmseal-qemu-divert,
# lintian clean (debian/*.lintian-overrides say why for each override).
# Both are installed inside a private libvirtd's mount namespace, whose
# /usr, /etc and /var are overlays on a tmpfs (tests/e2e/lib/libvirtd.sh,
# LV_OVERLAY=1): there /usr/bin/qemu-system-x86_64 becomes vmseal's
# wrapper, an unmodified domain whose <emulator> is that path runs sealed,
# and purging the packages brings QEMU back.  The host's /usr/bin, dpkg
# database and /etc never change, whether the test ends or is killed.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/libvirtd.sh"

missing=$(e2e_missing dpkg-buildpackage dh lintian git virsh nsenter "$QEMU" qemu-img)
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps: debhelper, dpkg-dev, lintian)" "Debian package e2e"
	tap_done
	exit
fi
e2e_setup
EMU=/usr/bin/qemu-system-x86_64
host_sum=$(sha256sum "$EMU" | cut -d' ' -f1)

make -C "$E2E_ROOT" --no-print-directory O="$E2E_TMP/b" deb >"$E2E_TMP/deb.log" 2>&1
rc=$?
DEBS=("$E2E_TMP"/b/deb/vmseal_*_amd64.deb "$E2E_TMP"/b/deb/vmseal-qemu-divert_*_all.deb)
[ $rc = 0 ] && [ -f "${DEBS[0]}" ] && [ -f "${DEBS[1]}" ]
ok $? "make deb builds vmseal and vmseal-qemu-divert with dpkg-buildpackage" || diag "$(tail -20 "$E2E_TMP/deb.log")"
! grep -qE '^[EW]: ' "$E2E_TMP/b/deb/lintian.txt" 2>/dev/null && [ -f "$E2E_TMP/b/deb/lintian.txt" ]
ok $? "lintian: no error or warning left (overrides documented in debian/)" || diag "$(cat "$E2E_TMP/b/deb/lintian.txt")"
dpkg -c "${DEBS[0]}" >"$E2E_TMP/contents"
for f in ./usr/bin/vmseal ./etc/init.d/vmseal ./lib/systemd/system/vmseal@.service \
	./usr/share/man/man1/vmseal.1.gz ./usr/share/man/man5/vmseal.ini.5.gz ./etc/vmseal/; do
	grep -q " $f\$\| $f " "$E2E_TMP/contents" || { echo "missing $f"; false; } || break
done >"$E2E_TMP/missing"
[ ! -s "$E2E_TMP/missing" ]
ok $? "vmseal installs to /usr, /etc/vmseal, /lib/systemd/system, /etc/init.d and man pages" || diag "$(cat "$E2E_TMP/missing")"

if ! LV_OVERLAY=1 libvirtd_start; then
	skip "$LV_WHY" "Debian package e2e under libvirt"
	tap_done
	exit
fi
lv_exec dpkg -i "${DEBS[@]}" >"$E2E_TMP/install" 2>&1
ok $? "both packages install (in the namespace's overlay)" || diag "$(tail -20 "$E2E_TMP/install")"
[ "$(lv_exec readlink "$EMU")" = vmseal ] &&
	[ "$(lv_exec sha256sum "$EMU.real" | cut -d' ' -f1)" = "$host_sum" ] &&
	lv_exec dpkg-divert --list "$EMU" | grep -q "to $EMU.real by vmseal-qemu-divert"
ok $? "$EMU is vmseal's wrapper, QEMU diverted to $EMU.real" || diag "$(lv_exec dpkg-divert --list "$EMU")"
[ "$(sha256sum "$EMU" | cut -d' ' -f1)" = "$host_sum" ]
ok $? "the host's $EMU is untouched"

DOM=vmseal-deb-$$
IMG=$E2E_TMP/images
guest_chain "$IMG" >/dev/null
lv_domain_xml "$DOM" "$EMU" "$IMG" >"$E2E_TMP/dom.xml"
timeout 300 "${LV_VIRSH[@]}" define "$E2E_TMP/dom.xml" >"$E2E_TMP/define" 2>&1 &&
	timeout 300 "${LV_VIRSH[@]}" start "$DOM" >"$E2E_TMP/start" 2>&1
ok $? "an unmodified domain (<emulator>$EMU</emulator>) starts" ||
	diag "$(cat "$E2E_TMP/define" "$E2E_TMP/start")" "$(tail -20 "$LV_LOG/qemu/$DOM.log" 2>/dev/null)"
qpid=$(cat "$LV_RUN/qemu/$DOM.pid" 2>/dev/null)
tr '\0' '\n' <"/proc/$qpid/cmdline" >"$E2E_TMP/argv" 2>/dev/null
[ -n "$qpid" ] && grep -q '^Seccomp:[[:space:]]*2$' "/proc/$qpid/status" &&
	[ "$(readlink "/proc/$qpid/exe")" = "$EMU.real" ] &&
	[ "$(grep -c '"filename":"/dev/fdset/' "$E2E_TMP/argv")" = 3 ] && ! grep -q "$IMG/" "$E2E_TMP/argv"
ok $? "it is sealed: QEMU ($EMU.real) with Seccomp: 2, its images as fd sets" ||
	diag "pid $qpid exe $(readlink "/proc/$qpid/exe")" "$(grep -i seccomp "/proc/$qpid/status")"
out=$(VMSEAL_RUN_DIR=$LV_VMSEAL timeout 20 "$VMSEAL" status "$DOM" 2>&1)
[[ $out == *"pid=$qpid "* ]]
ok $? "vmseal status answers (runtime base made by the package's postinst)" || diag "$out"
timeout 60 "${LV_VIRSH[@]}" destroy "$DOM" >/dev/null 2>&1
lv_virsh undefine "$DOM" >/dev/null 2>&1

lv_exec dpkg --purge vmseal-qemu-divert vmseal >"$E2E_TMP/purge" 2>&1
ok $? "both packages purge" || diag "$(tail -20 "$E2E_TMP/purge")"
[ "$(lv_exec sha256sum "$EMU" | cut -d' ' -f1)" = "$host_sum" ] &&
	! lv_exec test -e "$EMU.real" && ! lv_exec dpkg-divert --list "$EMU" | grep -q .
ok $? "purged: $EMU is QEMU again, no diversion left" || diag "$(lv_exec ls -l "$EMU" "$EMU.real" 2>&1)"
libvirtd_stop
[ "$(sha256sum "$EMU" | cut -d' ' -f1)" = "$host_sum" ] && ! dpkg -s vmseal >/dev/null 2>&1
ok $? "the host's $EMU and dpkg database are as before"

tap_done
