"""gunicorn settings for every way the web server starts: ``bin/run``, the Docker image and the benchmarks
(gunicorn reads ``./gunicorn.conf.py`` from its working directory; command-line options still win).

Threaded workers keep a client's connection open between its requests (``keepalive``); sync workers
close it after every response, so each request paid for a new TCP connection and the workers' shared
accept. Under the benchmarks' mixed load at a million persons (docs/performance.md): 4 sync workers
82 requests/s, 4 workers × 2 threads 90 requests/s; a search by ID number p95 19.6 → 14.6 ms. Behind
nginx, keep upstream connections alive too (docs/deployment.md).

The access log has the method, the path without its query string, the status, the size and the time taken:
no query string (the API may still be given one), no Referer (the previous page's address) and no browser
string. Personal values never travel in a page's URL (registry/sealed_query.py), and this keeps the API's
and any old bookmark's out of the log as well (issue 15; docs/security.md).
"""

import os

access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'

worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "2"))
keepalive = 5
