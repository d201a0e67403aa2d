"""Row 4's usual way: a `gcloud storage ls`-style full listing with google-cloud-storage.

    python bench/plain_list.py SPAWN_TIME BUCKET PREFIX

Prints every name (to stdout, as ls does) and then one JSON line: first_s (first name printed),
all_s, peak_mb. Times count from SPAWN_TIME, the parent's time.time() before it started this process.
"""

from __future__ import annotations

import json
import sys
import time


def main(spawned: float, bucket: str, prefix: str) -> None:
    from google.cloud import storage

    client = storage.Client(project="bench")
    first = None
    out = sys.stdout
    for blob in client.list_blobs(bucket, prefix=prefix, delimiter="/"):
        out.write(f"gs://{bucket}/{blob.name}\n")
        if first is None:
            out.flush()
            first = time.time()
    done = time.time()
    from common import peak_mb  # after the timings: its imports are the bench's, not list_blobs's

    print(json.dumps({"first_s": (first or done) - spawned, "all_s": done - spawned, "peak_mb": peak_mb()}))


if __name__ == "__main__":
    main(float(sys.argv[1]), sys.argv[2], sys.argv[3])
