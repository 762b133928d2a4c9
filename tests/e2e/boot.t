#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The demo boot as a test: `vmseal run` boots Debian's cloud kernel from a
# 3-level qcow2 chain under the broker with TCG; the guest must read every
# layer, and QEMU must have reached every image through a descriptor only.
# The downloaded packages are cached in build/demo (shared with `make
# demo`); the initramfs, images and config live in a temporary directory.
#   VMSEAL=path      the vmseal to test (default ./vmseal in the repo root)
#   E2E_BUILD=dir    where the temporary directory goes (default build/)
set -u

root=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
cd "$root" || exit 1
. tests/lib/tap.sh
. tests/e2e/lib/guest.sh

vmseal=${VMSEAL:-./vmseal}
timeout_s=120
cache=$root/build/demo
tmp=
vm_pid=

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ -n "$vm_pid" ]; then
		kill "$vm_pid" 2>/dev/null
		wait "$vm_pid" 2>/dev/null
	fi
	[ -z "$tmp" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# Two boots: kernel/initrd as [emulator] keys, and as plain args + allow.
variants="keys args"
tests=(
	"guest kernel and busybox-static fetched"
	"initramfs, qcow2 chain and guest.ini made"
	"vmseal argv reaches every image through /dev/fdset, names none"
)
for v in $variants; do
	tests+=(
		"$v: vmseal run exits 0 after the guest powers off"
		"$v: MiB 0 reads 0x11 from base.qcow2"
		"$v: MiB 1 reads 0x22 from mid.qcow2"
		"$v: MiB 2 reads 0x33 from top.qcow2"
		"$v: the broker neither served nor denied an open of an image"
	)
done
next=0

# skip_rest REASON: skips every test not yet run, then ends.
skip_rest() {
	while [ "$next" -lt "${#tests[@]}" ]; do
		skip "$1" "${tests[$next]}"
		next=$((next + 1))
	done
	tap_done
	exit
}

# result STATUS: reports the next test.
result() {
	ok "$1" "${tests[$next]}"
	next=$((next + 1))
}

for tool in qemu-system-x86_64 qemu-img qemu-io cpio dpkg-deb apt-get; do
	command -v "$tool" >/dev/null ||
		skip_rest "no $tool (make deps installs it)"
done

if ! fetch_err=$(guest_fetch "$cache" 2>&1); then
	diag "$fetch_err"
	skip_rest "cannot fetch the guest kernel with apt-get download"
fi
result 0
kernel=$(guest_kernel "$cache")

build=${E2E_BUILD:-$root/build}
if ! tmp=$(mkdir -p "$build" && mktemp -d "$build/boot-t.XXXXXX"); then
	tmp=
	result 1
	skip_rest "no temporary directory"
fi
# The runtime directory and the chain record in here, not in /run/vmseal
# and /var/lib/vmseal: the test leaves nothing on the host.
chmod 0755 "$tmp"
export VMSEAL_RUN_DIR=$tmp/run VMSEAL_STATE_DIR=$tmp/state
guest_initramfs "$cache" "$tmp/initramfs.gz" &&
	guest_chain "$tmp/images" &&
	guest_write_ini "$tmp/guest.ini" "$kernel" "$tmp/initramfs.gz" \
		"$tmp/images"
result $? || skip_rest "no guest to boot"

if [ ! -x "$vmseal" ]; then
	diag "$vmseal is not built (make check builds it)"
	result 1
else
	"$vmseal" argv "$tmp/guest.ini" >"$tmp/argv.txt" 2>"$tmp/argv.err"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		diag "vmseal argv exited $rc"
		[ ! -s "$tmp/argv.err" ] || diag "$(cat "$tmp/argv.err")"
		result 1
	else
		out=$(guest_check_argv "$tmp/argv.txt" "$tmp/images" 2>&1)
		rc=$?
		diag "$out"
		[ "$rc" -eq 0 ] || diag "argv:" "$(cat "$tmp/argv.txt")"
		result "$rc"
	fi
fi

# boot VARIANT: one boot of the guest under vmseal run, five results.
boot() {
	local v=$1 start end rc digests want got i out
	guest_write_ini "$tmp/guest.ini" "$kernel" "$tmp/initramfs.gz" \
		"$tmp/images" "$v" || return
	start=$(date +%s.%N)
	timeout --kill-after=5 "$timeout_s" "$vmseal" run -v "$tmp/guest.ini" \
		</dev/null >"$tmp/console.log" 2>"$tmp/stderr.log" &
	vm_pid=$!
	wait "$vm_pid"
	rc=$?
	vm_pid=
	end=$(date +%s.%N)
	diag "$v: vmseal run exited $rc after $(awk "BEGIN { printf \"%.1f\", $end - $start }") s"
	if [ "$rc" -ne 0 ]; then
		[ "$rc" -ne 124 ] || diag "the guest did not finish within ${timeout_s}s"
		[ ! -s "$tmp/console.log" ] || diag "console (last lines):" \
			"$(tr -d '\r' <"$tmp/console.log" | tail -n 15)"
		[ ! -s "$tmp/stderr.log" ] ||
			diag "stderr (last lines):" "$(tail -n 15 "$tmp/stderr.log")"
	fi
	result "$rc"

	digests=$(guest_digests "$tmp/console.log")
	for i in 0 1 2; do
		want=$(guest_expected_md5 "$i")
		got=$(echo "$digests" | sed -n "s/^$i //p" | head -n 1)
		[ "$got" = "$want" ] ||
			diag "MiB $i: guest read md5 ${got:-(none)}, expected $want"
		[ "$got" = "$want" ]
		result $?
	done

	# Without a boot the broker log proves nothing: no pass then.
	if [ -z "$digests" ]; then
		skip "the guest did not boot" "${tests[$next]}"
		next=$((next + 1))
	else
		out=$(guest_check_broker "$tmp/stderr.log" "$tmp/images" 2>&1)
		rc=$?
		diag "$out"
		result "$rc"
	fi
	# A fresh chain for the next boot: this one's top was written.
	guest_chain "$tmp/images" >/dev/null
}

for v in $variants; do
	boot "$v"
done

tap_done
