import { describe, expect, it } from 'vitest';
import {
  DiffAggregator,
  GITHUB_COMMENT_LIMIT,
  renderJson,
  renderMarkdown,
  type DiffReport,
} from '../../pipeline/diff/index.js';
import { renderGithub } from '../../pipeline/github/index.js';
import { dropped, forwarded, pod, rule, tcp } from './helpers.js';

function report(connections: number, flowsPerConnection = 3): DiffReport {
  const agg = new DiffAggregator();
  let index = 0;
  const allow = rule('policies/shop/frontend.yaml', 31, 'frontend');
  for (let c = 0; c < connections; c++) {
    const src = pod(`ns${c % 97}`, `client-${c}-7d9f8b6c5d-x2x4q`, `10.1.${(c >> 8) & 255}.${c & 255}`);
    const dst = pod('data', 'db-0', '10.0.2.20', 'db');
    for (let f = 0; f < flowsPerConnection; f++) {
      const t = `2026-11-28T10:${String(f % 60).padStart(2, '0')}:00Z`;
      const i = index++;
      agg.add(tcp(i, src, dst, 5432, { time: t }), forwarded(i, [allow]), dropped(i, 'egress'));
    }
  }
  return { version: 1, base: { ref: 'main', commit: 'a'.repeat(40) }, head: { ref: 'feature', commit: 'b'.repeat(40) }, ...agg.result(), unmatched_rules: [], unselected_endpoints: [], input: null };
}

/** Rows of the newly-blocked table. */
function tableRows(md: string): number {
  return md.split('\n').filter((l) => l.startsWith('| `ns') || l.startsWith('| ns')).length;
}

describe('renderMarkdown', () => {
  it('renders a small diff completely with headline, tables and details', () => {
    const md = renderMarkdown(report(3, 2));
    expect(md).toContain('**This change newly blocks 6 flows in 3 connections.**');
    expect(md).toContain('#### Newly blocked (3 connections)');
    expect(md).toContain('| ns0/client-0 | data/db | TCP/5432 | 2 |');
    expect(md).toContain('DROPPED (POLICY_DENIED at egress)<br>no rule allows it (default deny)');
    expect(md).toContain('FORWARDED<br>`policies/shop/frontend.yaml:31` shop/frontend');
    expect(md).toContain('<details><summary>Newly blocked: deciding rules of 3 connections</summary>');
    expect(md.split('<details>').length).toBe(md.split('</details>').length);
    expect(md).not.toContain('not shown');
  });

  it('cuts a huge diff to 65,535 characters and says exactly how much is not shown', () => {
    const big = report(20_000);
    expect(renderJson(big).length).toBeGreaterThan(10 * GITHUB_COMMENT_LIMIT);
    const md = renderMarkdown(big);
    expect(md.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(md).toContain('**This change newly blocks 60,000 flows in 20,000 connections.**');
    const shown = tableRows(md);
    expect(shown).toBeGreaterThan(50);
    const m = /_… ([\d,]+) more connections \(([\d,]+) flows\) not shown/.exec(md);
    expect(m).not.toBeNull();
    const notShown = Number(m![1]!.replace(/,/g, ''));
    expect(shown + notShown).toBe(20_000);
    expect(Number(m![2]!.replace(/,/g, ''))).toBe(3 * notShown);
    expect(md).toContain('This comment is cut to fit 65,535 characters');
    // Every opened details block is closed even when cut.
    expect(md.split('<details>').length).toBe(md.split('</details>').length);
  });

  it('leaves room for every kind of change when one kind floods the report', () => {
    const big = report(5_000);
    const allowed = big.connections.slice(0, 3).map((c) => ({
      ...c,
      change: 'newly-allowed' as const,
      source: { ...c.source, name: `allowed/${c.source.name}` },
      base: c.head,
      head: c.base,
    }));
    const md = renderMarkdown({ ...big, connections: [...big.connections, ...allowed] });
    expect(md.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(tableRows(md)).toBe(100);
    expect(md).toContain('_… 4,900 more connections (14,700 flows) not shown');
    expect(md).toContain('#### Newly allowed (3 connections)');
    expect(md.split('\n').filter((l) => l.startsWith('| allowed/'))).toHaveLength(3);
  });

  it('honours a smaller limit', () => {
    const md = renderMarkdown(report(500), { maxChars: 5_000 });
    expect(md.length).toBeLessThanOrEqual(5_000);
    expect(md).toContain('This comment is cut to fit 5,000 characters');
    expect(() => renderMarkdown(report(1), { maxChars: 100 })).toThrow(RangeError);
  });

  it('says so when nothing changes', () => {
    const r = report(0);
    const md = renderMarkdown({ ...r, flows: { ...r.flows, total: 1234 } });
    expect(md).toContain('**This change does not change the verdict of any of the 1,234 recorded flows.**');
  });

  it('escapes table-breaking text', () => {
    const r = report(1);
    const c = r.connections[0]!;
    const evil = { ...c, source: { ...c.source, name: 'a|b<script>' } };
    const md = renderMarkdown({ ...r, connections: [evil] });
    expect(md).toContain('a\\|b&lt;script&gt;');
    expect(md).not.toContain('<script>');
  });
});

describe('renderGithub', () => {
  it('annotates the deciding head rule at file and line, escaping workflow-command syntax', () => {
    const r = report(2);
    const deny = rule('policies/a,b:c.yaml', 7, 'deny-db');
    const connections = r.connections.map((c) => ({ ...c, head: { ...c.head, denied_by: [deny] }, changed_rules: [deny] }));
    const out = renderGithub({ ...r, connections });
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^::warning file=policies\/a%2Cb%3Ac\.yaml,line=7,title=Palisade%3A newly blocked%3A 6 recorded flows::/);
    expect(lines[0]).toContain('::CiliumNetworkPolicy shop/deny-db (deny-db/0/egress/0) denies 2 changed connections:%0Ans0/client-0 → data/db TCP/5432: 3 flows, FORWARDED → DROPPED (POLICY_DENIED at egress)');
    expect(lines.at(-1)).toBe('::notice title=Palisade traffic impact::This change newly blocks 6 flows in 2 connections.');
  });

  it('points at edited allow rules, writes a file-less warning when there is none, and caps the annotations', () => {
    const out = renderGithub(report(3));
    expect(out).toContain('::warning title=Palisade%3A 3 changed connections without a head rule to point at::');
    const edited = report(1);
    const now = rule('policies/shop/frontend.yaml', 40, 'frontend');
    const md = renderGithub({ ...edited, connections: edited.connections.map((c) => ({ ...c, changed_rules: [now] })) });
    expect(md).toContain('::warning file=policies/shop/frontend.yaml,line=40,');
    expect(md).toContain('(frontend/0/egress/0) no longer allows 1 changed connection:');
    const many = report(3);
    const connections = many.connections.map((c, i) => ({ ...c, changed_rules: [rule(`f${i}.yaml`, i + 1)] }));
    const capped = renderGithub({ ...many, connections }, { maxAnnotations: 2 });
    expect(capped.trimEnd().split('\n')).toHaveLength(3);
    expect(capped).toContain('(1 more annotation not written; see --format json)');
  });
});
