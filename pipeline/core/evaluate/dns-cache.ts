/**
 * What the recorded DNS answers taught: which names each address was given for. `toFQDNs` peers match an address
 * only through this cache, exactly as Cilium learns addresses from its DNS proxy. Pure data, fed in recording order.
 */
import type { Flow } from '../flow/types.js';
import { canonicalIp } from './ip-address.js';

/** Lower-case, without the trailing root dot: the form names are compared in. */
export function normaliseDnsName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * Address → names learned from DNS answers. TTLs are not applied: a recording is short compared with the minimum
 * TTL Cilium keeps FQDN addresses for, so an answer seen once stays valid for the rest of the recording.
 */
export class DnsCache {
  private readonly namesByIp = new Map<string, Set<string>>();
  private version = 0;

  /**
   * Learns from a flow that carries a DNS answer (`flow.dns.ips` non-empty); other flows are ignored.
   * @returns true when the cache changed.
   */
  observe(flow: Flow): boolean {
    const dns = flow.dns;
    if (!dns || dns.ips.length === 0 || dns.query === '') return false;
    return this.learn(dns.query, dns.ips);
  }

  /** Records that `name` resolved to `ips`. @returns true when the cache changed. */
  learn(name: string, ips: readonly string[]): boolean {
    const normalised = normaliseDnsName(name);
    let changed = false;
    for (const raw of ips) {
      const ip = canonicalIp(raw);
      if (ip === null) continue;
      let names = this.namesByIp.get(ip);
      if (!names) {
        names = new Set();
        this.namesByIp.set(ip, names);
      }
      if (!names.has(normalised)) {
        names.add(normalised);
        changed = true;
      }
    }
    if (changed) this.version++;
    return changed;
  }

  /** Names (normalised) that an address was given for; empty when none. `ip` must be canonical. */
  namesFor(ip: string): ReadonlySet<string> {
    return this.namesByIp.get(ip) ?? EMPTY;
  }

  /** Every learned (name, addresses) pair, sorted by name then address: what compiled engines turn into entries. */
  entries(): { name: string; ips: string[] }[] {
    const byName = new Map<string, string[]>();
    for (const [ip, names] of this.namesByIp) {
      for (const name of names) {
        const list = byName.get(name);
        if (list) list.push(ip);
        else byName.set(name, [ip]);
      }
    }
    return [...byName.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, ips]) => ({ name, ips: ips.sort() }));
  }

  /** Increases whenever something new is learned; lets callers cache FQDN matches safely. */
  get revision(): number {
    return this.version;
  }

  /** Number of addresses known. */
  get size(): number {
    return this.namesByIp.size;
  }
}

const EMPTY: ReadonlySet<string> = new Set();
