import { describe, expect, it } from 'vitest';
import { DEFAULT_GATE_CONFIG, effectiveActions, globMatcher, parseGateConfig } from '../../pipeline/handlers/index.js';

function errors(text: string): string[] {
  const r = parseGateConfig(text);
  expect(r.ok).toBe(false);
  return r.ok ? [] : r.diagnostics.map((d) => `${d.pos.line}:${d.pos.col} ${d.code}`);
}

describe('palisade.yaml', () => {
  it('defaults to failing on newly blocked flows when the file is empty', () => {
    const r = parseGateConfig('');
    expect(r).toEqual({ ok: true, config: DEFAULT_GATE_CONFIG });
    expect(DEFAULT_GATE_CONFIG.actions.newlyBlocked).toBe('fail');
  });

  it('reads paths, actions, a budget and overrides', () => {
    const r = parseGateConfig(
      'policies: policies/\nflows:\n  - flows/a.json\n  - flows/b.json.gz\ninventory: inventory.json\ngate:\n  newlyBlocked: warn\n  newlyAllowed: fail\n  budget:\n    newlyBlockedFlows: 10\n  overrides:\n    - label: ok\n      newlyBlocked: allow\n    - path: "policies/sandbox/**"\n      newlyAllowed: allow\n',
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config).toMatchObject({
      policies: 'policies',
      flows: ['flows/a.json', 'flows/b.json.gz'],
      inventory: ['inventory.json'],
      actions: { newlyBlocked: 'warn', newlyAllowed: 'fail' },
      budget: { newlyBlockedFlows: 10 },
    });
    expect(r.config.overrides).toEqual([
      { label: 'ok', newlyBlocked: 'allow', pos: { file: 'palisade.yaml', line: 12, col: 7 } },
      { path: 'policies/sandbox/**', newlyAllowed: 'allow', pos: { file: 'palisade.yaml', line: 14, col: 7 } },
    ]);
  });

  it('reports every error at its line and column', () => {
    expect(errors('gate:\n  newlyBlocked: block\n  newlyAllowd: warn\n')).toEqual(['2:17 gate-config-invalid', '3:3 gate-config-unknown-key']);
    expect(errors('flows: /etc/passwd\n')).toEqual(['1:8 gate-config-invalid']);
    expect(errors('policies: ../elsewhere\n')).toEqual(['1:11 gate-config-invalid']);
    expect(errors('gate:\n  budget:\n    newlyBlockedFlows: -1\n')).toEqual(['3:24 gate-config-invalid']);
    expect(errors('gate:\n  overrides:\n    - newlyBlocked: warn\n')).toEqual(['3:7 gate-config-invalid']);
    expect(errors('gate: [\n')).toHaveLength(1);
    expect(errors('- a\n')).toEqual(['1:1 gate-config-invalid']);
  });

  it('leaves the rollout section to the rollout controller', () => {
    expect(parseGateConfig('rollout:\n  waves:\n    - percent: 10\ngate:\n  newlyBlocked: warn\n')).toMatchObject({ ok: true, config: { actions: { newlyBlocked: 'warn' } } });
  });

  it('refuses an oversized file and a duplicate key', () => {
    expect(errors(`# ${'x'.repeat(1_100_000)}\n`)).toEqual(['0:0 gate-config-too-large']);
    expect(errors('policies: a\npolicies: b\n')[0]).toMatch(/gate-config-yaml/);
  });

  it('applies label and path overrides in order, later ones winning', () => {
    const r = parseGateConfig('gate:\n  overrides:\n    - label: accept\n      newlyBlocked: warn\n    - path: "policies/sandbox/**"\n      newlyBlocked: allow\n');
    if (!r.ok) throw new Error('parse');
    expect(effectiveActions(r.config, [], ['policies/a.yaml']).actions.newlyBlocked).toBe('fail');
    expect(effectiveActions(r.config, ['accept'], ['policies/a.yaml'])).toEqual({ actions: { newlyBlocked: 'warn', newlyAllowed: 'allow' }, applied: ['label `accept`'] });
    // Only when every changed file is under the path.
    expect(effectiveActions(r.config, [], ['policies/sandbox/x/y.yaml']).actions.newlyBlocked).toBe('allow');
    expect(effectiveActions(r.config, [], ['policies/sandbox/x.yaml', 'policies/prod.yaml']).actions.newlyBlocked).toBe('fail');
    expect(effectiveActions(r.config, ['accept'], ['policies/sandbox/x.yaml']).actions.newlyBlocked).toBe('allow');
  });

  it('matches globs segment by segment', () => {
    expect(globMatcher('policies/*.yaml')('policies/a.yaml')).toBe(true);
    expect(globMatcher('policies/*.yaml')('policies/x/a.yaml')).toBe(false);
    expect(globMatcher('policies/**')('policies/x/a.yaml')).toBe(true);
    expect(globMatcher('a.b')('axb')).toBe(false);
  });
});
