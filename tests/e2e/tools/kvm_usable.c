/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kvm_usable: exit 0 when /dev/kvm can create a VM, else say why, exit 1. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm, v;

	if (kvm < 0) {
		printf("/dev/kvm: %s\n", strerror(errno));
		return 1;
	}
	v = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		printf("/dev/kvm: API version %d, want %d\n", v, KVM_API_VERSION);
		return 1;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		printf("/dev/kvm: KVM_CREATE_VM: %s\n", strerror(errno));
		return 1;
	}
	close(vm);
	close(kvm);
	return 0;
}
