// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Terminal-safe text: what a traced process names itself or its code is
 * shown, never obeyed. */
#include <string.h>
#include <linux/types.h>

#include "textsafe.h"

size_t textsafe__utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	__u32 cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates, beyond U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Bytes of the safe character at s, or 0 when its bytes must each be
 * replaced: C0 controls, DEL, C1 controls (U+0080-U+009F, which terminals
 * in UTF-8 mode may obey like ESC [), and invalid UTF-8. */
static size_t safe_len(const unsigned char *s, size_t n)
{
	size_t len = textsafe__utf8_len(s, n);

	if (len == 1 && (s[0] < 0x20 || s[0] == 0x7f))
		return 0;
	if (len == 2 && s[0] == 0xc2 && s[1] < 0xa0)
		return 0;
	return len;
}

void textsafe__put(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, len;

	n = strnlen(s, n);
	for (i = 0; i < n; i += len) {
		len = safe_len(p + i, n - i);
		if (!len) {
			fputc('?', f);
			len = 1;
		} else {
			fwrite(p + i, 1, len, f);
		}
	}
}

char *textsafe__copy(char *dst, size_t len, const char *src)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t i = 0, o = 0, n, clen;

	if (!len)
		return dst;
	n = strlen(src);
	while (i < n) {
		clen = safe_len(p + i, n - i);
		if (o + (clen ? clen : 1) >= len)
			break;
		if (!clen) {
			dst[o++] = '?';
			i++;
		} else {
			memcpy(dst + o, p + i, clen);
			o += clen;
			i += clen;
		}
	}
	dst[o] = '\0';
	return dst;
}
