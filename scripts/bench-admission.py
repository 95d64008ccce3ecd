#!/usr/bin/env python3
"""What admitting one spec costs, by how much its namespace holds.

Starts `weir start` (target/$PROFILE/weir, default debug, built by cargo
first; or $WEIR_BIN, as it is) on a fresh SQLite file, stores N JavaScript snippets in namespace
`big` (every tenth linking to the next, so some of them form short chains),
then times `POST /v1/specs/apply?dry_run=true` of one new `cel` snippet,
alternating in rounds between:

  empty   the same spec into a namespace that holds nothing (the baseline)
  big     into `big`, linking to nothing
  reach   into `big`, linking to one stored spec (which links to one more)
  replace a new version of a stored spec of `big` (what the write would
          take down is checked: every spec's id, name and ports are read)

Admission reads only the stored specs a change reaches, so `big` should
cost what `empty` does, and `reach` a few point reads more.

    python3 scripts/bench-admission.py [N] [ROUNDS]      (defaults 1000, 5)
"""

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
PER_ROUND = 20
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROFILE = os.environ.get("PROFILE", "debug")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    binary = os.environ.get("WEIR_BIN")
    if binary is None:
        cargo = ["cargo", "build", "--quiet", "--bin", "weir"]
        if PROFILE != "debug":
            cargo += ["--profile", PROFILE]
        subprocess.run(cargo, cwd=ROOT, check=True)
        binary = os.path.join(ROOT, "target", PROFILE, "weir")
    work = tempfile.mkdtemp()
    token = "bench-" + os.urandom(8).hex()
    port = free_port()
    env = dict(os.environ, WEIR_TOKEN=token, WEIR_SYSTEM_ADDR=f"127.0.0.1:{port}")
    log = open(os.path.join(work, "weir.log"), "w")
    engine = subprocess.Popen(
        [binary, "start", "--database", f"sqlite://{work}/weir.db"],
        cwd=work, env=env, stdout=log, stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base)
        fill(base, token)
        run(base, token, binary)
    finally:
        engine.terminate()
        engine.wait()


def call(base, token, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        raise SystemExit(f"{method} {path}: {error.code} {error.read().decode()[:500]}")


def wait_ready(base):
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/readyz", timeout=1)
            return
        except Exception:
            time.sleep(0.2)
    raise SystemExit("weir did not become ready")


def stored(i):
    spec = {
        "kind": "snippet", "namespace": "big", "name": f"s{i}",
        "language": "javascript", "code": f"export default (p) => p + {i};",
    }
    if i % 10 == 0 and i + 1 < N:
        spec["ports"] = {"out": [{"name": f"s{i + 1}"}]}
    return spec


def fill(base, token):
    started = time.perf_counter()
    for first in range(N - 1, -1, -200):
        batch = [stored(i) for i in range(max(0, first - 199), first + 1)]
        status, _ = call(base, token, "POST", "/v1/specs/apply", batch)
        assert status == 200, status
    print(f"stored {N} specs in `big` in {time.perf_counter() - started:.1f} s")


def new_spec(namespace, link):
    spec = {"kind": "snippet", "namespace": namespace, "name": "new",
            "language": "cel", "code": "payload"}
    if link:
        spec["ports"] = {"out": [{"name": "s0"}]}
    return spec


def run(base, token, binary):
    replace = dict(stored(N - 1), code="export default (p) => p - 1;")
    cases = {"empty": new_spec("empty", False), "big": new_spec("big", False),
             "reach": new_spec("big", True), "replace": replace}
    times = {name: [] for name in cases}
    for _ in range(ROUNDS):
        for name, spec in cases.items():
            for _ in range(PER_ROUND):
                started = time.perf_counter()
                status, body = call(base, token, "POST", "/v1/specs/apply?dry_run=true", [spec])
                times[name].append(time.perf_counter() - started)
                assert status == 200, body
    print(f"{N} specs stored, {ROUNDS} rounds of {PER_ROUND}, {binary}")
    print("| case | p50 | mean |")
    print("| --- | ---: | ---: |")
    for name, samples in times.items():
        p50 = statistics.median(samples) * 1000
        mean = statistics.mean(samples) * 1000
        print(f"| {name} | {p50:.2f} ms | {mean:.2f} ms |")


if __name__ == "__main__":
    main()
