#!/usr/bin/env python3
"""Report of tools/gpu/sampling_profiler.c's output: top functions by self and inclusive samples.

usage: sprof_report.py SAMPLES [BINARY_DIR] [-n TOP]
Addresses are mapped through SAMPLES.maps to (file, offset) and symbolized with addr2line -f -C
against the file of the same name in BINARY_DIR (the unstripped build) when there, else the
path in the map (shared libraries: their dynamic symbols only, shown as lib+offset otherwise).
"""
import argparse, collections, os, subprocess


def load_maps(path):
    maps = []
    for line in open(path):
        parts = line.split()
        if len(parts) < 6 or 'x' not in parts[1]:
            continue
        lo, hi = (int(x, 16) for x in parts[0].split('-'))
        maps.append((lo, hi, int(parts[2], 16), parts[5]))
    return maps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('samples')
    ap.add_argument('bindir', nargs='?', default='')
    ap.add_argument('-n', type=int, default=40)
    a = ap.parse_args()
    maps = load_maps(a.samples + '.maps')
    stacks = [[int(x, 16) for x in line.split()] for line in open(a.samples) if line.strip()]
    where = {}
    for st in stacks:
        for addr in st:
            if addr in where:
                continue
            for lo, hi, off, path in maps:
                if lo <= addr < hi:
                    where[addr] = (path, addr - lo + off)
                    break
            else:
                where[addr] = ('?', addr)
    by_file = collections.defaultdict(set)
    for path, off in where.values():
        by_file[path].add(off)
    names = {}
    for path, offs in by_file.items():
        local = os.path.join(a.bindir, os.path.basename(path)) if a.bindir else ''
        binary = local if local and os.path.exists(local) else path
        offs = sorted(offs)
        if not os.path.exists(binary):
            for o in offs:
                names[(path, o)] = f'{os.path.basename(path)}+{o:#x}'
            continue
        # Return addresses point after the call: look up offset-1.
        out = subprocess.run(['addr2line', '-f', '-C', '-e', binary] + [f'{o - 1:#x}' for o in offs],
                             capture_output=True, text=True).stdout.splitlines()
        for i, o in enumerate(offs):
            fn = out[2 * i] if 2 * i < len(out) else '??'
            names[(path, o)] = fn if fn != '??' else f'{os.path.basename(path)}+{o:#x}'
    self_c, incl = collections.Counter(), collections.Counter()
    for st in stacks:
        fns = [names[where[x]] for x in st]
        if fns:
            self_c[fns[0]] += 1
        for fn in set(fns):
            incl[fn] += 1
    total = len(stacks)
    print(f'{total} samples')
    for title, c in (('self', self_c), ('inclusive', incl)):
        print(f'\n== {title}')
        for fn, n in c.most_common(a.n):
            print(f'{100.0 * n / total:6.2f}%  {n:7d}  {fn[:150]}')


if __name__ == '__main__':
    main()
