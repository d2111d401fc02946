/**
 * NetworkPolicy conformance cases, mirroring the upstream e2e netpol suite case by case (policy shapes and expected
 * reachability), plus a few isolation corner cases (policyTypes defaults, union of policies). Each case names the
 * (port, protocol) combinations probed; every probe goes from each of the 9 pods to each of the 9 pods.
 */
import { NS_X, NS_Y, NS_Z, pod, podIp, Reachability, type Protocol } from './netpol-model.js';

type Obj = Record<string, unknown>;

export interface ConformanceCase {
  readonly name: string;
  readonly policies: readonly Obj[];
  readonly probes: readonly { readonly port: number; readonly protocol: Protocol; readonly reachability: Reachability }[];
}

function np(name: string, namespace: string, podSelector: Obj, spec: Obj): Obj {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec: { podSelector, ...spec } };
}

const podA = { matchLabels: { pod: 'a' } };
const nsLabel = (ns: string): Obj => ({ matchLabels: { ns } });
const defaultNsLabel = (ns: string): Obj => ({ matchLabels: { 'kubernetes.io/metadata.name': ns } });
const xa = pod(NS_X, 'a');
const xb = pod(NS_X, 'b');
const xc = pod(NS_X, 'c');
const ya = pod(NS_Y, 'a');
const r = (): Reachability => new Reachability(true);
const tcp = (port: number, reachability: Reachability) => ({ port, protocol: 'TCP' as const, reachability: reachability.allowLoopback() });
const on = (protocol: Protocol, port: number, reachability: Reachability) => ({ port, protocol, reachability: reachability.allowLoopback() });

export const CASES: readonly ConformanceCase[] = [
  {
    name: "should support a 'default-deny-ingress' policy (TCP, UDP, SCTP)",
    policies: [np('deny-all', NS_X, {}, { ingress: [], policyTypes: ['Ingress'] })],
    probes: (['TCP', 'UDP', 'SCTP'] as const).map((p) => on(p, 80, r().expectPeer({}, { ns: NS_X }, false))),
  },
  {
    name: "should support a 'default-deny-all' policy",
    policies: [np('deny-all', NS_X, {}, { ingress: [], egress: [], policyTypes: ['Ingress', 'Egress'] })],
    probes: [tcp(80, r().expectPeer({}, { ns: NS_X }, false).expectPeer({ ns: NS_X }, {}, false)), tcp(81, r().expectPeer({}, { ns: NS_X }, false).expectPeer({ ns: NS_X }, {}, false))],
  },
  {
    name: 'should enforce policy to allow traffic from pods within server namespace based on PodSelector',
    policies: [np('x-a-allows-x-b', NS_X, podA, { ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] })],
    probes: [tcp(80, r().expectAllIngress(xa, false).expect(xb, xa, true))],
  },
  {
    name: 'should enforce policy to allow ingress traffic for a target',
    policies: [
      np('deny-ingress-via-label-selector', NS_X, { matchLabels: { pod: 'b' } }, { ingress: [], policyTypes: ['Ingress'] }),
      np('allow-all-to-a', NS_X, podA, { ingress: [{ from: [{ namespaceSelector: {} }] }] }),
    ],
    probes: [tcp(80, r().expectAllIngress(xb, false))],
  },
  {
    name: 'should enforce policy to allow ingress traffic from pods in all namespaces',
    policies: [np('allow-from-another-ns', NS_X, podA, { ingress: [{ from: [{ namespaceSelector: {} }] }] })],
    probes: [tcp(80, r())],
  },
  {
    name: 'should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector',
    policies: [np('allow-client-a-via-ns-selector', NS_X, podA, { ingress: [{ from: [{ namespaceSelector: nsLabel(NS_Y) }] }] })],
    probes: [tcp(80, r().expectPeer({ ns: NS_X }, xa, false).expectPeer({ ns: NS_Z }, xa, false))],
  },
  {
    name: 'should enforce policy based on PodSelector with MatchExpressions',
    policies: [np('x-a-allows-x-b', NS_X, podA, { ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b'] }] } }] }] })],
    probes: [tcp(80, r().expectAllIngress(xa, false).expect(xb, xa, true))],
  },
  {
    name: 'should enforce policy based on NamespaceSelector with MatchExpressions',
    policies: [np('allow-ns-not-x', NS_X, podA, { ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: [NS_X] }] } }] }] })],
    probes: [tcp(80, r().expectPeer({ ns: NS_X }, xa, false))],
  },
  {
    name: 'should enforce policy based on PodSelector or NamespaceSelector',
    policies: [
      np('allow-ns-not-x-or-pod-b', NS_X, podA, {
        ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: [NS_X] }] } }, { podSelector: { matchLabels: { pod: 'b' } } }] }],
      }),
    ],
    probes: [tcp(80, r().expectPeer({ ns: NS_X }, xa, false).expect(xb, xa, true))],
  },
  {
    name: 'should enforce policy based on PodSelector and NamespaceSelector',
    policies: [
      np('allow-ns-not-x-and-pod-b-c', NS_X, podA, {
        ingress: [
          {
            from: [
              {
                namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: [NS_X] }] },
                podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] },
              },
            ],
          },
        ],
      }),
    ],
    probes: [
      tcp(
        80,
        r()
          .expectAllIngress(xa, false)
          .expect(pod(NS_Y, 'b'), xa, true)
          .expect(pod(NS_Y, 'c'), xa, true)
          .expect(pod(NS_Z, 'b'), xa, true)
          .expect(pod(NS_Z, 'c'), xa, true),
      ),
    ],
  },
  {
    name: 'should enforce policy based on any PodSelectors',
    policies: [np('allow-x-b-or-c', NS_X, podA, { ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }, { podSelector: { matchLabels: { pod: 'c' } } }] }] })],
    probes: [tcp(80, r().expectAllIngress(xa, false).expect(xb, xa, true).expect(xc, xa, true))],
  },
  {
    name: 'should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector (TCP, UDP, SCTP)',
    policies: [np('allow-ns-y-pod-a', NS_X, podA, { ingress: [{ from: [{ namespaceSelector: defaultNsLabel(NS_Y), podSelector: { matchLabels: { pod: 'a' } } }] }] })],
    probes: (['TCP', 'UDP', 'SCTP'] as const).map((p) => on(p, 80, r().expectAllIngress(xa, false).expect(ya, xa, true))),
  },
  {
    name: 'should enforce policy based on Ports',
    policies: [np('allow-ingress-on-port-81-ns-x', NS_X, podA, { ingress: [{ from: [{ namespaceSelector: nsLabel(NS_Y) }], ports: [{ port: 81, protocol: 'TCP' }] }] })],
    probes: [
      tcp(81, r().expectPeer({ ns: NS_X }, xa, false).expectPeer({ ns: NS_Z }, xa, false)),
      tcp(80, r().expectAllIngress(xa, false)),
      on('UDP', 81, r().expectAllIngress(xa, false)),
    ],
  },
  {
    name: 'should enforce multiple, stacked policies with overlapping podSelectors',
    policies: [
      np('allow-ingress-port-80', NS_X, podA, { ingress: [{ from: [{ namespaceSelector: nsLabel(NS_Y) }], ports: [{ port: 80 }] }] }),
      np('allow-ingress-port-81', NS_X, podA, { ingress: [{ from: [{ namespaceSelector: nsLabel(NS_Y) }], ports: [{ port: 81 }] }] }),
    ],
    probes: [tcp(80, r().expectPeer({ ns: NS_X }, xa, false).expectPeer({ ns: NS_Z }, xa, false)), tcp(81, r().expectPeer({ ns: NS_X }, xa, false).expectPeer({ ns: NS_Z }, xa, false))],
  },
  {
    name: 'should support allow-all policy',
    policies: [np('allow-all', NS_X, {}, { ingress: [{}] })],
    probes: [tcp(80, r()), tcp(81, r())],
  },
  {
    name: 'should allow ingress access on one named port',
    policies: [np('allow-all-81', NS_X, {}, { ingress: [{ ports: [{ port: 'serve-81-tcp' }] }] })],
    probes: [tcp(81, r()), tcp(80, r().expectPeer({}, { ns: NS_X }, false)), on('UDP', 81, r().expectPeer({}, { ns: NS_X }, false))],
  },
  {
    name: 'should allow ingress access from namespace on one named port',
    policies: [np('allow-client-in-ns-y-on-80', NS_X, {}, { ingress: [{ from: [{ namespaceSelector: nsLabel(NS_Y) }], ports: [{ port: 'serve-80-tcp', protocol: 'TCP' }] }] })],
    probes: [tcp(80, r().expectPeer({ ns: NS_X }, { ns: NS_X }, false).expectPeer({ ns: NS_Z }, { ns: NS_X }, false)), tcp(81, r().expectPeer({}, { ns: NS_X }, false))],
  },
  {
    name: 'should allow egress access on one named port',
    policies: [np('allow-egress-80', NS_X, {}, { egress: [{ ports: [{ port: 'serve-80-tcp' }] }], policyTypes: ['Egress'] })],
    probes: [tcp(80, r()), tcp(81, r().expectPeer({ ns: NS_X }, {}, false))],
  },
  {
    name: 'a named port resolves on the destination with its protocol (serve-80-udp does not open TCP/80)',
    policies: [np('allow-udp-name', NS_X, podA, { ingress: [{ ports: [{ port: 'serve-80-udp', protocol: 'UDP' }] }] })],
    probes: [on('UDP', 80, r()), tcp(80, r().expectAllIngress(xa, false)), on('UDP', 81, r().expectAllIngress(xa, false))],
  },
  {
    name: 'should deny ingress from pods on other namespaces',
    policies: [np('deny-other-ns', NS_X, {}, { ingress: [{ from: [{ podSelector: {} }] }] })],
    probes: [tcp(80, r().expectPeer({ ns: NS_Y }, { ns: NS_X }, false).expectPeer({ ns: NS_Z }, { ns: NS_X }, false))],
  },
  {
    name: 'should deny egress from pods based on PodSelector',
    policies: [np('deny-egress-pod-a', NS_X, podA, { egress: [], policyTypes: ['Egress'] })],
    probes: [tcp(80, r().expectAllEgress(xa, false))],
  },
  {
    name: 'should deny egress from all pods in a namespace',
    policies: [np('deny-egress-ns-x', NS_X, {}, { egress: [], policyTypes: ['Egress'] })],
    probes: [tcp(80, r().expectPeer({ ns: NS_X }, {}, false)), on('UDP', 81, r().expectPeer({ ns: NS_X }, {}, false))],
  },
  {
    name: 'should work with Ingress, Egress specified together',
    policies: [
      np('allow-client-a-via-ns-selector', NS_X, podA, {
        ingress: [{ from: [{ namespaceSelector: nsLabel(NS_Y) }] }],
        egress: [{ ports: [{ port: 80, protocol: 'TCP' }] }],
        policyTypes: ['Ingress', 'Egress'],
      }),
    ],
    probes: [
      tcp(80, r().expectPeer({ ns: NS_X }, xa, false).expectPeer({ ns: NS_Z }, xa, false)),
      tcp(81, r().expectPeer({ ns: NS_X }, xa, false).expectPeer({ ns: NS_Z }, xa, false).expectAllEgress(xa, false)),
    ],
  },
  {
    name: 'should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)',
    policies: [
      np('deny-egress-x-a', NS_X, podA, { egress: [], policyTypes: ['Egress'] }),
      np('allow-ingress-from-x-a', NS_Y, podA, { ingress: [{ from: [{ namespaceSelector: nsLabel(NS_X), podSelector: { matchLabels: { pod: 'a' } } }] }] }),
    ],
    probes: [tcp(80, r().expectAllEgress(xa, false).expectAllIngress(ya, false))],
  },
  {
    name: 'should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector',
    policies: [np('allow-to-ns-y-pod-a', NS_X, podA, { egress: [{ to: [{ namespaceSelector: nsLabel(NS_Y), podSelector: { matchLabels: { pod: 'a' } } }] }], policyTypes: ['Egress'] })],
    probes: [tcp(80, r().expectAllEgress(xa, false).expect(xa, ya, true))],
  },
  {
    name: 'should enforce ingress policy allowing any port traffic to a server on a specific protocol',
    policies: [np('allow-ingress-by-proto', NS_X, podA, { ingress: [{ ports: [{ protocol: 'TCP' }] }] })],
    probes: [tcp(80, r()), tcp(81, r()), on('UDP', 80, r().expectAllIngress(xa, false)), on('SCTP', 81, r().expectAllIngress(xa, false))],
  },
  {
    name: 'should enforce multiple ingress policies with ingress allow-all policy taking precedence',
    policies: [
      np('allow-ingress-port-80', NS_X, podA, { ingress: [{ ports: [{ port: 80 }] }] }),
      np('allow-all', NS_X, {}, { ingress: [{}], policyTypes: ['Ingress'] }),
    ],
    probes: [tcp(81, r()), on('UDP', 80, r())],
  },
  {
    name: 'should enforce multiple egress policies with egress allow-all policy taking precedence',
    policies: [
      np('allow-egress-port-80', NS_X, podA, { egress: [{ ports: [{ port: 80 }] }], policyTypes: ['Egress'] }),
      np('allow-all-egress', NS_X, {}, { egress: [{}], policyTypes: ['Egress'] }),
    ],
    probes: [tcp(81, r()), tcp(80, r())],
  },
  {
    name: 'should allow egress access to server in CIDR block',
    policies: [np('allow-client-a-via-cidr-egress', NS_X, podA, { egress: [{ to: [{ ipBlock: { cidr: `${podIp(xb)}/32` } }] }], policyTypes: ['Egress'] })],
    probes: [tcp(80, r().expectAllEgress(xa, false).expect(xa, xb, true))],
  },
  {
    name: 'should enforce except clause while egress access to server in CIDR block',
    policies: [np('deny-client-a-via-except-cidr', NS_X, podA, { egress: [{ to: [{ ipBlock: { cidr: '10.244.0.0/16', except: [`${podIp(xb)}/32`] } }] }], policyTypes: ['Egress'] })],
    probes: [tcp(80, r().expect(xa, xb, false))],
  },
  {
    name: 'should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed',
    policies: [
      np('deny-client-a-via-except-cidr', NS_X, podA, { egress: [{ to: [{ ipBlock: { cidr: '10.244.0.0/16', except: [`${podIp(xb)}/32`] } }] }], policyTypes: ['Egress'] }),
      np('allow-client-a-via-cidr', NS_X, podA, { egress: [{ to: [{ ipBlock: { cidr: `${podIp(xb)}/32` } }] }], policyTypes: ['Egress'] }),
    ],
    probes: [tcp(80, r())],
  },
  {
    name: 'ipBlock in ingress matches client pod addresses, with except',
    policies: [np('allow-from-y-block', NS_X, podA, { ingress: [{ from: [{ ipBlock: { cidr: '10.244.2.0/24', except: ['10.244.2.10/31'] } }] }] })],
    probes: [tcp(80, r().expectAllIngress(xa, false).expect(pod(NS_Y, 'c'), xa, true))],
  },
  {
    name: 'should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector',
    policies: [
      np('deny-egress-x-a', NS_X, podA, { egress: [], policyTypes: ['Egress'] }),
      np('allow-ingress-x-a-from-b', NS_X, podA, { ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }], policyTypes: ['Ingress'] }),
    ],
    probes: [tcp(80, r().expectAllEgress(xa, false).expectAllIngress(xa, false).expect(xb, xa, true))],
  },
  {
    name: "should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP'",
    policies: [np('allow-only-sctp-ingress-on-port-80', NS_X, podA, { ingress: [{ ports: [{ port: 80, protocol: 'SCTP' }] }] })],
    probes: [tcp(81, r().expectAllIngress(xa, false)), tcp(80, r().expectAllIngress(xa, false)), on('SCTP', 80, r()), on('SCTP', 81, r().expectAllIngress(xa, false))],
  },
  {
    name: 'should not allow access by TCP when a policy specifies only UDP',
    policies: [np('allow-only-udp-ingress-on-port-81', NS_X, podA, { ingress: [{ ports: [{ port: 81, protocol: 'UDP' }] }] })],
    probes: [tcp(81, r().expectAllIngress(xa, false)), on('UDP', 81, r())],
  },
  {
    name: 'should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label',
    policies: [np('allow-client-a-via-ns-selector-for-immutable-ns-label', NS_X, podA, { ingress: [{ from: [{ namespaceSelector: defaultNsLabel(NS_Y) }] }] })],
    probes: [tcp(80, r().expectPeer({ ns: NS_X }, xa, false).expectPeer({ ns: NS_Z }, xa, false))],
  },
  {
    name: 'should enforce policy based on NamespaceSelector with MatchExpressions using default ns label',
    policies: [
      np('allow-ns-y-match-selector-for-immutable-ns-label', NS_X, podA, {
        egress: [{ to: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [NS_Y] }] } }] }],
      }),
    ],
    // policyTypes omitted with egress rules → Ingress and Egress: x/a's ingress is isolated with no rules.
    probes: [tcp(80, r().expectPeer(xa, { ns: NS_Y }, false).expectAllIngress(xa, false))],
  },
  {
    name: 'should support a port range (endPort) in egress',
    policies: [np('allow-egress-range', NS_X, podA, { egress: [{ ports: [{ port: 81, endPort: 89, protocol: 'TCP' }] }], policyTypes: ['Egress'] })],
    probes: [tcp(80, r().expectAllEgress(xa, false)), tcp(81, r()), on('UDP', 81, r().expectAllEgress(xa, false))],
  },
  {
    name: 'should support a port range (endPort) in ingress from a namespace',
    policies: [np('allow-ingress-range', NS_X, podA, { ingress: [{ from: [{ namespaceSelector: nsLabel(NS_Y) }], ports: [{ port: 79, endPort: 80, protocol: 'UDP' }] }] })],
    probes: [on('UDP', 80, r().expectPeer({ ns: NS_X }, xa, false).expectPeer({ ns: NS_Z }, xa, false)), on('UDP', 81, r().expectAllIngress(xa, false))],
  },
  {
    name: 'policyTypes [Egress] ignores ingress rules and leaves ingress open',
    policies: [np('egress-only', NS_X, podA, { ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }], egress: [{}], policyTypes: ['Egress'] })],
    probes: [tcp(80, r())],
  },
  {
    name: 'policyTypes omitted with egress rules isolates both directions',
    policies: [np('both', NS_X, podA, { egress: [{ to: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] })],
    probes: [tcp(80, r().expectAllIngress(xa, false).expectAllEgress(xa, false).expect(xa, xb, true))],
  },
  {
    name: 'policyTypes omitted with egress: [] isolates ingress only',
    policies: [np('ingress-only', NS_X, podA, { ingress: [{}], egress: [] })],
    probes: [tcp(80, r())],
  },
  {
    name: 'multiple policies selecting a pod allow the union of their rules',
    policies: [
      np('from-b', NS_X, podA, { ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] }),
      np('from-y', NS_X, podA, { ingress: [{ from: [{ namespaceSelector: nsLabel(NS_Y) }], ports: [{ port: 80 }] }] }),
      np('from-z-c', NS_X, {}, { ingress: [{ from: [{ namespaceSelector: nsLabel(NS_Z), podSelector: { matchLabels: { pod: 'c' } } }] }] }),
    ],
    probes: [
      tcp(80, r().expectPeer({}, { ns: NS_X }, false).expect(xb, xa, true).expectPeer({ ns: NS_Y }, xa, true).expectPeer({ ns: NS_Z, pod: 'c' }, { ns: NS_X }, true)),
      tcp(81, r().expectPeer({}, { ns: NS_X }, false).expect(xb, xa, true).expectPeer({ ns: NS_Z, pod: 'c' }, { ns: NS_X }, true)),
    ],
  },
  {
    name: 'namespaceSelector {} with a podSelector selects that pod in every namespace',
    policies: [np('pod-b-anywhere', NS_X, podA, { ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { pod: 'b' } } }] }] })],
    probes: [tcp(80, r().expectAllIngress(xa, false).expectPeer({ pod: 'b' }, xa, true))],
  },
  {
    name: 'egress and ingress both needed across namespaces',
    policies: [
      np('x-egress-to-y', NS_X, {}, { egress: [{ to: [{ namespaceSelector: nsLabel(NS_Y) }] }], policyTypes: ['Egress'] }),
      np('y-ingress-from-x-a', NS_Y, {}, { ingress: [{ from: [{ namespaceSelector: nsLabel(NS_X), podSelector: podA }] }] }),
    ],
    probes: [tcp(80, r().expectPeer({ ns: NS_X }, {}, false).expectPeer({}, { ns: NS_Y }, false).expectPeer(xa, { ns: NS_Y }, true))],
  },
];
