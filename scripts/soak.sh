#!/usr/bin/env bash
# Soak benchmark for `keywatch watch`: appends about 20k lines/s (nginx format, keys from the bundled
# samples) to two watched files for a minute, then prints lag and memory figures sampled from
# /metrics and /proc every 2 s. Needs python3.
#
#   scripts/soak.sh [SECONDS] [LINES_PER_SECOND]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
rate=${2:-20000}
swift build -c release --product keywatch >/dev/null
bin=$(swift build -c release --show-bin-path)/keywatch
tmp=$(mktemp -d "${TMPDIR:-/tmp}/keywatch-soak.XXXXXX")
trap 'kill "${watch_pid:-}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/logs"
"$bin" analyze samples/nginx samples/kong --networks samples/networks.csv --log-format @samples/nginx.log_format \
    --state "$tmp/state" --output jsonl >/dev/null 2>&1 || true
port=$((20000 + RANDOM % 20000))
"$bin" watch "$tmp/logs/*.log" --state "$tmp/state" --networks samples/networks.csv \
    --log-format @samples/nginx.log_format --listen "127.0.0.1:$port" --output none 2>"$tmp/watch.err" &
watch_pid=$!
sleep 1
python3 - "$tmp" "$seconds" "$rate" "$port" "$watch_pid" <<'PY'
import re, sys, time, urllib.request, random
tmp, seconds, rate, port, pid = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
lines = [l for l in open('samples/nginx/gw1/access.log') if '"ak_live_' in l]
stamp = re.compile(r'\[[^\]]+\]')
files = [open(f'{tmp}/logs/gw{i}.log', 'a') for i in (1, 2)]
def metrics():
    text = urllib.request.urlopen(f'http://127.0.0.1:{port}/metrics', timeout=2).read().decode()
    lag = sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith('keywatch_input_lag_bytes'))
    events = next(float(l.split()[-1]) for l in text.splitlines() if l.startswith('keywatch_events_total'))
    return lag, events
def rss():
    for l in open(f'/proc/{pid}/status'):
        if l.startswith('VmRSS:'): return int(l.split()[1]) / 1024
start = time.time(); written = 0; bytes_written = 0; samples = []; next_sample = start + 2
event_time = 1794204000  # 2026-11-09T06:00:00Z, after the samples' watermark
while time.time() - start < seconds:
    due = int((time.time() - start) * rate) - written
    if due > 0:
        ts = time.strftime('[%d/%b/%Y:%H:%M:%S +0000]', time.gmtime(event_time + int(time.time() - start)))
        for i in range(due):
            line = stamp.sub(ts, random.choice(lines), count=1)
            files[i & 1].write(line); bytes_written += len(line)
        for f in files: f.flush()
        written += due
    if time.time() >= next_sample:
        lag, events = metrics(); samples.append((time.time() - start, lag, events, rss())); next_sample += 2
    time.sleep(0.01)
elapsed = time.time() - start
for _ in range(50):
    lag, events = metrics()
    if lag == 0: break
    time.sleep(0.1)
drain = time.time() - start - elapsed
bps = bytes_written / elapsed
print(f'soak: wrote {written} lines in {elapsed:.1f} s ({written/elapsed:,.0f} lines/s, {bps/1e6:.1f} MB/s) to 2 files')
print(f'soak: {"t (s)":>6} {"lag (bytes)":>12} {"lag (s)":>8} {"events":>10} {"RSS (MiB)":>10}')
for t, lag, ev, mem in samples:
    print(f'soak: {t:6.0f} {lag:12.0f} {lag / bps:8.3f} {ev:10.0f} {mem:10.1f}')
worst = max(s[1] for s in samples) / bps
mems = [s[3] for s in samples]
print(f'soak: worst sampled lag {worst:.3f} s; caught up {drain:.2f} s after the writer stopped; '
      f'RSS {mems[0]:.1f} -> {mems[-1]:.1f} MiB (max {max(mems):.1f})')
PY
kill -TERM "$watch_pid"
wait "$watch_pid" || true
