// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The benchmark floor: a TC classifier that only returns. bench/bpf.ts runs it on the same packet as Palisade's. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tc")
int palisade_empty(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}
