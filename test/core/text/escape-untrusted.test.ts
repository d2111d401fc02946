/**
 * escapeUntrusted, the one function that makes quoted input safe for a one-line message: which characters become
 * visible escapes, that everything else is left alone, and that escaping twice is escaping once (the property
 * that lets error constructors and the CLI's output sink both apply it).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { escapeUntrusted } from '../../../pipeline/core/text/index.js';
import { PalisadeError, UsageError } from '../../../pipeline/core/errors.js';

const runs = { numRuns: 500, seed: 20261202 };

/** Every code point the function must escape, listed independently of its regular expression. */
function mustEscape(cp: number): boolean {
  return cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f) || cp === 0x2028 || cp === 0x2029 ||
    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp === 0x200e || cp === 0x200f || cp === 0x061c;
}

describe('escapeUntrusted', () => {
  it('writes terminal escapes, newlines, C1, separators and bidi controls as visible escapes', () => {
    expect(escapeUntrusted('\x1b[2J\nok: serial 99')).toBe('\\x1b[2J\\x0aok: serial 99');
    expect(escapeUntrusted('a\tb\rc\x00d\x7fe\x85f\x9b')).toBe('a\\x09b\\x0dc\\x00d\\x7fe\\x85f\\x9b');
    expect(escapeUntrusted('x\u2028y\u2029z')).toBe('x\\u2028y\\u2029z');
    expect(escapeUntrusted('\u202eevil\u202c \u2066\u2067\u2068\u2069 \u200e\u200f\u061c\u202a\u202b\u202d'))
      .toBe('\\u202eevil\\u202c \\u2066\\u2067\\u2068\\u2069 \\u200e\\u200f\\u061c\\u202a\\u202b\\u202d');
  });

  it('leaves ordinary text alone: the same string back, backslashes and non-Latin text included', () => {
    const text = 'policies/web.yaml:3:7: unknown field \'spec.x\' — ünïcødé 日本 \\x1b 🙂';
    expect(escapeUntrusted(text)).toBe(text);
  });

  it('over every code point of the BMP: exactly the listed ones change, each into one \\x or \\u escape', () => {
    for (let cp = 0; cp <= 0xffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCharCode(cp);
      const out = escapeUntrusted(ch);
      if (!mustEscape(cp)) expect(out).toBe(ch);
      else expect(out).toBe(cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`);
    }
  });

  it('property: the result holds no unsafe character, and escaping it again changes nothing', () => {
    const unsafeHeavy = fc.string({ unit: fc.oneof(fc.constantFrom('\x1b', '\n', '\r', '\u202e', '\u2028', '\x9b', '\\', 'x', '1'), fc.string({ unit: 'grapheme', maxLength: 1 })) });
    fc.assert(
      fc.property(unsafeHeavy, (s) => {
        const once = escapeUntrusted(s);
        for (const ch of once) expect(mustEscape(ch.codePointAt(0)!)).toBe(false);
        expect(escapeUntrusted(once)).toBe(once);
      }),
      runs,
    );
  });
});

describe('PalisadeError messages', () => {
  it('are escaped where they are built, for every subclass', () => {
    const e = new PalisadeError('bundle-malformed', "unknown member '\x1b[2J\nok: serial 99'");
    expect(e.message).toBe("unknown member '\\x1b[2J\\x0aok: serial 99'");
  });

  it('keep a usage error\'s own multi-line usage text apart from its one-line message', () => {
    const e = new UsageError("unexpected argument '\x1b[31m'", 'usage: palisade x\n       palisade y');
    expect(e.message).toBe("unexpected argument '\\x1b[31m'");
    expect(e.usage).toBe('usage: palisade x\n       palisade y');
  });
});
