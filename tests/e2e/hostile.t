#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Hostile images, each a real file made by qemu-img and patched: `vmseal
# check` and `vmseal chain` refuse each with exit 66 and a message naming
# the image, the header offset and the reason, and strace -f (open,
# openat, openat2, with -y so every returned fd shows what it reached)
# shows that no file outside the chain was opened: every path under the
# test dir that any open names or reaches lies beneath the root (or is
# the config), and the case's forbidden target never appears at all.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

missing=$(e2e_missing qemu-img strace python3 "$VMSEAL")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps)" "hostile images e2e"
	tap_done
	exit
fi
e2e_setup
R=$E2E_TMP/root
O=$E2E_TMP/outside
mkdir -p "$R/sub" "$O"
echo secret >"$O/secret"
cd "$R" || exit 1
q() { qemu-img create -q "$@" >/dev/null; }

# patch FILE OFFSET HEX...: writes bytes in place.
patch() {
	local f=$1 off=$2
	shift 2
	printf "$(printf '\\x%s' "$@")" | dd of="$f" bs=1 seek=$((off)) conv=notrunc status=none
}

# opens LOG: every path an open in LOG names or reached, one a line.
opens() {
	grep -E '^[0-9]+ +(open|openat|openat2)\(' "$1" | python3 -c '
import re, sys
for l in sys.stdin:
    m = re.search(r"openat2?\((\d+<([^>]*)>|AT_FDCWD), \"([^\"]*)\"", l) or \
        re.search(r"open\(\"([^\"]*)\"", l)
    if not m:
        continue
    if m.re.pattern.startswith("open\\("):
        print(m.group(1))
    else:
        base, rel = m.group(2), m.group(3)
        print(rel if rel.startswith("/") or not base else base + "/" + rel)
    r = re.search(r"= \d+<([^>]*)>", l)
    if r:
        print(r.group(1))
'
}

# run_traced NAME CMD...: runs CMD under strace; sets rc, out, err files.
run_traced() {
	# LeakSanitizer (SANITIZE= builds) cannot run under ptrace.
	ASAN_OPTIONS=detect_leaks=0 strace -f -qq -y -o "$E2E_TMP/trace" \
		-e trace=open,openat,openat2 "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
	rc=$?
}

# no_outside NAME FORBIDDEN: the trace reached nothing outside the root.
no_outside() {
	local name=$1 forbidden=$2 bad
	bad=$(opens "$E2E_TMP/trace" | grep -F "$E2E_TMP/" |
		grep -v -e "^$R/" -e "^$R\$" -e "^$E2E_TMP/guest.ini\$")
	[ -z "$bad" ] && ! opens "$E2E_TMP/trace" | grep -qF "$forbidden"
	ok $? "$name: nothing outside the chain opened ($forbidden never)" ||
		diag "$bad" "$(grep -F "$forbidden" "$E2E_TMP/trace")"
}

# hostile NAME FORMAT IMAGE MESSAGE FORBIDDEN [chain options]: both
# commands refuse with exit 66 and MESSAGE, and reach nothing outside.
hostile() {
	local name=$1 fmt=$2 img=$3 msg=$4 forbidden=$5
	shift 5
	local ini=$E2E_TMP/guest.ini
	{
		printf '[vmseal]\nversion = 1\n[sandbox]\nuser = %s\n' "$E2E_USER"
		printf '[chain]\nroots = %s\nmax-depth = %s\nrecord = none\n' \
			"$R" "${MAXDEPTH:-64}"
		printf '[disk root]\nimage = %s\nformat = %s\ndevice = none\n' "$img" "$fmt"
		[ -n "${DISK_EXTRA:-}" ] && printf '%s\n' "$DISK_EXTRA"
	} >"$ini"
	run_traced "$VMSEAL" check "$ini"
	[ "$rc" = 66 ] && grep -qF -- "$msg" "$E2E_TMP/err"
	ok $? "$name: check exits 66: $msg" || diag "exit $rc" "$(cat "$E2E_TMP/err")"
	no_outside "$name (check)" "$forbidden"
	run_traced "$VMSEAL" chain "$img" --format "$fmt" --root "$R" \
		--max-depth "${MAXDEPTH:-64}" "$@"
	[ "$rc" = 66 ] && grep -qF -- "$msg" "$E2E_TMP/err"
	ok $? "$name: chain exits 66" || diag "exit $rc" "$(cat "$E2E_TMP/err")"
	no_outside "$name (chain)" "$forbidden"
}

# Names QEMU would hand to a protocol driver or a JSON parser.
i=0
for name in 'json:{"driver":"file","filename":"'"$O"'/secret"}' \
	"nbd:localhost:10809" "http://example.com/x.qcow2" "ssh://h$O/secret" \
	"file:$O/secret"; do
	i=$((i + 1))
	q -f qcow2 -u -F raw -b "$name" "p$i.qcow2" 1M
	hostile "backing name ${name%%:*}:" qcow2 "$R/p$i.qcow2" \
		"$R/p$i.qcow2: offset 0x" "$O/secret"
	grep -qF "uses a protocol or json: prefix" "$E2E_TMP/err"
	ok $? "backing name ${name%%:*}: says why"
done

q -f qcow2 -u -F raw -b "$O/secret" abs.qcow2 1M
hostile "absolute path outside the roots" qcow2 "$R/abs.qcow2" \
	"$R/abs.qcow2: offset 0x" "$O/secret"
grep -qF "lies outside the allowed roots ($R)" "$E2E_TMP/err"
ok $? "absolute path outside: says which roots"

q -f qcow2 -u -F raw -b ../outside/secret dotdot.qcow2 1M
hostile "'..' escape" qcow2 "$R/dotdot.qcow2" \
	"$R/dotdot.qcow2: offset 0x" "$O/secret"
q -f qcow2 -u -F raw -b sub/../../outside/secret dotdot2.qcow2 1M
hostile "'sub/../..' escape" qcow2 "$R/dotdot2.qcow2" \
	"lies outside the allowed roots" "$O/secret"

ln -s ../outside/secret "$R/out.lnk"
q -f qcow2 -u -F raw -b out.lnk link.qcow2 1M
hostile "symlink as backing file" qcow2 "$R/link.qcow2" "symlink in path" "$O/secret"
ln -s "$O" "$R/outdir"
q -f qcow2 -u -F raw -b outdir/secret link2.qcow2 1M
hostile "symlink in a directory of the path" qcow2 "$R/link2.qcow2" \
	"$R/link2.qcow2: offset 0x" "$O/secret"

q -f qcow2 a.qcow2 1M
q -f qcow2 -F qcow2 -b a.qcow2 b.qcow2 1M
qemu-img rebase -q -u -f qcow2 -F qcow2 -b b.qcow2 a.qcow2
hostile "loop a -> b -> a" qcow2 "$R/a.qcow2" "loop: $R/a.qcow2 is already in the chain" "$O/secret"
q -f qcow2 self.qcow2 1M
qemu-img rebase -q -u -f qcow2 -F qcow2 -b self.qcow2 self.qcow2
hostile "loop a -> a" qcow2 "$R/self.qcow2" "$R/self.qcow2: offset 0x" "$O/secret"

q -f qcow2 d0.qcow2 1M
for n in 1 2 3 4; do q -f qcow2 -F qcow2 -b d$((n - 1)).qcow2 d$n.qcow2 1M; done
MAXDEPTH=3 hostile "depth over max-depth" qcow2 "$R/d4.qcow2" \
	"$R/d1.qcow2: offset 0x" "$O/secret"
grep -qF "chain deeper than max-depth 3" "$E2E_TMP/err"
ok $? "depth: says max-depth 3"

q -f qcow2 -u -F raw -b base.raw long.qcow2 1M
patch long.qcow2 16 00 00 04 00
hostile "backing name longer than QEMU's 1023 bytes" qcow2 "$R/long.qcow2" \
	"$R/long.qcow2: offset 0x10: backing file name is 1024 bytes long (at most 1023)" "$O/secret"
q -f qcow2 -u -F raw -b base.raw far.qcow2 1M
patch far.qcow2 8 00 00 00 00 40 00 00 00
hostile "backing name offset past the end of file" qcow2 "$R/far.qcow2" \
	"$R/far.qcow2: offset 0x8: backing file name offset 0x40000000 lies past" "$O/secret"

q -f qcow2 lies.qcow2 1M
patch lies.qcow2 40 00 00 00 00 40 00 00 00
hostile "L1 table offset lying about the file size" qcow2 "$R/lies.qcow2" \
	"$R/lies.qcow2: offset 0x28: header offset 0x40000000 (L1 table" "$O/secret"
q -f qcow2 hlen.qcow2 1M
patch hlen.qcow2 100 00 01 00 08
hostile "header_length past the cluster" qcow2 "$R/hlen.qcow2" \
	"$R/hlen.qcow2: offset 0x64: header_length 65544 exceeds the cluster size" "$O/secret"

# A raw disk whose guest wrote a qcow2 header naming the secret: raw
# stays raw, so nothing is followed (exit 0) and the secret is never opened.
q -f qcow2 -u -F raw -b "$O/secret" guest.raw 1M
run_traced "$VMSEAL" chain "$R/guest.raw" --format raw --root "$R"
[ "$rc" = 0 ] && [ "$(grep -c '^[0-9]' "$E2E_TMP/out")" = 1 ]
ok $? "raw image holding a qcow2 header: stays raw, one member" || diag "$(cat "$E2E_TMP/err")"
no_outside "raw image holding a qcow2 header" "$O/secret"

mkfifo "$R/fifo"
q -f qcow2 -u -F raw -b fifo tofifo.qcow2 1M
hostile "FIFO as backing member" qcow2 "$R/tofifo.qcow2" \
	"$R/tofifo.qcow2: offset 0x" "$O/secret"
grep -qF "not a regular file (fifo)" "$E2E_TMP/err"
ok $? "FIFO: says fifo"
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$R/sock"
q -f qcow2 -u -F raw -b sock tosock.qcow2 1M
hostile "socket as backing member" qcow2 "$R/tosock.qcow2" "not a regular file (socket)" "$O/secret"
if mknod "$R/null" c 1 3 2>/dev/null && mknod "$R/blk" b 7 0 2>/dev/null; then
	q -f qcow2 -u -F raw -b null tochr.qcow2 1M
	hostile "char device as backing member" qcow2 "$R/tochr.qcow2" \
		"not a regular file (char device)" "$O/secret"
	q -f qcow2 -u -F raw -b blk toblk.qcow2 1M
	hostile "block device without block-device = allow" qcow2 "$R/toblk.qcow2" \
		"not a regular file (block device); refused unless" "$O/secret"
else
	for n in 1 2 3 4 5 6 7 8; do skip "mknod of device nodes not permitted" "device as member"; done
fi

# External data files: refused unless allowed; outside the roots anyway.
q -f qcow2 -o data_file=dd.raw df.qcow2 1M
python3 - "$R/df.qcow2" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read(4096))
i = b.index(b"DATA")
n = int.from_bytes(b[i + 4:i + 8], "big")
name = b"/etc/shadow"
b[i + 4:i + 8] = len(name).to_bytes(4, "big")
b[i + 8:i + 8 + ((n + 7) & ~7)] = b"\0" * ((n + 7) & ~7)
b[i + 8:i + 8 + len(name)] = name
end = i + 8 + ((len(name) + 7) & ~7)
b[end:end + 8] = b"\0" * 8
with open(p, "r+b") as f:
    f.write(b)
PY
hostile "data file /etc/shadow, data-file not allowed" qcow2 "$R/df.qcow2" \
	"$R/df.qcow2: offset 0x" /etc/shadow
grep -qF "external data file '/etc/shadow'" "$E2E_TMP/err" &&
	grep -qF "refused unless --data-file is given" "$E2E_TMP/err"
ok $? "data file not allowed: says so"
DISK_EXTRA="data-file = allow" hostile "data file /etc/shadow, data-file = allow" \
	qcow2 "$R/df.qcow2" "data file '/etc/shadow' lies outside the allowed roots" \
	/etc/shadow --data-file

# A VMDK descriptor whose extent lies outside the roots.
q -f vmdk -o subformat=monolithicFlat ext.vmdk 1M
sed -i "s#\"ext-flat.vmdk\"#\"$O/secret\"#" ext.vmdk
hostile "VMDK extent outside the roots" vmdk "$R/ext.vmdk" \
	"$R/ext.vmdk: offset 0x" "$O/secret"
grep -qF "extent file '$O/secret' lies outside the allowed roots" "$E2E_TMP/err"
ok $? "VMDK extent: says which file"

# The trace check itself can fail: a chain that does reach the secret.
cp "$O/secret" "$R/inside"
q -f qcow2 -u -F raw -b inside control.qcow2 1M
run_traced "$VMSEAL" chain "$R/control.qcow2" --format qcow2 --root "$R"
opens "$E2E_TMP/trace" | grep -qx "$R/inside"
ok $? "control: the trace shows a member that was opened"

tap_done
