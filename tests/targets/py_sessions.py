# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Python target for test_python_sites: a Kafka-consumer-like worker whose per-session lists
# only grow. Prints "pid <PID>", then consumes messages until killed: Consumer.consume() calls
# Consumer.on_message() in a loop, which keeps a fresh 700-character str per message
# (payload * 700 at run time: 700 B plus the str header, above pymalloc's 512 B, so a malloc
# each). The test finds the lines it expects by their "# site:" comments. Runs on 3.6+.
import os, time

NSESSIONS = 16
BATCH = 20


class Consumer(object):
    def __init__(self):
        self.sessions = {}
        for sid in range(NSESSIONS):
            self.sessions[sid] = []

    def on_message(self, session_id, payload):
        self.sessions[session_id].append(payload * 700)  # site: on_message append

    def consume(self, n):
        for i in range(n):
            self.on_message(i % NSESSIONS, "m")  # site: consume call


consumer = Consumer()
print("pid %d" % os.getpid(), flush=True)
while True:
    consumer.consume(BATCH)  # site: main loop
    time.sleep(0.005)
