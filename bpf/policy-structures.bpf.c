// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Benchmark only (bench/bpf.ts): the policy lookup alone, on two candidate structures, to choose by measurement.
 *   bench_lpm   the datapath's structure: one LPM trie, two lookups (peer identity, identity 0), port ranges as prefixes
 *   bench_hash  a hash with a fixed wildcard order: for identity ∈ {peer, 0}: (proto, port), (proto, any), (any, any);
 *               six lookups, because a deny at any level must win; port ranges must be expanded to single ports
 * Both read the destination port from a TCP/IPv4 frame (bounds-checked) and use peer identity 400, endpoint 1, egress.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "palisade_abi.h"
#include "lib/policy-lookup.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct hash_policy_key {
	__u8 gen;
	__u8 direction;
	__be16 endpoint_id;
	__be32 identity;
	__u8 protocol;
	__u8 pad;
	__be16 dport;
};

PALISADE_POLICY_LPM_MAP(bench_lpm_map);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PALISADE_POLICY_MAX_ENTRIES);
	__type(key, struct hash_policy_key);
	__type(value, struct policy_value);
} bench_hash_map SEC(".maps");

#define PEER_IDENTITY 400
#define ENDPOINT 1

static __always_inline int read_dport(struct __sk_buff *skb, __be16 *dport)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5)
		return -1;
	__be16 *ports = (void *)(ip + 1);
	if ((void *)(ports + 2) > data_end)
		return -1;
	*dport = ports[1];
	return 0;
}

/* Allow = TC_ACT_OK, deny or no match = TC_ACT_SHOT; the same precedence as the datapath. */
static __always_inline int verdict(struct policy_value *deny, struct policy_value *allow)
{
	if (deny)
		return TC_ACT_SHOT;
	return allow ? TC_ACT_OK : TC_ACT_SHOT;
}

SEC("tc")
int bench_lpm(struct __sk_buff *skb)
{
	__be16 dport;
	if (read_dport(skb, &dport))
		return TC_ACT_OK;
	struct policy_key key = {};
	policy_packet_key(&key, 0, PALISADE_DIR_EGRESS, ENDPOINT, PEER_IDENTITY, IPPROTO_TCP, dport);
	struct policy_value *r1 = bpf_map_lookup_elem(&bench_lpm_map, &key);
	key.identity = 0;
	struct policy_value *r2 = bpf_map_lookup_elem(&bench_lpm_map, &key);
	struct policy_value *deny = (r1 && (r1->flags & PALISADE_POLICY_DENY)) ? r1 : (r2 && (r2->flags & PALISADE_POLICY_DENY)) ? r2 : 0;
	struct policy_value *win = r1;
	if (!win || (r2 && r2->prefixlen > r1->prefixlen))
		win = r2;
	return verdict(deny, win);
}

SEC("tc")
int bench_hash(struct __sk_buff *skb)
{
	__be16 dport;
	if (read_dport(skb, &dport))
		return TC_ACT_OK;
	struct hash_policy_key key = {};
	struct policy_value *deny = 0, *allow = 0;
	key.direction = PALISADE_DIR_EGRESS;
	key.endpoint_id = bpf_htons(ENDPOINT);
	__u32 identities[2] = { PEER_IDENTITY, 0 };
#pragma unroll
	for (int i = 0; i < 2; i++) {
		key.identity = bpf_htonl(identities[i]);
		/* most specific first: (proto, port), (proto, any), (any, any); a deny at any level wins, so every level is
		 * looked up */
#pragma unroll
		for (int level = 0; level < 3; level++) {
			key.protocol = level < 2 ? IPPROTO_TCP : 0;
			key.dport = level == 0 ? dport : 0;
			struct policy_value *v = bpf_map_lookup_elem(&bench_hash_map, &key);
			if (v) {
				if (v->flags & PALISADE_POLICY_DENY) deny = v; else if (!allow) allow = v;
			}
		}
	}
	return verdict(deny, allow);
}
