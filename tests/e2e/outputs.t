#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Output files: -serial file:, -chardev file,path=, -D and -pidfile in a
# config work under `vmseal run`; vmseal opens each beneath the guest's
# runtime directory, its log directory or [emulator] output-dir and passes
# it (fd set, broker for -D, written by vmseal for -pidfile); `check`
# refuses what `run` refuses; a link planted where an output goes never
# makes root write through it.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

missing=$(e2e_missing "$QEMU" qemu-img qemu-io "$VMSEAL" "$QMP" cpio dpkg-deb)
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps, make test-bins)" "outputs e2e"
	tap_done
	exit
fi
e2e_setup
export VMSEAL_LOG_DIR=$E2E_TMP/log
run=$(e2e_run_dir demo)

# The demo guest, its console to a file in its runtime directory.
cache=$E2E_ROOT/build/demo
if ! err=$(guest_fetch "$cache" 2>&1); then
	diag "$err"
	skip "cannot fetch the guest kernel with apt-get download" \
		"-serial file: under vmseal run: the guest's console in the file"
else
	kernel=$(guest_kernel "$cache")
	guest_initramfs "$cache" "$E2E_TMP/initramfs.gz" &&
		guest_chain "$E2E_TMP/images" >/dev/null &&
		guest_write_ini "$E2E_TMP/demo.ini" "$kernel" "$E2E_TMP/initramfs.gz" "$E2E_TMP/images"
	sed -i "s|-serial stdio|-serial file:$run/serial.log|; /^user = /d" "$E2E_TMP/demo.ini"
	timeout --kill-after=5 120 "$VMSEAL" run "$E2E_TMP/demo.ini" </dev/null \
		>"$E2E_TMP/demo.out" 2>"$E2E_TMP/demo.err"
	rc=$?
	digests=$(guest_digests "$run/serial.log" 2>/dev/null)
	good=0
	for i in 0 1 2; do
		[ "$(echo "$digests" | sed -n "s/^$i //p" | head -n 1)" = "$(guest_expected_md5 $i)" ] &&
			good=$((good + 1))
	done
	[ $rc = 0 ] && [ $good = 3 ] && ! grep -q denied "$E2E_TMP/demo.err" &&
		[ ! -s "$E2E_TMP/demo.out" ]
	ok $? "-serial file: under vmseal run: the guest's console in the file" ||
		diag "exit $rc, $good digests" "$(tail -5 "$E2E_TMP/demo.err")" \
			"$(tr -d '\r' <"$run/serial.log" 2>&1 | tail -5)"
fi

# The other forms, in the log directory and an output-dir.
qemu-img create -q -f qcow2 "$E2E_TMP/o.qcow2" 16M
mkdir -p "$E2E_TMP/out"
write_ini() { # NAME ARGS...
	local name=$1
	shift
	{
		printf '[vmseal]\nversion = 1\nname = %s\n[emulator]\n' "$name"
		printf 'args = -machine pc -accel tcg -m 64 -nographic -nodefaults\n'
		printf 'args = -qmp unix:%s/qmp.sock,server=on,wait=off\n' "$(e2e_run_dir "$name")"
		printf 'args = %s\n' "$@"
		printf 'output-dir = %s\n' "$E2E_TMP/out"
		printf '[disk root]\nimage = %s\nformat = qcow2\ndevice = none\n' "$E2E_TMP/o.qcow2"
	} >"$E2E_TMP/$name.ini"
}
echo "an earlier line" >"$E2E_TMP/out/debug,con.log"
write_ini o1 "-chardev file,id=dc,path=$E2E_TMP/out/debug,,con.log,append=on" \
	"-device isa-debugcon,chardev=dc,iobase=0x402" \
	"-D $VMSEAL_LOG_DIR/o1/qemu.log -d guest_errors" \
	"-pidfile $E2E_TMP/out/qemu.pid"
"$VMSEAL" argv "$E2E_TMP/o1.ini" >"$E2E_TMP/o1.argv"
grep -qx "file,id=dc,path=/dev/fdset/[0-9]*,append=on" "$E2E_TMP/o1.argv" &&
	! grep -q -- "-pidfile" "$E2E_TMP/o1.argv" && ! grep -q "debug,,con" "$E2E_TMP/o1.argv"
ok $? "argv: the chardev's path is an fd set, -pidfile is vmseal's" || diag "$(cat "$E2E_TMP/o1.argv")"
"$VMSEAL" check "$E2E_TMP/o1.ini" >"$E2E_TMP/o1.check" 2>&1
grep -q "^output $E2E_TMP/out/debug,con.log (-chardev): opened by vmseal, fd [0-9]* in fd set [0-9]*, appended$" "$E2E_TMP/o1.check" &&
	grep -q "^output $VMSEAL_LOG_DIR/o1/qemu.log (-D): opened by vmseal, served by the broker$" "$E2E_TMP/o1.check" &&
	grep -q "^output $E2E_TMP/out/qemu.pid (-pidfile): the emulator's pid, written by vmseal$" "$E2E_TMP/o1.check"
ok $? "check lists each output and how it reaches the emulator" || diag "$(cat "$E2E_TMP/o1.check")"
"$VMSEAL" run -v --daemon --pidfile "$E2E_TMP/o1.sup" --log "$E2E_TMP/o1.log" "$E2E_TMP/o1.ini" \
	>"$E2E_TMP/o1.out" 2>&1
rc=$?
[ -s "$E2E_TMP/o1.sup" ] && e2e_track "$(cat "$E2E_TMP/o1.sup")"
emu=$(cat "$(e2e_run_dir o1)/emulator.pid" 2>/dev/null)
for i in $(seq 50); do grep -q "Running on QEMU" "$E2E_TMP/out/debug,con.log" && break; sleep 0.1; done
[ $rc = 0 ] && head -n 1 "$E2E_TMP/out/debug,con.log" | grep -qx "an earlier line" &&
	grep -q "SeaBIOS" "$E2E_TMP/out/debug,con.log"
ok $? "-chardev file,path=...,append=on: SeaBIOS's debug console appended to the file" ||
	diag "exit $rc" "$(cat "$E2E_TMP/o1.out")" "$(head -3 "$E2E_TMP/out/debug,con.log")"
[ -n "$emu" ] && [ "$(cat "$E2E_TMP/out/qemu.pid" 2>/dev/null)" = "$emu" ]
ok $? "-pidfile: vmseal wrote the emulator's pid there" || diag "emulator $emu, file: $(cat "$E2E_TMP/out/qemu.pid")"
[ -f "$VMSEAL_LOG_DIR/o1/qemu.log" ] && grep -q "served open.* $VMSEAL_LOG_DIR/o1/qemu.log" "$E2E_TMP/o1.log" &&
	! grep -q "denied" "$E2E_TMP/o1.log"
ok $? "-D: QEMU's log served by the broker from vmseal's descriptor, nothing denied" || diag "$(grep -v 'served open /usr' "$E2E_TMP/o1.log")"
"$VMSEAL" stop o1 >/dev/null 2>&1
[ ! -e "$E2E_TMP/out/qemu.pid" ]
ok $? "the pid file is removed when the guest stops"
[ "$(stat -c '%U %a' "$VMSEAL_LOG_DIR/o1/qemu.log")" = "root 640" ] &&
	[ "$(stat -c %a "$VMSEAL_LOG_DIR/o1")" = 750 ]
ok $? "a new output is root's, 0640, in a 0750 log directory" ||
	diag "$(stat -c '%n %U %a' "$VMSEAL_LOG_DIR/o1" "$VMSEAL_LOG_DIR/o1/qemu.log")"

# check refuses what run refuses.
write_ini bad "-serial file:$E2E_TMP/elsewhere.log"
"$VMSEAL" check "$E2E_TMP/bad.ini" >/dev/null 2>"$E2E_TMP/bad.check"
crc=$?
timeout --kill-after=2 10 "$VMSEAL" run "$E2E_TMP/bad.ini" >/dev/null 2>"$E2E_TMP/bad.run"
rrc=$?
[ $crc = 65 ] && [ $rrc = 65 ] && cmp -s "$E2E_TMP/bad.check" "$E2E_TMP/bad.run" &&
	grep -q "the emulator writes only files vmseal opens for it, beneath the guest's runtime directory" "$E2E_TMP/bad.check" &&
	[ ! -e "$E2E_TMP/elsewhere.log" ]
ok $? "an output outside the roots: check and run refuse it alike (65)" ||
	diag "check $crc, run $rrc" "$(cat "$E2E_TMP/bad.check" "$E2E_TMP/bad.run")"

# Attacks: links planted where an output goes.  root must never write
# through them.
echo "victim" >"$E2E_TMP/victim"
chmod 644 "$E2E_TMP/victim"
ln -s "$E2E_TMP/victim" "$E2E_TMP/out/sym.log"
write_ini a1 "-serial file:$E2E_TMP/out/sym.log"
timeout --kill-after=2 10 "$VMSEAL" run "$E2E_TMP/a1.ini" >/dev/null 2>"$E2E_TMP/a1.err"
rc=$?
[ $rc = 71 ] && [ "$(cat "$E2E_TMP/victim")" = victim ] && grep -q "sym.log: cannot open the output file" "$E2E_TMP/a1.err"
ok $? "a symlink planted as the output: refused (71), its target untouched" || diag "exit $rc" "$(cat "$E2E_TMP/a1.err")"
ln "$E2E_TMP/victim" "$E2E_TMP/out/hard.log"
write_ini a2 "-serial file:$E2E_TMP/out/hard.log"
timeout --kill-after=2 10 "$VMSEAL" run "$E2E_TMP/a2.ini" >/dev/null 2>"$E2E_TMP/a2.err"
rc=$?
[ $rc = 71 ] && [ "$(cat "$E2E_TMP/victim")" = victim ] && grep -q "one link" "$E2E_TMP/a2.err"
ok $? "a hard link planted as the output: refused (71), the file untouched" || diag "exit $rc" "$(cat "$E2E_TMP/a2.err")"
write_ini a3 "-serial file:$E2E_TMP/out/../victim"
"$VMSEAL" check "$E2E_TMP/a3.ini" >/dev/null 2>&1
[ $? = 65 ] && [ "$(cat "$E2E_TMP/victim")" = victim ]
ok $? "an output path climbing out of output-dir: refused by check (65)"

tap_done
