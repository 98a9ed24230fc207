#!/usr/bin/env python3
"""callgrind_report.py WORK W N TOP TARGET...: the report of bench/callgrind.sh.

For target i the profiles are WORK/i-W/cg.out* (W requests) and
WORK/i-(W+N)/cg.out* (W+N requests). Costs per request are the difference of
the two runs' self costs divided by N, so start-up and warm-up cancel out.
"""
import collections
import glob
import re
import subprocess
import sys

YARDSTICKS = {"nginx", "floor", "evloop"}


def self_costs(run_dir, event="Ir"):
    """Self cost per function over every thread's profile: instructions, or
    another event's count (I1mr: code cache misses)."""
    # callgrind_control -d writes cg.out.1 (and .N per thread); cg.out is
    # only the header of a run killed after the dump.
    files = sorted(glob.glob(run_dir + "/cg.out.*")) or [run_dir + "/cg.out"]
    out = subprocess.run(
        ["callgrind_annotate", "--threshold=100", "--auto=no", f"--show={event}", f"--sort={event}"] + files,
        capture_output=True, text=True, check=True).stdout
    costs = collections.Counter()
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+(.*)$", line)
        if not m:
            continue
        name = m.group(2)
        if "PROGRAM TOTALS" in name:
            name = "TOTAL"
        else:
            name = re.sub(r" \[[^]]*\]$", "", name)   # the object file
            name = name.split(":", 1)[1] if ":" in name else name  # the source file
            name = re.sub(r"'\d+$", "", name)        # callgrind's recursion marks
        costs[name] += int(m.group(1).replace(",", ""))
    return costs


def area(name):
    """The part of the program a function belongs to, for the summary."""
    m = re.match(r"(fulcrum/internal/\w+|fulcrum/\w+)", name)
    if m:
        return m.group(1)
    go_runtime = name.startswith(("runtime.", "internal/runtime", "gogo", "aeshash",
                                  "memeqbody", "indexbytebody", "type:"))
    if go_runtime and re.search(r"internal/runtime/maps|aeshash|strhash|memhash|runtime\.map", name):
        return "Go maps"
    if go_runtime and re.search(r"malloc|mcache|mcentral|mheap|mspan|gcDrain|scanobject|"
                                r"greyobject|markBits|sweep|wbBuf|memclr|nextFree|heapBits|"
                                r"gcWriteBarrier", name):
        return "Go allocator and collector"
    if go_runtime and re.search(r"findRunnable|stealWork|netpoll|schedule|park|ready|runq|"
                                r"wakep|casgstatus|execute|gopark|goready|lock2|unlock2|futex|"
                                r"startm|stopm|syscall|entersyscall|exitsyscall|mcall|"
                                r"systemstack|goexit|newproc|nanotime|Timers|timer", name):
        return "Go scheduler, poller and timers"
    if go_runtime:
        return "Go runtime, other"
    if name.startswith(("internal/poll", "net.", "syscall.")):
        return "Go net and poll"
    if name.startswith("ngx_"):
        return "nginx"
    if name.startswith("0x"):
        return "unnamed (nginx's static functions)"
    return "other: " + re.split(r"[.(]", name, 1)[0]


def totals(run_dir):
    """Every event's program total over every thread's profile, by name
    (Ir alone, or with --cache-sim=yes the cache events as well)."""
    files = sorted(glob.glob(run_dir + "/cg.out.*")) or [run_dir + "/cg.out"]
    out = subprocess.run(
        ["callgrind_annotate", "--threshold=100", "--auto=no"] + files,
        capture_output=True, text=True, check=True).stdout
    events = []
    for line in out.splitlines():
        if line.startswith("Events shown:"):
            events = line.split(":", 1)[1].split()
        elif "PROGRAM TOTALS" in line:
            counts = [int(c.replace(",", "")) for c in re.findall(r"([\d,]+) \([ \d.]+%\)", line)]
            return dict(zip(events, counts))
    return {}


def cache_table(work, w, n, targets):
    """Misses per request of each simulated cache, when the runs had them."""
    rows = []
    for i, target in enumerate(targets):
        base, full = totals(f"{work}/{i}-{w}"), totals(f"{work}/{i}-{w + n}")
        if "I1mr" not in full:
            return
        per = {k: (full[k] - base.get(k, 0)) / n for k in full}
        rows.append((target, per))
    print("\n## Cache misses per request (simulated: code I1, data D1, last level LL)\n")
    print("| target | instructions | I1 misses | D1 misses (read+write) | LL misses |")
    print("|---|---:|---:|---:|---:|")
    for target, p in rows:
        d1 = p.get("D1mr", 0) + p.get("D1mw", 0)
        ll = p.get("ILmr", 0) + p.get("DLmr", 0) + p.get("DLmw", 0)
        print(f"| {target} | {p.get('Ir', 0):,.0f} | {p.get('I1mr', 0):,.0f} | {d1:,.0f} | {ll:,.1f} |")
    for i, (target, _) in enumerate(rows):
        base = self_costs(f"{work}/{i}-{w}", "I1mr")
        full = self_costs(f"{work}/{i}-{w + n}", "I1mr")
        per = {k: (full[k] - base.get(k, 0)) / n for k in full if k != "TOTAL"}
        areas = collections.Counter()
        for name, v in per.items():
            areas[area(name)] += v
        print(f"\n### {target}: code cache misses per request, by area and top functions\n")
        for name, v in areas.most_common(10):
            print(f"{v:9,.0f}  {name}")
        print()
        for name, v in sorted(per.items(), key=lambda kv: -kv[1])[:20]:
            print(f"{v:9,.0f}  {name}")


def main():
    work, w, n, top = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    targets = sys.argv[5:]
    per_request = []
    for i, target in enumerate(targets):
        base = self_costs(f"{work}/{i}-{w}")
        full = self_costs(f"{work}/{i}-{w + n}")
        per_request.append({k: (full[k] - base.get(k, 0)) / n for k in full})

    print(f"\n## Instructions per request ({n} requests counted, {w} before)\n")
    print("| target | instructions/request |")
    print("|---|---:|")
    for target, costs in zip(targets, per_request):
        print(f"| {target} | {costs.get('TOTAL', 0):,.0f} |")

    for target, costs in zip(targets, per_request):
        total = costs.get("TOTAL", 0) or 1
        print(f"\n### {target}: by area\n")
        areas = collections.Counter()
        for name, v in costs.items():
            if name != "TOTAL":
                areas[area(name)] += v
        for name, v in areas.most_common(15):
            print(f"{v:9,.0f} {100 * v / total:5.1f}%  {name}")
        print(f"\n### {target}: top {top} functions (self, per request)\n")
        ranked = sorted((kv for kv in costs.items() if kv[0] != "TOTAL"), key=lambda kv: -kv[1])
        for name, v in ranked[:top]:
            print(f"{v:9,.0f} {100 * v / total:5.1f}%  {name}")

    cache_table(work, w, n, targets)

    builds = [i for i, t in enumerate(targets) if t not in YARDSTICKS]
    if len(builds) >= 2:
        first = builds[0]
        for i in builds[1:]:
            a, b = per_request[first], per_request[i]
            print(f"\n### {targets[i]} against {targets[first]}: "
                  f"{b.get('TOTAL', 0) - a.get('TOTAL', 0):+,.0f} instructions per request\n")
            changes = {k: b.get(k, 0) - a.get(k, 0) for k in set(a) | set(b) if k != "TOTAL"}
            ranked = sorted(changes.items(), key=lambda kv: -abs(kv[1]))
            for name, v in ranked[:top]:
                if abs(v) >= 1:
                    print(f"{v:+9,.0f}  {name}")


if __name__ == "__main__":
    main()
