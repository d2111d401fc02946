/**
 * Warning for toFQDNs rules that can never match: Cilium learns the addresses behind a name only from DNS answers
 * that pass its DNS proxy, i.e. from lookups allowed by an egress rule with L7 `dns` rules on the same endpoint.
 * Without any such rule in the policy's namespace (or cluster-wide) the FQDN selector stays empty and the traffic
 * is dropped — a frequent surprise. Selectors cannot prove which pods share labels, so the check is per namespace:
 * it catches a forgotten DNS rule, not a DNS rule that selects the wrong pods.
 */
import type { PolicySpec } from '../model/types.js';
import { warningAt, type Diagnostic } from './diagnostic.js';

function hasDnsRule(spec: PolicySpec): boolean {
  return spec.rules.some((r) => r.direction === 'egress' && r.action === 'allow' && (r.ports ?? []).some((p) => (p.l7?.dns?.length ?? 0) > 0));
}

/** Warnings at each toFQDNs rule of a namespace that has no DNS-inspecting egress rule (and none cluster-wide). */
export function checkFqdnWithoutDns(specs: readonly PolicySpec[]): Diagnostic[] {
  const dnsNamespaces = new Set<string | null>();
  for (const s of specs) if (hasDnsRule(s)) dnsNamespaces.add(s.policy.namespace);
  const out: Diagnostic[] = [];
  if (dnsNamespaces.has(null)) return out;
  for (const s of specs) {
    if (dnsNamespaces.has(s.policy.namespace)) continue;
    for (const r of s.rules) {
      if (r.action !== 'allow' || !(r.peers ?? []).some((p) => p.kind === 'fqdn')) continue;
      const where = s.policy.namespace === null ? 'cluster-wide' : `in namespace ${s.policy.namespace} or cluster-wide`;
      out.push(
        warningAt(
          'fqdn-without-dns-rule',
          `toFQDNs only matches addresses learnt from DNS answers seen by Cilium's DNS proxy, and no egress rule with L7 dns rules exists ${where}: this rule will match nothing`,
          r.pos,
        ),
      );
    }
  }
  return out;
}
