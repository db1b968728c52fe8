// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The census's type checks on crafted memory (3.11 and 3.6 layouts): an object found at
 * the offset its type's flags give (plain, after the GC header, after 3.11's pre-header),
 * a metatype, and what is refused: a pointer to no type, a type at the wrong offset, a
 * metatype loop, a name with no NUL; a hostile name is made safe. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pytype.h"

#define BASE	  0x10000ULL
#define TYPE_TYPE 0x10000ULL /* PyType_Type: its own type */
#define INT_TYPE  0x10400ULL
#define LIST_TYPE 0x10800ULL
#define META	  0x10c00ULL /* a metatype */
#define CLASS	  0x11000ULL /* of type META, with a managed dict (3.11) */
#define LOOP_A	  0x11400ULL /* types of each other */
#define LOOP_B	  0x11800ULL
#define NONAME	  0x11c00ULL
#define EVIL	  0x12000ULL
#define NAMES	  0x13000ULL /* the names, 0x100 apart */
#define MEM_SIZE  0x4000

static __u8 mem[MEM_SIZE];
static int reads;

static int fake_read(void *ctx, __u64 addr, void *buf, size_t len)
{
	(void)ctx;
	reads++;
	if (addr < BASE || addr + len > BASE + MEM_SIZE)
		return -EFAULT;
	memcpy(buf, mem + (addr - BASE), len);
	return 0;
}

static void put(__u64 addr, __u64 v)
{
	memcpy(mem + (addr - BASE), &v, sizeof(v));
}

static void type_at(const struct py_heap_layout *h, __u64 at, __u64 type, __u64 flags, int name,
		    const char *text)
{
	put(at + h->ob_type, type);
	put(at + h->tp_basicsize, 32);
	put(at + h->tp_flags, flags);
	put(at + h->tp_name, NAMES + name * 0x100);
	memcpy(mem + (NAMES + name * 0x100 - BASE), text, strlen(text) + 1);
}

static const struct py_heap_layout *craft(int minor, struct pytypes *t)
{
	const struct py_heap_layout *h = &pyoffsets__find(3, minor)->heap;
	const struct pytype_source src = {.read = fake_read};

	memset(mem, 0, sizeof(mem));
	type_at(h, TYPE_TYPE, TYPE_TYPE, h->flag_gc | h->flag_type_subclass, 0, "type");
	type_at(h, INT_TYPE, TYPE_TYPE, 0, 1, "int");
	type_at(h, LIST_TYPE, TYPE_TYPE, h->flag_gc, 2, "list");
	type_at(h, META, TYPE_TYPE, h->flag_gc | h->flag_type_subclass, 3, "Meta");
	type_at(h, CLASS, META, h->flag_gc | h->flag_preheader, 4, "Record");
	type_at(h, LOOP_A, LOOP_B, h->flag_type_subclass, 5, "A");
	type_at(h, LOOP_B, LOOP_A, h->flag_type_subclass, 6, "B");
	type_at(h, NONAME, TYPE_TYPE, 0, 7, "x");
	memset(mem + (NAMES + 7 * 0x100 - BASE), 'x', 0x100 + 0x100); /* no NUL */
	type_at(h, EVIL, TYPE_TYPE, 0, 9, "evil\x1b[2J");
	pytypes__reset(t, h, TYPE_TYPE, &src);
	return h;
}

/* A block holding an object of type at offset off. */
static struct pytype *block(struct pytypes *t, const struct py_heap_layout *h, __u32 off,
			    __u64 type, __u32 *hint)
{
	static __u8 b[128];

	memset(b, 0, sizeof(b));
	memcpy(b + off + h->ob_type, &type, sizeof(type));
	return pytypes__classify(t, b, sizeof(b), hint);
}

static void test_offsets(void **state)
{
	struct pytypes t = {};
	const struct py_heap_layout *h = craft(11, &t);
	struct pytype *p;
	__u32 hint = 0;

	(void)state;
	p = block(&t, h, 0, INT_TYPE, &hint);
	assert_non_null(p);
	assert_string_equal(p->name, "int");
	assert_int_equal(hint, 0);
	p = block(&t, h, 16, LIST_TYPE, &hint); /* after the GC header */
	assert_non_null(p);
	assert_string_equal(p->name, "list");
	assert_int_equal(hint, 16);
	p = block(&t, h, 32, CLASS, &hint); /* after the pre-header and the GC header */
	assert_non_null(p);
	assert_string_equal(p->name, "Record");
	assert_int_equal(hint, 32);
	/* a type where its flags do not put the object */
	assert_null(block(&t, h, 0, LIST_TYPE, &hint));
	assert_null(block(&t, h, 16, INT_TYPE, &hint));
	assert_null(block(&t, h, 16, CLASS, &hint));
	pytypes__free(&t);

	h = craft(6, &t); /* 3.6: a 32-byte GC header, no pre-header */
	hint = 0;
	p = block(&t, h, 32, LIST_TYPE, &hint);
	assert_non_null(p);
	assert_int_equal(p->offset, 32);
	assert_null(block(&t, h, 16, LIST_TYPE, &hint));
	pytypes__free(&t);
}

static void test_refused(void **state)
{
	struct pytypes t = {};
	const struct py_heap_layout *h = craft(11, &t);
	struct pytype *p;
	__u32 hint = 0;

	(void)state;
	assert_null(pytypes__lookup(&t, 0));
	assert_null(pytypes__lookup(&t, INT_TYPE + 4)); /* misaligned */
	assert_null(pytypes__lookup(&t, NAMES));	/* its "type" is a name's bytes */
	assert_null(pytypes__lookup(&t, 0x900000));	/* unreadable */
	assert_null(pytypes__lookup(&t, LOOP_A));	/* a metatype loop */
	assert_null(pytypes__lookup(&t, NONAME));	/* no NUL */
	assert_null(block(&t, h, 0, 0x12345678, &hint));
	p = pytypes__lookup(&t, EVIL);
	assert_non_null(p);
	assert_string_equal(p->name, "evil?[2J");
	/* a metatype is followed: Record's type is Meta */
	assert_non_null(pytypes__lookup(&t, CLASS));
	assert_non_null(pytypes__lookup(&t, INT_TYPE));
	/* each address is read once per census */
	reads = 0;
	assert_null(pytypes__lookup(&t, LOOP_A));
	assert_non_null(pytypes__lookup(&t, INT_TYPE));
	assert_int_equal(reads, 0);
	/* a new census forgets them */
	pytypes__reset(&t, h, TYPE_TYPE, &t.src);
	assert_non_null(pytypes__lookup(&t, INT_TYPE));
	assert_int_not_equal(reads, 0);
	pytypes__free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
