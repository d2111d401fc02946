/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The policy map and the pieces of the policy lookup (palisade_abi.h, comment on struct policy_key) that the datapath
 * (palisade.bpf.c) and the structure benchmark (policy-structures.bpf.c) share: the LPM trie's definition and a packet's
 * lookup key. Macros and always-inline helpers only: no map or program is defined here.
 */
#ifndef PALISADE_POLICY_LOOKUP_H
#define PALISADE_POLICY_LOOKUP_H

#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "palisade_abi.h"

/* Policy key prefix length of a packet's lookup: every field significant. */
#define POLICY_FULL_PREFIXLEN 96

/* Defines the policy LPM trie `name` (struct policy_key → struct policy_value, both generations, all endpoints). */
#define PALISADE_POLICY_LPM_MAP(name)                                  \
	struct {                                                       \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);                   \
		__uint(max_entries, PALISADE_POLICY_MAX_ENTRIES);      \
		__uint(map_flags, BPF_F_NO_PREALLOC);                  \
		__type(key, struct policy_key);                        \
		__type(value, struct policy_value);                    \
	} name SEC(".maps")

/* Fills `key` (zeroed by the caller) as a packet's lookup: prefixlen 96, every field exact. Ids in host order. */
static __always_inline void policy_packet_key(struct policy_key *key, __u8 gen, __u8 dir, __u16 endpoint_id,
					      __u32 identity, __u8 protocol, __be16 dport)
{
	key->prefixlen = POLICY_FULL_PREFIXLEN;
	key->gen = gen;
	key->direction = dir;
	key->endpoint_id = bpf_htons(endpoint_id);
	key->identity = bpf_htonl(identity);
	key->protocol = protocol;
	key->dport = dport;
}

#endif
