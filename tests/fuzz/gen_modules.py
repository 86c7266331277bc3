#!/usr/bin/env python3
"""gen_modules.py SEED N OUTDIR — random valid modules for diff_wabt.sh.

Writes OUTDIR/gSEED-NNNNN.wasm (and the source in OUTDIR/wat/) through
wabt's wat2wasm. Each module aims at weft's compiler rewrites: constant
operands (both sides), chains of dependent integer ops (the accumulator and
its _R twins), compares feeding br_if / if / select, computed addresses with
offsets, local.tee / local.set right after a computation, a local read before
an operand that changes it, blocks and ifs with results and branches out of
them with values, counted loops (also with a value left on the stack at the
back edge), br_table, calls (direct, indirect, multi-value), tail calls (return_call and
return_call_indirect of a helper, wat2wasm --enable-tail-call), globals, bulk
memory, memory.size/grow, and SIMD: v128 expressions (constants, splats,
lane-wise integer and float ops, shifts, shuffles, loads of every kind,
blocks and selects of v128) read out by extract_lane or the tests, when the
environment has WEFT_GEN_SIMD=1 (off, a seed makes the modules it always
made).

Valid by construction: expressions are generated for a wanted type (the
operand stack is implicit in the grammar), labels are tracked with their
result types. Terminating by construction: every loop has its own counter
that nothing else writes, exported functions call only helpers (which call
nothing) or earlier exports, never from inside a loop. Deterministic for a
given SEED and N. About a third of the functions are "risky": there a divisor,
an address, a float-to-int conversion or an indirect call index may be
anything, and `unreachable` may be reached; elsewhere those are guarded, so
most calls return values. Floats that reach an operation exposing their bits
(reinterpret, store, copysign's sign) go through a NaN-to-zero select first:
the spec lets NaN payloads differ between engines.
"""
import os
import random
import struct
import subprocess
import sys

TYPES = ['i32', 'i64', 'f32', 'f64']
SIMD = os.environ.get('WEFT_GEN_SIMD') == '1'
INT_BIN = ['add', 'sub', 'mul', 'and', 'or', 'xor', 'shl', 'shr_s', 'shr_u', 'rotl', 'rotr',
           'div_s', 'div_u', 'rem_s', 'rem_u']
FLT_BIN = ['add', 'sub', 'mul', 'div', 'min', 'max', 'copysign']
INT_CMP = ['eq', 'ne', 'lt_s', 'lt_u', 'gt_s', 'gt_u', 'le_s', 'le_u', 'ge_s', 'ge_u']
FLT_CMP = ['eq', 'ne', 'lt', 'gt', 'le', 'ge']
INT_UN = {'i32': ['clz', 'ctz', 'popcnt', 'extend8_s', 'extend16_s'],
          'i64': ['clz', 'ctz', 'popcnt', 'extend8_s', 'extend16_s', 'extend32_s']}
FLT_UN = ['abs', 'neg', 'sqrt', 'ceil', 'floor', 'trunc', 'nearest']
LOADS = {'i32': [('i32.load', 4), ('i32.load8_s', 1), ('i32.load8_u', 1), ('i32.load16_s', 2),
                 ('i32.load16_u', 2)],
         'i64': [('i64.load', 8), ('i64.load8_s', 1), ('i64.load8_u', 1), ('i64.load16_s', 2),
                 ('i64.load16_u', 2), ('i64.load32_s', 4), ('i64.load32_u', 4)],
         'f32': [('f32.load', 4)], 'f64': [('f64.load', 8)]}
STORES = {'i32': [('i32.store', 4), ('i32.store8', 1), ('i32.store16', 2)],
          'i64': [('i64.store', 8), ('i64.store8', 1), ('i64.store16', 2), ('i64.store32', 4)],
          'f32': [('f32.store', 4)], 'f64': [('f64.store', 8)]}
OFFSETS = [0, 0, 0, 1, 2, 4, 8, 16, 100, 1000]
GLOBALS = [('i32', True), ('i64', True), ('f32', True), ('f64', True), ('i32', False)]
TABLE_SIZE = 8
DIGEST_END = 0x8600  # every safe access stays below: 0x7fff + 255 + 1000 + 8


def f32_text(bits):
    if bits & 0x7f800000 == 0x7f800000:
        sign = '-' if bits & 0x80000000 else ''
        frac = bits & 0x7fffff
        return sign + ('nan:0x%x' % frac if frac else 'inf')
    return float.hex(struct.unpack('<f', struct.pack('<I', bits))[0])


def f64_text(bits):
    if bits & 0x7ff0000000000000 == 0x7ff0000000000000:
        sign = '-' if bits >> 63 else ''
        frac = bits & 0xfffffffffffff
        return sign + ('nan:0x%x' % frac if frac else 'inf')
    return float.hex(struct.unpack('<d', struct.pack('<Q', bits))[0])


class Module:
    def __init__(self, rng):
        self.rng = rng
        self.helpers = []  # (name, params, results)
        self.elems = []    # helper index per table slot (None: null)


class Func:
    """Generation state of one function body."""

    def __init__(self, mod, params, results, may_call_exports, risky, budget):
        self.mod = mod
        self.r = mod.rng
        self.params = params
        self.results = results
        self.locals = []           # declared locals after the params
        self.reserved = set()      # counters and scratch: never random targets
        self.labels = []           # (name, kind, result types)
        self.nlabel = 0
        self.loop_depth = 0
        self.may_call_exports = may_call_exports
        self.export_calls = 0
        self.risky = risky
        self.budget = budget
        self.scratch = {}
        for t in TYPES:  # a few locals of every type to read and write
            for _ in range(self.r.randint(1, 2)):
                self.new_local(t)

    def new_local(self, t, reserved=False):
        idx = len(self.params) + len(self.locals)
        self.locals.append(t)
        if reserved:
            self.reserved.add(idx)
        return idx

    def local_type(self, i):
        return self.params[i] if i < len(self.params) else self.locals[i - len(self.params)]

    def locals_of(self, t, writable=False):
        n = len(self.params) + len(self.locals)
        return [i for i in range(n) if self.local_type(i) == t and
                (i not in self.reserved or not writable)]

    def scratch_of(self, t):
        if t not in self.scratch:
            self.scratch[t] = self.new_local(t, reserved=True)
        return self.scratch[t]

    def label(self, kind):
        self.nlabel += 1
        return '$%s%d' % (kind[0], self.nlabel)

    def chance(self, p):
        return self.r.random() < p

    def spend(self, n=1):
        self.budget -= n

    # ---- constants ---------------------------------------------------------

    def const(self, t):
        r = self.r
        if t == 'i32':
            v = r.choice([0, 1, -1, 2, 3, 7, 8, 16, 31, 32, 33, 0xff, 0x100, 0xffff, 0x7fffffff,
                          -0x80000000, -2, r.randint(-128, 127), r.randint(-0x80000000, 0x7fffffff)])
            return ['i32.const %d' % v]
        if t == 'i64':
            v = r.choice([0, 1, -1, 2, 7, 31, 32, 63, 64, 65, 0xffffffff, 0x100000000,
                          0x7fffffffffffffff, -0x8000000000000000, r.randint(-128, 127),
                          r.randint(-0x80000000, 0x7fffffff),
                          r.randint(-0x8000000000000000, 0x7fffffffffffffff)])
            return ['i64.const %d' % v]
        if t == 'f32':
            bits = r.choice([0, 0x80000000, 0x3f800000, 0xbf800000, 0x3fc00000, 0x40490fdb,
                             0x7f800000, 0xff800000, 0x7fc00000, 0x00000001, 0x80800000,
                             0x7f7fffff, 0x4f000000, 0xcf000000, 0x5f000000, 0x4b000001,
                             r.getrandbits(32),
                             struct.unpack('<I', struct.pack('<f', r.randint(-40, 40) / 4))[0]])
            if bits & 0x7fffffff > 0x7f800000 and bits & 0x7fffff != 0x400000 and \
                    not self.chance(0.1):
                bits = 0x7fc00000  # payload NaNs rarely: they make NaN classes vary
            return ['f32.const %s' % f32_text(bits)]
        bits = r.choice([0, 1 << 63, 0x3ff0000000000000, 0xbff0000000000000, 0x3ff8000000000000,
                         0x400921fb54442d18, 0x7ff0000000000000, 0xfff0000000000000,
                         0x7ff8000000000000, 1, 0x7fefffffffffffff, 0x41e0000000000000,
                         0xc1e0000000000000, 0x43e0000000000000, 0x41dfffffffc00000,
                         r.getrandbits(64),
                         struct.unpack('<Q', struct.pack('<d', r.randint(-40, 40) / 8))[0]])
        if bits & 0x7fffffffffffffff > 0x7ff0000000000000 and \
                bits & 0xfffffffffffff != 0x8000000000000 and not self.chance(0.1):
            bits = 0x7ff8000000000000
        return ['f64.const %s' % f64_text(bits)]

    # ---- expressions: each returns instructions pushing one value of type t ----

    def leaf(self, t):
        k = self.r.random()
        if k < 0.35:
            return self.const(t)
        if k < 0.9:
            return ['local.get %d' % self.r.choice(self.locals_of(t))]
        gs = [i for i, (gt, _) in enumerate(GLOBALS) if gt == t]
        return ['global.get %d' % self.r.choice(gs)]

    def expr(self, t, d):
        self.spend()
        if d <= 0 or self.budget <= 0:
            return self.leaf(t)
        forms = [('leaf', 2), ('binop', 6), ('chain', 3), ('load', 2), ('tee', 2), ('select', 1),
                 ('block', 1), ('if', 1), ('convert', 2), ('unop', 2), ('hazard', 1),
                 ('global', 1), ('call', 2), ('call_indirect', 1), ('loop', 0.5),
                 ('set_then', 1)]
        if SIMD:
            forms += [('simd', 1.5)]
        if t == 'i32':
            forms += [('cmp', 4), ('eqz', 1), ('memsize', 0.3), ('memgrow', 0.2), ('multi', 0.5)]
        if t == 'i64':
            forms += [('multi', 0.5)]
        form = self.r.choices([f for f, _ in forms], [w for _, w in forms])[0]
        out = getattr(self, 'e_' + form)(t, d)
        return out if out is not None else self.leaf(t)

    def e_leaf(self, t, d):
        return self.leaf(t)

    def int_operand_guard(self, t, op, b_is_const, b):
        """Guards the divisor of a division in a non-risky function."""
        if op not in ('div_s', 'div_u', 'rem_s', 'rem_u') or self.risky and self.chance(0.5):
            return b
        if b_is_const:
            v = int(b[0].split()[1])
            if v == 0 or (op == 'div_s' and v == -1):
                return ['%s.const %d' % (t, self.r.choice([3, -7, 1, 0x10001]))]
            return b
        b = b + ['%s.const 1' % t, '%s.or' % t]
        if op == 'div_s':
            mask = 0x7fffffff if t == 'i32' else 0x7fffffffffffffff
            b += ['%s.const %d' % (t, mask), '%s.and' % t]
        return b

    def e_binop(self, t, d):
        a = self.expr(t, d - 1)
        b_const = self.chance(0.4)
        b = self.const(t) if b_const else self.expr(t, d - 1)
        if self.chance(0.15):
            a, b = self.const(t), self.expr(t, d - 1)  # constant first operand
            b_const = False
        if t in ('i32', 'i64'):
            op = self.r.choice(INT_BIN)
            b = self.int_operand_guard(t, op, b_const, b)
        else:
            op = self.r.choice(FLT_BIN)
            if op == 'copysign':
                b = self.nan_safe(t, b)
        return a + b + ['%s.%s' % (t, op)]

    def e_chain(self, t, d):
        """Dependent ops back to back: each reads the previous result."""
        out = self.expr(t, d - 1)
        for _ in range(self.r.randint(2, 6)):
            if t in ('i32', 'i64'):
                k = self.r.random()
                if k < 0.2:
                    out += ['%s.%s' % (t, self.r.choice(INT_UN[t]))]
                    continue
                op = self.r.choice(INT_BIN)
                if k < 0.7:
                    b, bc = self.const(t), True
                else:
                    b, bc = ['local.get %d' % self.r.choice(self.locals_of(t))], False
                if k > 0.9 and op not in ('div_s', 'div_u', 'rem_s', 'rem_u'):
                    # operand order swapped: the chained value is the second operand
                    out = self.const(t) + out + ['%s.%s' % (t, op)]
                    continue
                out += self.int_operand_guard(t, op, bc, b) + ['%s.%s' % (t, op)]
            else:
                if self.chance(0.25):
                    out += ['%s.%s' % (t, self.r.choice(FLT_UN))]
                else:
                    op = self.r.choice(FLT_BIN[:6])
                    out += self.const(t) + ['%s.%s' % (t, op)]
        return out

    def address(self, d, size, offset):
        r = self.r
        if self.risky and self.chance(0.15):
            if self.chance(0.5):
                return ['i32.const %d' % (0x10000 - r.randint(0, 8) - offset)]
            return self.expr('i32', d - 1)
        k = r.random()
        if k < 0.25:
            return ['i32.const %d' % r.randint(0, 0x7fff)]
        if k < 0.4:  # base + index, both computed (the folded _X forms)
            return self.expr('i32', d - 1) + ['i32.const 0x3fff', 'i32.and'] + \
                self.expr('i32', d - 1) + ['i32.const %d' % r.choice([0xff, 0x3ff8]), 'i32.and',
                                           'i32.add']
        mask = r.choice([0x7fff, 0x7ff8, 0x7ffc, 0xff, 0x3ff0])
        out = self.expr('i32', d - 1) + ['i32.const %d' % mask, 'i32.and']
        if k < 0.7:
            out += ['i32.const %d' % r.randint(0, 255), 'i32.add']
        return out

    def memarg(self, size):
        offset = self.r.choice(OFFSETS)
        align = self.r.choice([a for a in (1, 2, 4, 8) if a <= size])
        text = ''
        if offset:
            text += ' offset=%d' % offset
        if align != size or self.chance(0.2):
            text += ' align=%d' % align
        return offset, text

    def e_load(self, t, d):
        op, size = self.r.choice(LOADS[t])
        offset, text = self.memarg(size)
        return self.address(d, size, offset) + [op + text]

    def e_tee(self, t, d):
        return self.expr(t, d - 1) + ['local.tee %d' % self.r.choice(self.locals_of(t, True))]

    def e_set_then(self, t, d):
        """A statement, then the value: set/tee right before a use."""
        return self.stmt(d - 1) + self.expr(t, d - 1)

    def e_hazard(self, t, d):
        """Reads a local, then changes it before the read value is used."""
        x = self.r.choice(self.locals_of(t, True))
        if t in ('i32', 'i64'):
            op = self.r.choice(['add', 'sub', 'xor', 'mul', 'shl', 'rotr'])
        else:
            op = self.r.choice(['add', 'sub', 'mul', 'min'])
        k = self.r.random()
        if k < 0.4:
            second = self.expr(t, d - 1) + ['local.tee %d' % x]
        elif k < 0.6:
            name = self.label('if')
            second = self.cond(d - 1) + ['if %s (result %s)' % (name, t)] + \
                self.expr(t, d - 1) + ['local.set %d' % x, 'local.get %d' % x, 'else'] + \
                self.expr(t, d - 1) + ['end']
        else:
            second = self.block_with(t, self.expr(t, d - 1) + ['local.set %d' % x] +
                                     self.expr(t, d - 1))
        return ['local.get %d' % x] + second + ['%s.%s' % (t, op)]

    def block_with(self, t, body):
        name = self.label('block')
        return ['block %s (result %s)' % (name, t)] + body + ['end']

    def e_select(self, t, d):
        a, b = self.expr(t, d - 1), self.expr(t, d - 1)
        sel = 'select (result %s)' % t if self.chance(0.3) else 'select'
        return a + b + self.cond(d - 1) + [sel]

    def cond(self, d):
        """An i32 condition, usually a compare (the fused forms)."""
        k = self.r.random()
        if k < 0.6:
            return self.e_cmp('i32', d)
        if k < 0.75:
            return self.e_eqz('i32', d)
        return self.expr('i32', d)

    def e_cmp(self, t, d):
        u = self.r.choice(TYPES)
        a = self.expr(u, d - 1)
        b = self.const(u) if self.chance(0.5) else self.expr(u, d - 1)
        if self.chance(0.1):
            a, b = self.const(u), self.expr(u, d - 1)
        op = self.r.choice(INT_CMP if u in ('i32', 'i64') else FLT_CMP)
        return a + b + ['%s.%s' % (u, op)]

    def e_eqz(self, t, d):
        u = self.r.choice(['i32', 'i64'])
        return self.expr(u, d - 1) + ['%s.eqz' % u]

    def e_unop(self, t, d):
        a = self.expr(t, d - 1)
        ops = INT_UN[t] if t in INT_UN else FLT_UN
        return a + ['%s.%s' % (t, self.r.choice(ops))]

    def nan_safe(self, t, value):
        """value, or +0 when it is a NaN: for ops that expose a float's bits."""
        if len(value) == 1 and 'nan' not in value[0] and value[0].startswith(t + '.const'):
            return value
        s = self.scratch_of(t)
        return value + ['local.tee %d' % s, '%s.const 0' % t, 'local.get %d' % s,
                        'local.get %d' % s, '%s.eq' % t, 'select']

    def e_convert(self, t, d):
        r = self.r
        trap_ok = self.risky and self.chance(0.5)
        if t == 'i32':
            k = r.choice(['wrap', 'trunc', 'trunc', 'reinterpret'])
            if k == 'wrap':
                return self.expr('i64', d - 1) + ['i32.wrap_i64']
            if k == 'reinterpret':
                return self.nan_safe('f32', self.expr('f32', d - 1)) + ['i32.reinterpret_f32']
        elif t == 'i64':
            k = r.choice(['extend', 'trunc', 'trunc', 'reinterpret'])
            if k == 'extend':
                return self.expr('i32', d - 1) + ['i64.extend_i32_%s' % r.choice('su')]
            if k == 'reinterpret':
                return self.nan_safe('f64', self.expr('f64', d - 1)) + ['i64.reinterpret_f64']
        else:
            k = r.choice(['convert', 'convert', 'fconv', 'reinterpret'])
            it = 'i32' if t == 'f32' else 'i64'
            if k == 'convert':
                u = r.choice(['i32', 'i64'])
                return self.expr(u, d - 1) + ['%s.convert_%s_%s' % (t, u, r.choice('su'))]
            if k == 'reinterpret':
                return self.expr(it, d - 1) + ['%s.reinterpret_%s' % (t, it)]
            if t == 'f32':
                return self.expr('f64', d - 1) + ['f32.demote_f64']
            return self.expr('f32', d - 1) + ['f64.promote_f32']
        u = r.choice(['f32', 'f64'])
        sat = '' if trap_ok else '_sat'
        return self.expr(u, d - 1) + ['%s.trunc%s_%s_%s' % (t, sat, u, r.choice('su'))]

    # ---- SIMD: a v128 expression, then a lane or a test out of it ------------
    # Integer-shaped vectors may be viewed in any integer shape (their bits
    # are deterministic); float-shaped ones (f32x4, f64x2) leave only through
    # a float extract_lane (compared by NaN class) or trunc_sat, never through
    # their bits, as the scalar floats do through nan_safe.

    def e_simd(self, t, d):
        r = self.r
        if t == 'i32':
            k = r.random()
            if k < 0.5:
                sh, n, sx = r.choice([('i8x16', 16, True), ('i16x8', 8, True), ('i32x4', 4, False)])
                suffix = '_%s' % r.choice('su') if sx else ''
                return self.vint(d - 1) + ['%s.extract_lane%s %d' % (sh, suffix, r.randrange(n))]
            op = r.choice(['v128.any_true', 'i8x16.all_true', 'i16x8.all_true', 'i32x4.all_true',
                           'i64x2.all_true', 'i8x16.bitmask', 'i16x8.bitmask', 'i32x4.bitmask',
                           'i64x2.bitmask'])
            return self.vint(d - 1) + [op]
        if t == 'i64':
            return self.vint(d - 1) + ['i64x2.extract_lane %d' % r.randrange(2)]
        if t == 'f32':
            return self.vflt('f32', d - 1) + ['f32x4.extract_lane %d' % r.randrange(4)]
        return self.vflt('f64', d - 1) + ['f64x2.extract_lane %d' % r.randrange(2)]

    def v_const(self):
        lanes = [self.r.choice([0, 1, -1, 0x7f, 0x80, 0x7fff, -0x8000, 0x7fffffff, -0x80000000,
                                self.r.getrandbits(32)]) & 0xffffffff for _ in range(4)]
        return ['v128.const i32x4 ' + ' '.join('0x%x' % v for v in lanes)]

    def vint(self, d):
        self.spend()
        r = self.r
        if d <= 0 or self.budget <= 0:
            return self.v_const()
        k = r.random()
        if k < 0.1:
            return self.v_const()
        if k < 0.2:
            sh, u = r.choice([('i8x16', 'i32'), ('i16x8', 'i32'), ('i32x4', 'i32'), ('i64x2', 'i64')])
            return self.expr(u, d - 1) + ['%s.splat' % sh]
        if k < 0.45:
            op = r.choice(['v128.and', 'v128.or', 'v128.xor', 'v128.andnot', 'i8x16.swizzle',
                           'i8x16.add', 'i8x16.sub', 'i8x16.add_sat_s', 'i8x16.add_sat_u',
                           'i8x16.sub_sat_s', 'i8x16.sub_sat_u', 'i8x16.min_s', 'i8x16.max_u',
                           'i8x16.avgr_u', 'i8x16.eq', 'i8x16.lt_s', 'i8x16.ge_u',
                           'i8x16.narrow_i16x8_s', 'i8x16.narrow_i16x8_u', 'i16x8.add',
                           'i16x8.mul', 'i16x8.sub_sat_s', 'i16x8.add_sat_u', 'i16x8.min_u',
                           'i16x8.max_s', 'i16x8.q15mulr_sat_s', 'i16x8.gt_u', 'i16x8.le_s',
                           'i16x8.narrow_i32x4_s', 'i16x8.narrow_i32x4_u', 'i16x8.avgr_u',
                           'i16x8.extmul_low_i8x16_s', 'i16x8.extmul_high_i8x16_u', 'i32x4.add',
                           'i32x4.sub', 'i32x4.mul', 'i32x4.min_s', 'i32x4.max_u', 'i32x4.ne',
                           'i32x4.lt_u', 'i32x4.dot_i16x8_s', 'i32x4.extmul_low_i16x8_u',
                           'i32x4.extmul_high_i16x8_s', 'i64x2.add', 'i64x2.sub', 'i64x2.mul',
                           'i64x2.eq', 'i64x2.lt_s', 'i64x2.ge_s', 'i64x2.extmul_low_i32x4_s',
                           'i64x2.extmul_high_i32x4_u'])
            return self.vint(d - 1) + self.vint(d - 1) + [op]
        if k < 0.6:
            op = r.choice(['v128.not', 'i8x16.abs', 'i8x16.neg', 'i8x16.popcnt', 'i16x8.abs',
                           'i16x8.neg', 'i32x4.abs', 'i32x4.neg', 'i64x2.abs', 'i64x2.neg',
                           'i16x8.extend_low_i8x16_s', 'i16x8.extend_high_i8x16_u',
                           'i32x4.extend_low_i16x8_u', 'i32x4.extend_high_i16x8_s',
                           'i64x2.extend_low_i32x4_s', 'i64x2.extend_high_i32x4_u',
                           'i16x8.extadd_pairwise_i8x16_s', 'i32x4.extadd_pairwise_i16x8_u'])
            return self.vint(d - 1) + [op]
        if k < 0.7:
            op = r.choice(['i8x16', 'i16x8', 'i32x4', 'i64x2']) + '.' + r.choice(['shl', 'shr_s', 'shr_u'])
            return self.vint(d - 1) + self.expr('i32', d - 1) + [op]
        if k < 0.75:
            return self.vint(d - 1) + self.vint(d - 1) + self.vint(d - 1) + ['v128.bitselect']
        if k < 0.8:
            lanes = ' '.join(str(r.randrange(32)) for _ in range(16))
            return self.vint(d - 1) + self.vint(d - 1) + ['i8x16.shuffle ' + lanes]
        if k < 0.85:
            sh, n, u = r.choice([('i8x16', 16, 'i32'), ('i16x8', 8, 'i32'), ('i32x4', 4, 'i32'),
                                 ('i64x2', 2, 'i64')])
            return self.vint(d - 1) + self.expr(u, d - 1) + ['%s.replace_lane %d' % (sh, r.randrange(n))]
        if k < 0.92:
            op, size = r.choice([('v128.load', 16), ('v128.load8x8_s', 8), ('v128.load16x4_u', 8),
                                 ('v128.load32x2_s', 8), ('v128.load8_splat', 1),
                                 ('v128.load16_splat', 2), ('v128.load32_splat', 4),
                                 ('v128.load64_splat', 8), ('v128.load32_zero', 4),
                                 ('v128.load64_zero', 8)])
            offset, text = self.memarg(size)
            return self.address(d, size, offset) + [op + text]
        if k < 0.96:
            ft = r.choice(['f32', 'f64'])
            op = 'i32x4.trunc_sat_f32x4_%s' if ft == 'f32' else 'i32x4.trunc_sat_f64x2_%s_zero'
            return self.vflt(ft, d - 1) + [op % r.choice('su')]
        name = self.label('block')
        body = self.vint(d - 1)
        if self.chance(0.5):
            return self.vint(d - 1) + body + self.cond(d - 1) + \
                [r.choice(['select', 'select (result v128)'])]
        return ['block %s (result v128)' % name] + body + ['end']

    def vflt(self, ft, d):
        self.spend()
        r = self.r
        sh = 'f32x4' if ft == 'f32' else 'f64x2'
        if d <= 0 or self.budget <= 0:
            return self.expr(ft, 0) + ['%s.splat' % sh]
        k = r.random()
        if k < 0.25:
            return self.expr(ft, d - 1) + ['%s.splat' % sh]
        if k < 0.55:
            op = r.choice(['add', 'sub', 'mul', 'div', 'min', 'max', 'pmin', 'pmax', 'eq', 'lt', 'ge'])
            if op in ('eq', 'lt', 'ge'):  # a mask: all-ones lanes are NaN floats, all-zero are 0
                return self.vflt(ft, d - 1) + self.vflt(ft, d - 1) + ['%s.%s' % (sh, op)] + \
                    self.vflt(ft, d - 1) + ['v128.and']
            return self.vflt(ft, d - 1) + self.vflt(ft, d - 1) + ['%s.%s' % (sh, op)]
        if k < 0.75:
            op = r.choice(['abs', 'neg', 'sqrt', 'ceil', 'floor', 'trunc', 'nearest'])
            return self.vflt(ft, d - 1) + ['%s.%s' % (sh, op)]
        if k < 0.9:
            if ft == 'f32':
                return self.vint(d - 1) + ['f32x4.convert_i32x4_%s' % r.choice('su')]
            return self.vint(d - 1) + ['f64x2.convert_low_i32x4_%s' % r.choice('su')]
        if ft == 'f32':
            return self.vflt('f64', d - 1) + ['f32x4.demote_f64x2_zero']
        return self.vflt('f32', d - 1) + ['f64x2.promote_low_f32x4']

    def e_global(self, t, d):
        gs = [i for i, (gt, m) in enumerate(GLOBALS) if gt == t and m]
        g = self.r.choice(gs)
        if self.chance(0.5):
            return self.expr(t, d - 1) + ['global.set %d' % g, 'global.get %d' % g]
        return ['global.get %d' % g]

    def e_memsize(self, t, d):
        return ['memory.size']

    def e_memgrow(self, t, d):
        return ['i32.const %d' % self.r.choice([0, 0, 1, 2, 65536]), 'memory.grow']

    def e_multi(self, t, d):
        other = self.r.choice(TYPES)
        name = self.label('block')
        body = self.expr(t, d - 1) + self.expr(other, d - 1)
        tail = ['local.set %d' % self.r.choice(self.locals_of(other, True))] \
            if self.chance(0.7) else ['drop']
        return ['block %s (result %s %s)' % (name, t, other)] + body + ['end'] + tail

    def e_block(self, t, d):
        """block (result t): an early exit with a value, then a fallthrough value."""
        name = self.label('block')
        self.labels.append((name, 'block', [t]))
        body = self.stmts(d - 1, self.r.randint(0, 2))
        body += self.expr(t, d - 1) + self.cond(d - 1) + ['br_if %s' % name, 'drop']
        body += self.stmts(d - 1, self.r.randint(0, 1)) + self.expr(t, d - 1)
        self.labels.pop()
        return ['block %s (result %s)' % (name, t)] + body + ['end']

    def e_if(self, t, d):
        name = self.label('if')
        c = self.cond(d - 1)
        self.labels.append((name, 'if', [t]))
        then = self.stmts(d - 1, self.r.randint(0, 1)) + self.expr(t, d - 1)
        els = self.stmts(d - 1, self.r.randint(0, 1)) + self.expr(t, d - 1)
        self.labels.pop()
        return c + ['if %s (result %s)' % (name, t)] + then + ['else'] + els + ['end']

    def e_loop(self, t, d):
        """loop (result t) whose back edge leaves a value on the stack."""
        if self.loop_depth >= 2:
            return None
        c = self.new_local('i32', reserved=True)
        name = self.label('loop')
        n = self.r.randint(1, 5)
        self.labels.append((name, 'loop', []))
        self.loop_depth += 1
        body = self.stmts(d - 1, self.r.randint(0, 2)) + self.expr(t, d - 1)
        self.loop_depth -= 1
        self.labels.pop()
        body += ['local.get %d' % c, 'i32.const 1', 'i32.add', 'local.tee %d' % c,
                 'i32.const %d' % n, 'i32.lt_u', 'br_if %s' % name]
        return ['i32.const 0', 'local.set %d' % c, 'loop %s (result %s)' % (name, t)] + body + \
            ['end']

    def callable(self):
        """(name, params, results) this function may call now."""
        out = list(self.mod.helpers)
        if self.may_call_exports and self.loop_depth == 0 and self.export_calls < 2:
            out += [(n, [], res) for n, res in self.may_call_exports]
        return out

    def call_args(self, params, d):
        out = []
        for p in params:
            out += self.expr(p, d - 1)
        return out

    def drop_extra(self, types):
        """Consumes values of `types` (bottom to top) from the stack top down."""
        out = []
        for t in reversed(types):
            if self.chance(0.5):
                out.append('drop')
            else:
                out.append('local.set %d' % self.r.choice(self.locals_of(t, True)))
        return out

    def e_call(self, t, d):
        cands = [c for c in self.callable() if c[2] and c[2][0] == t]
        if not cands:
            return None
        name, params, results = self.r.choice(cands)
        if not name.startswith('$h'):
            self.export_calls += 1
        return self.call_args(params, d) + ['call %s' % name] + self.drop_extra(results[1:])

    def e_call_indirect(self, t, d):
        slots = [i for i, h in enumerate(self.mod.elems) if h is not None and
                 self.mod.helpers[h][2][:1] == [t]]
        if not slots:
            return None
        slot = self.r.choice(slots)
        _, params, results = self.mod.helpers[self.mod.elems[slot]]
        if self.risky and self.chance(0.4):
            index = self.expr('i32', d - 1) + ['i32.const %d' % (TABLE_SIZE * 2 - 1), 'i32.and']
        else:
            index = ['i32.const %d' % slot]
        sig = ''.join(' (param %s)' % p for p in params) + \
            ''.join(' (result %s)' % r for r in results)
        return self.call_args(params, d) + index + ['call_indirect' + sig] + \
            self.drop_extra(results[1:])

    # ---- statements: each leaves the stack as it found it -------------------

    def stmts(self, d, n):
        out = []
        for _ in range(n):
            if self.budget <= 0:
                break
            out += self.stmt(d)
        return out

    def stmt(self, d):
        self.spend()
        forms = [('set', 5), ('store', 3), ('gset', 1), ('if', 2), ('block', 2), ('loop', 2),
                 ('br_table', 1), ('drop', 1), ('call', 1), ('br_out', 1), ('bulk', 0.5),
                 ('ret', 0.3)]
        if self.risky:
            forms += [('trap', 0.5)]
        form = self.r.choices([f for f, _ in forms], [w for _, w in forms])[0]
        if d <= 0 and form in ('if', 'block', 'loop', 'br_table'):
            form = 'set'
        return getattr(self, 's_' + form)(d)

    def s_set(self, d):
        t = self.r.choice(TYPES)
        return self.expr(t, d) + ['local.set %d' % self.r.choice(self.locals_of(t, True))]

    def s_gset(self, d):
        g = self.r.choice([i for i, (_, m) in enumerate(GLOBALS) if m])
        return self.expr(GLOBALS[g][0], d) + ['global.set %d' % g]

    def s_store(self, d):
        t = self.r.choice(TYPES)
        op, size = self.r.choice(STORES[t])
        offset, text = self.memarg(size)
        value = self.expr(t, d - 1)
        if t in ('f32', 'f64'):
            value = self.nan_safe(t, value)
        return self.address(d, size, offset) + value + [op + text]

    def s_drop(self, d):
        return self.expr(self.r.choice(TYPES), d) + ['drop']

    def s_call(self, d):
        cands = self.callable()
        if not cands:
            return self.s_set(d)
        name, params, results = self.r.choice(cands)
        if not name.startswith('$h'):
            self.export_calls += 1
        return self.call_args(params, d) + ['call %s' % name] + self.drop_extra(results)

    def s_if(self, d):
        name = self.label('if')
        c = self.cond(d - 1)
        self.labels.append((name, 'if', []))
        then = self.stmts(d - 1, self.r.randint(1, 3))
        els = self.stmts(d - 1, self.r.randint(0, 2))
        self.labels.pop()
        out = c + ['if %s' % name] + then
        if els:
            out += ['else'] + els
        return out + ['end']

    def s_block(self, d):
        name = self.label('block')
        self.labels.append((name, 'block', []))
        body = self.stmts(d - 1, self.r.randint(0, 2)) + self.cond(d - 1) + \
            ['br_if %s' % name] + self.stmts(d - 1, self.r.randint(1, 2))
        self.labels.pop()
        return ['block %s' % name] + body + ['end']

    def s_loop(self, d):
        if self.loop_depth >= 2:
            return self.s_set(d)
        c = self.new_local('i32', reserved=True)
        name = self.label('loop')
        n = self.r.randint(1, 8)
        self.labels.append((name, 'loop', []))
        self.loop_depth += 1
        body = self.stmts(d - 1, self.r.randint(1, 3))
        self.loop_depth -= 1
        self.labels.pop()
        k = self.r.random()
        if k < 0.4:    # count up, compare with the bound
            head = ['i32.const 0', 'local.set %d' % c]
            tail = ['local.get %d' % c, 'i32.const 1', 'i32.add', 'local.tee %d' % c,
                    'i32.const %d' % n, self.r.choice(['i32.lt_u', 'i32.lt_s', 'i32.ne']),
                    'br_if %s' % name]
        elif k < 0.7:  # count down to zero: br_if on the value itself
            head = ['i32.const %d' % n, 'local.set %d' % c]
            tail = ['local.get %d' % c, 'i32.const -1', 'i32.add', 'local.tee %d' % c,
                    'br_if %s' % name]
        else:          # bound first: the compare has its constant on the left
            head = ['i32.const 0', 'local.set %d' % c]
            tail = ['local.get %d' % c, 'i32.const 1', 'i32.add', 'local.set %d' % c,
                    'i32.const %d' % n, 'local.get %d' % c, 'i32.gt_s', 'br_if %s' % name]
        return head + ['loop %s' % name] + body + tail + ['end']

    def s_br_table(self, d):
        names = [self.label('block') for _ in range(self.r.randint(2, 4))]
        out = ['block %s' % n for n in names]
        for n in names:
            self.labels.append((n, 'block', []))
        idx = self.expr('i32', d - 1)
        if self.chance(0.5):
            idx += ['i32.const 7', 'i32.and']
        targets = [self.r.choice(names) for _ in range(self.r.randint(1, 5))]
        out += idx + ['br_table %s' % ' '.join(targets + [self.r.choice(names)])]
        for n in reversed(names):
            self.labels.pop()
            out += ['end'] + self.stmts(d - 1, self.r.randint(0, 1))
        return out

    def s_br_out(self, d):
        """A conditional branch to an enclosing block or if, with its values."""
        targets = [l for l in self.labels if l[1] != 'loop' and len(l[2]) <= 1]
        if not targets:
            return self.s_set(d)
        name, _, results = self.r.choice(targets)
        vals = []
        for t in results:
            vals += self.expr(t, d - 1)
        return vals + self.cond(d - 1) + ['br_if %s' % name] + ['drop'] * len(results)

    def s_bulk(self, d):
        dst = self.expr('i32', d - 1) + ['i32.const 0x3fff', 'i32.and']
        n = self.expr('i32', d - 1) + ['i32.const 0xff', 'i32.and']
        if self.risky and self.chance(0.3):
            n = self.expr('i32', d - 1)
        if self.chance(0.5):
            return dst + self.expr('i32', d - 1) + n + ['memory.fill']
        src = self.expr('i32', d - 1) + ['i32.const 0x3fff', 'i32.and']
        return dst + src + n + ['memory.copy']

    def s_ret(self, d):
        # a tail call (return_call, return_call_indirect) of a helper whose
        # results are exactly this function's
        tails = [h for h in self.mod.helpers if h[2] == self.results]
        if tails and self.chance(0.4):
            name, params, results = self.r.choice(tails)
            slots = [i for i, h in enumerate(self.mod.elems)
                     if h is not None and self.mod.helpers[h] == (name, params, results)]
            if slots and self.chance(0.5):
                return self.cond(d - 1) + ['if'] + self.call_args(params, d) + \
                    ['i32.const %d' % self.r.choice(slots),
                     'return_call_indirect' + sig_text(params, results), 'end']
            return self.cond(d - 1) + ['if'] + self.call_args(params, d) + \
                ['return_call %s' % name, 'end']
        vals = []
        for t in self.results:
            vals += self.expr(t, d - 1)
        return self.cond(d - 1) + ['if'] + vals + ['return', 'end']

    def s_trap(self, d):
        return self.cond(d - 1) + ['if', 'unreachable', 'end']

    # ---- the function -------------------------------------------------------

    def body(self, depth):
        out = self.stmts(depth, self.r.randint(2, 7))
        for t in self.results:
            out += self.expr(t, depth)
        return out

    def text(self, header, body):
        lines = ['  (func ' + header]
        if self.locals:
            lines.append('    (local %s)' % ' '.join(self.locals))
        indent = 2
        for ins in body:
            word = ins.split()[0]
            if word in ('end', 'else'):
                indent -= 1
            lines.append('  ' * indent + ins)
            if word in ('block', 'loop', 'if', 'else'):
                indent += 1
        lines[-1] += ')'
        return '\n'.join(lines)


def sig_text(params, results):
    return ''.join(' (param %s)' % p for p in params) + \
        ''.join(' (result %s)' % r for r in results)


def gen_module(rng):
    mod = Module(rng)
    funcs = []
    for i in range(rng.randint(1, 4)):
        params = [rng.choice(TYPES) for _ in range(rng.randint(1, 3))]
        results = [rng.choice(TYPES) for _ in range(rng.choice([0, 1, 1, 1, 2]))]
        name = '$h%d' % i
        f = Func(mod, params, results, None, rng.random() < 0.3, rng.randint(20, 60))
        body = f.body(3)
        funcs.append(f.text('%s (export "h%d")%s' % (name, i, sig_text(params, results)), body))
        mod.helpers.append((name, params, results))
    mod.elems = [rng.randrange(len(mod.helpers)) if rng.random() < 0.7 else None
                 for _ in range(TABLE_SIZE)]
    exported = []
    for i in range(rng.randint(2, 6)):
        results = [rng.choice(TYPES) for _ in range(rng.choice([0, 1, 1, 1, 2]))]
        name = '$f%d' % i
        f = Func(mod, [], results, list(exported), rng.random() < 0.3, rng.randint(40, 160))
        body = f.body(rng.randint(2, 4))
        funcs.append(f.text('%s (export "f%d")%s' % (name, i, sig_text([], results)), body))
        exported.append((name, results))

    parts = ['(module', '  (memory 1 2)',
             '  (table %d funcref)' % TABLE_SIZE]
    for t, m in GLOBALS:
        init = {'i32': 'i32.const 5', 'i64': 'i64.const -9', 'f32': 'f32.const 1.5',
                'f64': 'f64.const -2.25'}[t]
        parts.append('  (global %s (%s))' % ('(mut %s)' % t if m else t, init))
    data = bytes(rng.getrandbits(8) for _ in range(rng.randint(8, 64)))
    parts.append('  (data (i32.const %d) "%s")' % (
        rng.choice([0, 8, 0x100, 0x7ff0]), ''.join('\\%02x' % b for b in data)))
    for slot, h in enumerate(mod.elems):
        if h is not None:
            parts.append('  (elem (i32.const %d) func %s)' % (slot, mod.helpers[h][0]))
    parts += funcs
    # Last export: a digest of the memory every safe store can reach, and the globals.
    parts.append('''  (func (export "zz_digest") (result i64 i32 i64 f32 f64 i32)
    (local i32 i64)
    loop $l
      local.get 1
      i64.const 31
      i64.mul
      local.get 0
      i64.load
      i64.add
      local.set 1
      local.get 0
      i32.const 8
      i32.add
      local.tee 0
      i32.const %d
      i32.lt_u
      br_if $l
    end
    local.get 1
    global.get 0
    global.get 1
    global.get 2
    global.get 3
    memory.size)''' % DIGEST_END)
    parts.append(')')
    return '\n'.join(parts) + '\n'


def main():
    if len(sys.argv) != 4:
        sys.exit('usage: gen_modules.py SEED N OUTDIR')
    seed, n, outdir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    watdir = os.path.join(outdir, 'wat')
    os.makedirs(watdir, exist_ok=True)
    for name in os.listdir(outdir):
        if name.endswith('.wasm'):
            os.unlink(os.path.join(outdir, name))
    for i in range(n):
        rng = random.Random('%d/%d' % (seed, i))
        name = 'g%d-%05d' % (seed, i)
        wat = os.path.join(watdir, name + '.wat')
        with open(wat, 'w') as out:
            out.write(gen_module(rng))
        r = subprocess.run(['wat2wasm', '--enable-tail-call', wat, '-o',
                            os.path.join(outdir, name + '.wasm')],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit('gen_modules.py: generated an invalid module %s:\n%s' % (wat, r.stderr))


if __name__ == '__main__':
    main()
