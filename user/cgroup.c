// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Cgroup paths as text: membership, and the container id and pod UID that
 * container runtimes write into them. Every byte is the traced side's. */
#include <errno.h>
#include <string.h>

#include "cgroup.h"

#define PID_LIMIT 4194304 /* PID_MAX_LIMIT, include/linux/threads.h */

int cgroup__parse_line(const char *line, size_t len, const char **path, size_t *path_len)
{
	const char *c1 = memchr(line, ':', len), *c2;

	if (!c1 || c1 == line)
		return -EINVAL;
	for (const char *p = line; p < c1; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	c2 = memchr(c1 + 1, ':', len - (c1 + 1 - line));
	/* The path is what is left, ':' included: a name may hold one. */
	if (!c2 || c2 + 1 >= line + len || c2[1] != '/')
		return -EINVAL;
	*path = c2 + 1;
	*path_len = len - (c2 + 1 - line);
	return 0;
}

bool cgroup__path_under(const char *path, size_t len, const char *target)
{
	size_t tlen = strlen(target);

	if (tlen == 1 && target[0] == '/')
		return len >= 1 && path[0] == '/';
	return len >= tlen && !memcmp(path, target, tlen) && (len == tlen || path[tlen] == '/');
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_hex(s[i]))
			return false;
	return true;
}

static bool has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t plen = strlen(prefix);

	return n >= plen && !memcmp(s, prefix, plen);
}

static bool is_name(const char *s, size_t n, const char *name)
{
	return n == strlen(name) && !memcmp(s, name, n);
}

/* The id in one path name: "docker-ID.scope" (systemd driver),
 * "cri-containerd-ID.scope", "crio-ID.scope", "libpod-ID.scope", or a bare
 * ID where the cgroupfs drivers put one (below "docker", or anywhere below
 * kubepods). NULL when the name is none of these. */
static const char *name_id(const char *s, size_t n, bool bare_ok)
{
	static const char *const prefixes[] = {"docker-", "cri-containerd-", "crio-", "libpod-"};
	bool prefixed = false;

	if (n > 6 && !memcmp(s + n - 6, ".scope", 6))
		n -= 6;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]) && !prefixed; i++) {
		if (has_prefix(s, n, prefixes[i])) {
			s += strlen(prefixes[i]);
			n -= strlen(prefixes[i]);
			prefixed = true;
		}
	}
	if ((!prefixed && !bare_ok) || n != CGROUP_ID_LEN || !all_hex(s, n))
		return NULL;
	return s;
}

int cgroup__container_id(const char *path, size_t len, char id[CGROUP_ID_LEN + 1])
{
	const char *p = path, *end = path + len, *prev = NULL, *found = NULL, *got;
	size_t prev_len = 0;
	bool kubepods = false;

	while (p < end) {
		const char *slash = memchr(p, '/', end - p);
		size_t n = (slash ? slash : end) - p;

		if (n) {
			bool bare = kubepods || (prev && is_name(prev, prev_len, "docker"));

			kubepods = kubepods || has_prefix(p, n, "kubepods");
			got = name_id(p, n, bare);
			if (got)
				found = got; /* the deepest: a container in a container */
			prev = p;
			prev_len = n;
		}
		p += n + 1;
	}
	if (!found)
		return -ENOENT;
	memcpy(id, found, CGROUP_ID_LEN);
	id[CGROUP_ID_LEN] = '\0';
	return 0;
}

/* The UID after "pod" in one name ("pod<UID>", "kubepods-besteffort-pod<UID>.slice"):
 * the rest of the name, 32 to 36 hex digits and separators. */
static bool name_pod_uid(const char *s, size_t n, char uid[CGROUP_POD_UID_LEN + 1])
{
	for (size_t i = 0; i + 3 <= n; i++) {
		const char *u = s + i + 3;
		size_t ulen = n - i - 3;

		if (memcmp(s + i, "pod", 3) || (i && s[i - 1] != '-'))
			continue;
		if (ulen > 6 && !memcmp(u + ulen - 6, ".slice", 6))
			ulen -= 6;
		if (ulen < 32 || ulen > CGROUP_POD_UID_LEN)
			continue;
		for (size_t j = 0; j < ulen; j++) {
			if (!is_hex(u[j]) && u[j] != '-' && u[j] != '_')
				goto next;
			uid[j] = u[j] == '_' ? '-' : u[j];
		}
		uid[ulen] = '\0';
		return true;
	next:;
	}
	return false;
}

int cgroup__pod_uid(const char *path, size_t len, char uid[CGROUP_POD_UID_LEN + 1])
{
	const char *p = path, *end = path + len;
	char got[CGROUP_POD_UID_LEN + 1];
	bool kubepods = false, found = false;

	while (p < end) {
		const char *slash = memchr(p, '/', end - p);
		size_t n = (slash ? slash : end) - p;

		kubepods = kubepods || has_prefix(p, n, "kubepods");
		if (kubepods && name_pod_uid(p, n, got)) {
			memcpy(uid, got, sizeof(got));
			found = true;
		}
		p += n + 1;
	}
	return found ? 0 : -ENOENT;
}

size_t cgroup__count_lines(const char *text, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	return n;
}

int cgroup__check_file(const char *text, size_t len, size_t lines)
{
	if (!len || text[len - 1] != '\n' || memchr(text, '\0', len))
		return -EBADMSG;
	return cgroup__count_lines(text, len) == lines ? 0 : -EBADMSG;
}

/* Calls fn on each line's path until it returns true. */
static bool each_path(const char *text, size_t len,
		      bool (*fn)(const char *path, size_t n, void *ctx), void *ctx)
{
	const char *p = text, *end = text + len, *path;
	size_t plen;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		size_t n = (nl ? nl : end) - p;

		if (!cgroup__parse_line(p, n, &path, &plen) && fn(path, plen, ctx))
			return true;
		p += n + 1;
	}
	return false;
}

static bool under_fn(const char *path, size_t n, void *ctx)
{
	return cgroup__path_under(path, n, ctx);
}

bool cgroup__file_under(const char *text, size_t len, const char *target)
{
	return each_path(text, len, under_fn, (void *)target);
}

static bool ident_fn(const char *path, size_t n, void *ctx)
{
	struct cgroup_ident *id = ctx;

	if (!id->container[0])
		cgroup__container_id(path, n, id->container);
	if (!id->pod_uid[0])
		cgroup__pod_uid(path, n, id->pod_uid);
	return id->container[0] && id->pod_uid[0];
}

void cgroup__file_ident(const char *text, size_t len, struct cgroup_ident *id)
{
	id->container[0] = '\0';
	id->pod_uid[0] = '\0';
	each_path(text, len, ident_fn, id);
}

int cgroup__nspid(const char *status, size_t len, __u32 *nspid)
{
	const char *p = status, *end = status + len;
	unsigned long long v = 0;
	size_t fields = 0;
	bool digits = false;

	while (p < end && !(has_prefix(p, end - p, "NSpid:") && (p == status || p[-1] == '\n'))) {
		const char *nl = memchr(p, '\n', end - p);

		p = nl ? nl + 1 : end;
	}
	if (p >= end)
		return -ENOENT;
	for (p += 6; p < end && *p != '\n'; p++) {
		if (*p >= '0' && *p <= '9') {
			if (!digits)
				v = 0;
			v = v > PID_LIMIT ? v : v * 10 + (*p - '0');
			fields += !digits;
			digits = true;
		} else if (*p == ' ' || *p == '\t') {
			digits = false;
		} else {
			return -ENOENT;
		}
	}
	if (fields < 2 || !v || v > PID_LIMIT)
		return -ENOENT;
	*nspid = v;
	return 0;
}

int cgroup__normalize(const char *arg, char *out, size_t size)
{
	size_t n = 0;
	const char *p = arg;

	while (*p) {
		size_t len;

		p += strspn(p, "/");
		len = strcspn(p, "/");
		if (!len)
			break;
		if ((len == 1 && p[0] == '.') || (len == 2 && !memcmp(p, "..", 2)))
			return -EINVAL;
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
				return -EINVAL;
		if (n + 1 + len + 1 > size)
			return -ENAMETOOLONG;
		out[n++] = '/';
		memcpy(out + n, p, len);
		n += len;
		p += len;
	}
	if (!n) {
		if (size < 2)
			return -ENAMETOOLONG;
		out[n++] = '/';
	}
	out[n] = '\0';
	return 0;
}

int cgroup__parse_id_prefix(const char *arg, char out[CGROUP_ID_LEN + 1])
{
	size_t n = strlen(arg);

	if (n < CGROUP_ID_MIN || n > CGROUP_ID_LEN)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = arg[i] >= 'A' && arg[i] <= 'F' ? arg[i] - 'A' + 'a' : arg[i];

		if (!is_hex(c))
			return -EINVAL;
		out[i] = c;
	}
	out[n] = '\0';
	return 0;
}
