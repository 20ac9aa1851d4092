"""Measuring: percentiles, an HTTP client that logs in like a browser, gunicorn, child processes' peak RSS."""

import datetime
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def percentile(samples, q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    if not samples:
        return None
    ordered = sorted(samples)
    k = (len(ordered) - 1) * q / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def summary(samples_ms, errors: int = 0) -> dict:
    return {"n": len(samples_ms), "errors": errors,
            "p50": _round(percentile(samples_ms, 50)), "p95": _round(percentile(samples_ms, 95)),
            "mean": _round(statistics.fmean(samples_ms)) if samples_ms else None,
            "max": _round(max(samples_ms)) if samples_ms else None}


def _round(value):
    return None if value is None else round(value, 2)


def timed(fn, inputs, *, warmup: int = 5, check=None) -> dict:
    """Call ``fn(x)`` for each input after ``warmup`` calls on the first inputs; latency in ms.

    ``check(result, x)`` returns True for a good answer; anything else (or an exception) counts as an error
    and its time is left out of the percentiles.
    """
    inputs = list(inputs)
    for x in inputs[:warmup]:
        try:
            fn(x)
        except Exception:  # noqa: BLE001 (warm-up only)
            pass
    samples, errors, first_error = [], 0, None
    for x in inputs:
        started = time.perf_counter()
        try:
            result = fn(x)
            ok = check(result, x) if check else True
        except Exception as exc:  # noqa: BLE001 (an error is a measurement)
            ok, result = False, exc
        elapsed = (time.perf_counter() - started) * 1000
        if ok:
            samples.append(elapsed)
        else:
            errors += 1
            first_error = first_error or _describe(result)
    out = summary(samples, errors)
    if first_error:
        out["first_error"] = first_error
    return out


def _describe(result) -> str:
    if isinstance(result, requests.Response):
        return f"HTTP {result.status_code} {result.request.method} {result.url[:120]}: {result.text[:200]!r}"
    return repr(result)[:300]


def http_ok(response, _input=None) -> bool:
    return isinstance(response, requests.Response) and 200 <= response.status_code < 400


# --- HTTP --------------------------------------------------------------------------------------------------


class Browser:
    """A requests session that logs in through the login form and sends the CSRF token on POSTs."""

    def __init__(self, base_url: str):
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Accept-Language"] = "zh-hans"

    def url(self, path: str) -> str:
        return self.base + path

    def login(self, username: str, password: str) -> "Browser":
        page = self.session.get(self.url("/accounts/login/"))
        page.raise_for_status()
        answer = self.session.post(self.url("/accounts/login/"), allow_redirects=False, data={
            "username": username, "password": password, "csrfmiddlewaretoken": self.csrf})
        if answer.status_code != 302:
            raise RuntimeError(f"login of {username} failed: HTTP {answer.status_code}")
        return self

    @property
    def csrf(self) -> str:
        return self.session.cookies.get("csrftoken", "")

    def get(self, path, **kwargs):
        return self.session.get(self.url(path), allow_redirects=False, **kwargs)

    def post(self, path, data, **kwargs):
        return self.session.post(self.url(path), data={**data, "csrfmiddlewaretoken": self.csrf},
                                 headers={"X-CSRFToken": self.csrf}, allow_redirects=False, **kwargs)

    def search(self, path: str, q: str):
        """As a person searches: the form posts (the value is kept in the session, registry/sealed_query.py),
        and the answer is the results' page (a redirect, if it came to one, is followed and timed too)."""
        answer = self.post(path, {"q": q, "_seal": "1"})
        if answer.status_code != 303:
            return answer
        return self.get(answer.headers["Location"])


class ApiClient:
    """Token-authenticated JSON client for /api/v1/."""

    def __init__(self, base_url: str, token: str):
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Token {token}", "Accept": "application/json"})

    def get(self, path, **kwargs):
        return self.session.get(self.base + path, **kwargs)

    def post(self, path, payload, **kwargs):
        return self.session.post(self.base + path, json=payload, **kwargs)


# --- gunicorn ------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """``gunicorn bench.wsgi`` on 127.0.0.1 with the bench settings, started and stopped by us (by pid)."""

    def __init__(self, *, database_url: str, workers: int = 4, threads: int | None = None, port: int | None = None,
                 log_path: Path | None = None):
        self.port = port or free_port()
        self.workers, self.threads = workers, threads
        self.database_url = database_url
        self.log_path = log_path or Path("/tmp") / f"bench-gunicorn-{self.port}.log"
        self.process = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Gunicorn":
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="bench.settings", DATABASE_URL=self.database_url)
        command = [sys.executable, "-m", "gunicorn", "bench.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
                   "--workers", str(self.workers), "--timeout", "120", "--max-requests", "0", "--log-level", "warning"]
        if self.threads is not None:  # otherwise the product's gunicorn.conf.py decides (threaded workers)
            command += ["--threads", str(self.threads)]
        self.log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}")
            try:
                if requests.get(self.base_url + "/bench/ping/", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer within 60 s; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        try:
            out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True,
                                 text=True, check=False).stdout
        except OSError:
            return []
        return [int(p) for p in out.split()]

    def worker_peak_rss_mb(self) -> float | None:
        """The largest peak RSS (VmHWM) among the workers."""
        peaks = [rss_peak_mb(pid) for pid in self.worker_pids()]
        peaks = [p for p in peaks if p is not None]
        return max(peaks) if peaks else None

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "log", None):
            self.log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def rss_peak_mb(pid: int) -> float | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"VmHWM:\s+(\d+) kB", text)
    return round(int(match.group(1)) / 1024, 1) if match else None


# --- child processes with their peak RSS -------------------------------------------------------------------


def run_worker(task: str, *, database_url: str, args: dict | None = None, timeout: int = 3600) -> dict:
    """Run ``python -m bench.worker <task>`` and return its JSON answer plus wall time and peak RSS."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="bench.settings", DATABASE_URL=database_url)
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "bench.worker", task, json.dumps(args or {})], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        return {"error": f"timed out after {timeout} s", "stderr": stderr[-2000:]}
    wall = time.perf_counter() - started
    # The child has been reaped by communicate(); its rusage is folded into RUSAGE_CHILDREN, so the
    # worker reports its own peak (VmHWM) on the last line instead.
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if process.returncode != 0 or not lines:
        return {"error": f"exit {process.returncode}", "stderr": stderr[-3000:], "stdout": stdout[-1000:]}
    answer = json.loads(lines[-1])
    answer.setdefault("process_seconds", round(wall, 2))
    return answer


# --- the machine ----------------------------------------------------------------------------------------------


def machine(cursor) -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    except (OSError, AttributeError):
        pass
    cursor.execute("SELECT version()")
    pg_version = cursor.fetchone()[0].split(" on ")[0]
    settings = {}
    for name in ("shared_buffers", "work_mem", "effective_cache_size", "max_parallel_workers_per_gather",
                 "synchronous_commit", "random_page_cost", "jit"):
        cursor.execute(f"SHOW {name}")
        settings[name] = cursor.fetchone()[0]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=False).stdout.strip()
    # The checkout is shared: name the files that differed from the commit while this ran.
    dirty = [line[3:] for line in subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                                                  capture_output=True, text=True, check=False).stdout.splitlines()
             if not line[3:].startswith("docs/performance.")]
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(mem_kb / 1024 / 1024, 1), "uncommitted": dirty,
            "postgresql": pg_version, "postgresql_settings": settings, "python": platform.python_version(),
            "os": platform.platform(), "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "commit": commit, "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


@contextmanager
def stopwatch():
    """``with stopwatch() as t: ...`` then ``t()`` gives the elapsed seconds."""
    started = time.perf_counter()
    end = []
    yield lambda: (end[0] if end else time.perf_counter()) - started
    end.append(time.perf_counter())
