# SPDX-License-Identifier: GPL-2.0-or-later
# The demo guest: Debian's cloud kernel, a busybox initramfs that prints the
# md5 of each of the first three MiB of /dev/vda, and a 3-level qcow2 chain
# whose layers each write one of those MiB.  Source this file; every
# function prints what went wrong to stderr and returns non-zero on failure.
# Nothing is installed on the host: packages are fetched with
# `apt-get download` and unpacked with `dpkg-deb -x`.
#
#   guest_fetch DIR            kernel + busybox-static into DIR (cached)
#   guest_kernel DIR           path of the unpacked vmlinuz
#   guest_initramfs DIR OUT    gzip'd newc cpio: /bin/busybox and /init
#   guest_chain DIR            base.qcow2 <- mid.qcow2 <- top.qcow2 in DIR
#   guest_expected_md5 I       md5 of MiB I (0, 1, 2) as the chain defines it
#   guest_digests LOG          the "I DIGEST" lines the guest printed in LOG
#   guest_boot_bare KERNEL INITRD TOP
#                              boots with plain QEMU opening TOP by path
#   guest_layer I              which image wrote MiB I, and its byte
#   guest_write_ini OUT KERNEL INITRD IMAGES
#                              the vmseal config demo.sh and boot.t run
#   guest_check_argv ARGV IMAGES
#                              `vmseal argv` reaches every image by fd only
#   guest_check_broker ERRLOG IMAGES
#                              `vmseal run -v` served or denied no image

# What the init prints; demo.sh and boot.t look for these.
GUEST_TAG="vmseal-demo:"
# The kernel command line; panic=-1 reboots at once and -no-reboot turns
# that into an exit, so a broken guest never hangs the caller.
GUEST_APPEND="console=ttyS0 panic=-1 quiet"
# The modules virtio-blk-pci needs, by name; their dependencies come from
# the kernel's modules.dep.
GUEST_MODULES="virtio_pci virtio_blk"

_guest_err() {
	echo "guest: $*" >&2
	return 1
}

# guest_fetch DIR: downloads the versioned package that linux-image-cloud-
# amd64 depends on, and busybox-static, into DIR and unpacks them into
# DIR/kernel and DIR/busybox.  Does nothing when both are already unpacked.
guest_fetch() {
	local dir=$1 pkg deb tmp
	local -a apt_opts=(-qq)

	[ -n "$dir" ] || _guest_err "usage: guest_fetch DIR" || return
	mkdir -p "$dir" || _guest_err "cannot create $dir" || return
	if guest_kernel "$dir" >/dev/null 2>&1 &&
		[ -x "$dir/busybox/bin/busybox" ]; then
		return 0
	fi

	pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[^ ]*-cloud-amd64\) *$/\1/p' |
		head -n 1)
	[ -n "$pkg" ] || _guest_err "apt-cache does not know" \
		"linux-image-cloud-amd64; run 'apt-get update' (make deps does)" ||
		return

	echo "guest: downloading $pkg and busybox-static into $dir" >&2
	rm -f "$dir/${pkg}_"*.deb "$dir"/busybox-static_*.deb
	# As root apt drops to the _apt user to download, which cannot write
	# into a build tree it does not own and says so; stay root instead.
	[ "$(id -u)" != 0 ] || apt_opts+=(-o APT::Sandbox::User=root)
	(cd "$dir" && apt-get "${apt_opts[@]}" download "$pkg" busybox-static) ||
		_guest_err "apt-get download $pkg busybox-static failed;" \
			"run 'apt-get update' (make deps does)" || return

	# Unpack beside the target and rename, so an interrupted unpack is
	# never mistaken for a cached one.
	for deb in "$pkg" busybox-static; do
		local file
		set -- "$dir/${deb}_"*.deb
		file=$1
		[ -f "$file" ] || _guest_err "no ${deb}_*.deb in $dir" || return
		tmp="$dir/.unpack.$$"
		rm -rf "$tmp"
		dpkg-deb -x "$file" "$tmp" ||
			_guest_err "dpkg-deb -x $file failed" || return
		case $deb in
		busybox-static) rm -rf "$dir/busybox" && mv "$tmp" "$dir/busybox" ;;
		*) rm -rf "$dir/kernel" && mv "$tmp" "$dir/kernel" ;;
		esac || _guest_err "cannot move $tmp into place" || return
	done
	guest_kernel "$dir" >/dev/null || return
	[ -x "$dir/busybox/bin/busybox" ] ||
		_guest_err "busybox-static has no bin/busybox"
}

# guest_kernel DIR: prints the path of the one vmlinuz unpacked in DIR.
guest_kernel() {
	local dir=$1 k n=0 found=
	for k in "$dir"/kernel/boot/vmlinuz-*; do
		[ -f "$k" ] || continue
		found=$k
		n=$((n + 1))
	done
	[ "$n" -eq 1 ] ||
		_guest_err "expected one kernel in $dir/kernel/boot, found $n;" \
			"run guest_fetch (or rm -rf $dir/kernel)" || return
	echo "$found"
}

# _guest_modorder MODDIR NAME...: the .ko paths (relative to MODDIR) to
# insmod, dependencies first, read from MODDIR/modules.dep.
_guest_modorder() {
	local moddir=$1
	shift
	awk -F ': *' -v want="$*" '
	{
		deps[$1] = $2
		n = split($1, p, "/")
		name = p[n]
		sub(/\.ko$/, "", name)
		gsub(/-/, "_", name)
		path[name] = $1
	}
	function visit(m,    d, i, k) {
		if (m in done)
			return
		done[m] = 1
		k = split(deps[m], d, " ")
		for (i = k; i >= 1; i--)
			visit(d[i])
		print m
	}
	END {
		n = split(want, w, " ")
		for (i = 1; i <= n; i++) {
			if (!(w[i] in path)) {
				print "no module " w[i] " in modules.dep" > "/dev/stderr"
				exit 1
			}
			visit(path[w[i]])
		}
	}' "$moddir/modules.dep"
}

# _guest_init KVER MODULE...: prints the guest's /init, which loads the
# modules (paths under /lib/modules/KVER, in order), waits up to 10 s for
# /dev/vda, prints the md5 of each of its first three MiB and powers off.
_guest_init() {
	local kver=$1
	shift
	cat <<EOF
#!/bin/busybox sh
# vmseal demo guest: md5 of each of the first three MiB of /dev/vda.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
for m in $*; do
	insmod "/lib/modules/$kver/\$m" || echo "$GUEST_TAG insmod \$m failed"
done
n=0
while [ ! -b /dev/vda ] && [ \$n -lt 100 ]; do
	usleep 100000
	n=\$((n + 1))
done
if [ -b /dev/vda ]; then
	for i in 0 1 2; do
		set -- \$(dd if=/dev/vda bs=1M skip=\$i count=1 2>/dev/null | md5sum)
		echo "$GUEST_TAG md5 \$i \$1"
	done
else
	echo "$GUEST_TAG no /dev/vda"
fi
poweroff -f
EOF
}

# guest_initramfs DIR OUT: writes OUT, a gzip'd newc cpio holding the
# static busybox from DIR/busybox, the virtio modules from DIR/kernel and
# an /init that prints the md5 of each of the first three MiB of /dev/vda
# and powers off.
guest_initramfs() {
	local dir=$1 out=$2 kernel kver moddir bb stage mods m a
	[ -n "$dir" ] && [ -n "$out" ] ||
		_guest_err "usage: guest_initramfs DIR OUT" || return
	kernel=$(guest_kernel "$dir") || return
	kver=${kernel##*/vmlinuz-}
	moddir=$dir/kernel/lib/modules/$kver
	bb=$dir/busybox/bin/busybox
	[ -x "$bb" ] || _guest_err "no $bb; run guest_fetch first" || return

	# Debian generates modules.dep when the package is installed, so the
	# unpacked tree has none; busybox's depmod makes it from the .ko files.
	if [ ! -s "$moddir/modules.dep" ]; then
		"$bb" depmod -b "$dir/kernel" "$kver" ||
			_guest_err "depmod for $kver failed" || return
	fi
	# shellcheck disable=SC2086 # a list of names
	mods=$(_guest_modorder "$moddir" $GUEST_MODULES) ||
		_guest_err "cannot order modules $GUEST_MODULES" || return

	stage=$(mktemp -d "${TMPDIR:-/tmp}/vmseal-initramfs.XXXXXX") ||
		_guest_err "mktemp failed" || return
	(
		set -e
		cd "$stage"
		mkdir -p bin dev proc sys "lib/modules/$kver"
		cp "$bb" bin/busybox
		for a in $("$bb" --list); do
			[ "$a" = busybox ] || ln -s busybox "bin/$a"
		done
		for m in $mods; do
			mkdir -p "lib/modules/$kver/${m%/*}"
			cp "$moddir/$m" "lib/modules/$kver/$m"
		done
		# shellcheck disable=SC2086 # a list of paths without blanks
		_guest_init "$kver" $mods >init
		chmod 755 init
		find . -mindepth 1 | LC_ALL=C sort |
			cpio --quiet -o -H newc -R 0:0 | gzip -9 >"$out.tmp"
		mv "$out.tmp" "$out"
	)
	local rc=$?
	rm -rf "$stage"
	[ "$rc" -eq 0 ] || _guest_err "cannot build initramfs $out"
}

# guest_chain DIR: base.qcow2 (0x11 at 0), mid.qcow2 (0x22 at 1M) backed by
# base, top.qcow2 (0x33 at 2M) backed by mid, 16M each.  Backing names are
# relative, as libvirt-made chains often have them.
guest_chain() {
	local dir=$1
	[ -n "$dir" ] || _guest_err "usage: guest_chain DIR" || return
	mkdir -p "$dir" || _guest_err "cannot create $dir" || return
	(
		set -e
		cd "$dir"
		rm -f base.qcow2 mid.qcow2 top.qcow2
		qemu-img create -q -f qcow2 base.qcow2 16M
		qemu-io -f qcow2 -c 'write -P 0x11 0 1M' base.qcow2 >/dev/null
		qemu-img create -q -f qcow2 -F qcow2 -b base.qcow2 mid.qcow2 16M
		qemu-io -f qcow2 -c 'write -P 0x22 1M 1M' mid.qcow2 >/dev/null
		qemu-img create -q -f qcow2 -F qcow2 -b mid.qcow2 top.qcow2 16M
		qemu-io -f qcow2 -c 'write -P 0x33 2M 1M' top.qcow2 >/dev/null
	) || _guest_err "cannot create the qcow2 chain in $dir"
}

# guest_expected_md5 I: md5 of 1 MiB of the byte that layer I wrote.
guest_expected_md5() {
	local byte
	case $1 in
	0) byte='\021' ;;
	1) byte='\042' ;;
	2) byte='\063' ;;
	*) _guest_err "guest_expected_md5: no MiB '$1' (0, 1 or 2)"; return ;;
	esac
	head -c 1048576 /dev/zero | tr '\0' "$byte" | md5sum | cut -d ' ' -f 1
}

# guest_digests LOG: prints "I DIGEST" for each md5 line the guest wrote to
# the console log LOG (serial output ends lines with CR).
guest_digests() {
	tr -d '\r' <"$1" |
		sed -n "s/^.*$GUEST_TAG md5 \([0-2]\) \([0-9a-f]\{32\}\).*/\1 \2/p"
}

# guest_boot_bare KERNEL INITRD TOP: the same boot with QEMU opening TOP
# (and its backing files) by path: the baseline vmseal is measured against.
# The console goes to stdout.
guest_boot_bare() {
	local kernel=$1 initrd=$2 top=$3
	[ -f "$kernel" ] && [ -f "$initrd" ] && [ -f "$top" ] ||
		_guest_err "usage: guest_boot_bare KERNEL INITRD TOP (files)" ||
		return
	qemu-system-x86_64 -machine pc -accel tcg -m 256 -nographic \
		-nodefaults -no-reboot -serial stdio \
		-kernel "$kernel" -initrd "$initrd" -append "$GUEST_APPEND" \
		-blockdev driver=file,node-name=f0,filename="$top" \
		-blockdev driver=qcow2,node-name=root,file=f0 \
		-device virtio-blk-pci,drive=root </dev/null
}

# The chain guest_chain makes, top first, and the MiB each layer wrote.
GUEST_IMAGES="top.qcow2 mid.qcow2 base.qcow2"
guest_layer() {
	case $1 in
	0) echo "base.qcow2, 0x11" ;;
	1) echo "mid.qcow2, 0x22" ;;
	2) echo "top.qcow2, 0x33" ;;
	esac
}

# guest_write_ini OUT KERNEL INITRD IMAGES: the vmseal config (version 1)
# that boots KERNEL/INITRD with IMAGES/top.qcow2 as a virtio-blk-pci disk
# under the broker with TCG.  Paths should be absolute.
guest_write_ini() {
	local out=$1 kernel=$2 initrd=$3 images=$4 how=${5:-keys} boot
	[ $# -ge 4 ] ||
		_guest_err "usage: guest_write_ini OUT KERNEL INITRD IMAGES [keys|args]" ||
		return
	# keys: [emulator] kernel/initrd/append, which the broker serves
	# exactly; args: the same as plain QEMU arguments, reachable through
	# an [sandbox] allow of the kernel's directory and of the initrd (not
	# its directory, which holds the images: vmseal refuses an image the
	# emulator could read by path).
	if [ "$how" = args ]; then
		printf -v boot '%s\n%s\n%s' \
			"args = -kernel $kernel -initrd $initrd -append '$GUEST_APPEND'" \
			"[sandbox]" "allow = ${kernel%/*}:$initrd"
	else
		printf -v boot '%s\n%s\n%s\n%s' "kernel = $kernel" \
			"initrd = $initrd" "append = $GUEST_APPEND" "[sandbox]"
	fi
	cat >"$out" <<-EOF || _guest_err "cannot write $out"
	[vmseal]
	version = 1
	name = demo

	[emulator]
	binary = /usr/bin/qemu-system-x86_64
	args = -machine pc -accel tcg -m 256 -nographic -nodefaults -no-reboot -serial stdio
	$boot
	policy = broker
	user = nobody

	[chain]
	roots = $images

	[disk root]
	image = $images/top.qcow2
	format = qcow2
	device = virtio-blk-pci
	EOF
}

# guest_check_argv ARGV IMAGES: ARGV is `vmseal argv` output, one argument
# a line.  Succeeds when no argument names an image (by absolute path or by
# file name, as in a qcow2 backing name), every file node's filename= is a
# /dev/fdset/N, there is one such set per image in the chain, and every
# qcow2 node that has a backing file names its backing node, so QEMU never
# falls back to the backing file name in the image header.  Says what it
# found on stdout and what is wrong on stderr.
guest_check_argv() {
	local argv=$1 images=$2 img bad=0 files sets n_sets n_qcow2 n_backing
	for img in $GUEST_IMAGES; do
		if grep -qF -e "$img" "$argv"; then
			echo "argv names $img:" >&2
			grep -nF -e "$img" "$argv" | sed 's/^/    /' >&2
			bad=1
		fi
	done
	# The file nodes' filenames, from key=value or JSON -blockdev.
	files=$(grep -oE 'filename=[^,]*|"filename": *"[^"]*"' "$argv" |
		sed -E 's/^(filename=|"filename": *")//; s/"$//')
	if echo "$files" | grep -qv '^/dev/fdset/[0-9][0-9]*$'; then
		echo "argv has a filename that is not /dev/fdset/N:" >&2
		echo "$files" | grep -v '^/dev/fdset/[0-9][0-9]*$' |
			sed 's/^/    /' >&2
		bad=1
	fi
	sets=$(echo "$files" | grep '^/dev/fdset/' | sort -u)
	n_sets=$(echo "$sets" | grep -c .)
	sets=$(echo "$sets" | tr '\n' ' ')
	if [ "$n_sets" -lt 3 ]; then
		echo "argv reaches $n_sets images through /dev/fdset, the chain has 3" >&2
		bad=1
	fi
	if ! grep -q '^-add-fd$' "$argv"; then
		echo "argv has no -add-fd" >&2
		bad=1
	fi
	# Counted per occurrence, so one nested JSON -blockdev counts too.
	n_qcow2=$(grep -oE 'driver=qcow2|"driver": *"qcow2"' "$argv" | wc -l)
	n_backing=$(grep -oE 'backing=|"backing":' "$argv" | wc -l)
	# Only the base may leave backing out: its header names no backing file.
	if [ "$n_qcow2" -lt 3 ] || [ "$n_backing" -lt $((n_qcow2 - 1)) ]; then
		echo "argv has $n_qcow2 qcow2 nodes and $n_backing backing options;" \
			"expected 3 nodes, top and mid with an explicit backing" >&2
		bad=1
	fi
	[ "$bad" -eq 0 ] || return 1
	echo "$n_sets images as ${sets% }; no image path; explicit backing nodes"
}

# guest_check_broker ERRLOG IMAGES: ERRLOG is the stderr of `vmseal run
# -v`, where the broker reports every open by path it served and each path
# it denied.  Fails when any of those names an image (the emulator tried to
# open one by path) or when the broker stopped reporting denials.  Says on
# stdout how many opens the broker served and denied.
guest_check_broker() {
	local log=$1 images=$2 img hits served denied
	local -a pat=(-e "$images/")
	for img in $GUEST_IMAGES; do
		pat+=(-e "$img")
	done
	hits=$(grep -E '^vmseal: (served [a-z0-9_]+|denied open) ' "$log" |
		grep -F "${pat[@]}" | sort -u)
	if [ -n "$hits" ]; then
		echo "the emulator opened an image by path:" >&2
		printf '%s\n' "$hits" | sed 's/^/    /' >&2
		return 1
	fi
	if grep -q 'further denials are not shown' "$log"; then
		echo "the broker stopped reporting denials; cannot tell" >&2
		return 1
	fi
	served=$(grep -c '^vmseal: served ' "$log")
	denied=$(grep -c '^vmseal: denied open ' "$log")
	if [ "$served" -eq 0 ]; then
		echo "no image among $denied denied paths" \
			"(no served opens reported: was run given -v?)"
		return 0
	fi
	echo "served $served opens by path, denied $denied paths; none an image"
}
