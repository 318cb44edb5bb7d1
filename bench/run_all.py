"""Run every benchmark, each in its own process, and rewrite the generated block of BENCHMARKS.md.

Each script in bench/_suite.py's SUITE runs in a fresh Python process (so one benchmark's torch thread
setting or loaded kernels do not leak into the next) and prints JSON lines, which are passed through
to stdout and, with --out FILE, kept in FILE (written afresh). Every ratio a script reports is against
a reference it measured in the same invocation. After the last script, the block between
`<!-- run_all:begin -->` and `<!-- run_all:end -->` in BENCHMARKS.md is replaced (inserted before the
first section if the markers are absent; nothing outside them changes; written atomically) with the
figures, the command, the machine (CPU model, cores, RAM, GPU, torch), the date and the 1-minute
load average at the start.

`--quick` passes each script its own shorter options (see SUITE) and leaves the slow ones out with a
`"kind": "skipped"` line saying why, to stay under 5 minutes on a 2-core machine; without it the
whole suite takes well over an hour (BENCHMARKS.md, "Running everything", has the measured times). A script that fails or times out does not stop the suite: its exit code
and a one-line reason go into the table. Without SST-2 (../shared/data/sst2 or --data DIR) the
scripts that need it are skipped; without --weights DIR (or BIGMODEL_BENCH_WEIGHTS: a local Hugging
Face folder) pretrained_sst2 skips itself and optimize_sst2 leaves out distillation.

    python bench/run_all.py [--quick] [--only train_throughput,lime_speed] [--data DIR] [--weights DIR]
                            [--out FILE.jsonl] [--markdown BENCHMARKS.md | --no-write] [--timeout S]
    python bench/run_all.py --replay FILE.jsonl    # the block again from a saved --out file, nothing run
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import _common  # first: puts the repository on sys.path for bigmodel_core
import _suite
from _markdown import render_block, replace_block

HERE = Path(__file__).resolve().parent
QUICK_TIMEOUT, FULL_TIMEOUT = 240.0, 3600.0


def machine_facts() -> dict:
    """CPU model, cores, RAM, GPU, torch/Python versions, date and the 1-minute load average (now)."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), None) or _common.machine()["cpu"]
    mem_kb = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                   if line.startswith("MemTotal:")), None)
    import platform

    import torch

    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    return {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "load_1min": load, "cpu": cpu, "cores": cores,
            "logical_cpus": os.cpu_count(), "ram_gib": None if mem_kb is None else round(mem_kb / 2**20, 1),
            "gpus": gpus, "torch": torch.__version__, "python": platform.python_version()}


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


class Output:
    """stdout plus, with --out, the raw JSON lines kept in a file."""

    def __init__(self, path: str | None) -> None:
        self.file = open(path, "w", encoding="utf-8") if path else None

    def line(self, text: str) -> None:
        text = text.rstrip("\n")
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        if self.file is not None:
            self.file.write(text + "\n")
            self.file.flush()

    def emit(self, **row) -> dict:
        self.line(json.dumps(row, default=str))
        return row

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def command_for(bench: _suite.Bench, args) -> list[str]:
    cmd = [sys.executable, str(HERE / f"{bench.name}.py")]
    if args.quick:
        cmd += bench.quick if bench.quick is not None else bench.own_quick
    else:
        cmd += bench.full
    if bench.data and args.data:
        cmd += ["--data", args.data]
    if bench.weights and args.weights and (bench.weights_in_quick or not args.quick):
        cmd += ["--weights", args.weights]
    return cmd


def why_skip(bench: _suite.Bench, args, chosen: bool) -> str | None:
    if not (HERE / f"{bench.name}.py").exists():
        return f"bench/{bench.name}.py is not there"
    if args.quick and bench.quick is None and not chosen:
        return f"left out of --quick: {bench.slow}; run without --quick or with --only {bench.name}"
    if bench.data == "required" and not (args.data and (Path(args.data) / "train.tsv").exists()):
        return f"SST-2 not found{f' at {args.data}' if args.data else ''}; pass --data DIR (train.tsv, dev.tsv)"
    return None


def run_one(bench: _suite.Bench, args, out: Output) -> dict:
    """Runs one script to the end (or its timeout), passing its JSON lines through; never raises for it."""
    cmd = command_for(bench, args)
    timeout = args.timeout or (QUICK_TIMEOUT if args.quick else FULL_TIMEOUT)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=_common.REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
    tail: collections.deque[str] = collections.deque(maxlen=30)

    def pump_stderr() -> None:
        for line in proc.stderr:
            sys.stderr.write(line)
            tail.append(line.rstrip())

    err_thread = threading.Thread(target=pump_stderr, daemon=True)
    err_thread.start()
    killed = threading.Event()
    timer = threading.Timer(timeout, lambda: _kill(proc, killed))  # its own session: the script and its children
    timer.start()
    rows = []
    for line in proc.stdout:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            sys.stderr.write(line)  # not a JSON line: keep stdout (and --out) JSON only
            continue
        out.line(line)
        if isinstance(row, dict):
            rows.append(row)
    code = proc.wait()
    timer.cancel()
    err_thread.join(5)
    seconds = time.perf_counter() - t0
    timed_out = killed.is_set()
    skipped = next((r for r in rows if r.get("kind") == "skipped"), None)
    summary = next((r for r in reversed(rows) if r.get("kind") == "summary"), None)
    if timed_out:
        status, reason = "failed", f"timed out after {timeout:.0f} s"
    elif code != 0:
        status, reason = "failed", _last_line(tail) or f"exit code {code}"
    elif skipped is not None and summary is None:
        status, reason = "skipped", skipped.get("reason", "")
    elif summary is None:
        status, reason = "failed", "printed no summary line"
    else:
        status, reason = "ok", ""
    result = {"bench": bench.name, "exit_code": code, "seconds": round(seconds, 1), "status": status,
              "reason": reason, "passed": _passed(summary), "command": shlex.join([f"bench/{bench.name}.py", *cmd[2:]])}
    out.emit(bench="run_all", kind="script", script=bench.name, **{k: v for k, v in result.items() if k != "bench"})
    return {**result, "rows": rows}


def _kill(proc: subprocess.Popen, killed: threading.Event) -> None:
    killed.set()
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _last_line(lines) -> str:
    """The last line of stderr that says something (a traceback's last line is the exception)."""
    text = next((ln.strip() for ln in reversed(lines) if ln.strip()), "")
    return text[:200]


def _passed(summary: dict | None):
    if not summary:
        return None
    p = summary.get("passed")
    if isinstance(p, dict):
        return all(bool(v) for v in p.values()) if p else None
    return p if isinstance(p, bool) else None


def shown_command(argv: list[str]) -> str:
    exe = sys.executable
    venv = str(_common.REPO / ".venv")
    python = ".venv/bin/python" if exe.startswith(venv) else "python"
    return shlex.join([python, "bench/run_all.py", *argv])


def replay(path: str, markdown: Path) -> int:
    """Rewrites the block from the JSON lines a run saved with --out, running nothing (say, after a change
    to how figures are shown). Each script's lines come before run_all's "script" line for it."""
    rows, by_script, setup, summary = [], {}, None, None
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row.get("bench") != "run_all":
            if row.get("kind") != "skipped":  # run_all's own skips come before the next script's lines
                rows.append(row)
        elif row["kind"] == "script":
            by_script[row["script"]], rows = rows, []
        elif row["kind"] == "setup":
            setup = row
        elif row["kind"] == "summary":
            summary = row
    if setup is None or summary is None:
        raise SystemExit(f"{path} is not a whole run_all --out file (no setup or summary line).")
    facts = {k: v for k, v in setup.items() if k not in ("bench", "kind", "quick", "command")}
    results = [{**r, "rows": by_script.get(r["bench"], [])} for r in summary["results"]]
    replace_block(markdown, render_block(results, facts, setup["command"], setup["quick"], summary["seconds"]))
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    names = [b.name for b in _suite.SUITE]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter runs; slow benchmarks left out (~5 min on 2 cores)")
    ap.add_argument("--only", default=None, help="comma-separated subset of " + ",".join(names))
    ap.add_argument("--data", default=_common.default_data_dir(), help="folder with SST-2 train.tsv/dev.tsv")
    ap.add_argument("--weights", default=os.environ.get("BIGMODEL_BENCH_WEIGHTS"),
                    help="a local Hugging Face folder (MiniLM-L6) for pretrained_sst2 and optimize_sst2")
    ap.add_argument("--out", default=None, help="also write every JSON line to this file (replaced)")
    ap.add_argument("--markdown", default=str(_common.REPO / "BENCHMARKS.md"), help="the file whose block is rewritten")
    ap.add_argument("--no-write", action="store_true", help="leave BENCHMARKS.md alone")
    ap.add_argument("--timeout", type=float, default=None,
                    help=f"seconds allowed per script (default {QUICK_TIMEOUT:.0f} with --quick, {FULL_TIMEOUT:.0f})")
    ap.add_argument("--replay", metavar="FILE", help="rewrite the block from a saved --out FILE; run nothing")
    args = ap.parse_args(argv)
    if args.replay:
        return replay(args.replay, Path(args.markdown))
    chosen = [n for n in (args.only or "").split(",") if n]
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        ap.error(f"unknown benchmark(s) {unknown}; choose from {','.join(names)}")
    started = time.perf_counter()
    facts = machine_facts()  # first: the load average before any benchmark adds to it
    out = Output(args.out)
    out.emit(bench="run_all", kind="setup", quick=args.quick, command=shown_command(argv), **facts)
    results = []
    for bench in _suite.SUITE:
        if chosen and bench.name not in chosen:
            continue
        reason = why_skip(bench, args, bench.name in chosen)
        if reason is not None:
            out.emit(bench=bench.name, kind="skipped", reason=reason)
            results.append({"bench": bench.name, "exit_code": None, "seconds": 0.0, "status": "skipped",
                            "reason": reason, "passed": None, "rows": []})
            continue
        results.append(run_one(bench, args, out))
    total = time.perf_counter() - started
    if not args.no_write:
        block = render_block(results, facts, shown_command(argv), args.quick, total)
        replace_block(Path(args.markdown), block)
    out.emit(bench="run_all", kind="summary", quick=args.quick, seconds=round(total, 1), **facts,
             markdown=None if args.no_write else args.markdown,
             results=[{k: v for k, v in r.items() if k not in ("rows", "command")} for r in results])
    out.close()
    return 0 if all(r["status"] != "failed" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
