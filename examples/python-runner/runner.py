#!/usr/bin/env python3
"""
A Hourglass runner in Python, standard library only, written from docs/runner-protocol.md.

It serves one type of its own, `py.word-count`:

    payload  {"text": "...", "slow": false, "flaky": false}
    result   {"words": 6, "characters": 18, "longest": "not", "attempt": 1}

- an empty (blank) text is a permanent failure (code EMPTY_TEXT): no retries;
- "flaky": true fails the first attempt (retried after the job's backoff);
- "slow": true takes about two seconds and reports progress on the way.

Run it:  ORCHESTRATOR_URL=http://127.0.0.1:8080 API_KEY=hg_... python3 runner.py
(API_KEY: a key with the runner scope; leave it unset when the orchestrator runs with AUTH_DISABLED=true.)
SIGTERM or Ctrl-C stops it gracefully: no more claims, running work finishes, reports go out, it deregisters.
"""

import json
import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

BASE_URL = os.environ.get("ORCHESTRATOR_URL", "http://127.0.0.1:8080").split(",")[0].rstrip("/")
API_KEY = os.environ.get("API_KEY")
NAME = os.environ.get("RUNNER_NAME", f"python-{socket.gethostname()}-{os.getpid()}")
CAPACITY = int(os.environ.get("RUNNER_CONCURRENCY", "4"))
GRACE_SECONDS = float(os.environ.get("SHUTDOWN_GRACE_SECONDS", "30"))
DEFAULT_TIMEOUT_MS = 60_000

TYPE = "py.word-count"
DECLARATION = {
    "type": TYPE,
    # The JSON Schema of the payload: the orchestrator checks every new job of this type against it.
    "payloadSchema": {
        "type": "object",
        "properties": {
            "text": {"type": "string", "maxLength": 100_000},
            "slow": {"type": "boolean"},
            "flaky": {"type": "boolean"},
        },
        "required": ["text"],
        "additionalProperties": False,
    },
    "retry": {"maxAttempts": 3, "backoff": {"initialDelayMs": 200}},
}


def now_iso():
    """ISO-8601 UTC, as the API writes it: 2030-01-01T00:00:00.123Z."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def log(msg, **fields):
    print(json.dumps({"time": now_iso(), "msg": msg, **fields}), flush=True)


class HttpError(Exception):
    def __init__(self, status, body, retry_after=None):
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status = status
        self.retry_after = retry_after


def call(method, path, body=None, timeout=10):
    """One request; returns the parsed JSON answer (None for 204). Raises HttpError for 4xx/5xx, OSError when unreachable."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"accept": "application/json"}
    if data is not None:
        headers["content-type"] = "application/json"
    if API_KEY:
        headers["authorization"] = f"Bearer {API_KEY}"
    req = urllib.request.Request(BASE_URL + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            text = res.read().decode()
            return json.loads(text) if res.status != 204 and text else None
    except urllib.error.HTTPError as err:
        raise HttpError(err.code, err.read().decode(errors="replace"), err.headers.get("retry-after")) from None


def with_retries(what, fn, stop=None, keep_on_refused_key=False):
    """
    Retries on 429 (after Retry-After), 5xx and connection errors, with backoff; other errors are raised.
    keep_on_refused_key: retry 401 and 403 too (for reports: finished work is not dropped while a key is fixed).
    """
    delay = 0.25
    while True:
        try:
            return fn()
        except HttpError as err:
            if err.status == 429:
                wait = float(err.retry_after or 1)
            elif err.status >= 500:
                wait = delay
            elif keep_on_refused_key and err.status in (401, 403):
                wait = delay
                log("the orchestrator refuses this runner's API key; reports are kept and retried", status=err.status)
            else:
                raise
            log(f"{what} failed; retrying", status=err.status, in_seconds=wait)
        except OSError as err:
            wait = delay
            log(f"{what} failed; retrying", error=str(err), in_seconds=wait)
        if stop is not None and stop.is_set():
            raise RuntimeError(f"{what}: stopping")
        time.sleep(wait)
        delay = min(delay * 2, 5)


class PermanentFailure(Exception):
    """A failure another attempt cannot fix: reported with retryable false, so the job is dead-lettered at once."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


def word_count(payload, ctx):
    text = payload["text"]
    if not text.strip():
        raise PermanentFailure("there is no text to count", "EMPTY_TEXT")
    if payload.get("flaky") and ctx["attempt"] == 1:
        raise RuntimeError("flaky on the first attempt")
    words = text.split()
    if payload.get("slow"):
        for step in range(1, 5):
            if ctx["stop"].wait(0.5):
                raise RuntimeError("stopped")
            ctx["progress"](step * 25)
    return {
        "words": len(words),
        "characters": len(text),
        "longest": max(words, key=len),
        "attempt": ctx["attempt"],
    }


class Stop:
    """Tells a running handler to stop, and why: cancelled (from a heartbeat), timeout, or shutdown."""

    def __init__(self):
        self.event = threading.Event()
        self.reason = None

    def set(self, reason):
        if self.reason is None:
            self.reason = reason
        self.event.set()


class Runner:
    def __init__(self):
        self.id = None
        self.heartbeat_seconds = 10.0
        self.lock = threading.Lock()
        self.running = {}  # execution id -> Stop (set to make its handler stop)
        self.progress = {}  # execution id -> latest progress not yet sent
        self.pending_reports = {}  # execution id -> outcome not yet accepted
        self.refused_reports = {}  # execution id -> outcome refused even alone: kept, still held
        self.started = set()  # execution ids whose work began
        self.signalled = False
        self.stopping = threading.Event()  # no more claims
        self.stopping_hard = threading.Event()  # no more retries of reports
        self.heartbeats_stopped = threading.Event()
        self.slot_free = threading.Semaphore(CAPACITY)
        self.pool = ThreadPoolExecutor(max_workers=CAPACITY)

    # 1. Register (retrying until the orchestrator answers); again with the same id after a 404.
    def register(self):
        body = {"name": NAME, "host": socket.gethostname(), "capacity": CAPACITY, "types": [DECLARATION]}
        if self.id:
            body["id"] = self.id
        reply = with_retries("register", lambda: call("POST", "/runners/register", body))
        self.id = reply["id"]
        self.heartbeat_seconds = reply["heartbeatIntervalMs"] / 1000
        log("registered", runnerId=self.id, types=[TYPE], capacity=CAPACITY)

    # 2. Heartbeat: renews the leases of what we hold, carries progress; answers cancel and drain.
    def heartbeat_loop(self):
        while not self.heartbeats_stopped.wait(self.heartbeat_seconds):
            with self.lock:
                # Everything we hold: running, and finished but not yet reported.
                held = list(self.running) + [i for i in self.pending_reports if i not in self.running]
                held += [i for i in self.refused_reports if i not in self.running and i not in self.pending_reports]
                progress = {str(k): v for k, v in self.progress.items() if k in self.running}
            body = {"running": held}
            if progress:
                body["progress"] = progress
            try:
                reply = call("POST", f"/runners/{self.id}/heartbeat", body)
            except HttpError as err:
                if err.status == 404 and not self.stopping.is_set():
                    log("unknown to the orchestrator; registering again")
                    self.register()
                else:
                    log("heartbeat failed", status=err.status)
                continue
            except OSError as err:
                log("heartbeat failed", error=str(err))
                continue
            with self.lock:
                for key, value in progress.items():  # sent: forget it, unless a newer value came meanwhile
                    if self.progress.get(int(key)) == value:
                        del self.progress[int(key)]
                for execution_id in reply["cancel"]:
                    if execution_id in self.running:
                        log("cancel requested", executionId=execution_id)
                        self.running[execution_id].set("cancelled")
            if reply["drain"] and not self.stopping.is_set():
                log("the orchestrator asked us to drain")
                self.stopping.set()

    # 3. Claim: a long-poll for up to our free capacity.
    def claim_loop(self):
        while not self.stopping.is_set():
            self.slot_free.acquire()
            self.slot_free.release()
            free = CAPACITY - len(self.running)
            if free <= 0:
                time.sleep(0.05)
                continue
            try:
                reply = call("POST", f"/runners/{self.id}/next-job?max={free}&wait=5", timeout=70)
            except HttpError as err:
                if err.status == 404:
                    self.register()
                    continue
                if err.status == 429:
                    time.sleep(float(err.retry_after or 1))
                    continue
                log("claim failed", status=err.status)
                time.sleep(1)
                continue
            except OSError as err:
                log("claim failed", error=str(err))
                time.sleep(1)
                continue
            if self.stopping.is_set():
                # Claimed as we stopped: not started, so the deregistration hands them back without spending an attempt.
                break
            for execution in (reply or {}).get("executions", []):
                self.slot_free.acquire()
                with self.lock:
                    self.running[execution["id"]] = Stop()
                self.pool.submit(self.execute, execution)

    def execute(self, execution):
        execution_id = execution["id"]
        stop = self.running[execution_id]
        started_at = now_iso()
        with self.lock:
            self.started.add(execution_id)

        def progress(value):
            with self.lock:
                self.progress[execution_id] = value

        ctx = {"attempt": execution["attempt"], "stop": stop.event, "progress": progress}
        try:
            if execution["type"] != TYPE:
                outcome = {"status": "FAILED", "error": f"no handler for {execution['type']}"}
            elif not isinstance(execution["payload"], dict) or not isinstance(execution["payload"].get("text"), str):
                outcome = {"status": "FAILED", "retryable": False, "code": "PAYLOAD_INVALID",
                           "error": "payload.text: must be a string"}
            else:
                result = self.with_timeout(word_count, execution, ctx, stop)
                outcome = {"status": "SUCCEEDED", "result": result}
        except PermanentFailure as err:
            outcome = {"status": "FAILED", "retryable": False, "code": err.code, "error": str(err)}
        except Exception as err:  # noqa: BLE001 - any other failure is retried
            if stop.reason == "cancelled":
                outcome = {"status": "CANCELLED"}
            elif stop.reason == "timeout":
                outcome = {"status": "FAILED", "error": f"timed out after {execution.get('timeoutMs') or DEFAULT_TIMEOUT_MS} ms"}
            else:
                outcome = {"status": "FAILED", "error": str(err) or "failed"}
        outcome["startedAt"] = started_at
        log("execution finished", executionId=execution_id, jobId=execution["jobId"], status=outcome["status"])
        with self.lock:
            self.running.pop(execution_id, None)
            self.pending_reports[execution_id] = outcome
        self.slot_free.release()
        self.flush_reports()

    @staticmethod
    def with_timeout(fn, execution, ctx, stop):
        limit = (execution.get("timeoutMs") or DEFAULT_TIMEOUT_MS) / 1000
        timer = threading.Timer(limit, stop.set, args=("timeout",))
        timer.start()
        try:
            return fn(execution["payload"], ctx)
        finally:
            timer.cancel()

    # 4. Report: batched, idempotent; kept until accepted.
    def flush_reports(self):
        with self.lock:
            batch = list(self.pending_reports.items())[:1000]
        if not batch:
            return
        try:
            self.send_reports(batch)
        except HttpError as err:
            if err.status in (400, 413):
                # The request is refused (one report in it is invalid, or the batch is too large): send them one by
                # one, so that one report cannot hold up the others.
                self.send_one_by_one(batch)
            else:
                log("report refused", status=err.status, error=str(err))
        except RuntimeError:
            pass  # stopping: whatever is left is named in the deregistration

    def send_alone(self, execution_id, outcome):
        """One report on its own: None once taken, the HttpError of a refusal (400, 413), or "unreachable"."""
        try:
            self.send_reports([(execution_id, outcome)])
            return None
        except HttpError as refused:
            return refused if refused.status in (400, 413) else "unreachable"
        except RuntimeError:
            return "unreachable"

    def send_one_by_one(self, batch):
        for execution_id, outcome in batch:
            refused = self.send_alone(execution_id, outcome)
            if refused is None:
                continue
            if refused == "unreachable":
                return
            if refused.status == 413 and outcome["status"] == "SUCCEEDED" and "result" in outcome:
                # Too large to send: report the success by the size of its result; the orchestrator records the
                # attempt as a permanent failure, RESULT_TOO_LARGE. Never a failure made up here.
                size = len(json.dumps(outcome["result"]).encode())
                outcome = {"status": "SUCCEEDED", "resultBytes": size, "startedAt": outcome["startedAt"]}
                log("result too large to send; reporting its size", executionId=execution_id, resultBytes=size)
                with self.lock:
                    self.pending_reports[execution_id] = outcome
                refused = self.send_alone(execution_id, outcome)
                if refused is None:
                    continue
                if refused == "unreachable":
                    return
            # Refused even alone: a bug here. Keep it (still held, named as started at deregistration); never
            # replace it by an outcome the handler did not have.
            log("report refused even alone; kept", executionId=execution_id, error=str(refused))
            with self.lock:
                self.refused_reports[execution_id] = self.pending_reports.pop(execution_id, outcome)

    def send_reports(self, batch):
        body = {"runnerId": self.id, "results": [{"executionId": i, "outcome": o} for i, o in batch]}
        reply = with_retries(
            "report", lambda: call("POST", "/executions/complete", body), self.stopping_hard, keep_on_refused_key=True
        )
        with self.lock:
            for r in reply["results"]:
                self.pending_reports.pop(r["executionId"], None)
                self.started.discard(r["executionId"])
                if r["verdict"] == "conflict":
                    log("report not applied: execution no longer ours", executionId=r["executionId"])

    # 5. Stop: no more claims, finish running work (within the grace period), report, deregister.
    def run(self):
        self.register()
        heartbeats = threading.Thread(target=self.heartbeat_loop, daemon=True)
        heartbeats.start()
        claimer = threading.Thread(target=self.claim_loop, daemon=True)
        claimer.start()
        self.stopping.wait()
        log("stopping: finishing running work", running=len(self.running))
        deadline = time.monotonic() + GRACE_SECONDS
        while self.running and time.monotonic() < deadline:
            time.sleep(0.05)
        with self.lock:
            for stop in self.running.values():
                stop.set("shutdown")  # past the grace period: abort what is left
        self.pool.shutdown(wait=True)
        self.flush_reports()
        self.stopping_hard.set()
        self.heartbeats_stopped.set()
        heartbeats.join()
        with self.lock:
            unreported = {**self.pending_reports, **self.refused_reports}
            started = [i for i in self.started if i in unreported or i in self.running]
        try:
            call("DELETE", f"/runners/{self.id}", {"started": started})
        except (HttpError, OSError) as err:
            log("deregister failed; the orchestrator will mark us OFFLINE", error=str(err))
        log("stopped", runnerId=self.id)


def main():
    runner = Runner()

    def on_signal(signum, _frame):
        if runner.signalled:
            os._exit(128 + signum)  # a second signal: stop now (leases expire, the work is retried elsewhere)
        runner.signalled = True
        log("signal received", signal=signal.Signals(signum).name)
        runner.stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    runner.run()


if __name__ == "__main__":
    main()
