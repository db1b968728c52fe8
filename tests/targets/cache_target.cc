// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A C++ cache that never evicts: each request stores a 3000-byte value, allocated through
 * operator new (libstdc++) inside app::Cache::put, called by app::Server::handle. */
#include <cstddef>
#include <cstdlib>
#include <string>
#include <unordered_map>
#include <vector>

#include "target_io.h"

#define FN	  __attribute__((noinline, noclone))
#define BARRIER() asm volatile("" ::: "memory")

namespace app {

class Cache {
public:
	FN void put(const std::string &key, std::size_t size);
	std::size_t entries() const { return entries_.size(); }

private:
	std::unordered_map<std::string, std::vector<char>> entries_;
};

/* The value's buffer: operator new(size) called from here (the vector code is inlined). */
void Cache::put(const std::string &key, std::size_t size)
{
	std::vector<char> value(size);

	value[0] = key[0];
	BARRIER();
	entries_[key] = std::move(value);
}

class Server {
public:
	FN int handle(int request);

private:
	Cache cache_;
};

int Server::handle(int request)
{
	/* Keys up to 15 characters stay in the string itself (no allocation). */
	std::string key = "k" + std::to_string(request);

	cache_.put(key, 3000);
	BARRIER();
	return (int)cache_.entries();
}

} // namespace app

static app::Server *server;
static volatile int sink;

#define FILL_REQUESTS 100

/* fill: main -> serve_requests -> app::Server::handle -> app::Cache::put -> operator new
 * -> malloc: 100 x 3000 B kept (300000 B, 100 objects), plus the map's nodes and buckets. */
FN static void serve_requests(void)
{
	for (int i = 0; i < FILL_REQUESTS; i++) {
		sink = server->handle(i);
		BARRIER();
	}
}

int main(int argc, char **argv)
{
	bool wait = true;

	if (argc == 3 && !strcmp(argv[1], "--no-wait")) {
		wait = false;
		argv++;
	} else if (argc != 2) {
		argv[1] = NULL;
	}
	if (!argv[1] || strcmp(argv[1], "fill")) {
		dprintf(STDERR_FILENO, "usage: cache_target [--no-wait] fill\n"
				       "Prints \"pid <PID>\", runs fill after a line on stdin\n"
				       "(then prints \"done fill\"), exits after one more line.\n");
		return 2;
	}
	/* Before "pid": the server object is not part of what a tracer sees. */
	server = new app::Server;
	say("pid %d\n", (int)getpid());
	if (wait && wait_line() < 0)
		return 0;
	serve_requests();
	say("done fill\n");
	if (wait)
		wait_line();
	return 0;
}
