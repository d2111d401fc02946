import { describe, expect, it } from 'vitest';
import type { Label } from '../../pipeline/core/model/types.js';
import { loadPolicyModel } from '../../pipeline/core/policy/index.js';
import { CoverageTracker, selectsEndpointOf } from '../../pipeline/diff/index.js';
import { decidesNoFlow } from '../../pipeline/diff/coverage.js';
import { WORLD, forwarded, pod, tcp } from './helpers.js';

const POLICY = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: web
  namespace: shop
spec:
  endpointSelector:
    matchLabels:
      app: web
  ingress:
    - fromEndpoints:
        - matchLabels:
            app: client
      toPorts:
        - ports:
            - port: "80"
              protocol: TCP
    - fromEndpoints:
        - matchLabels:
            app: admin
`;

function labelled(ns: string, name: string, ip: string, app: string) {
  const p = pod(ns, name, ip);
  const labels: Label[] = [...p.labels, { source: 'k8s', key: 'app', value: app }];
  return { ...p, labels };
}

describe('coverage', () => {
  const { model, diagnostics } = loadPolicyModel([{ path: 'policies/web.yaml', text: POLICY }]);

  it('loads the test policy', () => {
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it('tells which pods some policy selects (namespace scoping included)', () => {
    const selects = selectsEndpointOf(model);
    expect(selects(labelled('shop', 'web-0', '10.0.0.1', 'web'))).toBe(true);
    expect(selects(labelled('other', 'web-0', '10.0.0.2', 'web'))).toBe(false);
    expect(selects(labelled('shop', 'client-0', '10.0.0.3', 'client'))).toBe(false);
  });

  it('lists unselected pods by workload with flow counts, and rules no flow used', () => {
    const web = labelled('shop', 'web-0', '10.0.0.1', 'web');
    const client = labelled('shop', 'client-7d9f8b6c5d-x2x4q', '10.0.0.3', 'client');
    const client2 = labelled('shop', 'client-7d9f8b6c5d-k8s7p', '10.0.0.4', 'client');
    const tracker = new CoverageTracker(selectsEndpointOf(model));
    const usedRule = model.specs[0]!.rules[0]!;
    const ref = { kind: 'CiliumNetworkPolicy' as const, namespace: 'shop', name: 'web', rule: usedRule.id, file: usedRule.pos.file, line: usedRule.pos.line };
    tracker.observe(tcp(0, client, web, 80), forwarded(0, [ref]));
    tracker.observe(tcp(1, client2, web, 80), forwarded(1, [ref]));
    tracker.observe(tcp(2, WORLD, client, 443), forwarded(2));
    expect(tracker.unselectedEndpoints()).toEqual([
      {
        namespace: 'shop',
        workload: 'client',
        name: 'shop/client',
        flows: 3,
        sample_pods: ['client-7d9f8b6c5d-k8s7p', 'client-7d9f8b6c5d-x2x4q'],
      },
    ]);
    const unmatched = tracker.unmatchedRules(model);
    expect(unmatched).toHaveLength(1);
    expect(unmatched[0]).toMatchObject({ name: 'web', file: 'policies/web.yaml', line: 18, direction: 'ingress', action: 'allow' });
    expect(new CoverageTracker().unselectedEndpoints()).toBeNull();
  });
});

const BASELINES = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: baseline, namespace: shop}
spec:
  endpointSelector: {}
  ingress:
    - {}
    - fromEndpoints: []
      toPorts: [{ports: [{port: "80", protocol: TCP}]}]
    - fromEntities: [none]
    - fromEndpoints: [{}]
    - toPorts: [{ports: [{port: "9090", protocol: TCP}]}]
  ingressDeny:
    - {}
  egress:
    - {}
    - toGroups: [{aws: {securityGroupsIds: [sg-1]}}]
`;

describe('rules that decide no flow by construction', () => {
  const { model, diagnostics } = loadPolicyModel([{ path: 'policies/baseline.yaml', text: BASELINES }]);
  const rules = model.specs[0]!.rules;
  const byLine = (line: number) => rules.find((r) => r.pos.line === line)!;

  it('are the rules whose peers select nobody: an empty peer list or only the none entity', () => {
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    // Lines: 7 `{}`, 8 `fromEndpoints: []`, 10 `none`, 11 `fromEndpoints: [{}]`, 12 ports only, 14 deny `{}`,
    // 16 egress `{}`, 17 toGroups.
    const verdicts = [7, 8, 10, 11, 12, 14, 16, 17].map((line) => [line, decidesNoFlow(byLine(line))]);
    expect(verdicts).toEqual([
      [7, true],
      [8, true],
      [10, true],
      [11, false],
      [12, false],
      [14, true],
      [16, true],
      [17, false],
    ]);
  });

  it('are left out of the unmatched rules; broad baselines and unresolvable peers stay listed', () => {
    const tracker = new CoverageTracker();
    const web = labelled('shop', 'web-0', '10.0.0.1', 'web');
    const ports = byLine(12);
    const ref = { kind: 'CiliumNetworkPolicy' as const, namespace: 'shop', name: 'baseline', rule: ports.id, file: ports.pos.file, line: ports.pos.line };
    tracker.observe(tcp(0, WORLD, web, 9090), forwarded(0, [ref]));
    expect(tracker.unmatchedRules(model).map((r) => r.line)).toEqual([11, 17]);
  });
});
