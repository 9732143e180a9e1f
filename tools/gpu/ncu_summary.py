#!/usr/bin/env python3
"""GPU time by kernel from `ncu --csv --metrics gpu__time_duration.sum` output (check.sh
PROFILE=1): launches, total and mean µs per kernel name, largest total first."""
import collections, csv, sys

rows = [r for r in csv.reader(open(sys.argv[1], errors='replace')) if len(r) > 5]
if not rows:
    sys.exit('ncu produced no rows (no permission for GPU counters?)')
head = rows[0]
ki, vi, ui = head.index('Kernel Name'), head.index('Metric Value'), head.index('Metric Unit')
tot, cnt = collections.Counter(), collections.Counter()
for r in rows[1:]:
    try:
        v = float(r[vi].replace(',', ''))
    except ValueError:
        continue
    v *= {'nsecond': 1e-3, 'usecond': 1.0, 'msecond': 1e3}.get(r[ui], 1.0)
    name = r[ki].split('(')[0].split('<')[0].replace('void ', '').replace('unicorn::cuda::', '')
    name = name.replace('(anonymous namespace)::', '')
    tot[name] += v
    cnt[name] += 1
all_us = sum(tot.values())
print(f'{sum(cnt.values())} kernels, {all_us:.0f} µs of GPU time')
print(f'{"kernel":40s} {"launches":>9s} {"total µs":>10s} {"mean µs":>8s} {"share":>6s}')
for name, v in tot.most_common():
    print(f'{name[:40]:40s} {cnt[name]:9d} {v:10.0f} {v / cnt[name]:8.2f} {100 * v / all_us:5.1f}%')
