#!/usr/bin/env python3
"""GPU memory per GpuLoadBench phase, from issue15-memory.sh's output (/tmp/i15m, or i15m.tgz unpacked).

    python3 bench/gpu/smi_phases.py DIR

DIR holds smi.csv (nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu, every 0.2 s) and
run1/, run2/, ... with GpuLoadBench's tandem.log. For every case (its start line to its result line)
it prints the lowest and highest memory.used, the drops of more than 20 MiB between two samples
(each one an arena shrink seen; the sampling misses some) in the whole case and in its measured
window (after the 2 s warm-up), and the average utilisation in that window; then every change of
memory.used during the mixed requests, with the estimated number of requests sent by then.
"""
import csv
import re
import sys
from pathlib import Path


def secs(clock):
    h, m, s = clock.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def main(root):
    root = Path(root)
    smi = []
    for row in list(csv.reader(open(root / "smi.csv")))[1:]:
        try:
            clock = row[0].split()[1]
            smi.append((clock, secs(clock), int(row[1].split()[0]), int(row[2].split()[0])))
        except (IndexError, ValueError):
            pass
    line_re = re.compile(r"\[(\d\d:\d\d:\d\d) \+\s*([\d.]+)s\] (.*)")
    for run in sorted(p for p in root.iterdir() if p.is_dir() and (p / "tandem.log").is_file()):
        lines = [m for m in map(line_re.match, (run / "tandem.log").read_text().splitlines()) if m]
        # The log's clock has whole seconds and its offset tenths: the start is where both agree.
        start = max(secs(m.group(1)) - float(m.group(2)) for m in lines)
        phases, current, mixed_from = [], None, None
        for m in lines:
            t, msg = start + float(m.group(2)), m.group(3)
            begun = re.match(r"(.+?): (\d+ clients?|1 client)\b.*warm-up", msg)
            if begun:
                current = (begun.group(1), t)
            elif current and msg.startswith(current[0] + ": ") and ("req/s" in msg or "requests, p50" in msg):
                phases.append((current[0], current[1], t))
                current = None
            elif msg.startswith("mixed: ") and "requests, " in msg and "clients" in msg:
                mixed_from = t
            elif msg.startswith("mixed: ") and " requests in " in msg and mixed_from is not None:
                phases.append(("mixed", mixed_from, t))
        print(f"== {run.name}")
        print("| case | MiB low-high | drops > 20 MiB (measured window) | utilisation in the window |")
        print("| --- | --- | --- | --- |")
        for name, a, b in phases:
            whole = [x for x in smi if a <= x[1] <= b]
            window = [x for x in whole if x[1] >= a + (0 if name == "mixed" else 2)]
            if not whole:
                continue

            def drops(xs):
                return sum(1 for i in range(1, len(xs)) if xs[i][2] < xs[i - 1][2] - 20)

            util = sum(x[3] for x in window) / max(1, len(window))
            print(f"| {name} | {min(x[2] for x in whole)}-{max(x[2] for x in whole)} | {drops(whole)} ({drops(window)}) | {util:.0f}% |")
        for name, a, b in phases:
            if name != "mixed":
                continue
            print(f"mixed requests, {b - a:.1f} s: memory.used changes")
            prev = None
            for clock, t, mib, _ in (x for x in smi if a - 1 <= x[1] <= b):
                if mib != prev:
                    print(f"  {clock} t={t - a:+6.2f} s (~{max(0.0, t - a) / (b - a) * 10000:5.0f} requests) {mib} MiB")
                    prev = mib
        print()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/i15m")
