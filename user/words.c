// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* -c CMD split as a POSIX shell splits words (XCU 2.2 Quoting), with the
 * expansions and operators a shell would apply refused instead of ignored. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "words.h"

/* Special to a shell anywhere in a word, and at its start. */
#define SPECIAL	      "|&;<>()$`*?["
#define SPECIAL_START "#~"

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* One pass: counts words and bytes (words NULL), or writes them. The text
 * (n bytes with the NULs) follows the vector in the same block. */
static int split(const char *s, char **words, char *text, size_t *nwords, size_t *nbytes, char *why,
		 size_t len)
{
	size_t w = 0, b = 0;
	const char *p = s;

	for (;;) {
		bool started = false;

		while (blank(*p))
			p++;
		if (!*p)
			break;
		if (words)
			words[w] = text + b;
		while (*p && !blank(*p)) {
			char q = *p;

			if (q == '\'' || q == '"') {
				const char *open = p++;

				while (*p && *p != q) {
					if (q == '"' && *p == '\\' && p[1] &&
					    strchr("\"\\$`\n", p[1]))
						p++;
					if (words)
						text[b] = *p;
					b++;
					p++;
				}
				if (!*p) {
					snprintf(why, len, "unterminated %c at offset %zu", q,
						 (size_t)(open - s));
					return -EINVAL;
				}
				p++;
			} else if (q == '\\') {
				if (!p[1]) {
					snprintf(why, len, "a backslash ends it");
					return -EINVAL;
				}
				if (words)
					text[b] = p[1];
				b++;
				p += 2;
			} else if (strchr(SPECIAL, q) || (!started && strchr(SPECIAL_START, q))) {
				snprintf(why, len,
					 "'%c' means something to a shell, and CMD runs without "
					 "one: quote it, or give sh -c '...' as CMD",
					 q);
				return -EINVAL;
			} else {
				if (words)
					text[b] = q;
				b++;
				p++;
			}
			started = true;
		}
		if (words)
			text[b] = '\0';
		b++;
		w++;
	}
	*nwords = w;
	*nbytes = b;
	return 0;
}

int words__split(const char *s, char ***out, char *why, size_t len)
{
	size_t nwords, nbytes;
	char **words;
	int err;

	err = split(s, NULL, NULL, &nwords, &nbytes, why, len);
	if (err)
		return err;
	if (!nwords) {
		snprintf(why, len, "it names no program");
		return -EINVAL;
	}
	words = malloc((nwords + 1) * sizeof(*words) + nbytes);
	if (!words)
		return -ENOMEM;
	split(s, words, (char *)(words + nwords + 1), &nwords, &nbytes, why, len);
	words[nwords] = NULL;
	*out = words;
	return 0;
}

bool words__assignment(const char *w)
{
	const char *c = w;

	if (!c)
		return false;
	if (!isalpha((unsigned char)*c) && *c != '_')
		return false;
	while (isalnum((unsigned char)*c) || *c == '_')
		c++;
	return *c == '=';
}

const char *words__program(char *const *w)
{
	while (words__assignment(*w))
		w++;
	return *w;
}
