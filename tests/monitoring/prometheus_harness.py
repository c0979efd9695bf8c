#!/usr/bin/env python3
"""Integration harness: a real Prometheus server scrapes real ecgdist ranks found via file_sd.

Starts /usr/bin/prometheus on a free loopback port with a temp config (scrape_interval 1s,
file_sd_configs on a temp dir, the shipped alert rules loaded), runs the command under test, then
checks through the HTTP API that
  * every rank is discovered and `up`, with a `rank` label on its series and no job/instance
    clashes (exported_job / exported_instance),
  * the counters grow while the run is live,
  * EVERY PromQL expression of the Grafana dashboard returns data (Grafana macros substituted),
  * every alerting rule evaluates without error,
  * after a clean exit the file_sd target files are gone.
Each dashboard expression is also validated with `promtool check rules` (promtool 2.42 has no
query checker) via a generated recording-rules file; `--check-only` does just that, no server.

The command under test is a parameter (a shell command line): `{port}` is replaced by a free
base port for the ranks' exporters and `{sd_dir}` by the file_sd directory, e.g.
  prometheus_harness.py --ranks 2 --command \
    'mpirun -np 2 ecg_metrics_driver --metrics-port {port} --metrics-port-auto \
       --metrics-bind 127.0.0.1 --metrics-sd-dir {sd_dir} --duration 20'
Later `mpirun -np 2 ecgdist train ... --metrics-port {port} ...` drops in unchanged.
The servers and the command are torn down by PID (process group for the command), on failure too.
"""
import argparse
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
JOB = "ecgdist"

# Concrete values for Grafana's macros and the dashboard's variables. $__rate_interval must
# span several 1 s scrapes so that rate() has at least two samples.
MACROS = {
    "__rate_interval": "10s",
    "__interval": "2s",
    "__interval_ms": "2000",
    "__range": "1m",
    "__range_s": "60",
    "__range_ms": "60000",
    "__auto_interval": "10s",
    "DS_PROMETHEUS": "prometheus",
    "job": JOB,
}


class HarnessError(Exception):
    pass


def log(msg):
    print(f"[harness] {msg}", flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def substitute_macros(expr):
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        name = name.split(":")[0]  # ${var:format}
        if name not in MACROS:
            raise HarnessError(f"dashboard expression uses unknown variable ${name}: {expr}")
        return MACROS[name]
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_:]*)\}|\[\[([A-Za-z_][A-Za-z0-9_]*)\]\]|\$([A-Za-z_][A-Za-z0-9_]*)",
                  repl, expr)


def dashboard_queries(path):
    """(where, PromQL) for every panel target and every query variable of the dashboard."""
    with open(path) as f:
        dash = json.load(f)
    queries = []

    def walk_panels(panels):
        for panel in panels:
            for target in panel.get("targets", []):
                if target.get("expr"):
                    queries.append((f'panel "{panel.get("title")}" {target.get("refId")}',
                                    target["expr"]))
            walk_panels(panel.get("panels", []))  # collapsed rows

    walk_panels(dash.get("panels", []))
    for var in dash.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        q = var.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        # label_values(metric, label) is Grafana's, not PromQL: check the metric has the label.
        m = re.fullmatch(r"\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*", q)
        if m:
            queries.append((f'variable "{var["name"]}"', f"count by ({m.group(2)}) ({m.group(1)})"))
        else:
            queries.append((f'variable "{var["name"]}"', q))
    if not queries:
        raise HarnessError(f"{path}: no PromQL expressions found")
    return [(where, substitute_macros(expr)) for where, expr in queries]


def promtool_check(promtool, queries, workdir):
    """Validates every expression with `promtool check rules` on a generated rules file."""
    path = os.path.join(workdir, "dashboard-expressions.rules.yml")
    lines = ["groups:", "  - name: dashboard_expressions", "    rules:"]
    for i, (where, expr) in enumerate(queries):
        lines.append(f"      - record: dashboard:expr_{i}")
        lines.append(f"        expr: {json.dumps(expr)}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    r = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
    if r.returncode != 0:
        raise HarnessError(f"promtool check rules rejects a dashboard expression:\n{r.stdout}{r.stderr}")
    log(f"promtool: all {len(queries)} dashboard expressions parse")


class Prometheus:
    def __init__(self, binary, workdir, sd_dir, rule_files):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = os.path.join(workdir, "prometheus.yml")
        with open(config, "w") as f:
            f.write(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
                + ("rule_files:\n" + "".join(f"  - {json.dumps(r)}\n" for r in rule_files) if rule_files else "")
                + f"scrape_configs:\n  - job_name: {JOB}\n    file_sd_configs:\n"
                f"      - files: [{json.dumps(os.path.join(sd_dir, '*.json'))}]\n"
                "        refresh_interval: 1s\n")
        self.log_path = os.path.join(workdir, "prometheus.log")
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={os.path.join(workdir, 'tsdb')}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=info"],
            stdout=self.log_file, stderr=subprocess.STDOUT)

    def api(self, path, **params):
        url = f"{self.url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.load(r)
        if body.get("status") != "success":
            raise HarnessError(f"{url}: {body}")
        return body["data"]

    def query(self, expr):
        return self.api("query", query=expr)

    def wait_ready(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"prometheus exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.2)
        raise HarnessError(f"prometheus not ready after {timeout}s:\n{self.tail()}")

    def tail(self):
        self.log_file.flush()
        with open(self.log_path) as f:
            return "".join(f.readlines()[-20:])

    def stop(self):
        stop_pid(self.proc, group=False)
        self.log_file.close()


def session_pids(sid):
    """PIDs of the live processes in session `sid` (mpirun puts its ranks in process groups of
    their own, but they stay in the session the command was started in)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields after "(comm)": state ppid pgrp session ...
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(entry))
    return pids


def signal_pids(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def stop_pid(proc, group):
    """Stops `proc` by PID (SIGTERM, then SIGKILL after 10 s). With group=True, proc leads its
    own session (start_new_session) and every process left in that session is stopped too."""
    if proc is None:
        return
    if proc.poll() is None:
        try:
            proc.terminate()
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if not group:
        return
    deadline = time.time() + 10
    signal_pids(session_pids(proc.pid), signal.SIGTERM)
    while session_pids(proc.pid) and time.time() < deadline:
        time.sleep(0.2)
    signal_pids(session_pids(proc.pid), signal.SIGKILL)


def poll(what, timeout, fn):
    """Calls fn until it returns a truthy value; raises with the last reason otherwise."""
    deadline = time.time() + timeout
    last = None
    while True:
        try:
            value = fn()
            if value:
                return value
        except HarnessError as e:
            last = str(e)
        if time.time() >= deadline:
            raise HarnessError(f"timed out after {timeout}s waiting for {what}" + (f": {last}" if last else ""))
        time.sleep(0.5)


def sample_values(data):
    if data["resultType"] == "vector":
        return [(s["metric"], float(s["value"][1])) for s in data["result"]]
    if data["resultType"] == "scalar":
        return [({}, float(data["result"][1]))]
    return []


def run_live_checks(prom, cmd_proc, args, queries):
    def targets_up():
        if cmd_proc.poll() is not None:
            raise HarnessError(f"command under test exited early with {cmd_proc.returncode}")
        active = [t for t in prom.api("targets", state="active")["activeTargets"] if t["labels"].get("job") == JOB]
        up = [t for t in active if t["health"] == "up"]
        if len(up) < args.ranks:
            raise HarnessError(f"{len(up)}/{args.ranks} targets up: "
                               + ", ".join(f'{t["scrapeUrl"]}={t["health"]} {t.get("lastError", "")}' for t in active))
        return up

    up = poll(f"{args.ranks} targets up", args.timeout, targets_up)
    log("targets up: " + ", ".join(t["scrapeUrl"] for t in up))
    for t in up:
        if "rank" in t["discoveredLabels"] or "rank" in t["labels"]:
            raise HarnessError(f"target {t['scrapeUrl']} carries a rank target label; rank belongs on the series")

    def up_series():
        vals = sample_values(prom.query(f'up{{job="{JOB}"}} == 1'))
        return vals if len(vals) >= args.ranks else None

    poll("up == 1 for every rank", args.timeout, up_series)

    def ranks_reporting():
        vals = sample_values(prom.query(f'ecgdist_samples_total{{job="{JOB}"}}'))
        ranks = {m.get("rank") for m, _ in vals}
        if len(ranks) < args.ranks or None in ranks:
            raise HarnessError(f"ecgdist_samples_total ranks: {sorted(map(str, ranks))}")
        return {m["rank"]: v for m, v in vals}

    first = poll("ecgdist_samples_total from every rank", args.timeout, ranks_reporting)
    clashes = sample_values(prom.query('count({__name__=~"ecgdist_.*", exported_job=~".+"}) or '
                                       'count({__name__=~"ecgdist_.*", exported_instance=~".+"})'))
    if clashes:
        raise HarnessError("series export job/instance labels (seen as exported_job/exported_instance)")
    unlabelled = sample_values(prom.query(f'count({{__name__=~"ecgdist_.*", job="{JOB}", rank=""}})'))
    if unlabelled:
        raise HarnessError(f"{unlabelled[0][1]:.0f} ecgdist_ series without a rank label")

    def grown():
        now = ranks_reporting()
        stuck = [r for r in first if now.get(r, 0) <= first[r]]
        if stuck:
            raise HarnessError(f"ecgdist_samples_total did not grow for ranks {stuck}: {first} -> {now}")
        return now

    later = poll("counters to grow", args.timeout, grown)
    log(f"ecgdist_samples_total grew: {first} -> {later}")

    failures = {}

    def all_queries_have_data():
        for where, expr in queries:
            if where in done:
                continue
            vals = sample_values(prom.query(expr))
            finite = [v for _, v in vals if math.isfinite(v)]
            if finite:
                done[where] = len(vals)
                failures.pop(where, None)
            else:
                failures[where] = (expr, "no data" if not vals else "only NaN/Inf")
        if failures:
            raise HarnessError("; ".join(f"{w}: {e} -> {why}" for w, (e, why) in failures.items()))
        return True

    done = {}
    poll("every dashboard expression to return data", args.timeout, all_queries_have_data)
    log(f"all {len(queries)} dashboard expressions return data while the run is live")

    if args.alerts:
        def rules_ok():
            groups = prom.api("rules")["groups"]
            rules = [r for g in groups for r in g["rules"]]
            if not rules:
                raise HarnessError("no rules loaded")
            bad = [f'{r["name"]}: {r.get("health")} {r.get("lastError", "")}' for r in rules
                   if r.get("health") != "ok"]
            if bad:
                raise HarnessError("rules not healthy: " + "; ".join(bad))
            return rules
        rules = poll("alert rules to evaluate", args.timeout, rules_ok)
        log(f"{len(rules)} alert rules evaluate without error")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--command", help="command under test; {port} and {sd_dir} are substituted")
    ap.add_argument("--ranks", type=int, default=2, help="ranks expected to be scraped")
    ap.add_argument("--dashboard", default=os.path.join(REPO, "monitoring/grafana/ecgdist-dashboard.json"))
    ap.add_argument("--alerts", default=os.path.join(REPO, "monitoring/alerts/ecgdist-alerts.yml"))
    ap.add_argument("--prometheus", default="/usr/bin/prometheus")
    ap.add_argument("--promtool", default="/usr/bin/promtool")
    ap.add_argument("--timeout", type=float, default=30, help="seconds for each wait")
    ap.add_argument("--check-only", action="store_true", help="only promtool-check the dashboard expressions")
    args = ap.parse_args()

    prom = cmd_proc = None
    with tempfile.TemporaryDirectory(prefix="ecgdist-prom-") as workdir:
        try:
            queries = dashboard_queries(args.dashboard)
            promtool_check(args.promtool, queries, workdir)
            if args.check_only:
                return 0
            if not args.command:
                raise HarnessError("--command is required (unless --check-only)")
            for tool in (args.prometheus, args.promtool):
                if not os.access(tool, os.X_OK):
                    raise HarnessError(f"{tool} not found (Debian package prometheus)")
            sd_dir = os.path.join(workdir, "sd")
            os.makedirs(sd_dir)
            prom = Prometheus(args.prometheus, workdir, sd_dir, [args.alerts] if args.alerts else [])
            prom.wait_ready(args.timeout)
            log(f"prometheus ready on {prom.url}")
            command = args.command.replace("{port}", str(free_port())).replace("{sd_dir}", sd_dir)
            log(f"command under test: {command}")
            cmd_log = open(os.path.join(workdir, "command.log"), "w")
            cmd_proc = subprocess.Popen(command, shell=True, start_new_session=True,
                                        stdout=cmd_log, stderr=subprocess.STDOUT)
            try:
                run_live_checks(prom, cmd_proc, args, queries)
                rc = cmd_proc.wait(timeout=args.timeout + 240)
                if rc != 0:
                    raise HarnessError(f"command under test exited with {rc}")
                left = os.listdir(sd_dir)
                if left:
                    raise HarnessError(f"file_sd files left after a clean exit: {left}")
                log("command exited cleanly and removed its file_sd files")
            finally:
                stop_pid(cmd_proc, group=True)
                cmd_log.close()
            log("PASS")
            return 0
        except (HarnessError, subprocess.TimeoutExpired, urllib.error.URLError) as e:
            print(f"[harness] FAIL: {e}", file=sys.stderr)
            if cmd_proc is not None and os.path.exists(os.path.join(workdir, "command.log")):
                with open(os.path.join(workdir, "command.log")) as f:
                    print("[harness] command output (tail):\n" + "".join(f.readlines()[-30:]), file=sys.stderr)
            if prom is not None:
                print("[harness] prometheus log (tail):\n" + prom.tail(), file=sys.stderr)
            return 1
        finally:
            stop_pid(cmd_proc, group=True)
            if prom is not None:
                prom.stop()


if __name__ == "__main__":
    sys.exit(main())
