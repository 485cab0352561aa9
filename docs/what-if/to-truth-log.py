#!/usr/bin/env python3
"""Convert what a proxy logs into a truth log for `livecheck replay --what-if-old`.

A truth log (CONTRACT.md, "Logs with the container's truth") is a replay log
whose probes are answered from `container` lines instead of recorded `probe`
lines, so that any policy can be replayed on it. This script builds one from:

  * replay-format lines (`t_ms`, `ws`, `event`, ...), e.g. the probe log
    (`events.jsonl`) that examples/go-proxy writes, or a proxy logging those
    fields through its structured logger (`level`, `msg`, `time` are fine):
    every `probe` line becomes a `container` line with what the probe saw
    (`running` -> running, `not_running` -> not_running), placed just before
    the line that asked for the probe (the request's `a2a_failed`, or its
    previous probe), since a what-if replay answers a probe at the instant it
    is asked. A probe that failed (`error`, `error_not_running`) says nothing
    about the container and is dropped (counted on stderr). `container` lines
    pass through.
  * structured-logger lines in the proxy's own words (`--map EVENT=TEXT`): a
    line whose `msg` (or `message`) contains TEXT becomes EVENT; the
    workspace, request and time are read from the fields named by `--ws-field`,
    `--req-field` and `--time-field`; a `container` or `probe` line's state from
    `--state-field` (running / not_running / crashed, or true / false).
  * Docker's event stream (`--docker-events FILE`, the output of
    `docker events --filter type=container --format '{{json .}}'`): `start` ->
    running, `die` -> crashed (non-zero exit code) or not_running, `destroy`
    -> not_running; the workspace is the container label `--ws-label` (else the
    container's name).

Times: a line's `t_ms` is used as it is. Otherwise the time field (RFC 3339, or
epoch seconds / milliseconds / nanoseconds, by magnitude; Docker's `timeNano`)
becomes milliseconds since `--t0` (the epoch instant of t_ms 0, e.g. when the
proxy started; default: the earliest such time in the inputs). Lines are
written sorted by t_ms (ties keep input order, files in the order given, the
Docker events last), with only the fields replay reads.

Example (the files in docs/what-if/example-proxy/):

    python3 docs/what-if/to-truth-log.py \\
        --docker-events docs/what-if/example-proxy/docker-events.jsonl \\
        --ws-label livecheck.workspace --t0 2026-11-30T14:00:00Z \\
        docs/what-if/example-proxy/events.jsonl > truth.jsonl
    livecheck replay --policy v3.toml --what-if-old v2.toml truth.jsonl

Standard library only (Python 3.8+).
"""

import argparse
import datetime
import json
import sys

KEEP = ("t_ms", "ws", "event", "req", "source", "runtime", "provisioner", "state")
STATES = {"running": "running", "not_running": "not_running", "crashed": "crashed",
          "true": "running", "false": "not_running"}


def die(msg):
    sys.stderr.write(f"to-truth-log: {msg}\n")
    sys.exit(2)


def epoch_ms(value, where):
    """Milliseconds since the epoch from an RFC 3339 string or an epoch number
    (an error naming `where` when it is neither)."""
    try:
        return parse_epoch_ms(value)
    except (ValueError, OverflowError):
        die(f"{where}: cannot read the time {value!r} (RFC 3339 or epoch numbers)")


def parse_epoch_ms(value):
    """Milliseconds since the epoch, or ValueError."""
    if isinstance(value, bool) or value is None:
        raise ValueError(value)
    if isinstance(value, (int, float)):
        v = float(value)
        if v > 1e17:
            return int(v // 1_000_000)  # nanoseconds
        if v > 1e11:
            return int(v)  # milliseconds
        return int(round(v * 1000))  # seconds
    text = str(value).strip()
    try:
        return parse_epoch_ms(float(text))
    except ValueError:
        pass
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # Python < 3.11 takes at most 6 fractional digits.
    if "." in text:
        head, rest = text.split(".", 1)
        digits = "".join(c for c in rest if c.isdigit())
        tail = rest[len(digits):]
        text = f"{head}.{digits[:6]}{tail}"
    t = datetime.datetime.fromisoformat(text)
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return int(round(t.timestamp() * 1000))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("logs", nargs="*", help="proxy logs (JSON Lines)")
    ap.add_argument("--docker-events", action="append", default=[],
                    help="`docker events --format '{{json .}}'` output")
    ap.add_argument("--ws-label", help="the container label naming the workspace")
    ap.add_argument("--map", action="append", default=[], metavar="EVENT=TEXT",
                    help="a logger line whose msg contains TEXT is EVENT")
    ap.add_argument("--ws-field", default="ws")
    ap.add_argument("--req-field", default="req")
    ap.add_argument("--time-field", default="time")
    ap.add_argument("--state-field", default="state")
    ap.add_argument("--t0", help="the epoch instant of t_ms 0 (RFC 3339 or epoch)")
    args = ap.parse_args()

    rules = []
    for m in args.map:
        event, sep, text = m.partition("=")
        if not sep or not event or not text:
            die(f"--map {m!r}: expected EVENT=TEXT")
        rules.append((event, text))

    # (t_ms or None, epoch ms or None, order, line dict)
    out = []
    # (ws, req) -> (t_ms, epoch ms, order) of the request's last line.
    last = {}
    # Epoch times of lines read but not written.
    seen = []
    dropped = 0
    order = 0
    for path in args.logs:
        with open(path, encoding="utf-8") as f:
            for n, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                where = f"{path}:{n}"
                try:
                    d = json.loads(raw)
                except ValueError as e:
                    die(f"{where}: not JSON ({e})")
                if not isinstance(d, dict):
                    die(f"{where}: not a JSON object")
                if "event" not in d:
                    msg = str(d.get("msg", d.get("message", "")))
                    event = next((e for e, text in rules if text in msg), None)
                    if event is None:
                        # A line the proxy logs for other reasons: only its
                        # time counts (for the default --t0).
                        try:
                            seen.append(parse_epoch_ms(d.get(args.time_field)))
                        except (ValueError, OverflowError):
                            pass
                        continue
                    line = {"event": event}
                    if args.ws_field in d:
                        line["ws"] = str(d[args.ws_field])
                    if args.req_field in d:
                        line["req"] = str(d[args.req_field])
                    for k in ("source", "runtime", "provisioner"):
                        if k in d:
                            line[k] = d[k]
                    if event in ("container", "probe"):
                        state = STATES.get(str(d.get(args.state_field)).lower())
                        if state is None:
                            dropped += 1
                            continue
                        line = {"event": "container", "ws": line.get("ws"), "state": state}
                    d2 = line
                    t_ms = d.get("t_ms")
                    t_epoch = None if t_ms is not None else epoch_ms(d.get(args.time_field), where)
                else:
                    d2 = {k: d[k] for k in KEEP if k in d}
                    t_ms = d.get("t_ms")
                    t_epoch = None if t_ms is not None else epoch_ms(d.get(args.time_field), where)
                    if d.get("event") == "probe":
                        state = {"running": "running", "not_running": "not_running"}.get(d.get("result"))
                        key = (d.get("ws"), d.get("req"))
                        asked = last.get(key)
                        last[key] = (t_ms, t_epoch, order)
                        order += 1
                        if state is None:
                            dropped += 1
                            continue
                        d2 = {"ws": d.get("ws"), "event": "container", "state": state}
                        if asked is not None:
                            # The probe was asked by the request's previous
                            # line (its failure, or its previous probe): what
                            # it saw holds from just before that line.
                            t_ms, t_epoch, o = asked
                            out.append((t_ms, t_epoch, o - 0.5, d2))
                            continue
                    elif d.get("event") in ("a2a_failed", "timer"):
                        last[(d.get("ws"), d.get("req"))] = (t_ms, t_epoch, order)
                if not d2.get("ws"):
                    die(f"{where}: no workspace (field {args.ws_field!r})")
                out.append((t_ms, t_epoch, order, d2))
                order += 1

    for path in args.docker_events:
        with open(path, encoding="utf-8") as f:
            for n, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                where = f"{path}:{n}"
                try:
                    e = json.loads(raw)
                except ValueError as err:
                    die(f"{where}: not JSON ({err})")
                if e.get("Type", "container") != "container":
                    continue
                action = e.get("Action", e.get("status", ""))
                attrs = (e.get("Actor") or {}).get("Attributes") or {}
                if action == "start":
                    state = "running"
                elif action == "die":
                    state = "crashed" if str(attrs.get("exitCode", "0")) != "0" else "not_running"
                elif action == "destroy":
                    state = "not_running"
                else:
                    continue
                ws = attrs.get(args.ws_label) if args.ws_label else None
                ws = ws or attrs.get("name")
                if not ws:
                    continue
                t = e.get("timeNano", e.get("time"))
                out.append((None, epoch_ms(t, where), order,
                            {"ws": ws, "event": "container", "state": state}))
                order += 1

    epochs = [t for _, t, _, _ in out if t is not None]
    if args.t0 is not None:
        t0 = epoch_ms(args.t0, "--t0")
    elif epochs:
        if any(t is not None for t, _, _, _ in out):
            die("the inputs mix t_ms lines and timestamped lines: give --t0 (the epoch instant of t_ms 0)")
        t0 = min(epochs + seen)
    else:
        t0 = 0
    rows = []
    for t_ms, t_epoch, o, d in out:
        t = t_ms if t_ms is not None else t_epoch - t0
        if not isinstance(t, int) or t < 0:
            die(f"a line of workspace {d.get('ws')!r} falls before --t0 or has a bad t_ms ({t!r})")
        d = dict(d)
        d["t_ms"] = t
        rows.append((t, o, d))
    rows.sort(key=lambda r: (r[0], r[1]))
    w = sys.stdout
    for _, _, d in rows:
        line = {k: d[k] for k in KEEP if k in d}
        w.write(json.dumps(line, separators=(", ", ": ")) + "\n")
    if dropped:
        sys.stderr.write(f"to-truth-log: {dropped} probe answer(s) said nothing about the container (a failed probe) and were left out\n")


if __name__ == "__main__":
    main()
