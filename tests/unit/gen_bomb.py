#!/usr/bin/env python3
"""tests/unit/gen_bomb.py KIND OUT [ARGS] — writes one of the resource-bomb
modules of issue 9 for bombs_cli.sh, built at test time (none is committed).

  nops N OUT          _start: N nops (N bytes of code to validate and compile)
  tables N MIN OUT    N tables of MIN funcref elements; _start does nothing
  fill OUT            1 MiB memory; _start fills all of it, forever
"""
import sys


def leb(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def name(s):
    return leb(len(s)) + s.encode()


def section(sid, content):
    return bytes([sid]) + leb(len(content)) + content


def vec(items):
    return leb(len(items)) + b"".join(items)


def module(tables=b"", memory=b"", body=b"\x00\x0b"):
    m = b"\0asm\1\0\0\0"
    m += section(1, vec([b"\x60\x00\x00"]))          # () -> ()
    m += section(3, vec([b"\x00"]))
    if tables:
        m += section(4, tables)
    if memory:
        m += section(5, memory)
    m += section(7, vec([name("_start") + b"\x00\x00"]))
    m += section(10, vec([leb(len(body)) + body]))
    return m


def main():
    kind, args = sys.argv[1], sys.argv[2:]
    if kind == "nops":
        n, out = int(args[0]), args[1]
        data = module(body=b"\x00" + b"\x01" * n + b"\x0b")
    elif kind == "tables":
        n, mn, out = int(args[0]), int(args[1]), args[2]
        data = module(tables=vec([b"\x70\x00" + leb(mn)] * n))
    elif kind == "fill":
        out = args[0]
        # loop: i32.const 0, i32.const 0x5a, i32.const 1 MiB, memory.fill, br 0
        body = (b"\x00\x03\x40" + b"\x41\x00" + b"\x41\xda\x00" + b"\x41\x80\x80\xc0\x00"
                + b"\xfc\x0b\x00" + b"\x0c\x00" + b"\x0b\x0b")
        data = module(memory=vec([b"\x00\x10"]), body=body)
    else:
        sys.exit("gen_bomb.py: unknown kind " + kind)
    with open(out, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
