// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The table of report formats and where their reports go: appended to one
 * stream (text, JSON), or each replacing a file as a whole (profiles). */
#define _GNU_SOURCE /* mkostemp */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "log.h"
#include "output.h"
#include "push.h"
#include "termwidth.h"

static int write_text(FILE *f, const struct report_header *hdr, const struct report_row *rows,
		      size_t nrows)
{
	struct report_header h = *hdr;

	h.cols = termwidth__cols(fileno(f));
	report__print_text(f, &h, rows, nrows);
	return 0;
}

static int write_json(FILE *f, const struct report_header *hdr, const struct report_row *rows,
		      size_t nrows)
{
	report__print_json(f, hdr, rows, nrows);
	return 0;
}

static const struct output_ops output_text = {.name = "text", .write = write_text};
static const struct output_ops output_json = {.name = "json", .write = write_json};

/* The formats, the first the default. --format and --help follow this table. */
static const struct output_ops *const outputs[] = {
	&output_text,
	&output_json,
	&output_folded,
	&output_pprof,
};
#define NOUTPUTS (sizeof(outputs) / sizeof(outputs[0]))

const struct output_ops *output__find(const char *name)
{
	for (size_t i = 0; i < NOUTPUTS; i++)
		if (!strcmp(outputs[i]->name, name))
			return outputs[i];
	return NULL;
}

const char *output__names(void)
{
	static char buf[128];
	size_t n = 0;

	if (buf[0])
		return buf;
	for (size_t i = 0; i < NOUTPUTS; i++)
		n += snprintf(buf + n, sizeof(buf) - n, "%s%s",
			      !i		 ? ""
			      : i + 1 < NOUTPUTS ? ", "
						 : " or ",
			      outputs[i]->name);
	return buf;
}

/* A new file beside path, named ".BASE.XXXXXX": made with O_EXCL (mkostemp),
 * so nothing already there, a symlink planted by another user included, is
 * followed or truncated. */
static int temp_beside(const char *path, char *tmp, size_t len, int *fd)
{
	const char *slash = strrchr(path, '/');
	int n, dirlen = slash ? (int)(slash - path) + 1 : 0;

	n = snprintf(tmp, len, "%.*s.%s.XXXXXX", dirlen, path, slash ? slash + 1 : path);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	*fd = mkostemp(tmp, O_CLOEXEC);
	return *fd < 0 ? -errno : 0;
}

int output__replace(const char *path, const struct output_ops *ops, const struct report_header *hdr,
		    const struct report_row *rows, size_t nrows)
{
	char tmp[PATH_MAX];
	mode_t mask;
	FILE *f = NULL;
	int fd, err;

	err = temp_beside(path, tmp, sizeof(tmp), &fd);
	if (err)
		return err;
	/* mkostemp makes the file 0600; a profile is read by viewers run as
	 * other users, as the text written with fopen() would be. */
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0644 & ~mask) || !(f = fdopen(fd, "w"))) {
		err = -errno;
		close(fd);
		goto cleanup;
	}
	err = ops->write(f, hdr, rows, nrows);
	if (!err && (fflush(f) || ferror(f)))
		err = errno ? -errno : -EIO;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
cleanup:
	if (err)
		unlink(tmp);
	return err;
}

int output__open(struct output *o, const struct output_ops *ops, const char *path)
{
	char tmp[PATH_MAX];
	int fd, err = 0;

	*o = (struct output){.ops = ops, .path = path, .stream = stdout};
	if (ops->binary && !path) {
		log_msg("--format %s writes a file: give it with -o FILE\n", ops->name);
		return -EINVAL;
	}
	if (!path)
		return 0;
	if (ops->whole) {
		/* Fail now, not at the first report, if no file can be made there. */
		o->stream = NULL;
		err = temp_beside(path, tmp, sizeof(tmp), &fd);
		if (!err) {
			close(fd);
			unlink(tmp);
		}
	} else {
		o->stream = fopen(path, "w");
		if (!o->stream)
			err = -errno;
	}
	if (err)
		log_msg("cannot open %s: %s\n", path, strerror(-err));
	return err;
}

int output__push(struct output *o, const char *url, const char *app)
{
	o->push = push__new(url, app);
	if (!o->push) {
		log_msg("cannot set up --push %s: %s\n", url, strerror(errno));
		return -errno;
	}
	return 0;
}

/* The report as a pprof profile in memory, POSTed. */
static void push_report(struct output *o, const struct report_header *hdr,
			const struct report_row *rows, size_t nrows)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err;

	if (!f) {
		log_msg("push: %s\n", strerror(errno));
		return;
	}
	err = output_pprof.write(f, hdr, rows, nrows);
	if (fclose(f) && !err)
		err = -errno;
	if (err)
		log_msg("push: cannot encode the profile: %s\n", strerror(-err));
	else
		push__send(o->push, buf, len, hdr->time - hdr->interval_s, hdr->time);
	free(buf);
}

int output__write(struct output *o, const struct report_header *hdr, const struct report_row *rows,
		  size_t nrows)
{
	int err;

	if (o->push)
		push_report(o, hdr, rows, nrows);

	if (!o->stream) {
		err = output__replace(o->path, o->ops, hdr, rows, nrows);
		o->nwritten += !err;
		return err;
	}
	/* Profiles on one stream: a blank line between two, where a script
	 * splits them (flamegraph.pl skips it, reading all as one). */
	if (o->ops->whole && o->nwritten)
		fputc('\n', o->stream);
	err = o->ops->write(o->stream, hdr, rows, nrows);
	/* The reader went away (a closed pipe) or the disk filled: stop. */
	if (!err && (fflush(o->stream) || ferror(o->stream)))
		err = errno ? -errno : -EIO;
	o->nwritten += !err;
	return err;
}

FILE *output__tty(const struct output *o)
{
	return o->stream && isatty(fileno(o->stream)) ? o->stream : NULL;
}

void output__close(struct output *o)
{
	push__free(o->push);
	o->push = NULL;
	if (o->stream && o->stream != stdout)
		fclose(o->stream);
	o->stream = NULL;
}

void output__frame_name(const struct sym_frame *fr, char *buf, size_t len)
{
	bool named = fr->symbol && fr->symbol[0] && strcmp(fr->symbol, "[unknown]");

	if (named)
		snprintf(buf, len, "%s", fr->symbol);
	else if (fr->path) /* as text reports name code of a file without symbols */
		snprintf(buf, len, "%s+0x%llx", fr->module ? fr->module : "[unknown]",
			 (unsigned long long)fr->file_offset);
	else
		snprintf(buf, len, "0x%llx", (unsigned long long)fr->addr);
}
