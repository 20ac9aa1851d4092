"""gunicorn settings for every way the web server starts: ``bin/run``, the Docker image and the benchmarks
(gunicorn reads ``./gunicorn.conf.py`` from its working directory; command-line options still win).

Threaded workers keep a client's connection open between its requests (``keepalive``); sync workers
close it after every response, so each request paid for a new TCP connection and the workers' shared
accept. Under the benchmarks' mixed load at a million persons (docs/performance.md): 4 sync workers
82 requests/s, 4 workers × 2 threads 90 requests/s; a search by ID number p95 19.6 → 14.6 ms. Behind
nginx, keep upstream connections alive too (docs/deployment.md).
"""

import os

worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "2"))
keepalive = 5
