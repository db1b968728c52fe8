// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for the pprof encoder: interned strings, functions, mappings and
 * locations, then the gzipped profile decoded back with protobuf-c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "output.h"
#include <cmocka.h>

#include "pprof.h"
#include "profile.pb-c.h"

static void test_strings(void **state)
{
	struct pprof *p = pprof__new(1);

	(void)state;
	assert_non_null(p);
	assert_int_equal(pprof__string(p, ""), 0);
	assert_int_equal(pprof__string(p, NULL), 0);
	assert_int_equal(pprof__string(p, "malloc"), 1);
	assert_int_equal(pprof__string(p, "main"), 2);
	/* The same string, even from another buffer, is the same index. */
	char copy[] = "malloc";
	assert_int_equal(pprof__string(p, copy), 1);
	/* Many strings: the table grows and keeps every index. */
	for (int i = 0; i < 5000; i++) {
		char s[16];

		snprintf(s, sizeof(s), "fn%d", i);
		assert_int_equal(pprof__string(p, s), 3 + i);
	}
	assert_int_equal(pprof__string(p, "fn1234"), 3 + 1234);
	assert_int_equal(pprof__string(p, "main"), 2);
	pprof__free(p);
}

static void test_ids(void **state)
{
	struct pprof *p = pprof__new(1);
	__s64 f1, f2, f3, m1, m2, l1, l2, l3;

	(void)state;
	f1 = pprof__function(p, "leak", "app.c");
	f2 = pprof__function(p, "leak", "other.c");
	f3 = pprof__function(p, "leak", "app.c");
	assert_int_equal(f1, 1);
	assert_int_equal(f2, 2); /* another file: another function */
	assert_int_equal(f3, 1);
	m1 = pprof__mapping(p, "/bin/app", "abcd");
	m2 = pprof__mapping(p, "/bin/app", NULL);
	assert_int_equal(m1, 1);
	assert_int_equal(m2, 2);
	assert_int_equal(pprof__mapping(p, "/bin/app", "abcd"), 1);
	l1 = pprof__location(p, m1, 0x1234, f1, 21);
	l2 = pprof__location(p, m1, 0x1234, f1, 22);
	l3 = pprof__location(p, m1, 0x1234, f1, 21);
	assert_int_equal(l1, 1);
	assert_int_equal(l2, 2);
	assert_int_equal(l3, 1);
	assert_int_equal(pprof__location(p, 0, 0, f2, 7), 3);
	pprof__free(p);
}

/* The gzipped profile in buf, unpacked. */
static Perftools__Profiles__Profile *decode(const char *buf, size_t len)
{
	static unsigned char raw[1 << 20];
	z_stream z = {.next_in = (Bytef *)buf,
		      .avail_in = len,
		      .next_out = raw,
		      .avail_out = sizeof(raw)};

	/* 31: a gzip wrapper is required, as go tool pprof finds it. */
	assert_int_equal(inflateInit2(&z, 31), Z_OK);
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	inflateEnd(&z);
	return perftools__profiles__profile__unpack(NULL, sizeof(raw) - z.avail_out, raw);
}

static const char *str(const Perftools__Profiles__Profile *pr, __s64 i)
{
	assert_true(i >= 0 && (size_t)i < pr->n_string_table);
	return pr->string_table[i];
}

/* The row's labels as written by --format pprof: "container" is the short id
 * of its process's container, and left out for a process in none. */
static void test_container_label(void **state)
{
	static struct report_row rows[2];
	struct report_header hdr = {.time = 1795257662, .interval_s = 10};
	Perftools__Profiles__Profile *pr;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	rows[0].site.pid = 4242;
	strcpy(rows[0].site.comm, "app");
	strcpy(rows[0].site.container, "0123456789ab");
	rows[0].nprocs = 1;
	rows[1].site.pid = 4243;
	strcpy(rows[1].site.comm, "host");
	rows[1].nprocs = 1;
	assert_int_equal(output_pprof.write(f, &hdr, rows, 2), 0);
	fclose(f);
	pr = decode(buf, len);
	assert_non_null(pr);
	assert_int_equal(pr->n_sample, 2);
	assert_int_equal(pr->sample[0]->n_label, 3);
	assert_string_equal(str(pr, pr->sample[0]->label[2]->key), "container");
	assert_string_equal(str(pr, pr->sample[0]->label[2]->str), "0123456789ab");
	assert_int_equal(pr->sample[1]->n_label, 2);
	assert_string_equal(str(pr, pr->sample[1]->label[1]->key), "comm");
	perftools__profiles__profile__free_unpacked(pr, NULL);
	free(buf);
}

static void test_roundtrip(void **state)
{
	struct pprof *p = pprof__new(2);
	struct pprof_label labels[] = {{"pid", "4242"}, {"comm", "app"}};
	__s64 values[2] = {1000, 100000};
	__u64 locs[3];
	Perftools__Profiles__Profile *pr;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_int_equal(pprof__sample_type(p, "inuse_objects", "count"), 0);
	assert_int_equal(pprof__sample_type(p, "inuse_space", "bytes"), 0);
	pprof__set_time(p, 1795257662000000000LL, 10000000000LL);
	locs[0] = pprof__location(p, pprof__mapping(p, "/lib/libc.so.6", "beef"), 0x9a0f0,
				  pprof__function(p, "malloc", NULL), 0);
	locs[1] = pprof__location(p, pprof__mapping(p, "/bin/app", NULL), 0x1150,
				  pprof__function(p, "leak_malloc", "app.c"), 42);
	locs[2] = pprof__location(p, 0, 0, pprof__function(p, "handler", "views.py"), 12);
	assert_int_equal(pprof__sample(p, locs, 3, values, labels, 2), 0);
	assert_int_equal(pprof__sample(p, locs + 1, 2, values, labels, 1), 0);
	assert_int_equal(pprof__write(p, f), 0);
	fclose(f);
	pprof__free(p);

	pr = decode(buf, len);
	assert_non_null(pr);
	assert_string_equal(str(pr, 0), "");
	assert_int_equal(pr->n_sample_type, 2);
	assert_string_equal(str(pr, pr->sample_type[1]->type), "inuse_space");
	assert_string_equal(str(pr, pr->sample_type[1]->unit), "bytes");
	assert_int_equal(pr->time_nanos, 1795257662000000000LL);
	assert_int_equal(pr->duration_nanos, 10000000000LL);
	assert_int_equal(pr->n_sample, 2);
	assert_int_equal(pr->sample[0]->n_location_id, 3);
	assert_int_equal(pr->sample[0]->location_id[0], 1);
	assert_int_equal(pr->sample[0]->value[1], 100000);
	assert_int_equal(pr->sample[0]->n_label, 2);
	assert_string_equal(str(pr, pr->sample[0]->label[0]->key), "pid");
	assert_string_equal(str(pr, pr->sample[0]->label[0]->str), "4242");
	assert_int_equal(pr->n_location, 3);
	assert_int_equal(pr->n_function, 3);
	assert_int_equal(pr->n_mapping, 2);
	/* Location 2: leak_malloc at app.c:42, offset 0x1150 of /bin/app, whose
	 * mapping covers it. */
	assert_int_equal(pr->location[1]->id, 2);
	assert_int_equal(pr->location[1]->address, 0x1150);
	assert_int_equal(pr->location[1]->mapping_id, 2);
	assert_int_equal(pr->location[1]->line[0]->line, 42);
	assert_int_equal(pr->location[1]->line[0]->function_id, 2);
	assert_string_equal(str(pr, pr->function[1]->name), "leak_malloc");
	assert_string_equal(str(pr, pr->function[1]->filename), "app.c");
	assert_string_equal(str(pr, pr->mapping[1]->filename), "/bin/app");
	assert_true(pr->mapping[1]->memory_limit > 0x1150);
	assert_true(pr->mapping[1]->has_functions);
	assert_string_equal(str(pr, pr->mapping[0]->build_id), "beef");
	/* The Python frame: no mapping, its function in views.py, line 12. */
	assert_int_equal(pr->location[2]->mapping_id, 0);
	assert_string_equal(str(pr, pr->function[2]->filename), "views.py");
	assert_int_equal(pr->location[2]->line[0]->line, 12);
	/* Every string once. */
	for (size_t i = 0; i < pr->n_string_table; i++)
		for (size_t j = i + 1; j < pr->n_string_table; j++)
			assert_string_not_equal(pr->string_table[i], pr->string_table[j]);
	perftools__profiles__profile__free_unpacked(pr, NULL);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_container_label),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
