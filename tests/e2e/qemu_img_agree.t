#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `vmseal chain --json` gives the keys `qemu-img info --backing-chain
# --output=json` gives, with the same values, member by member and key by
# key (vmseal's own fields under "vmseal" aside), on chains of every format
# and shape vmseal resolves: qcow2 v2 and v3, QED, VMDK sparse, flat and
# split, raw (tests/e2e/tools/json_agree.c compares them).  Then the
# command line, and the item-9 hints.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

AGREE=$E2E_BUILD/tests/e2e/json_agree
missing=$(e2e_missing qemu-img "$VMSEAL" "$AGREE")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps, make test-bins)" "qemu-img agreement"
	tap_done
	exit
fi
e2e_setup
D=$E2E_TMP/img
mkdir -p "$D/sub" "$D/abs"
cd "$D" || exit 1
q() { qemu-img create -q "$@" >/dev/null 2>&1; }

# agree NAME FORMAT IMAGE [vmseal options]: the two JSON views agree.
agree() {
	local name=$1 fmt=$2 img=$3
	shift 3
	"$VMSEAL" chain "$img" --format "$fmt" --json "$@" >"$E2E_TMP/v.json" 2>"$E2E_TMP/v.err"
	local rc=$?
	qemu-img info --backing-chain --output=json "$img" >"$E2E_TMP/q.json" 2>"$E2E_TMP/q.err"
	if [ "$rc" != 0 ]; then
		ok 1 "$name: vmseal chain resolves" || diag "$(cat "$E2E_TMP/v.err")"
		return
	fi
	"$AGREE" "$E2E_TMP/v.json" "$E2E_TMP/q.json" >"$E2E_TMP/diff"
	ok $? "$name: vmseal chain --json agrees with qemu-img ($(grep -c '"depth"' "$E2E_TMP/v.json") members)" ||
		diag "$(cat "$E2E_TMP/diff")"
}

q -f qcow2 one.qcow2 2M
agree "1 level qcow2" qcow2 "$D/one.qcow2"
q -f qcow2 -o compat=0.10 v2base.qcow2 1M
q -f qcow2 -o compat=0.10 -F qcow2 -b v2base.qcow2 v2.qcow2 1M
agree "qcow2 v2 (compat 0.10) over v2" qcow2 "$D/v2.qcow2"
q -f qcow2 -o lazy_refcounts=on,refcount_bits=1,cluster_size=4096 -F qcow2 -b v2.qcow2 lazy.qcow2 1M
agree "qcow2 v3 lazy refcounts, 1-bit refcounts, 4 KiB clusters, over v2" qcow2 "$D/lazy.qcow2"
q -f qcow2 -o extended_l2=on,cluster_size=128k xl2.qcow2 1M
agree "qcow2 extended L2" qcow2 "$D/xl2.qcow2"
q -f qcow2 -o compression_type=zstd zstd.qcow2 1M 2>/dev/null &&
	agree "qcow2 zstd compression type" qcow2 "$D/zstd.qcow2"

q -f qcow2 base.qcow2 1M
q -f qcow2 -F qcow2 -b base.qcow2 rel.qcow2 3M
agree "2 levels, relative name" qcow2 "$D/rel.qcow2"

q -f raw base.raw 1M
q -f qcow2 -F raw -b ../base.raw sub/over.qcow2 1M
q -f qcow2 -F qcow2 -b "$D/sub/over.qcow2" abs/top.qcow2 1M
agree "3 levels: absolute name, '../', raw base" qcow2 "$D/abs/top.qcow2" --root "$D"

agree "raw alone" raw "$D/base.raw"

q -f qed -F raw -b base.raw raw.qed 1M
agree "QED over raw (no-probe flag)" qed "$D/raw.qed"
q -f qed -F qcow2 -b rel.qcow2 probe.qed 3M
agree "QED over qcow2 (no flag; --backing-format qcow2)" qed "$D/probe.qed" --backing-format qcow2
q -f qcow2 -F qed -b raw.qed onqed.qcow2 1M
agree "qcow2 over QED over raw" qcow2 "$D/onqed.qcow2"

q -f vmdk base.vmdk 1M
q -f vmdk -F vmdk -b base.vmdk delta.vmdk 1M
agree "VMDK delta link over monolithicSparse" vmdk "$D/delta.vmdk"
q -f qcow2 -F vmdk -b delta.vmdk onvmdk.qcow2 1M
agree "qcow2 over a VMDK delta chain" qcow2 "$D/onvmdk.qcow2"
q -f vmdk -o subformat=monolithicFlat flat.vmdk 1M
agree "VMDK monolithicFlat (one extent)" vmdk "$D/flat.vmdk"
q -f vmdk -o subformat=twoGbMaxExtentSparse split.vmdk 1M
agree "VMDK twoGbMaxExtentSparse" vmdk "$D/split.vmdk"
# A dirty QED (its need-check flag, as a crash leaves it).
q -f qed dirty.qed 1M
printf '\x02' | dd of=dirty.qed bs=1 seek=16 conv=notrunc status=none
q -f qcow2 -F qed -b dirty.qed ondirty.qcow2 1M
agree "qcow2 over a dirty QED (dirty-flag)" qcow2 "$D/ondirty.qcow2"

# qemu-img opens a relative data file name against its cwd: we are in $D.
q -f qcow2 -o data_file=data.raw df.qcow2 1M
q -f qcow2 -F qcow2 -b df.qcow2 ondf.qcow2 1M
agree "qcow2 over a qcow2 with an external data file" qcow2 "$D/ondf.qcow2" --data-file

# The command line: --format is required (never probed), 64 on misuse.
"$VMSEAL" chain "$D/one.qcow2" >/dev/null 2>"$E2E_TMP/err"
[ $? = 64 ] && grep -q -- "--format is required" "$E2E_TMP/err"
ok $? "chain without --format: exit 64"
"$VMSEAL" chain "$D/one.qcow2" --format vpc >/dev/null 2>&1
ok $(($? != 64)) "chain --format vpc: exit 64"
"$VMSEAL" chain --format qcow2 --max-depth 5000 "$D/rel.qcow2" >/dev/null 2>&1
ok $(($? != 64)) "chain --max-depth 5000: exit 64"
"$VMSEAL" chain "$D/rel.qcow2" --format qcow2 >"$E2E_TMP/out"
grep -q "^1 $D/base.qcow2\$" "$E2E_TMP/out" && grep -q "header sha256 [0-9a-f]\{64\}" "$E2E_TMP/out"
ok $? "chain prints members with their header digest"
"$VMSEAL" chain --help | grep -q '^Usage: vmseal chain IMAGE --format F'
ok $? "chain --help"

# Item 9: the hints of `vmseal chain` name its own options.
# The backing-format extension's type made unknown: no format recorded.
q -f qcow2 -F qcow2 -b one.qcow2 nofmt.qcow2 2M
python3 - nofmt.qcow2 <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read(4096))
i = b.find(bytes.fromhex("e2792aca"))
b[i:i + 4] = bytes.fromhex("12345678")
open(sys.argv[1], "r+b").write(b)
PY
"$VMSEAL" chain "$D/nofmt.qcow2" --format qcow2 >/dev/null 2>"$E2E_TMP/err"
[ $? = 66 ] && grep -q "pass --backing-format F if you know it" "$E2E_TMP/err" &&
	! grep -q "set backing-format" "$E2E_TMP/err"
ok $? "no recorded backing format: chain names --backing-format" ||
	diag "$(cat "$E2E_TMP/err")"
"$VMSEAL" chain "$D/nofmt.qcow2" --format qcow2 --backing-format qcow2 --json >"$E2E_TMP/v.json"
grep -q '"format-from-config": true' "$E2E_TMP/v.json" &&
	! grep -q '"backing-filename-format"' "$E2E_TMP/v.json"
ok $? "--backing-format: no backing-filename-format (the header records none, as qemu-img)"
"$VMSEAL" chain "$D/df.qcow2" --format qcow2 >/dev/null 2>"$E2E_TMP/err"
grep -q "refused unless --data-file is given" "$E2E_TMP/err"
ok $? "data file: chain names --data-file" || diag "$(cat "$E2E_TMP/err")"
# A qcow2 image read as raw stays raw, and says so.
"$VMSEAL" chain "$D/one.qcow2" --format raw >"$E2E_TMP/out" 2>&1
grep -q "note: begins with a qcow2 header; read as raw (never probed)" "$E2E_TMP/out"
ok $? "a qcow2 file as --format raw: a note naming the header" ||
	diag "$(cat "$E2E_TMP/out")"

tap_done
