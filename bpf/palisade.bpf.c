// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Palisade TC classifiers, one per direction of a local endpoint's host-side veth:
 *   palisade_from_endpoint  TC ingress of the host-side veth = traffic leaving the pod  (PALISADE_DIR_EGRESS)
 *   palisade_to_endpoint    TC egress of the host-side veth  = traffic entering the pod (PALISADE_DIR_INGRESS)
 * The per-packet algorithm is the one the comment on struct policy_key in palisade_abi.h describes.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "palisade_abi.h"
#include "lib/policy-lookup.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* ───────── maps (names are the kernel names: 15 characters at most) ───────── */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct palisade_control);
} pal_control SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PALISADE_IPCACHE_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ipcache_key);
	__type(value, struct ipcache_value);
} pal_ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PALISADE_ENDPOINTS_MAX_ENTRIES);
	__type(key, struct endpoint_key);
	__type(value, struct endpoint_value);
} pal_endpoints SEC(".maps");

PALISADE_POLICY_LPM_MAP(pal_policy);

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PALISADE_CT_MAX_ENTRIES);
	__type(key, struct ct_key);
	__type(value, struct ct_value);
} pal_conntrack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, PALISADE_COUNTERS_MAX_ENTRIES);
	__type(key, struct counter_key);
	__type(value, struct counter_value);
} pal_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PALISADE_EVENTS_RING_BYTES);
} pal_events SEC(".maps");


/* Puts struct verdict_event into the object's BTF (the ring buffer has no value type), so user space can check its
 * layout against abi.ts. A section libbpf does not load: it costs no map. */
struct verdict_event palisade_abi_verdict_event SEC(".palisade_abi") __attribute__((used));

/* ───────── named verdicts ───────── */

/* No policy entry matched: the default verdict of an enforced direction. */
#define DEFAULT_VERDICT PALISADE_VERDICT_DROPPED
#define DEFAULT_DROP_REASON PALISADE_DROP_POLICY_DENIED

/* ipcache: gen + family + pad before the address bits. */
#define IPCACHE_FIXED_BITS 32

#define IPPROTO_ICMPV6_ 58
#define IPPROTO_SCTP_ 132
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH 51
#define NEXTHDR_DEST 60
#define IPV6_MAX_EXT_HEADERS 6
/* Bytes made linear before parsing: Ethernet + IPv6 + extension headers + an L4 header. */
#define PULL_BYTES 256

#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8
#define ICMPV6_ECHO_REQUEST 128
#define ICMPV6_ECHO_REPLY 129
#define ICMPV6_ND_FIRST 133 /* router solicitation */
#define ICMPV6_ND_LAST 137  /* redirect */

/* What the parser extracts from one packet. */
struct flow {
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport;      /* TCP/UDP/SCTP source port; ICMP echo: id */
	__be16 dport;      /* TCP/UDP/SCTP destination port; ICMP: 0 */
	__be16 lookup_port; /* the policy key's dport */
	__u8 family;
	__u8 protocol;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 trackable; /* TCP/UDP/SCTP with ports, or ICMP echo */
	__u8 icmp_echo_reply;
};

enum parse_result {
	PARSE_OK,
	PARSE_NOT_IP, /* pass unjudged */
};

/* Reads the L4 header at `off`; leaves ports 0 when it is truncated. */
static __always_inline void parse_l4(void *data, void *data_end, __u32 off, struct flow *f)
{
	void *l4 = data + off;

	switch (f->protocol) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP_: {
		__be16 *ports = l4;
		if ((void *)(ports + 2) > data_end)
			return;
		f->sport = ports[0];
		f->dport = ports[1];
		f->lookup_port = ports[1];
		f->trackable = 1;
		return;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6_: {
		__u8 *icmp = l4;
		if ((void *)(icmp + 8) > data_end)
			return;
		f->icmp_type = icmp[0];
		f->icmp_code = icmp[1];
		f->lookup_port = bpf_htons((__u16)icmp[0] << 8);
		__u8 request = f->protocol == IPPROTO_ICMP ? ICMP_ECHO_REQUEST : ICMPV6_ECHO_REQUEST;
		__u8 reply = f->protocol == IPPROTO_ICMP ? ICMP_ECHO_REPLY : ICMPV6_ECHO_REPLY;
		if (icmp[0] == request || icmp[0] == reply) {
			f->sport = *(__be16 *)(icmp + 4); /* echo id */
			f->trackable = 1;
			f->icmp_echo_reply = icmp[0] == reply;
		}
		return;
	}
	default:
		return;
	}
}

static __always_inline enum parse_result parse_packet(struct __sk_buff *skb, struct flow *f)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return PARSE_NOT_IP;

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > data_end || ip->version != 4 || ip->ihl < 5)
			return PARSE_NOT_IP;
		f->family = 4;
		f->protocol = ip->protocol;
		__builtin_memcpy(f->saddr, &ip->saddr, 4);
		__builtin_memcpy(f->daddr, &ip->daddr, 4);
		/* A non-first fragment carries no L4 header: judged with ports 0. */
		if (ip->frag_off & bpf_htons(0x1fff))
			return PARSE_OK;
		parse_l4(data, data_end, sizeof(*eth) + ip->ihl * 4, f);
		return PARSE_OK;
	}

	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > data_end)
			return PARSE_NOT_IP;
		f->family = 6;
		__builtin_memcpy(f->saddr, &ip6->saddr, 16);
		__builtin_memcpy(f->daddr, &ip6->daddr, 16);
		__u8 nexthdr = ip6->nexthdr;
		__u32 off = sizeof(*eth) + sizeof(*ip6);
		/* Walk a bounded number of extension headers to the upper-layer protocol. */
#pragma unroll
		for (int i = 0; i < IPV6_MAX_EXT_HEADERS; i++) {
			if (nexthdr != NEXTHDR_HOP && nexthdr != NEXTHDR_ROUTING && nexthdr != NEXTHDR_FRAGMENT &&
			    nexthdr != NEXTHDR_AUTH && nexthdr != NEXTHDR_DEST)
				break;
			__u8 *ext = data + off;
			if ((void *)(ext + 8) > data_end) {
				f->protocol = nexthdr;
				return PARSE_OK;
			}
			if (nexthdr == NEXTHDR_FRAGMENT) {
				/* Fragment offset != 0: no L4 header here. */
				if ((((__u16)ext[2] << 8) | ext[3]) & 0xfff8) {
					f->protocol = ext[0];
					return PARSE_OK;
				}
				off += 8;
			} else if (nexthdr == NEXTHDR_AUTH) {
				off += ((__u32)ext[1] + 2) * 4;
			} else {
				off += ((__u32)ext[1] + 1) * 8;
			}
			nexthdr = ext[0];
			if (off > PULL_BYTES)
				break;
		}
		f->protocol = nexthdr;
		if (off > PULL_BYTES)
			return PARSE_OK;
		parse_l4(data, data_end, off, f);
		return PARSE_OK;
	}

	return PARSE_NOT_IP;
}

/* The peer's (or endpoint's) identity in generation `gen`; world when the ipcache has no entry. */
static __always_inline __u32 lookup_identity(__u8 gen, __u8 family, const __u8 *addr)
{
	struct ipcache_key key = {};

	key.prefixlen = IPCACHE_FIXED_BITS + (family == 4 ? 32 : 128);
	key.gen = gen;
	key.family = family;
	__builtin_memcpy(key.addr, addr, 16);
	struct ipcache_value *v = bpf_map_lookup_elem(&pal_ipcache, &key);
	return v ? v->identity : PALISADE_IDENTITY_WORLD;
}

struct decision {
	__u32 rule_id;
	__u16 drop_reason;
	__u8 verdict;
};

/* The policy lookup of palisade_abi.h, to the letter. */
static __always_inline void decide(__u8 gen, __u8 dir, __u16 endpoint_id, __u32 peer, const struct flow *f,
				   struct decision *d)
{
	struct policy_key key = {};

	policy_packet_key(&key, gen, dir, endpoint_id, peer, f->protocol, f->lookup_port);
	struct policy_value *r1 = bpf_map_lookup_elem(&pal_policy, &key);
	/* A deny in r1 decides whatever r2 holds: skip the second lookup. */
	if (r1 && (r1->flags & PALISADE_POLICY_DENY)) {
		d->verdict = PALISADE_VERDICT_DROPPED;
		d->drop_reason = PALISADE_DROP_POLICY_DENY;
		d->rule_id = r1->rule_id;
		return;
	}
	key.identity = bpf_htonl(PALISADE_IDENTITY_ANY);
	struct policy_value *r2 = bpf_map_lookup_elem(&pal_policy, &key);

	if (r2 && (r2->flags & PALISADE_POLICY_DENY)) {
		d->verdict = PALISADE_VERDICT_DROPPED;
		d->drop_reason = PALISADE_DROP_POLICY_DENY;
		d->rule_id = r2->rule_id;
		return;
	}
	struct policy_value *win = r1;
	if (!win || (r2 && r2->prefixlen > r1->prefixlen))
		win = r2;
	if (!win) {
		d->verdict = DEFAULT_VERDICT;
		d->drop_reason = DEFAULT_DROP_REASON;
		d->rule_id = 0;
		return;
	}
	d->verdict = (win->flags & PALISADE_POLICY_PROXY) ? PALISADE_VERDICT_PROXY : PALISADE_VERDICT_FORWARDED;
	d->drop_reason = 0;
	d->rule_id = win->rule_id;
}

static __always_inline void ct_forward_key(const struct flow *f, struct ct_key *k)
{
	__builtin_memcpy(k->saddr, f->saddr, 16);
	__builtin_memcpy(k->daddr, f->daddr, 16);
	k->sport = f->sport;
	k->dport = f->dport;
	k->protocol = f->protocol;
	k->family = f->family;
}

/* The key the connection's opening direction recorded, if this packet is its reply. */
static __always_inline void ct_reverse_key(const struct flow *f, struct ct_key *k)
{
	__builtin_memcpy(k->saddr, f->daddr, 16);
	__builtin_memcpy(k->daddr, f->saddr, 16);
	if (f->protocol == IPPROTO_ICMP || f->protocol == IPPROTO_ICMPV6_) {
		k->sport = f->sport; /* echo id is the same both ways */
		k->dport = 0;
	} else {
		k->sport = f->dport;
		k->dport = f->sport;
	}
	k->protocol = f->protocol;
	k->family = f->family;
}

static __always_inline void count(__u16 endpoint_id, __u8 dir, __u8 verdict, __u8 gen, __u32 len)
{
	struct counter_key key = {};

	key.endpoint_id = endpoint_id;
	key.direction = dir;
	key.verdict = verdict;
	key.gen = gen;
	struct counter_value *v = bpf_map_lookup_elem(&pal_counters, &key);
	if (v) {
		v->packets += 1; /* per-CPU value: no other writer */
		v->bytes += len;
		return;
	}
	struct counter_value init = { .packets = 1, .bytes = len };
	bpf_map_update_elem(&pal_counters, &key, &init, BPF_NOEXIST);
}

static __always_inline void emit(const struct flow *f, __u8 dir, __u8 gen, __u16 endpoint_id, __u32 src_identity,
				 __u32 dst_identity, const struct decision *d, __u32 len)
{
	struct verdict_event *e = bpf_ringbuf_reserve(&pal_events, sizeof(*e), 0);
	if (!e)
		return; /* ring full: the counters still count the packet */
	e->ts_ns = bpf_ktime_get_ns();
	e->src_identity = src_identity;
	e->dst_identity = dst_identity;
	e->rule_id = d->rule_id;
	e->endpoint_id = endpoint_id;
	e->drop_reason = d->drop_reason;
	e->family = f->family;
	e->direction = dir;
	e->verdict = d->verdict;
	e->protocol = f->protocol;
	e->gen = gen;
	e->icmp_type = f->icmp_type;
	e->icmp_code = f->icmp_code;
	e->pad = 0;
	__builtin_memcpy(e->saddr, f->saddr, 16);
	__builtin_memcpy(e->daddr, f->daddr, 16);
	e->sport = f->sport;
	e->dport = f->dport;
	e->pkt_len = len;
	bpf_ringbuf_submit(e, 0);
}

/* ICMPv6 from fe80::/10 or :: — neighbour discovery, MLD and DAD before the pod has (or uses) its address. */
static __always_inline int link_local_icmpv6(const struct flow *f)
{
	if (f->family != 6 || f->protocol != IPPROTO_ICMPV6_)
		return 0;
	if (f->saddr[0] == 0xfe && (f->saddr[1] & 0xc0) == 0x80)
		return 1;
	__u8 any = 0;
#pragma unroll
	for (int i = 0; i < 16; i++)
		any |= f->saddr[i];
	return any == 0;
}

static __always_inline int judge(struct __sk_buff *skb, __u8 dir)
{
	struct flow f = {};

	/* Headers beyond the linear area (GSO, paged skbs) are pulled in once. */
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	if (data + PULL_BYTES > data_end) {
		__u32 linear = data_end - data;
		if (skb->len > linear)
			bpf_skb_pull_data(skb, skb->len < PULL_BYTES ? skb->len : PULL_BYTES);
	}
	if (parse_packet(skb, &f) != PARSE_OK)
		return TC_ACT_OK;

	/* The one read of the control map: this packet is judged by this generation only. */
	__u32 zero = 0;
	struct palisade_control *ctl = bpf_map_lookup_elem(&pal_control, &zero);
	if (!ctl)
		return TC_ACT_OK; /* unreachable: an array entry always exists */
	__u8 gen = ctl->active_gen & 1;
	__u32 ctl_flags = ctl->flags;

	struct endpoint_key ek = {};
	ek.family = f.family;
	__builtin_memcpy(ek.addr, dir == PALISADE_DIR_EGRESS ? f.saddr : f.daddr, 16);
	struct endpoint_value *ep = bpf_map_lookup_elem(&pal_endpoints, &ek);
	__u32 len = skb->len;
	if (dir == PALISADE_DIR_EGRESS && (!ep || (ep->ifindex && ep->ifindex != skb->ifindex))) {
		/* The pod sends from an address that is not its own: drop before any policy is consulted. */
		if (link_local_icmpv6(&f))
			return TC_ACT_OK;
		struct decision spoofed = { .verdict = PALISADE_VERDICT_DROPPED, .drop_reason = PALISADE_DROP_INVALID_SIP };
		count(PALISADE_ENDPOINT_NONE, dir, spoofed.verdict, gen, len);
		if (!(ctl_flags & PALISADE_CONTROL_EVENTS_OFF))
			emit(&f, dir, gen, PALISADE_ENDPOINT_NONE, lookup_identity(gen, f.family, f.saddr),
			     lookup_identity(gen, f.family, f.daddr), &spoofed, len);
		return TC_ACT_SHOT;
	}
	if (!ep)
		return TC_ACT_OK; /* not a managed endpoint */
	__u16 endpoint_id = ep->endpoint_id;

	if (f.protocol == IPPROTO_ICMPV6_ && f.icmp_type >= ICMPV6_ND_FIRST && f.icmp_type <= ICMPV6_ND_LAST)
		return TC_ACT_OK; /* neighbour discovery keeps the link working */

	/* Audit is read with the generation (same control entry): one packet, one mode. */
	__u8 audit = (ctl_flags & PALISADE_CONTROL_AUDIT) ||
		     ((ctl_flags & PALISADE_CONTROL_AUDIT_FLAGGED) && (ep->flags & PALISADE_ENDPOINT_AUDIT));

	/* Only the peer's identity enters the decision; the endpoint's own is looked up for the event alone. */
	__u32 peer = lookup_identity(gen, f.family, dir == PALISADE_DIR_EGRESS ? f.daddr : f.saddr);

	struct decision d = {};
	struct ct_key ck = {};
	struct ct_value *ct = 0;
	if (f.trackable) {
		ct_reverse_key(&f, &ck);
		ct = bpf_map_lookup_elem(&pal_conntrack, &ck);
	}
	if (ct) {
		__sync_fetch_and_add(&ct->packets, 1);
		d.verdict = PALISADE_VERDICT_REPLY;
		d.rule_id = ct->rule_id;
	} else {
		decide(gen, dir, endpoint_id, peer, &f, &d);
		/* In audit a would-be drop is forwarded; drop_reason keeps why it would have been dropped. */
		if (audit && d.verdict == PALISADE_VERDICT_DROPPED)
			d.verdict = PALISADE_VERDICT_AUDIT;
		/* Record the connection so its replies pass; an echo reply opens nothing. */
		if (d.verdict != PALISADE_VERDICT_DROPPED && f.trackable && !f.icmp_echo_reply) {
			__builtin_memset(&ck, 0, sizeof(ck));
			ct_forward_key(&f, &ck);
			struct ct_value *cur = bpf_map_lookup_elem(&pal_conntrack, &ck);
			if (cur) {
				__sync_fetch_and_add(&cur->packets, 1);
				cur->rule_id = d.rule_id;
				cur->gen = gen;
				cur->verdict = d.verdict;
			} else {
				struct ct_value nv = {};
				nv.created_ns = bpf_ktime_get_ns();
				nv.packets = 1;
				nv.rule_id = d.rule_id;
				nv.gen = gen;
				nv.verdict = d.verdict;
				bpf_map_update_elem(&pal_conntrack, &ck, &nv, BPF_ANY);
			}
		}
	}

	count(endpoint_id, dir, d.verdict, gen, len);
	if (!(ctl_flags & PALISADE_CONTROL_EVENTS_OFF)) {
		__u32 own = lookup_identity(gen, f.family, dir == PALISADE_DIR_EGRESS ? f.saddr : f.daddr);
		if (dir == PALISADE_DIR_EGRESS)
			emit(&f, dir, gen, endpoint_id, own, peer, &d, len);
		else
			emit(&f, dir, gen, endpoint_id, peer, own, &d, len);
	}
	return d.verdict == PALISADE_VERDICT_DROPPED ? TC_ACT_SHOT : TC_ACT_OK;
}

/* TC ingress of the host-side veth: packets the pod sends. */
SEC("tc")
int palisade_from_endpoint(struct __sk_buff *skb)
{
	return judge(skb, PALISADE_DIR_EGRESS);
}

/* TC egress of the host-side veth: packets delivered to the pod. */
SEC("tc")
int palisade_to_endpoint(struct __sk_buff *skb)
{
	return judge(skb, PALISADE_DIR_INGRESS);
}
