/**
 * One failing example per diagnostic code, each asserting the code, its severity and the exact position the
 * diagnostic reports (the `‸` marker in the example). I/O codes are covered in test/sources.
 */
import { describe, expect, it } from 'vitest';
import { loadPolicyModel, type LoadOptions } from '../../pipeline/core/policy/index.js';
import { DIAGNOSTIC_CODES } from '../../pipeline/core/validate/codes.js';
import { marked } from './marked.js';

interface Case {
  readonly code: string;
  readonly yaml: string;
  readonly options?: LoadOptions;
  /** Raw text instead of `yaml` (binary, encodings); position then given explicitly. */
  readonly raw?: { text: string; line: number; col: number };
}

const cnp = (body: string): string => `
  apiVersion: cilium.io/v2
  kind: CiliumNetworkPolicy
  metadata:
    name: p
    namespace: shop
${body}`;

const knp = (body: string): string => `
  apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata:
    name: np
    namespace: data
${body}`;

const CASES: Case[] = [
  // YAML and text.
  { code: 'yaml-syntax', yaml: 'a: ‸b: c\n' },
  { code: 'yaml-duplicate-key', yaml: 'a: 1\n‸a: 2\n' },
  { code: 'yaml-alias', yaml: 'a: ‸*nope\n' },
  { code: 'yaml-alias-limit', yaml: 'a: &x [1]\nb: *x\nc: ‸*x\n', options: { limits: { maxAliasCount: 1 } } },
  { code: 'yaml-too-large', yaml: 'a: [1, 2, ‸3]\n', options: { limits: { maxNodesPerFile: 4 } } },
  { code: 'yaml-too-deep', yaml: 'a:\n  b:\n    ‸c: [1]\n', options: { limits: { maxDepth: 2 } } },
  { code: 'yaml-too-many-documents', yaml: '‸a: 1\n---\nb: 2\n', options: { limits: { maxDocumentsPerFile: 1 } } },
  { code: 'yaml-complex-key', yaml: 'metadata:\n  name: {‸{ .Name }}\n' },
  { code: 'yaml-template', yaml: 'metadata:\n  name: ‸"web-{{ .Values.env }}"\n' },
  { code: 'yaml-warning', yaml: 'a: ‸!custom x\n' },
  { code: 'binary-file', yaml: '', raw: { text: 'kind: x\nab\u0000cd', line: 2, col: 3 } },
  { code: 'invalid-utf8', yaml: '', raw: { text: 'a: b\n  c: \uFFFD', line: 2, col: 6 } },
  { code: 'file-too-large', yaml: '', raw: { text: 'a: ' + 'x'.repeat(100), line: 0, col: 0 }, options: { limits: { maxFileBytes: 50 } } },
  // Structure.
  { code: 'api-version', yaml: 'apiVersion: ‸cilium.io/v1\nkind: CiliumNetworkPolicy\nmetadata: {name: a}\nspec: {endpointSelector: {}, ingress: [{}]}\n' },
  { code: 'schema-type', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - toPorts:\n          - ports:\n              - port: ‸80\n') },
  { code: 'schema-enum', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - authentication:\n          mode: ‸sometimes\n') },
  { code: 'schema-pattern', yaml: cnp('  spec:\n    endpointSelector: {}\n    egress:\n      - toCIDRSet:\n          - cidrGroupRef: ‸Not_A_Name\n') },
  { code: 'schema-range', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - toPorts:\n          - ports:\n              - port: "80"\n                endPort: ‸70000\n') },
  { code: 'schema-required', yaml: cnp('  spec:\n    endpointSelector:\n      matchExpressions:\n        - ‸key: app\n    ingress: [{}]\n') },
  { code: 'schema-one-of', yaml: cnp('  spec:\n    endpointSelector: {}\n    egress:\n      - toFQDNs:\n          - matchName: a.com\n            ‸matchPattern: "*.a.com"\n') },
  { code: 'schema-any-of', yaml: '‸apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: a}\n' },
  { code: 'schema-min-items', yaml: cnp('  spec:\n    endpointSelector: {}\n    egress:\n      - toPorts:\n          - ports:\n              - port: "443"\n                protocol: TCP\n            serverNames: ‸[]\n') },
  { code: 'schema-max-length', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress: [{}]\n    log:\n      value: ‸"' + 'x'.repeat(33) + '"\n') },
  { code: 'schema-unknown-field', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - ‸fromEndpoint: [{}]\n') },
  { code: 'null-ignored', yaml: cnp('  spec:\n    endpointSelector:\n      matchLabels:\n        ‸app:\n    ingress: [{}]\n') },
  { code: 'deprecated-field', yaml: cnp('  spec:\n    endpointSelector: {}\n    egress:\n      - toGroups:\n          - aws:\n              ‸region: eu-west-1\n              securityGroupsIds: [sg-1]\n') },
  { code: 'metadata-name', yaml: 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: ‸Bad_Name\nspec: {endpointSelector: {}, ingress: [{}]}\n' },
  { code: 'metadata-namespace', yaml: 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: a\n  namespace: ‸Shop\nspec: {endpointSelector: {}, ingress: [{}]}\n' },
  { code: 'namespace-ignored', yaml: 'apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata:\n  name: a\n  ‸namespace: shop\nspec: {endpointSelector: {}, ingress: [{}]}\n' },
  { code: 'label-key', yaml: cnp('  spec:\n    endpointSelector:\n      matchLabels:\n        ‸"bad key": x\n    ingress: [{}]\n') },
  { code: 'label-value', yaml: cnp('  spec:\n    endpointSelector:\n      matchLabels:\n        app: ‸"-web"\n    ingress: [{}]\n') },
  { code: 'selector-operator', yaml: cnp('  spec:\n    endpointSelector:\n      matchExpressions:\n        - key: app\n          operator: ‸Equals\n    ingress: [{}]\n') },
  { code: 'selector-values', yaml: cnp('  spec:\n    endpointSelector:\n      matchExpressions:\n        - key: app\n          operator: In\n          values: ‸[]\n    ingress: [{}]\n') },
  { code: 'cidr-invalid', yaml: cnp('  spec:\n    endpointSelector: {}\n    egress:\n      - toCIDR:\n          - ‸10.0.0.0\n') },
  { code: 'port-invalid', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - toPorts:\n          - ports:\n              - port: ‸"70000"\n') },
  { code: 'port-protocol', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - toPorts:\n          - ports:\n              - port: "80"\n                protocol: ‸tcp\n') },
  { code: 'ports-too-many', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - toPorts:\n          - ports:\n' + Array.from({ length: 41 }, (_, i) => `              - ${i === 40 ? '‸' : ''}port: "${1000 + i}"\n`).join('')) },
  { code: 'icmp-too-many', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - icmps:\n          - fields:\n' + Array.from({ length: 41 }, (_, i) => `              - ${i === 40 ? '‸' : ''}type: ${i}\n`).join('')) },
  { code: 'icmp-type', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - icmps:\n          - fields:\n              - type: ‸PacketTooBig\n                family: IPv4\n') },
  { code: 'icmp-family', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - icmps:\n          - fields:\n              - type: 8\n                family: ‸IPv5\n') },
  { code: 'entity-unknown', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - fromEntities:\n          - ‸internet\n') },
  { code: 'dns-name', yaml: cnp('  spec:\n    endpointSelector: {}\n    egress:\n      - toFQDNs:\n          - matchName: ‸"bad name.com"\n') },
  { code: 'dns-pattern', yaml: cnp('  spec:\n    endpointSelector: {}\n    egress:\n      - toFQDNs:\n          - matchPattern: ‸"*.exa mple.com"\n') },
  { code: 'policy-type', yaml: knp('  spec:\n    podSelector: {}\n    policyTypes: [Ingress, ‸egress]\n') },
  // Cilium semantics.
  { code: 'subject-selector', yaml: 'apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: a}\nspec:\n  endpointSelector: {}\n  ‸nodeSelector: {}\n  ingress: [{}]\n' },
  { code: 'node-selector-in-cnp', yaml: cnp('  spec:\n    ‸nodeSelector: {}\n    ingress: [{}]\n') },
  { code: 'rule-no-direction', yaml: cnp('  specs:\n    - endpointSelector: {}\n      ingress: [{}]\n    - ‸endpointSelector: {}\n') },
  { code: 'peer-kinds-mixed', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - fromEndpoints: [{}]\n        ‸fromCIDR: [10.0.0.0/8]\n') },
  { code: 'cidr-except-outside', yaml: cnp('  spec:\n    endpointSelector: {}\n    egress:\n      - toCIDRSet:\n          - cidr: 10.0.0.0/8\n            except:\n              - ‸192.168.0.0/16\n') },
  { code: 'port-range-inverted', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - toPorts:\n          - ports:\n              - port: "9000"\n                endPort: ‸8000\n') },
  { code: 'endport-named-port', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - toPorts:\n          - ports:\n              - port: http\n                endPort: ‸8080\n') },
  { code: 'icmps-with-toports', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - toPorts:\n          - ports: [{port: "80"}]\n        ‸icmps:\n          - fields: [{type: 8}]\n') },
  { code: 'l7-protocol', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - toPorts:\n          - ports:\n              - port: "80"\n                protocol: ‸UDP\n            rules:\n              http: [{method: GET}]\n') },
  { code: 'l7-port-zero', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - toPorts:\n          - ports:\n              - port: ‸"0"\n                protocol: TCP\n            rules:\n              http: [{method: GET}]\n') },
  { code: 'l7-in-deny', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingressDeny:\n      - toPorts:\n          - ports: [{port: "80", protocol: TCP}]\n            ‸rules:\n              http: [{method: GET}]\n') },
  { code: 'l7-dns-ingress', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - toPorts:\n          - ports: [{port: "53", protocol: UDP}]\n            rules:\n              ‸dns: [{matchPattern: "*"}]\n') },
  { code: 'l7-regex', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - toPorts:\n          - ports: [{port: "80", protocol: TCP}]\n            rules:\n              http:\n                - path: ‸"/api/(?=v1)"\n') },
  { code: 'l7-header', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - toPorts:\n          - ports: [{port: "80", protocol: TCP}]\n            rules:\n              http:\n                - headers: [‸" "]\n') },
  { code: 'l7-unsupported', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - toPorts:\n          - ports: [{port: "9092", protocol: TCP}]\n            rules:\n              ‸kafka: [{topic: t}]\n') },
  { code: 'fqdn-not-egress-allow', yaml: cnp('  spec:\n    endpointSelector: {}\n    egressDeny:\n      - ‸toFQDNs: [{matchName: a.com}]\n') },
  { code: 'requires-unsupported', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - ‸fromRequires: [{matchLabels: {env: prod}}]\n') },
  { code: 'auth-in-deny', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingressDeny:\n      - fromEntities: [world]\n        ‸authentication: {mode: required}\n') },
  { code: 'services-with-toports', yaml: cnp('  spec:\n    endpointSelector: {}\n    egress:\n      - toServices: [{k8sService: {serviceName: db, namespace: data}}]\n        ‸toPorts: [{ports: [{port: "5432", protocol: TCP}]}]\n') },
  { code: 'l7-host-policy', yaml: 'apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: h}\nspec:\n  nodeSelector: {}\n  ingress:\n    - toPorts:\n        - ports: [{port: "80", protocol: TCP}]\n          ‸rules: {http: [{method: GET}]}\n' },
  { code: 'port-missing', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - toPorts:\n          - ports:\n              - ‸protocol: TCP\n') },
  { code: 'listener-ingress', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - toPorts:\n          - ports: [{port: "80", protocol: TCP}]\n            ‸listener: {name: l, envoyConfig: {name: e}}\n') },
  { code: 'listener-l7', yaml: cnp('  spec:\n    endpointSelector: {}\n    egress:\n      - toPorts:\n          - ports: [{port: "80", protocol: TCP}]\n            ‸listener: {name: l, envoyConfig: {name: e}}\n            rules: {http: [{method: GET}]}\n') },
  { code: 'server-names-l7', yaml: cnp('  spec:\n    endpointSelector: {}\n    egress:\n      - toPorts:\n          - ports: [{port: "443", protocol: TCP}]\n            ‸serverNames: [api.example.com]\n            rules: {http: [{method: GET}]}\n') },
  { code: 'l7-dns-port-range', yaml: cnp('  spec:\n    endpointSelector: {}\n    egress:\n      - toPorts:\n          - ports:\n              - port: "53"\n                endPort: ‸54\n                protocol: UDP\n            rules: {dns: [{matchPattern: "*"}]}\n') },
  // NetworkPolicy semantics.
  { code: 'knp-peer-empty', yaml: knp('  spec:\n    podSelector: {}\n    ingress:\n      - from:\n          - ‸{}\n') },
  { code: 'knp-ipblock-exclusive', yaml: knp('  spec:\n    podSelector: {}\n    ingress:\n      - from:\n          - podSelector: {}\n            ‸ipBlock: {cidr: 10.0.0.0/8}\n') },
  { code: 'knp-endport-needs-port', yaml: knp('  spec:\n    podSelector: {}\n    ingress:\n      - ports:\n          - port: http\n            endPort: ‸8080\n') },
  { code: 'knp-rules-ignored', yaml: knp('  spec:\n    podSelector: {}\n    policyTypes: [Ingress]\n    ‸egress:\n      - to: [{podSelector: {}}]\n') },
  // Whole tree.
  { code: 'duplicate-policy', yaml: cnp('  spec: {endpointSelector: {}, ingress: [{}]}\n') + '  ---\n  ‸apiVersion: cilium.io/v2\n  kind: CiliumNetworkPolicy\n  metadata: {name: p, namespace: shop}\n  spec: {endpointSelector: {}, egress: [{}]}\n' },
  { code: 'duplicate-policy-identical', yaml: cnp('  spec: {endpointSelector: {}, ingress: [{}]}\n') + '  ---\n' + cnp('  spec: {endpointSelector: {}, ingress: [{}]}\n').replace('\n  apiVersion', '\n  ‸apiVersion') },
  // Warnings.
  { code: 'peer-empty', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - ‸fromEndpoints: []\n        toPorts: [{ports: [{port: "80"}]}]\n') },
  { code: 'world-all-ports', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - ‸fromEntities: [world]\n') },
  { code: 'deny-shadows-allow', yaml: cnp('  spec:\n    endpointSelector: {matchLabels: {app: api}}\n    ingress:\n      - ‸fromEntities: [cluster]\n        toPorts: [{ports: [{port: "8080", protocol: TCP}]}]\n    ingressDeny:\n      - fromEntities: [cluster]\n') },
  { code: 'fqdn-without-dns-rule', yaml: cnp('  spec:\n    endpointSelector: {matchLabels: {app: pay}}\n    egress:\n      - ‸toFQDNs: [{matchName: api.stripe.com}]\n        toPorts: [{ports: [{port: "443", protocol: TCP}]}]\n') },
  { code: 'cidr-host-bits', yaml: cnp('  spec:\n    endpointSelector: {}\n    egress:\n      - toCIDR: [‸10.1.2.3/8]\n') },
  { code: 'subject-namespace-mismatch', yaml: cnp("  spec:\n    endpointSelector:\n      matchLabels:\n        app: web\n        ‸'k8s:io.kubernetes.pod.namespace': other\n    ingress: [{}]\n") },
  { code: 'protocol-not-modelled', yaml: cnp('  spec:\n    endpointSelector: {}\n    ingress:\n      - toPorts:\n          - ports:\n              - port: "0"\n                protocol: ‸VRRP\n') },
];

describe('every diagnostic code, with its position', () => {
  it('has a case for every non-I/O code', () => {
    const covered = new Set(CASES.map((c) => c.code));
    const missing = Object.keys(DIAGNOSTIC_CODES).filter((c) => !c.startsWith('io-') && !covered.has(c));
    expect(missing).toEqual([]);
  });

  for (const c of CASES) {
    it(c.code, () => {
      const m = c.raw ?? marked(c.yaml);
      const result = loadPolicyModel([{ path: 'case.yaml', text: m.text }], c.options);
      const found = result.diagnostics.filter((d) => d.code === c.code);
      expect(found.length, `no ${c.code} in ${JSON.stringify(result.diagnostics, null, 1)}`).toBeGreaterThan(0);
      const d = found[0]!;
      expect(d.severity).toBe(DIAGNOSTIC_CODES[c.code]!.severity);
      expect(d.pos.file).toBe('case.yaml');
      expect({ line: d.pos.line, col: d.pos.col }).toEqual({ line: m.line, col: m.col });
      expect(d.message.length).toBeGreaterThan(10);
      // An object with errors never enters the model.
      if (d.severity === 'error') expect(result.model.specs.filter((s) => s.policy.name === 'p' && result.diagnostics.some((x) => x.severity === 'error' && x.code !== 'duplicate-policy'))).toEqual([]);
    });
  }
});

describe('specs', () => {
  it('checks every block of specs, not only the last (Cilium checks only the last)', () => {
    const m = marked(cnp('  specs:\n    - endpointSelector: {}\n      ingress:\n        - toPorts:\n            - ports:\n                - port: "80"\n                  endPort: ‸79\n    - endpointSelector: {}\n      ingress: [{}]\n'));
    const r = loadPolicyModel([{ path: 'case.yaml', text: m.text }]);
    expect(r.diagnostics.map((d) => [d.code, d.pos.line, d.pos.col])).toEqual([['port-range-inverted', m.line, m.col]]);
    expect(r.model.specs).toEqual([]);
  });
});

describe('deny-shadows-allow across policies', () => {
  it('sees a cluster-wide deny covering a namespaced allow, and not a narrower deny', () => {
    const text = `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: no-world}
spec:
  endpointSelector: {}
  enableDefaultDeny: {egress: false}
  egressDeny:
    - toEntities: [world]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web}}
  egress:
    - toEntities: [world]
      toPorts: [{ports: [{port: "443", protocol: TCP}]}]
    - toCIDR: [10.0.0.0/8]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: narrow, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web, tier: edge}}
  egressDeny:
    - toCIDR: [10.0.0.0/8]
`;
    const r = loadPolicyModel([{ path: 'x.yaml', text }]);
    expect(r.diagnostics.map((d) => [d.code, d.pos.line])).toEqual([['deny-shadows-allow', 16]]);
  });
});
