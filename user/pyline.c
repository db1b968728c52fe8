// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Decodes CPython's three line-table formats, bounds-checked, reading each
 * table the way PyCode_Addr2Line of that version does. */
#include <errno.h>
#include <limits.h>
#include "pyline.h"

/* 3.10 line delta of an instruction range without a line (lnotab_notes.txt). */
#define LINETABLE_NO_LINE -128

/* 3.11+ location entry codes (_PyCodeLocationInfoKind, Include/cpython/code.h). */
#define LOC_ONE_LINE0  10
#define LOC_ONE_LINE2  12
#define LOC_NO_COLUMNS 13
#define LOC_LONG       14
#define LOC_NONE       15

static int add_line(long long *line, long long delta)
{
	*line += delta;
	return *line < INT_MIN || *line > INT_MAX ? -EINVAL : 0;
}

/* 3.6-3.9: (offset increment, line increment) byte pairs, the line increment
 * signed since 3.6 (bpo-26107); each pair's line holds from its offset on. */
static int line_lnotab(const __u8 *t, size_t len, int firstlineno, __u32 offset, int *line)
{
	long long cur = firstlineno;
	__u64 addr = 0;
	size_t i;

	if (len % 2)
		return -EINVAL;
	for (i = 0; i < len; i += 2) {
		addr += t[i];
		if (addr > offset)
			break;
		if (add_line(&cur, (__s8)t[i + 1]))
			return -EINVAL;
	}
	*line = cur;
	return 0;
}

/* 3.10: (range length, line delta) byte pairs; each pair covers the bytes
 * after the previous one, and a delta of -128 leaves the line unchanged but
 * marks the range as having none. Zero-length pairs only carry line deltas
 * beyond +-127. */
static int line_310(const __u8 *t, size_t len, int firstlineno, __u32 offset, int *line)
{
	long long cur = firstlineno;
	__u64 start, end = 0;
	size_t i;

	if (len % 2)
		return -EINVAL;
	for (i = 0; i < len; i += 2) {
		int delta = (__s8)t[i + 1];

		start = end;
		end += t[i];
		if (delta != LINETABLE_NO_LINE && add_line(&cur, delta))
			return -EINVAL;
		if (start <= offset && offset < end) {
			if (delta == LINETABLE_NO_LINE)
				return -ENOENT;
			*line = cur;
			return 0;
		}
	}
	return -ENOENT;
}

struct cursor {
	const __u8 *t;
	size_t len, pos;
};

/* A byte after an entry's first: present and with bit 7 clear, since a set
 * bit 7 starts the next entry. */
static int next_byte(struct cursor *c, __u8 *b)
{
	if (c->pos >= c->len || (c->t[c->pos] & 0x80))
		return -EINVAL;
	*b = c->t[c->pos++];
	return 0;
}

/* 6-bit chunks, least significant first, bit 6 set on all but the last;
 * at most 6 chunks (36 bits) so the value cannot overflow. */
static int read_varint(struct cursor *c, __u64 *val)
{
	unsigned int shift = 0;
	__u8 b;

	*val = 0;
	do {
		if (shift > 30 || next_byte(c, &b))
			return -EINVAL;
		*val |= (__u64)(b & 0x3f) << shift;
		shift += 6;
	} while (b & 0x40);
	return 0;
}

/* Zigzag-like: bit 0 is the sign, the rest the magnitude. */
static int read_svarint(struct cursor *c, long long *val)
{
	__u64 u;

	if (read_varint(c, &u))
		return -EINVAL;
	*val = u & 1 ? -(long long)(u >> 1) : (long long)(u >> 1);
	return 0;
}

/* One location entry's start-line delta; moves the cursor past the entry. */
static int location_delta(struct cursor *c, int code, long long *delta)
{
	__u64 skip;
	__u8 b;
	int i;

	*delta = 0;
	if (code < LOC_ONE_LINE0) /* short form: one column byte */
		return next_byte(c, &b);
	if (code <= LOC_ONE_LINE2) { /* one-line form: two column bytes */
		*delta = code - LOC_ONE_LINE0;
		return next_byte(c, &b) || next_byte(c, &b) ? -EINVAL : 0;
	}
	if (code == LOC_NONE)
		return 0;
	if (read_svarint(c, delta))
		return -EINVAL;
	if (code == LOC_LONG) /* end-line delta, start and end columns */
		for (i = 0; i < 3; i++)
			if (read_varint(c, &skip))
				return -EINVAL;
	return 0;
}

/* 3.11+: entries of 1 + n bytes, the first 1cccclll: code c, length l + 1 in
 * 2-byte code units; line deltas are from the previous entry's start line,
 * and code 15 entries (no location) carry none. */
static int line_locations(const __u8 *t, size_t len, int firstlineno, __u32 offset, int *line)
{
	struct cursor c = {.t = t, .len = len};
	__u32 unit = offset / 2;
	long long cur = firstlineno, delta;
	__u64 end = 0;

	while (c.pos < c.len) {
		__u8 first = c.t[c.pos++];
		int code = (first >> 3) & 0xf;

		if (!(first & 0x80) || location_delta(&c, code, &delta) || add_line(&cur, delta))
			return -EINVAL;
		end += (first & 7) + 1;
		if (unit < end) {
			if (code == LOC_NONE)
				return -ENOENT;
			*line = cur;
			return 0;
		}
	}
	return -ENOENT;
}

int pyline__line(enum pyline_format fmt, const __u8 *table, size_t len, int firstlineno,
		 __u32 offset, int *line)
{
	if (!table && len)
		return -EINVAL;
	switch (fmt) {
	case PYLINE_LNOTAB:
		return line_lnotab(table, len, firstlineno, offset, line);
	case PYLINE_LINETABLE_310:
		return line_310(table, len, firstlineno, offset, line);
	case PYLINE_LOCATIONS:
		return line_locations(table, len, firstlineno, offset, line);
	default:
		return -EINVAL;
	}
}

int pyline__format(int major, int minor, enum pyline_format *fmt)
{
	if (major != 3 || minor < 6 || minor > 13)
		return -ENOTSUP;
	if (minor <= 9)
		*fmt = PYLINE_LNOTAB;
	else if (minor == 10)
		*fmt = PYLINE_LINETABLE_310;
	else
		*fmt = PYLINE_LOCATIONS;
	return 0;
}
