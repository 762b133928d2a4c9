/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * json_agree VMSEAL.json QEMU-IMG.json: whether `vmseal chain --json` and
 * `qemu-img info --backing-chain --output=json` describe the same chain
 * with the same keys: the same number of members, and for each member
 * every key either side has (but vmseal's own "vmseal" object) present
 * in both with an equal value, compared recursively (objects key by key,
 * arrays element by element).  Prints every difference as a path
 * ("member 0 format-specific.data.extents[0].cluster-size: vmseal ...,
 * qemu-img ..."); exit 0 when none, 1 when some, 2 when a file is not
 * such an array.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

static const char *show(struct json_object *v)
{
	if (!v)
		return "(absent)";
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE);
}

static int compare(size_t member, const char *path, struct json_object *x,
		   struct json_object *y);

static int differ(size_t member, const char *path, struct json_object *x,
		  struct json_object *y)
{
	char vx[8192];

	snprintf(vx, sizeof(vx), "%s", show(x));
	printf("member %zu %s: vmseal %s, qemu-img %s\n", member, path, vx,
	       show(y));
	return 1;
}

/* Every key of a, looked up in b (and compared when both have it). */
static int keys(size_t member, const char *path, struct json_object *a,
		struct json_object *b, int a_is_vmseal)
{
	int diff = 0;

	json_object_object_foreach(a, k, va) {
		struct json_object *vb = NULL;
		char sub[1024];

		if (!path[0] && !strcmp(k, "vmseal"))
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "",
			 k);
		if (!json_object_object_get_ex(b, k, &vb)) {
			diff |= a_is_vmseal ? differ(member, sub, va, NULL) :
					      differ(member, sub, NULL, va);
			continue;
		}
		if (a_is_vmseal)
			diff |= compare(member, sub, va, vb);
	}
	return diff;
}

static int compare(size_t member, const char *path, struct json_object *x,
		   struct json_object *y)
{
	enum json_type tx = json_object_get_type(x);
	int diff = 0;

	if (tx != json_object_get_type(y))
		return differ(member, path, x, y);
	if (tx == json_type_object)
		return keys(member, path, x, y, 1) | keys(member, path, y, x, 0);
	if (tx == json_type_array) {
		size_t n = json_object_array_length(x);

		if (n != json_object_array_length(y))
			return differ(member, path, x, y);
		for (size_t i = 0; i < n; i++) {
			char sub[1024];

			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			diff |= compare(member, sub,
					json_object_array_get_idx(x, i),
					json_object_array_get_idx(y, i));
		}
		return diff;
	}
	if (strcmp(show(x), show(y)) != 0)
		return differ(member, path, x, y);
	return 0;
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
	for (size_t i = 0; i < n && i < m; i++)
		diff |= compare(i, "", json_object_array_get_idx(a, i),
				json_object_array_get_idx(b, i));
	json_object_put(a);
	json_object_put(b);
	return diff;
}
