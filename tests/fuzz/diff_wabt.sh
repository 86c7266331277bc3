#!/bin/sh
# Differential test of weft's interpreter against wabt's.
#
#   diff_wabt.sh [-v] [-j JOBS] [-g SEED N GENDIR] WEFT_DIFF_RUN [DIR...]
#
# For each file of each DIR (names starting with '.' skipped; -g first writes
# N modules made by gen_modules.py with SEED into GENDIR and adds it), runs
# weft's diff_run, which prints one canonical line per call, then asks wabt
# to run the same calls in the same order and checks every outcome:
#
# - wabt's side is spectest-interp (the package's wasm-interp
#   --run-all-exports cannot pass arguments and prints floats rounded to six
#   decimals). For each module a spec-test JSON script is written: stub
#   modules registered under the import module names (the fields diff_run
#   printed), the module, then per weft call an assert_return with weft's
#   exact results (floats as bits; a NaN as nan:canonical or nan:arithmetic)
#   or an assert_trap. spectest-interp checks values bit for bit and prints
#   the message of every trap, which is mapped onto diff_run's trap kinds
#   (wabt_kind below) and compared. A module whose start function traps is
#   compared through wabt's instantiation error.
# - Only modules both accept are compared: weft's diff_run and wabt's
#   wasm-validate (default features = WebAssembly 2.0 + SIMD, with tail calls
#   on as in weft; weft rejects SIMD, so such modules count as "validity
#   differs"). Modules whose imports
#   have names wabt's JSON cannot carry, or that weft could not instantiate
#   (an error, not a trap), are skipped with a count.
# - Allowed differences, counted but not failures:
#   * call stack exhausted on one side only: the engines have different
#     depth limits; the rest of that module is not compared (its state may
#     differ from there on).
#   * weft returned a canonical NaN where wabt returned another NaN: when an
#     input is a NaN with a payload the spec allows any arithmetic NaN, and
#     the harness does not know the inputs (wabt prints every NaN as "nan").
#   * weft ran out of fuel: diff_run stops there, and so does the comparison.
# Anything else is a difference: weft's line, wabt's message, and the module
# are printed, and the exit status is 1. 77 means a tool is missing (CTest
# skips the test).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
for tool in python3 wat2wasm wasm-validate spectest-interp; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: $tool not found (wabt and python3 are needed; scripts/install-deps.sh)"
        exit 77
    fi
done

exec python3 - "$here" "$@" <<'PY'
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

here = sys.argv[1]
args = sys.argv[2:]
verbose = False
jobs = os.cpu_count() or 2
gen = None
while args and args[0].startswith('-'):
    if args[0] == '-v':
        verbose = True
        args = args[1:]
    elif args[0] == '-j' and len(args) > 1:
        jobs = int(args[1])
        args = args[2:]
    elif args[0] == '-g' and len(args) > 3:
        gen = args[1:4]
        args = args[4:]
    else:
        break
if not args:
    sys.exit('usage: diff_wabt.sh [-v] [-j JOBS] [-g SEED N GENDIR] WEFT_DIFF_RUN [DIR...]')
diff_run = args[0]
dirs = args[1:]
if gen is not None:
    r = subprocess.run([sys.executable, os.path.join(here, 'gen_modules.py')] + gen)
    if r.returncode != 0:
        sys.exit('diff_wabt: gen_modules.py failed')
    dirs.append(gen[2])

WABT_TIMEOUT = 60

# wabt's trap messages (interp.cc, 1.0.32 and neighbours) -> diff_run's kinds.
WABT_KINDS = [
    ('unreachable', 'unreachable'),
    ('integer divide by zero', 'integer divide by zero'),
    ('integer overflow', 'integer overflow'),
    ('invalid conversion', 'invalid conversion to integer'),
    ('out of bounds memory access', 'out of bounds memory access'),
    ('out of bounds table access', 'out of bounds table access'),
    ('undefined table index', 'undefined element'),
    ('undefined element', 'undefined element'),
    ('uninitialized', 'uninitialized element'),
    ('signature mismatch', 'indirect call type mismatch'),
    ('type mismatch', 'indirect call type mismatch'),
    ('call stack exhausted', 'call stack exhausted'),
    ('value stack exhausted', 'call stack exhausted'),
]


def wabt_kind(msg):
    for needle, kind in WABT_KINDS:
        if needle in msg:
            return kind
    return 'other'


def wat_unescape(s):
    """Body of a wat string literal as printed by diff_run -> bytes."""
    return re.sub(rb'\\([0-9a-f]{2})', lambda m: bytes([int(m.group(1), 16)]),
                  s.encode('latin-1'))


CALL = re.compile(r'^(\S+?)\((.*)\) -> (.*)$')


def json_value(tv):
    """diff_run's 'i32:-1' / 'f32:0x3f800000' / 'f32:nan:canonical' -> JSON."""
    t, v = tv.split(':', 1)
    if v.startswith('nan:'):
        return {'type': t, 'value': v}
    if t in ('i32', 'i64'):
        bits = 32 if t == 'i32' else 64
        return {'type': t, 'value': str(int(v) & ((1 << bits) - 1))}
    return {'type': t, 'value': str(int(v, 16))}


def split_vals(s):
    s = s.strip()
    if not s:
        return []
    return [x for x in re.split(r'[ ,]+', s) if x]


class Result:
    def __init__(self, path):
        self.path = path
        self.status = None  # compared, skip:<why>, validity, diff
        self.calls = 0
        self.allowed = []
        self.diffs = []
        self.notes = []


def run_one(path):
    res = Result(path)
    r = subprocess.run([diff_run, path], capture_output=True, text=True, errors='replace')
    if r.returncode not in (0, 3):
        res.status = 'diff'
        res.diffs.append('diff_run failed (status %d): %s' % (r.returncode, r.stderr.strip()))
        return res
    v = subprocess.run(['wasm-validate', '--enable-tail-call', path], capture_output=True, text=True,
                       errors='replace')
    weft_ok = r.returncode == 0
    wabt_ok = v.returncode == 0
    if not weft_ok or not wabt_ok:
        if weft_ok != wabt_ok:
            res.status = 'validity'
            res.notes.append('weft %s, wabt %s: %s' % (
                'accepts' if weft_ok else 'rejects', 'accepts' if wabt_ok else 'rejects',
                (r.stdout if not weft_ok else v.stderr).strip().splitlines()[0:1]))
        else:
            res.status = 'skip:invalid'
        return res

    lines = r.stdout.splitlines()
    tmp = tempfile.mkdtemp(prefix='diffwabt-')
    try:
        return compare(res, path, lines, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def compare(res, path, lines, tmp):
    stubs = {}  # import module name -> list of wat fields
    inst = None
    calls = []  # (weft line, name, args, outcome)
    for ln in lines:
        if ln.startswith('import '):
            m = re.match(r'^import "((?:[^"\\]|\\[0-9a-f]{2})*)" (.*)$', ln)
            stubs.setdefault(m.group(1), []).append(m.group(2))
        elif ln.startswith('instantiate -> '):
            inst = ln[len('instantiate -> '):]
        elif ln.startswith('skip '):
            res.notes.append(ln)
        else:
            m = CALL.match(ln)
            if m is None:
                res.status = 'diff'
                res.diffs.append('unparsable diff_run line: ' + ln)
                return res
            calls.append((ln, m.group(1), split_vals(m.group(2)), m.group(3)))
    if inst is None or inst.startswith('error'):
        res.status = 'skip:weft cannot instantiate'
        res.notes.append('instantiate -> %s' % inst)
        return res

    commands = []
    lineinfo = {}  # JSON line number -> (kind, weft line, expected)

    def add(cmd, info):
        # wabt's JSON reader wants the keys in this order: type, line, rest
        line = len(commands) + 1
        commands.append(dict([('type', cmd.pop('type')), ('line', line)] + list(cmd.items())))
        lineinfo[line] = info

    for i, (mod, fields) in enumerate(sorted(stubs.items())):
        try:
            modname = wat_unescape(mod).decode('ascii')
        except UnicodeDecodeError:
            res.status = 'skip:import name not ASCII'
            return res
        if not modname.isprintable() or '"' in modname or '\\' in modname:
            res.status = 'skip:import name not printable'
            return res
        names = set()
        for f in fields:
            m = re.match(r'^\(\w+ \(export ("(?:[^"\\]|\\..)*")\)', f)
            if m.group(1) in names:
                res.status = 'skip:duplicate import'
                return res
            names.add(m.group(1))
        wat = os.path.join(tmp, 'stub%d.wat' % i)
        with open(wat, 'w') as out:
            out.write('(module\n  ' + '\n  '.join(fields) + ')\n')
        w = subprocess.run(['wat2wasm', wat, '-o', os.path.join(tmp, 'stub%d.wasm' % i)],
                           capture_output=True, text=True, errors='replace')
        if w.returncode != 0:
            res.status = 'skip:wabt rejects the import stub'
            res.notes.append(w.stderr.strip())
            return res
        add({'type': 'module', 'name': '$stub%d' % i, 'filename': 'stub%d.wasm' % i},
            ('stub', None, None))
        add({'type': 'register', 'name': '$stub%d' % i, 'as': modname}, ('stub', None, None))

    shutil.copyfile(path, os.path.join(tmp, 'm.wasm'))
    add({'type': 'module', 'filename': 'm.wasm'}, ('module', 'instantiate -> ' + inst, inst))

    fuel_out = False
    if inst == 'ok':
        for ln, name, cargs, outcome in calls:
            if outcome == 'trap: out of fuel':
                fuel_out = True
                break
            action = {'type': 'invoke', 'field': name, 'args': [json_value(a) for a in cargs]}
            if outcome.startswith('trap: '):
                add({'type': 'assert_trap', 'action': action, 'text': outcome[6:],
                     'expected': []}, ('trap', ln, outcome[6:]))
            else:
                add({'type': 'assert_return', 'action': action,
                     'expected': [json_value(x) for x in split_vals(outcome)]},
                    ('return', ln, outcome))
    res.calls = sum(1 for v in lineinfo.values() if v[0] in ('trap', 'return'))
    if fuel_out:
        res.allowed.append('weft ran out of fuel: %s' % ln)

    with open(os.path.join(tmp, 'm.json'), 'w') as out:
        json.dump({'source_filename': 'm.wast', 'commands': commands}, out)
    try:
        s = subprocess.run(['spectest-interp', '--enable-tail-call', 'm.json'], cwd=tmp,
                           capture_output=True,
                           text=True, errors='replace', timeout=WABT_TIMEOUT)
        out_lines = (s.stdout + s.stderr).splitlines()
    except subprocess.TimeoutExpired:
        res.status = 'diff'
        res.diffs.append('wabt did not finish in %d s, weft did within its fuel' % WABT_TIMEOUT)
        return res

    msgs = {}  # JSON line -> list of wabt messages
    for ol in out_lines:
        m = re.match(r'^m\.wast:(\d+): (.*)$', ol)
        if m:
            msgs.setdefault(int(m.group(1)), []).append(m.group(2))
        elif not re.match(r'^(\d+/\d+ tests passed\.|\S+\(.*\) => .*)$', ol):
            res.status = 'diff'
            res.diffs.append('harness: unexpected spectest-interp output: ' + ol)
            return res

    stopped = False
    for line in sorted(lineinfo):
        kind, weft_line, expected = lineinfo[line]
        got = msgs.get(line, [])
        if stopped:
            continue
        if kind == 'stub':
            if got:
                res.status = 'skip:wabt rejects the import stub'
                res.notes.extend(got)
                return res
            continue
        if kind == 'module':
            if expected == 'ok':
                if got:
                    add_diff(res, weft_line, 'instantiate -> ' + '; '.join(got))
                    stopped = True
                continue
            wk = None
            for g in got:
                m = re.match(r'^error instantiating module: "(.*)"$', g)
                if m:
                    wk = wabt_kind(m.group(1))
            want = expected[len('trap: '):]
            if wk != want:
                if allowed_stack(res, weft_line, want, wk, got):
                    stopped = True
                    continue
                add_diff(res, weft_line, 'instantiate -> ' +
                         ('trap: %s' % wk if wk else 'ok') + ' [%s]' % '; '.join(got))
            continue
        wabt_line, stop = wabt_outcome(res, kind, weft_line, expected, got)
        if wabt_line is not None:
            add_diff(res, weft_line, wabt_line)
        if stop:
            stopped = True
    if res.status is None:
        res.status = 'diff' if res.diffs else 'compared'
    return res


def add_diff(res, weft_line, wabt_line):
    res.status = 'diff'
    res.diffs.append('weft: %s\n    wabt: %s' % (weft_line, wabt_line))


def allowed_stack(res, weft_line, want, wk, got):
    if want == 'call stack exhausted' or wk == 'call stack exhausted':
        res.allowed.append('stack depth: weft %s / wabt %s' % (weft_line, '; '.join(got) or 'ok'))
        return True
    return False


def wabt_outcome(res, kind, weft_line, expected, got):
    """Returns (wabt's line when it differs from weft's, stop comparing)."""
    head = weft_line.split(' -> ')[0]
    if kind == 'trap':
        m = [re.match(r'^assert_trap passed: (.*)$', g) for g in got]
        m = [x for x in m if x]
        if m and len(got) == 1:
            wk = wabt_kind(m[0].group(1))
            if wk == expected:
                return None, False
            if allowed_stack(res, weft_line, expected, wk, got):
                return None, True
            return '%s -> trap: %s [%s]' % (head, wk, m[0].group(1)), False
        if expected == 'call stack exhausted':
            allowed_stack(res, weft_line, expected, None, got)
            return None, True
        return '%s -> returned [%s]' % (head, '; '.join(got)), False
    if not got:
        return None, False
    for g in got:
        m = re.match(r'^unexpected trap: (.*)$', g)
        if m:
            wk = wabt_kind(m.group(1))
            if wk == 'call stack exhausted':
                allowed_stack(res, weft_line, None, wk, got)
                return None, True
            return '%s -> trap: %s [%s]' % (head, wk, m.group(1)), False
    nan_only = all(re.match(r'^mismatch in result \d+ of assert_return: '
                            r'expected (f32|f64):nan:canonical, got \1:-?nan$', g) for g in got)
    if nan_only:
        res.allowed.append('NaN class: weft %s / wabt %s' % (weft_line, '; '.join(got)))
        return None, False
    return '%s -> [%s]' % (head, '; '.join(got)), False


def files_of(d):
    if os.path.isfile(d):
        return [d]
    out = []
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        if not name.startswith('.') and os.path.isfile(p):
            out.append(p)
    return out


paths = [p for d in dirs for p in files_of(d)]
with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
    results = list(pool.map(run_one, paths))

counts = {}
calls = 0
allowed = 0
failed = []
for res in results:
    counts[res.status] = counts.get(res.status, 0) + 1
    calls += res.calls
    allowed += len(res.allowed)
    if res.status == 'diff':
        failed.append(res)
    if verbose and (res.allowed or res.notes):
        for a in res.allowed:
            print('allowed %s: %s' % (res.path, a))
        for n in res.notes:
            print('note %s: %s' % (res.path, n))

for res in failed:
    print('DIFFERENCE in %s' % res.path)
    for d in res.diffs:
        print('    ' + d)

print('diff_wabt: %d files, %d compared (%d calls), %d differ, %d allowed differences; %s' % (
    len(results), counts.get('compared', 0) + counts.get('diff', 0), calls, len(failed),
    allowed, ', '.join('%s %d' % (k, v) for k, v in sorted(counts.items())
                       if k not in ('compared', 'diff'))))
sys.exit(1 if failed else 0)
PY
