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

namespace app
{

class Cache
{
      public:
	FN void put(const std::string &key, std::size_t size);
	std::size_t entries() const
	{
		return entries_.size();
	}

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

class Server
{
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

static const struct scenario scenarios[] = {
	{"fill", serve_requests, "100 requests into a cache that never evicts"},
};

/* Before "pid": the server object is not part of what a tracer sees. */
static void prepare(const struct scenario *const *, int)
{
	server = new app::Server;
}

int main(int argc, char **argv)
{
	return target_main("cache_target", scenarios, 1, argc, argv, prepare);
}
