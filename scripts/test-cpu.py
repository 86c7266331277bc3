#!/usr/bin/env python3
"""test-cpu.py BUILD [NAME...] -- CPU time against wall time of CTest tests.

Runs each named test of the build tree BUILD (all of them when no name is
given) alone, one after the other, as ctest would (its command, working
directory and ENVIRONMENT), and prints one line per test:

    NAME WALL_S CPU_S CPU/WALL

CPU is user plus system time of the test and of every process it waited
for (getrusage of the children), so servers a test starts and stops count.
A test whose CPU is under half its wall time on an idle machine mostly
waits (timers, peers, partitions): mark it with weft_test_waits()
(tests/CMakeLists.txt) so that make test runs it beside the tests that
compute. On a loaded machine the wall times grow, the CPU times hardly.
"""
import json
import os
import resource
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__.strip().splitlines()[0])
    build = os.path.abspath(sys.argv[1])
    listing = subprocess.run(['ctest', '--test-dir', build, '-N', '--show-only=json-v1'],
                             capture_output=True, text=True, check=True).stdout
    tests = {t['name']: t for t in json.loads(listing)['tests']}
    for name in sys.argv[2:] or list(tests):
        if name not in tests:
            sys.exit('no test %s in %s' % (name, build))
        test = tests[name]
        env = dict(os.environ)
        cwd = build
        for prop in test.get('properties', []):
            if prop['name'] == 'ENVIRONMENT':
                env.update(kv.split('=', 1) for kv in prop['value'])
            elif prop['name'] == 'WORKING_DIRECTORY':
                cwd = prop['value']
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        rc = subprocess.run(test['command'], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        wall = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print('%s %.1f %.1f %.2f%s' % (name, wall, cpu, cpu / wall if wall else 0,
                                       '' if rc == 0 else ' (exit status %d)' % rc), flush=True)


if __name__ == '__main__':
    main()
