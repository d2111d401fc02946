/**
 * The diff's markdown (a PR comment) and GitHub annotations quote recorded flows and policy files: pod names and
 * rule files with terminal escapes or bidi controls must come out as visible escapes, never as the characters.
 */
import { describe, expect, it } from 'vitest';
import { DiffAggregator, renderMarkdown, type DiffReport } from '../../pipeline/diff/index.js';
import { renderGithub } from '../../pipeline/github/index.js';
import { dropped, forwarded, pod, rule, tcp } from './helpers.js';

const RAW_UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function hostileReport(): DiffReport {
  const agg = new DiffAggregator();
  const src = pod('shop', 'web\x1b[2J\u202eexe.txt-7d9f8b6c5d-x2x4q', '10.1.0.1', 'web\x1b[2J\u202eexe.txt');
  const dst = pod('data', 'db-0', '10.0.2.20', 'db');
  agg.add(tcp(0, src, dst, 5432, { time: '2026-11-28T10:00:00Z' }), forwarded(0, [rule('policies/a\x1b]0;x\x07.yaml', 3, 'allow\u2066')]), dropped(0, 'egress'));
  return { version: 1, base: { ref: 'main', commit: 'a'.repeat(40) }, head: { ref: 'feature', commit: 'b'.repeat(40) }, ...agg.result(), unmatched_rules: [], unselected_endpoints: [], input: null };
}

describe('diff renderers escape what they quote', () => {
  it('markdown', () => {
    const md = renderMarkdown(hostileReport());
    expect(md).not.toMatch(RAW_UNSAFE);
    expect(md).toContain('web\\x1b[2J\\u202eexe.txt');
    expect(md).toContain('a\\x1b]0;x\\x07.yaml');
  });

  it('github annotations', () => {
    const out = renderGithub(hostileReport());
    expect(out).not.toMatch(RAW_UNSAFE);
    expect(out).toContain('web\\x1b[2J\\u202eexe.txt');
  });
});
