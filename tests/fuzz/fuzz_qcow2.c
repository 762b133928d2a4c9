/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the qcow2 header decoder (see decode_harness.h). */
#include "tests/fuzz/decode_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return run_decoder(qcow2_decode, data, size);
}
