// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Pyroscope's ingest API: POST /ingest?name=APP{labels}&from=&until=&format=pprof
 * with the gzipped profile as the body. libcurl speaks HTTP (and HTTPS). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>

#include "log.h"
#include "push.h"

/* A report waits for the POST: a server that does not answer costs at most
 * this much of one interval, then the report is dropped and tracing goes on. */
#define PUSH_TIMEOUT_S 10

struct push {
	CURL *curl;
	struct curl_slist *headers;
	char *base; /* the URL, without a trailing '/' */
	char *name; /* "APP{hostname=H}", percent-encoded */
};

static char *encoded_name(CURL *curl, const char *app)
{
	char host[256] = "", name[512];

	gethostname(host, sizeof(host) - 1);
	/* Series labels of the whole profile; comm and pid are the samples'. */
	snprintf(name, sizeof(name), "%s{hostname=%s}", app, host);
	return curl_easy_escape(curl, name, 0);
}

struct push *push__new(const char *url, const char *app)
{
	struct push *p = calloc(1, sizeof(*p));
	size_t n;

	if (!p)
		return NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) || !(p->curl = curl_easy_init()))
		goto fail;
	p->base = strdup(url);
	p->name = encoded_name(p->curl, app);
	p->headers = curl_slist_append(NULL, "Content-Type: application/octet-stream");
	if (!p->base || !p->name || !p->headers)
		goto fail;
	n = strlen(p->base);
	while (n && p->base[n - 1] == '/')
		p->base[--n] = '\0';
	curl_easy_setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(p->curl, CURLOPT_TIMEOUT, (long)PUSH_TIMEOUT_S);
	curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, p->headers);
	/* The URL comes from the command line: no redirect to another host or scheme. */
	curl_easy_setopt(p->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(p->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	return p;
fail:
	push__free(p);
	errno = ENOMEM;
	return NULL;
}

void push__free(struct push *p)
{
	if (!p)
		return;
	curl_slist_free_all(p->headers);
	curl_free(p->name);
	free(p->base);
	if (p->curl) {
		curl_easy_cleanup(p->curl);
		curl_global_cleanup();
	}
	free(p);
}

int push__url(const struct push *p, double from, double until, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/ingest?name=%s&from=%lld&until=%lld&format=pprof", p->base,
			 p->name, (long long)from, (long long)until);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int push__send(struct push *p, const void *body, size_t len, double from, double until)
{
	char url[4096];
	long status = 0;
	CURLcode rc;
	int err;

	err = push__url(p, from, until, url, sizeof(url));
	if (err)
		return err;
	curl_easy_setopt(p->curl, CURLOPT_URL, url);
	curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	rc = curl_easy_perform(p->curl);
	if (rc != CURLE_OK) {
		log_msg("push to %s failed: %s\n", p->base, curl_easy_strerror(rc));
		return rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
		       : rc == CURLE_COULDNT_CONNECT  ? -ECONNREFUSED
						      : -EIO;
	}
	curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status >= 300) {
		log_msg("push to %s failed: HTTP status %ld\n", p->base, status);
		return -EIO;
	}
	return 0;
}
