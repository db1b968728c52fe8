# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Python target for test_python_rows, in the targets' protocol: prints "pid <PID>", then per
# "go" line keeps DOCS json.loads results in a list and says "done json". Each document
# holds strings of LENGTHS characters at different depths (in the object, in a list, in a
# nested object, in a list in a list), so the C decoder reaches malloc by as many native
# paths: each str is past pymalloc's 512 bytes. Prints "strings N chars M" once: the count
# and total characters of those strings per "go".
import json, os, sys

DOCS = 200
LENGTHS = (600, 700, 800, 900, 1000, 1100)
kept = []


def document(i):
    s = [chr(ord("a") + (i + k) % 26) * n for k, n in enumerate(LENGTHS)]
    return json.dumps({"a": s[0], "b": [s[1], {"c": s[2]}], "d": {"e": s[3], "f": [[s[4]]]},
                       "g": [1, 2, {"h": [s[5]]}]})


texts = [document(i) for i in range(DOCS)]
print("pid %d" % os.getpid(), flush=True)
print("strings %d chars %d" % (DOCS * len(LENGTHS), DOCS * sum(LENGTHS)), flush=True)


def keep(docs):
    for t in docs:
        kept.append(json.loads(t))  # site: loads


for line in sys.stdin:
    if line.strip() != "go":
        break
    keep(texts)
    print("done json", flush=True)
