/**
 * Plain table entries: what the table compiler emits and what the node agent turns into map bytes
 * (node-agent/datapath/abi.ts). Pure data, no byte layout here: the compiler never sees the ABI.
 */

/** One ipcache row: every address inside `prefix` has `identity`. */
export interface IpcacheEntry {
  /** CIDR text, IPv4 (`10.0.0.0/8`, `10.0.0.1/32`) or IPv6 (`fd00::/64`). A bare address means a host prefix. */
  readonly prefix: string;
  /** Numeric security identity (reserved 1..10, cluster identities from 256). */
  readonly identity: number;
}

/** Direction of a policy entry, as seen from the endpoint it belongs to. */
export type PolicyDirection = 'ingress' | 'egress';

/**
 * One policy map row for one endpoint and direction.
 * Lookup semantics: see the comment on `struct policy_key` in bpf/palisade_abi.h.
 */
export interface PolicyEntry {
  /** Local endpoint, 1..65535. */
  readonly endpointId: number;
  readonly direction: PolicyDirection;
  /** Peer identity; 0 = any identity. */
  readonly identity: number;
  /** IANA protocol number (6 TCP, 17 UDP, 132 SCTP, 1 ICMP, 58 ICMPv6); 0 = any protocol (then port must be 0/0). */
  readonly protocol: number;
  /** Destination port (host order), or for ICMP the type in the high byte (`type << 8`). */
  readonly port: number;
  /** How many leading bits of `port` are significant: 0 (any port) .. 16 (exact port); ICMP type = 8. */
  readonly portPrefixLen: number;
  /** An explicit deny entry (wins over every allow). */
  readonly deny: boolean;
  /** An L7 rule governs matching traffic: the datapath answers "hand to the L7 proxy". */
  readonly proxy: boolean;
  /** Index into the bundle's rule table, for attribution (host order, u32). */
  readonly ruleId: number;
}
