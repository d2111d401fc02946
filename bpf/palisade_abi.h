/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Palisade datapath ABI: every map key and value shared between the BPF programs and user space.
 * Only fixed-width fields with stated byte order. The TypeScript mirror (node-agent/datapath/abi.ts) is checked
 * against this object's BTF at load time; change both together and bump PALISADE_ABI_VERSION.
 */
#ifndef PALISADE_ABI_H
#define PALISADE_ABI_H

#include <linux/types.h>

/* 2: audit (PALISADE_VERDICT_AUDIT, PALISADE_CONTROL_AUDIT*, endpoint_value.flags). */
#define PALISADE_ABI_VERSION 2

/* Two complete policy generations live side by side; the control map picks one. */
#define PALISADE_GENERATIONS 2

#define PALISADE_DIR_INGRESS 0 /* traffic into the endpoint (TC egress of the host-side veth) */
#define PALISADE_DIR_EGRESS 1  /* traffic out of the endpoint (TC ingress of the host-side veth) */

/* Cilium's drop reasons, so verdict events read like Hubble's. */
#define PALISADE_DROP_POLICY_DENIED 133 /* no allow entry matched */
#define PALISADE_DROP_POLICY_DENY 181   /* an explicit deny entry matched */
/* Additive to ABI 1: a packet leaving an endpoint whose source address is not that endpoint's (spoofed). Judged
 * before any policy lookup; its counter row and event carry endpoint_id 0 (the real sender is not known by address). */
#define PALISADE_DROP_INVALID_SIP 132

/* endpoint_id of the counter row and event of a packet dropped with PALISADE_DROP_INVALID_SIP. */
#define PALISADE_ENDPOINT_NONE 0

/* Verdicts in events and counters. */
#define PALISADE_VERDICT_FORWARDED 0
#define PALISADE_VERDICT_DROPPED 1
#define PALISADE_VERDICT_PROXY 2 /* an L7 rule governs this flow: hand to the L7 proxy */
#define PALISADE_VERDICT_REPLY 3 /* passed as part of a tracked connection */
/* Policy would drop it (drop_reason says why) but the endpoint audits: forwarded, and tracked like an allowed packet
 * so its replies pass as REPLY (Hubble's AUDIT). Anti-spoofing drops (INVALID_SIP) are never audited. */
#define PALISADE_VERDICT_AUDIT 4

/* palisade_control.flags (additive to ABI 1: 0 keeps the original behaviour) */
#define PALISADE_CONTROL_EVENTS_OFF (1 << 0) /* no ring-buffer verdict events; counters still count */
/* Audit: the active generation judges every packet, but what it would drop is forwarded as PALISADE_VERDICT_AUDIT.
 * AUDIT covers every endpoint; AUDIT_FLAGGED only endpoints whose endpoint_value.flags has PALISADE_ENDPOINT_AUDIT
 * (an agent scopes audit to namespaces by flagging their endpoints). Both live in the control entry with active_gen,
 * so a generation is activated in audit, or switched from audit to enforce, by one map write. */
#define PALISADE_CONTROL_AUDIT (1 << 1)
#define PALISADE_CONTROL_AUDIT_FLAGGED (1 << 2)

/* endpoint_value.flags */
#define PALISADE_ENDPOINT_AUDIT (1 << 0) /* audited while the control entry has PALISADE_CONTROL_AUDIT_FLAGGED */

/* Reserved identities the datapath itself uses. */
#define PALISADE_IDENTITY_ANY 0   /* policy_key.identity wildcard */
#define PALISADE_IDENTITY_WORLD 2 /* a peer address with no ipcache entry */

/* Map capacities (max_entries); the compiler's map-pressure check and the agent read them from here. */
#define PALISADE_IPCACHE_MAX_ENTRIES 1048576 /* both generations together */
#define PALISADE_POLICY_MAX_ENTRIES 262144   /* both generations and every endpoint together */
#define PALISADE_ENDPOINTS_MAX_ENTRIES 65536
#define PALISADE_CT_MAX_ENTRIES 262144
#define PALISADE_COUNTERS_MAX_ENTRIES 65536
#define PALISADE_EVENTS_RING_BYTES (16 * 1024 * 1024)

/* policy_value.flags */
#define PALISADE_POLICY_DENY (1 << 0)
#define PALISADE_POLICY_PROXY (1 << 1)

/* ───────── control: one entry, read once per packet ───────── */
struct palisade_control {
	__u32 active_gen; /* 0 or 1 */
	__u32 flags;      /* PALISADE_CONTROL_* */
	__u64 serial;     /* bundle serial of the active generation, for status */
};

/* ───────── ipcache: LPM trie, address → identity, per generation ─────────
 * prefixlen counts bits of everything after it: gen (8) + family (8) + pad (16) = 32 fixed bits, then the
 * address bits (IPv4: first 4 bytes of addr, up to 32; IPv6: up to 128). */
struct ipcache_key {
	__u32 prefixlen; /* host order, as BPF_MAP_TYPE_LPM_TRIE wants */
	__u8 gen;
	__u8 family; /* 4 or 6 */
	__u16 pad;   /* 0 */
	__u8 addr[16]; /* network order; IPv4 in the first 4 bytes, rest 0 */
};

struct ipcache_value {
	__u32 identity; /* host order */
	__u32 flags;    /* reserved, 0 */
};

/* ───────── local endpoints: hash, address → endpoint (not per generation) ───────── */
struct endpoint_key {
	__u8 family; /* 4 or 6 */
	__u8 pad[3];
	__u8 addr[16]; /* network order */
};

struct endpoint_value {
	__u16 endpoint_id; /* host order, 1..65535 */
	__u16 flags;       /* PALISADE_ENDPOINT_*, host order */
	__u32 ifindex; /* host-side interface; when not 0, a packet from this address must arrive on it (anti-spoofing) */
};

/* ───────── policy: LPM trie, per generation, endpoint and direction ─────────
 * Lookup per packet (the BPF program and the TypeScript mirror in the compiler implement exactly this):
 *   r1 = lookup(identity = peer identity), r2 = lookup(identity = 0)
 *   if either is a DENY entry            → drop, PALISADE_DROP_POLICY_DENY (rule_id of that entry)
 *   else if either matched               → allow; the winner is the longer prefixlen, ties → r1;
 *                                          PROXY flag on the winner → verdict PROXY
 *   else                                 → drop, PALISADE_DROP_POLICY_DENIED
 * The compiler guarantees that no allow entry lies inside a deny entry of the same identity (it would hide it).
 * A direction without default-deny gets an allow entry for identity 0 with prefixlen 64.
 * Fixed part (always exact): gen, direction, endpoint_id, identity = 64 bits. Then protocol (8 bits) and, when the
 * protocol is exact, pad (8 bits, always 0) and dport (up to 16 bits as a prefix: ranges are split into
 * power-of-two blocks). A protocol wildcard has prefixlen 64 (port fully wildcarded). identity 0 = any identity,
 * looked up second. ICMP entries use protocol 1/58 and put the ICMP type in the high byte of dport (prefix 8).
 * The packet's lookup key: prefixlen 96, its protocol, and dport = the TCP/UDP/SCTP destination port, for ICMP/ICMPv6
 * (type << 8) (code ignored), for any other protocol, a non-first IPv4 fragment or a truncated L4 header 0.
 * Datapath facts around the lookup (the TypeScript mirror must reproduce them):
 *   - the control entry is read once per packet; every lookup of that packet uses its active_gen;
 *   - the endpoint is the packet's local address (source for egress, destination for ingress) in the endpoints map;
 *     non-IP passes unjudged; on ingress, a destination that is no local endpoint passes unjudged (no counter, no
 *     event); on egress, a source that is no local endpoint, or an endpoint whose ifindex is set and is not the
 *     interface the packet arrived on, is dropped with PALISADE_DROP_INVALID_SIP (counted and evented under
 *     PALISADE_ENDPOINT_NONE) — except ICMPv6 from fe80::/10 or :: (link-local neighbour discovery, MLD, DAD), which
 *     passes unjudged;
 *   - ICMPv6 neighbour discovery (types 133..137) always passes unjudged;
 *   - the peer identity is the ipcache entry of the peer address in that generation, PALISADE_IDENTITY_WORLD if none;
 *   - a packet whose reversed tuple is in conntrack passes as PALISADE_VERDICT_REPLY without a policy lookup;
 *     every other packet is judged by policy (established connections included), and an allowed TCP/UDP/SCTP packet
 *     or ICMP echo request records its forward tuple in conntrack;
 *   - a policy drop (either reason) at an endpoint in audit (PALISADE_CONTROL_AUDIT, or _AUDIT_FLAGGED and the
 *     endpoint's PALISADE_ENDPOINT_AUDIT) becomes PALISADE_VERDICT_AUDIT: forwarded, and recorded in conntrack like
 *     an allowed packet. */
struct policy_key {
	__u32 prefixlen; /* host order: 64 (protocol wildcard), or 80 + port bits (0..16) */
	__u8 gen;
	__u8 direction;     /* PALISADE_DIR_* */
	__be16 endpoint_id; /* network order so that the LPM bit order is the field order */
	__be32 identity;    /* network order; 0 = any */
	__u8 protocol;      /* IANA number */
	__u8 pad;           /* 0 */
	__be16 dport;       /* network order */
};

struct policy_value {
	__u8 flags;      /* PALISADE_POLICY_* */
	__u8 prefixlen;  /* copy of the key's prefixlen: the LPM lookup does not return it, the tie-break needs it */
	__u16 proxy_port; /* reserved for an L7 proxy, 0 */
	__u32 rule_id;    /* index into the bundle's rule table, for attribution; host order */
};

/* ───────── connection tracking: LRU hash of the connection's forward tuple ───────── */
struct ct_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport; /* ICMP: echo id */
	__be16 dport; /* ICMP: 0 */
	__u8 protocol;
	__u8 family;
	__u16 pad;
};

struct ct_value {
	__u64 created_ns;
	__u64 packets;
	__u32 rule_id;
	__u8 gen;       /* generation that allowed it */
	__u8 verdict;   /* PALISADE_VERDICT_FORWARDED, _PROXY or _AUDIT */
	__u16 pad;
};

/* ───────── counters: per-CPU hash, per endpoint, direction, verdict and generation ───────── */
struct counter_key {
	__u16 endpoint_id; /* host order */
	__u8 direction;
	__u8 verdict; /* PALISADE_VERDICT_* */
	__u8 gen;
	__u8 pad[3];
};

struct counter_value {
	__u64 packets;
	__u64 bytes;
};

/* ───────── verdict events on the ring buffer: what a Hubble flow needs ───────── */
struct verdict_event {
	__u64 ts_ns;        /* bpf_ktime_get_ns */
	__u32 src_identity; /* host order */
	__u32 dst_identity;
	__u32 rule_id;
	__u16 endpoint_id;
	__u16 drop_reason; /* 0 or PALISADE_DROP_* */
	__u8 family;
	__u8 direction;
	__u8 verdict;
	__u8 protocol;
	__u8 gen;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 pad;
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport;
	__be16 dport;
	__u32 pkt_len;
};

#endif /* PALISADE_ABI_H */
