#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `make demo`: boots a small Linux guest from a 3-level qcow2 chain under
# `vmseal run`, and shows that the guest read every layer although QEMU was
# never given, nor allowed to open, an image path.  Everything it makes is
# in build/demo/; nothing is installed on the host.
#   VMSEAL=path    the vmseal to run (default ./vmseal)
#   DEMO_TIMEOUT=s how long the guest may run (default 120)
set -u
shopt -s extglob

root=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
cd "$root" || exit 1
. tests/e2e/lib/guest.sh

vmseal=${VMSEAL:-./vmseal}
timeout_s=${DEMO_TIMEOUT:-120}
demo=$root/build/demo
images=$demo/images
ini=$demo/guest.ini
console=$demo/console.log
errlog=$demo/stderr.log
vm_pid=

die() {
	echo "demo: $*" >&2
	exit 1
}

# The guest keeps running only as long as this script does.
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ -n "$vm_pid" ]; then
		kill "$vm_pid" 2>/dev/null
		wait "$vm_pid" 2>/dev/null
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# show LINE: one console line, without the CR and the terminal resets
# (ESC c, ESC [2J) that the firmware and kernel send, which would clear the
# screen.
show() {
	local line=${1//$'\r'/}
	line=${line//$'\e'@(c|\[*([0-9;?])[a-zA-Z])/}
	printf '  | %s\n' "$line"
}

[ -x "$vmseal" ] || die "$vmseal not found; run 'make demo' (it builds it)"
vmseal_shown=${vmseal#"$root"/}

cat <<EOF
vmseal demo: a Linux guest reads a 3-level qcow2 chain that QEMU can only
reach through inherited file descriptors.  Files go to ${demo#"$root"/}/.

EOF

echo "1. Debian's cloud kernel and busybox-static (apt-get download, dpkg-deb -x)"
guest_fetch "$demo" || die "cannot fetch the guest kernel"
kernel=$(guest_kernel "$demo") || exit 1
echo "   ${kernel#"$root"/}"

echo "2. A busybox initramfs whose /init prints the md5 of MiB 0, 1, 2 of /dev/vda"
guest_initramfs "$demo" "$demo/initramfs.gz" || die "cannot build the initramfs"
echo "   ${demo#"$root"/}/initramfs.gz"

echo "3. The disk: top.qcow2 -> mid.qcow2 -> base.qcow2 (relative backing names)"
rm -rf "$images"
guest_chain "$images" || die "cannot create the qcow2 chain"
for i in 0 1 2; do
	echo "   MiB $i written in $(guest_layer "$i")"
done

echo "4. The vmseal config: ${ini#"$root"/}"
guest_write_ini "$ini" "$kernel" "$demo/initramfs.gz" "$images" || exit 1

echo "5. The emulator command line vmseal builds ($vmseal_shown argv):"
"$vmseal" argv "$ini" >"$demo/argv.txt" 2>"$errlog"
rc=$?
if [ "$rc" -ne 0 ]; then
	sed 's/^/   /' "$errlog" >&2
	die "'$vmseal_shown argv ${ini#"$root"/}' failed with status $rc"
fi
# One argument a line; show an option and its value on one line.
awk '/ / { $0 = "\047" $0 "\047" }
	NR == 1 { printf "   %s", $0; next }
	/^-/ { printf " \\\n     %s", $0; next }
	{ printf " %s", $0 }
	END { print "" }' "$demo/argv.txt"

echo "6. Booting under the broker with TCG ($vmseal_shown run -v, at most ${timeout_s}s):"
: >"$console"
timeout --kill-after=5 "$timeout_s" "$vmseal" run -v "$ini" \
	</dev/null >"$console" 2>"$errlog" &
vm_pid=$!
# Follow the console as it is written; a read at the end of the file
# returns what there is of a partial line, kept until the rest comes.
exec 3<"$console"
partial=
while :; do
	if IFS= read -r line <&3; then
		show "$partial$line"
		partial=
		continue
	fi
	partial+=$line
	kill -0 "$vm_pid" 2>/dev/null || break
	sleep 0.2
done
while IFS= read -r line <&3; do
	show "$partial$line"
	partial=
done
partial+=$line
[ -z "$partial" ] || show "$partial"
exec 3<&-
wait "$vm_pid"
rc=$?
vm_pid=
# -v logs every open the broker serves; those are counted below.  The
# denials are QEMU probing files it does without; anything else on stderr
# is shown as it is.
if grep -q '^vmseal: denied open ' "$errlog"; then
	echo "   The broker refused these opens (QEMU probes them and does without):"
	sed -n 's/^vmseal: denied open \(.*\) \[pid.*$/     \1/p' "$errlog"
fi
if grep -qvE '^vmseal: (served|denied open|broker served|openat? )' "$errlog"; then
	echo "   stderr:"
	grep -vE '^vmseal: (served|denied open|broker served|openat? )' "$errlog" |
		sed 's/^/   ! /'
fi

echo
echo "Results"
failed=
case $rc in
0) echo "   vmseal run exited 0 (the guest powered off)" ;;
124 | 137) failed+=" timeout"
	echo "   vmseal run did not finish within ${timeout_s}s" ;;
64) failed+=" exit"; echo "   vmseal run: usage error (64)" ;;
65) failed+=" exit"; echo "   vmseal run: config error (65) in ${ini#"$root"/}" ;;
66) failed+=" exit"; echo "   vmseal run: image or chain error (66)" ;;
71) failed+=" exit"; echo "   vmseal run: sandbox setup failed (71)" ;;
126) failed+=" exit"; echo "   vmseal run: emulator not executable (126)" ;;
*) failed+=" exit"; echo "   vmseal run exited with status $rc" ;;
esac

digests=$(guest_digests "$console")
printf '   %-3s  %-16s  %-32s  %s\n' MiB "written in" "md5 the guest read" expected
for i in 0 1 2; do
	want=$(guest_expected_md5 "$i")
	got=$(echo "$digests" | sed -n "s/^$i //p" | head -n 1)
	if [ "$got" = "$want" ]; then
		verdict=MATCH
	else
		verdict=MISMATCH
		failed+=" md5-$i"
	fi
	printf '   %-3s  %-16s  %-32s  %-32s  %s\n' \
		"$i" "$(guest_layer "$i")" "${got:-(none)}" "$want" "$verdict"
done

echo "   Images reached through descriptors only?"
guest_check_argv "$demo/argv.txt" "$images" 2>&1 | fold -s -w 80 |
	sed 's/ *$//; s/^/     argv:   /'
[ "${PIPESTATUS[0]}" -eq 0 ] || failed+=" argv"
guest_check_broker "$errlog" "$images" 2>&1 | fold -s -w 80 |
	sed 's/ *$//; s/^/     broker: /'
[ "${PIPESTATUS[0]}" -eq 0 ] || failed+=" denials"

echo
if [ -z "$failed" ]; then
	cat <<-EOF
	demo: OK. The guest read all three layers (0x11, 0x22, 0x33), so QEMU
	had every image of the chain; it was given none by name and opened none
	by path: the images reached it through descriptors only.
	EOF
	exit 0
fi
echo "demo: FAILED (${failed# }); console in ${console#"$root"/}, stderr in ${errlog#"$root"/}" >&2
exit 1
