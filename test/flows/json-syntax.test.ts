/**
 * The byte-level JSON check must say exactly what `JSON.parse` says about validity: never reject what parses (a
 * flow line would be lost), never accept what does not (it would only cost an exception, but it should not).
 * Generated JSON, JSON with JSON-significant characters put in or cut out, and random bytes. Saved seed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isJsonText, jsonSyntaxErrorAt } from '../../pipeline/flows/json-syntax.js';

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function agree(bytes: Buffer): void {
  // Inside a larger buffer, so that reading past `end` would show.
  const padded = Buffer.concat([Buffer.from('}]"1'), bytes, Buffer.from('}]"1 ')]);
  const valid = parses(bytes.toString('utf8'));
  expect(isJsonText(padded, 4, 4 + bytes.length), JSON.stringify(bytes.toString('utf8'))).toBe(valid);
  // Where it breaks lies inside the text (or at its end), and the text before it is a prefix of some JSON text.
  const at = jsonSyntaxErrorAt(padded, 4, 4 + bytes.length);
  if (valid) expect(at).toBe(-1);
  else expect(at >= 4 && at <= 4 + bytes.length).toBe(true);
}

const SIGNIFICANT = ['{', '}', '[', ']', ',', ':', '"', '\\', '\\u', '\\u12', 'e', 'E', '-', '+', '.', '0', '01', ' ', '\t', '\n', '\r', '\u00a0', '\ufeff', '\u0001', 'true', 'nul', 'é', '\ud83d\ude00'];

const runs = { seed: 20261202, numRuns: 3000 };

describe('isJsonText', () => {
  it('agrees with JSON.parse on fixed cases', () => {
    for (const text of ['{}', ' {} ', '[]', '[1,2]', '{"a":1}', '{"a":}', '{"a" 1}', '{,}', '[1,]', '01', '-0', '-', '1.', '.5', '1e5', '1E+5', '1e', '"\\u00e9"', '"\\x"', '"a\tb"', 'true', 'tru', 'nulll', '', ' ', '{"a":[{"b":null}]}', '[[[[[]]]]]', '[[[[[]]]]', '"\u00e9"', '{"a":1}}', '{} {}'])
      agree(Buffer.from(text));
    agree(Buffer.from([0x22, 0xff, 0xfe, 0x22]));
    agree(Buffer.from([0x7b, 0xff, 0x7d]));
    agree(Buffer.from(`${'['.repeat(100_000)}${']'.repeat(100_000)}`));
    const at = (text: string) => jsonSyntaxErrorAt(Buffer.from(text), 0, Buffer.byteLength(text));
    expect([at('{"a":}'), at('{"a" 1}'), at('[1,]'), at('{"a":1}}'), at('{"flow": oops'), at('[1, 2'), at('"\\x"')]).toEqual([5, 5, 3, 7, 9, 5, 0]);
  });

  it('agrees with JSON.parse on generated and mutated JSON', () => {
    fc.assert(
      fc.property(fc.json(), fc.array(fc.tuple(fc.nat(), fc.constantFrom(...SIGNIFICANT), fc.boolean()), { maxLength: 3 }), (json, edits) => {
        agree(Buffer.from(json));
        let t = json;
        for (const [at, text, cut] of edits) {
          const k = t.length === 0 ? 0 : at % t.length;
          t = cut ? t.slice(0, k) + t.slice(k + 1) : t.slice(0, k) + text + t.slice(k);
        }
        agree(Buffer.from(t));
      }),
      runs,
    );
  });

  it('agrees with JSON.parse on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => agree(Buffer.from(bytes))),
      runs,
    );
  });
});
