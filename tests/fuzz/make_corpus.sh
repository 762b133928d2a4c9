#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Regenerates the seed corpus from real images made by qemu-img: each seed
# is an image's first bytes (at most 64 KiB) plus the 3-byte little-endian
# count of the bytes cut off (see decode_harness.h).  Crash inputs that
# fuzzing found live beside them as crash-*; this script keeps those.
set -euo pipefail
cd "$(dirname "$0")"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT

# seed DIR NAME FILE: the head of FILE and how much was cut.
seed() {
	local dir=$1 name=$2 file=$3 size head rest
	size=$(stat -c %s "$file")
	head=$((size < 65536 ? size : 65536))
	rest=$((size - head))
	[ "$rest" -lt 16777216 ] || rest=16777215
	{
		head -c "$head" "$file"
		printf "\\x$(printf %02x $((rest & 255)))\\x$(printf %02x $((rest >> 8 & 255)))\\x$(printf %02x $((rest >> 16 & 255)))"
	} >"corpus/$dir/$name"
}

mkdir -p corpus/qcow2 corpus/qed corpus/vmdk corpus/config
rm -f corpus/*/seed-*
q() { qemu-img create -q "$@" >/dev/null; }

# qcow2: v2, v3, backing with and without format, data file, extended L2,
# zstd, small clusters, feature table, a bitmap.
q -f raw "$t/base.raw" 1M
q -f qcow2 -o compat=0.10 "$t/v2.qcow2" 1M
q -f qcow2 "$t/v3.qcow2" 1M
q -f qcow2 -F raw -b base.raw "$t/back.qcow2" 1M
q -f qcow2 -u -b base.raw "$t/nofmt.qcow2" 1M 2>/dev/null || q -f qcow2 -u -F raw -b base.raw "$t/nofmt.qcow2" 1M
q -f qcow2 -o data_file="$t/data.raw" "$t/data.qcow2" 1M
q -f qcow2 -o extended_l2=on,cluster_size=64k "$t/ext.qcow2" 1M
q -f qcow2 -o compression_type=zstd "$t/zstd.qcow2" 1M
q -f qcow2 -o cluster_size=512 -F raw -b base.raw "$t/small.qcow2" 64k
q -f qcow2 -o cluster_size=2M "$t/big.qcow2" 1M
qemu-img bitmap --add "$t/v3.qcow2" b0 2>/dev/null || true
for f in v2 v3 back nofmt data ext zstd small big; do
	seed qcow2 "seed-$f" "$t/$f.qcow2"
done

# QED: no backing, raw backing (no-probe flag), qcow2 backing (no flag).
q -f qed "$t/plain.qed" 1M
q -f qed -F raw -b base.raw "$t/raw.qed" 1M
q -f qcow2 "$t/b.qcow2" 1M
q -f qed -F qcow2 -b b.qcow2 "$t/probe.qed" 1M
q -f qed -o cluster_size=4096,table_size=1 "$t/small.qed" 1M
for f in plain raw probe small; do seed qed "seed-$f" "$t/$f.qed"; done

# VMDK: every subformat qemu-img makes, and a delta with a parent hint.
for s in monolithicSparse monolithicFlat twoGbMaxExtentSparse twoGbMaxExtentFlat streamOptimized; do
	q -f vmdk -o subformat=$s "$t/$s.vmdk" 1M
	seed vmdk "seed-$s" "$t/$s.vmdk"
done
q -f vmdk -F vmdk -b monolithicSparse.vmdk "$t/delta.vmdk" 1M
seed vmdk seed-delta "$t/delta.vmdk"

# Configs: the README's example and small variants.
cat >corpus/config/seed-full <<'INI'
[vmseal]
version = 1                     ; required
name = g1
[emulator]
binary  = /usr/bin/qemu-system-x86_64
dialect = fdset
args    = -machine pc -accel tcg -m 256 -nographic -nodefaults
args    = -qmp unix:/run/vmseal/g1.qmp,server=on,wait=off
kernel  = /var/lib/vmseal/boot/vmlinuz
initrd  = /var/lib/vmseal/boot/initrd
append  = console=ttyS0
[sandbox]
policy = broker
allow  = /usr/share/qemu:/srv/firmware
[chain]
roots     = /var/lib/vmseal/images
max-depth = 64
record    = /run/vmseal/g1/chain.json
[disk root]
image    = /var/lib/vmseal/images/top.qcow2
format   = qcow2
readonly = no
device   = virtio-blk-pci
data-file = allow
block-device = deny
backing-format = raw
INI
printf '[vmseal]\nversion=1\n[disk a]\nimage=/a\nformat=raw\n' >corpus/config/seed-min
printf '[vmseal]\nversion = 1\n[emulator]\nargs = -a "b c" '\''d'\'' e\\ f\n[chain]\nrecord = none\n' >corpus/config/seed-args
echo "corpus: $(du -sh corpus | cut -f1) in $(find corpus -type f | wc -l) files"
