/**
 * The policies the `validate` benchmark generates: policy number i as a YAML document, cycling through a CNP with
 * L3/L4/L7 rules and FQDNs, a multi-spec CNP with CIDR sets and a deny, a CCNP with entities and ICMP, and a
 * NetworkPolicy with ipBlock and named ports. Shared with the loader tests, which check the fast paths on them.
 */

/** Policy number `i` (0-based) as one YAML document, ending in a newline. */
export function generatedPolicy(i: number): string {
  const ns = `team-${i % 50}`;
  switch (i % 4) {
    case 0:
      return `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: svc-${i}
  namespace: ${ns}
spec:
  description: "service ${i}: callers and dependencies"
  endpointSelector:
    matchLabels:
      app: svc-${i}
  ingress:
    - fromEndpoints:
        - matchLabels:
            app: svc-${i + 1}
        - matchExpressions:
            - key: tier
              operator: In
              values: [frontend, edge]
      toPorts:
        - ports:
            - port: "8080"
              protocol: TCP
          rules:
            http:
              - method: GET
                path: "/api/v1/items/[0-9]+"
              - method: POST
                path: "/api/v1/orders"
                headers: ["X-Request-Id"]
  egress:
    - toEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: kube-system
            k8s:k8s-app: kube-dns
      toPorts:
        - ports:
            - port: "53"
              protocol: ANY
          rules:
            dns:
              - matchPattern: "*.example.com"
    - toFQDNs:
        - matchName: api-${i}.example.com
      toPorts:
        - ports:
            - port: "443"
              protocol: TCP
`;
    case 1:
      return `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: db-${i}
  namespace: ${ns}
specs:
  - endpointSelector:
      matchLabels:
        app: db-${i}
    ingress:
      - fromEndpoints:
          - matchLabels:
              app: svc-${i - 1}
        toPorts:
          - ports:
              - port: "5432"
                protocol: TCP
  - endpointSelector:
      matchLabels:
        app: db-${i}
    egress:
      - toCIDRSet:
          - cidr: 10.${i % 256}.0.0/16
            except:
              - 10.${i % 256}.128.0/17
        toPorts:
          - ports:
              - port: "9000"
                endPort: 9100
                protocol: TCP
    egressDeny:
      - toCIDR:
          - 169.254.169.254/32
`;
    case 2:
      return `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: cluster-${i}
spec:
  endpointSelector:
    matchLabels:
      role: r-${i}
  ingress:
    - fromEntities:
        - cluster
        - host
      icmps:
        - fields:
            - type: EchoRequest
              family: IPv4
    - fromEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: monitoring
      toPorts:
        - ports:
            - port: "9090"
              protocol: TCP
`;
    default:
      return `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: np-${i}
  namespace: ${ns}
spec:
  podSelector:
    matchLabels:
      app: np-${i}
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
        - namespaceSelector:
            matchLabels:
              team: t-${i % 7}
          podSelector:
            matchLabels:
              app: client
        - ipBlock:
            cidr: 192.168.0.0/16
            except: [192.168.1.0/24]
      ports:
        - protocol: TCP
          port: 8443
        - protocol: TCP
          port: 30000
          endPort: 30100
  egress:
    - to:
        - podSelector:
            matchLabels:
              app: cache
      ports:
        - port: redis
`;
  }
}
