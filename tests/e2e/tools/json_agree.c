/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * json_agree VMSEAL.json QEMU-IMG.json: whether `vmseal chain --json` and
 * `qemu-img info --backing-chain --output=json` describe the same chain:
 * the same number of members, and for each the same filename, format,
 * virtual-size, backing-filename and full-backing-filename (absent in
 * both counts as the same).  Prints every difference; exit 0 when none,
 * 1 when some, 2 when a file is not such an array.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

static const char *const fields[] = {
	"filename", "format", "virtual-size", "backing-filename",
	"full-backing-filename",
};

static const char *show(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v))
		return "(absent)";
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE);
}

int main(int argc, char **argv)
{
	struct json_object *a, *b;
	size_t n, m;
	int diff = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: json_agree VMSEAL.json QEMU-IMG.json\n");
		return 2;
	}
	a = json_object_from_file(argv[1]);
	b = json_object_from_file(argv[2]);
	if (!a || !b || !json_object_is_type(a, json_type_array) ||
	    !json_object_is_type(b, json_type_array)) {
		fprintf(stderr, "json_agree: %s or %s is not a JSON array\n",
			argv[1], argv[2]);
		return 2;
	}
	n = json_object_array_length(a);
	m = json_object_array_length(b);
	if (n != m) {
		printf("members: vmseal %zu, qemu-img %zu\n", n, m);
		diff = 1;
	}
	for (size_t i = 0; i < n && i < m; i++) {
		struct json_object *x = json_object_array_get_idx(a, i);
		struct json_object *y = json_object_array_get_idx(b, i);

		for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
			char vx[4096];

			snprintf(vx, sizeof(vx), "%s", show(x, fields[f]));
			if (strcmp(vx, show(y, fields[f])) != 0) {
				printf("member %zu %s: vmseal %s, qemu-img %s\n",
				       i, fields[f], vx, show(y, fields[f]));
				diff = 1;
			}
		}
	}
	json_object_put(a);
	json_object_put(b);
	return diff;
}
