// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Leaks 3, 5 and 8 calls below main, and 4 calls deep inside a library loaded on demand:
 * the call chains a stack unwinder must recover in full, frame by frame, in order. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include "target_io.h"

/* Every function stays a real frame: not inlined, not cloned (a clone would be named
 * "d3_b.constprop.0"), and each call is followed by work, so it never becomes a tail jump. */
#define FN	  __attribute__((noinline, noclone))
#define BARRIER() asm volatile("" ::: "memory")
/* The pointer escapes into an asm the compiler cannot see through. */
#define ESCAPE(p) asm volatile("" : : "r"(p) : "memory")

/*
 * Frame shapes, so that an unwinder must follow every kind of CFA the compiler emits:
 * a variable-length array makes GCC keep a frame pointer even with -fomit-frame-pointer
 * (CFA = rbp + 16); the other functions address their frame from rsp (CFA = rsp + N),
 * one of them with a frame over 32 KiB.
 */
static volatile int sink;

#define D3_COUNT 30
#define D3_SIZE	 333
#define D5_COUNT 50
#define D5_SIZE	 555
#define D8_COUNT 80
#define D8_SIZE	 888

static void *volatile kept3[D3_COUNT];
static void *volatile kept5[D5_COUNT];
static void *volatile kept8[D8_COUNT];

/* deep3: main -> d3_a -> d3_b -> d3_leaf -> malloc: 30 x 333 B = 9990 B, 30 objects. */
FN int d3_leaf(int n)
{
	for (int i = 0; i < n; i++) {
		kept3[i] = malloc(D3_SIZE);
		BARRIER();
	}
	return n;
}

FN int d3_b(int n)
{
	volatile char vla[n]; /* rbp-based CFA */
	int r;

	vla[0] = 1;
	r = d3_leaf(n);
	return r + vla[0];
}

FN void d3_a(void)
{
	sink = d3_b(D3_COUNT);
}

/* deep5: main -> d5_a -> d5_b -> d5_c -> d5_d -> d5_leaf -> malloc:
 * 50 x 555 B = 27750 B, 50 objects. */
FN int d5_leaf(int n)
{
	volatile char vla[n]; /* the allocator returns into an rbp-based frame */

	vla[0] = 0;
	for (int i = 0; i < n; i++) {
		kept5[i] = malloc(D5_SIZE);
		BARRIER();
	}
	return n + vla[0];
}

FN int d5_d(int n)
{
	int r = d5_leaf(n);

	BARRIER();
	return r + 1;
}

FN int d5_c(int n)
{
	volatile char vla[n + 16];
	int r;

	vla[n] = 2;
	r = d5_d(n);
	return r + vla[n];
}

FN int d5_b(int n)
{
	int r = d5_c(n);

	BARRIER();
	return r * 3;
}

FN void d5_a(void)
{
	sink = d5_b(D5_COUNT);
}

/* deep8: main -> d8_a -> ... -> d8_g -> d8_leaf -> malloc: 80 x 888 B = 71040 B, 80 objects. */
FN int d8_leaf(int n)
{
	for (int i = 0; i < n; i++) {
		kept8[i] = malloc(D8_SIZE);
		BARRIER();
	}
	return n;
}

FN int d8_g(int n)
{
	int r = d8_leaf(n);

	BARRIER();
	return r + 7;
}

FN int d8_f(int n)
{
	volatile char vla[n];
	int r;

	vla[n - 1] = 6;
	r = d8_g(n);
	return r + vla[n - 1];
}

FN int d8_e(int n)
{
	int r = d8_f(n);

	BARRIER();
	return r ^ 5;
}

FN int d8_d(int n)
{
	char big[40000]; /* CFA = rsp + over 32 KiB */
	int r;

	memset(big, n, sizeof(big));
	ESCAPE(big);
	r = d8_e(n);
	ESCAPE(big);
	return r + big[n];
}

FN int d8_c(int n)
{
	volatile char vla[2 * n];
	int r;

	vla[0] = 3;
	r = d8_d(n);
	return r - vla[0];
}

FN int d8_b(int n)
{
	int r = d8_c(n);

	BARRIER();
	return r | 2;
}

FN void d8_a(void)
{
	sink = d8_b(D8_COUNT);
}

/* dl_deep: main -> dl_a -> dl_b -> [libdeep_dl.so] deep_dl_entry -> deep_dl_b -> deep_dl_c
 * -> deep_dl_leaf -> malloc: 40 x 444 B = 17760 B, 40 objects per run. The library is opened
 * by the first run (later runs reuse it), so a tracer started before sees it appear. It is
 * found through $DEEP_TARGET_DL or next to this executable. */
typedef int (*deep_dl_fn)(int n);

FN int dl_b(deep_dl_fn fn)
{
	int r = fn(40);

	BARRIER();
	return r + 1;
}

/* Opens the library once: NULL on failure, reported. */
static deep_dl_fn open_deep_dl(void)
{
	char path[PATH_MAX + 32], exe[PATH_MAX], *slash;
	const char *env = getenv("DEEP_TARGET_DL");
	deep_dl_fn fn;
	ssize_t n;
	void *h;

	if (env && *env) {
		snprintf(path, sizeof(path), "%s", env);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		snprintf(path, sizeof(path), "%s/libdeep_dl.so", slash ? exe : ".");
	}
	h = dlopen(path, RTLD_NOW);
	if (!h) {
		say("error: dlopen %s: %s\n", path, dlerror());
		return NULL;
	}
	fn = (deep_dl_fn)dlsym(h, "deep_dl_entry");
	if (!fn)
		say("error: dlsym deep_dl_entry: %s\n", dlerror());
	return fn;
}

FN void dl_a(void)
{
	static deep_dl_fn fn;

	if (!fn)
		fn = open_deep_dl();
	if (fn)
		sink = dl_b(fn);
}

static const struct scenario scenarios[] = {
	{"deep3", d3_a, "main -> d3_a -> d3_b -> d3_leaf: 30 x malloc(333) kept"},
	{"deep5", d5_a, "main -> d5_a ... d5_d -> d5_leaf: 50 x malloc(555) kept"},
	{"deep8", d8_a, "main -> d8_a ... d8_g -> d8_leaf: 80 x malloc(888) kept"},
	{"dl_deep", dl_a, "main -> dl_a -> dl_b -> libdeep_dl.so (4 deep): 40 x malloc(444) kept"},
};

#define NSCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

int main(int argc, char **argv)
{
	return target_main("deep_target", scenarios, NSCENARIOS, argc, argv, NULL);
}
