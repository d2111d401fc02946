/**
 * Reply flows are judged as the connection they answer: the same flow with its ends swapped. ICMP replies map back
 * to the request type that opened the exchange (echo reply 0 → echo request 8, ICMPv6 129 → 128, ...).
 */
import type { Flow } from '../flow/types.js';

const ICMPV4_REQUEST_OF_REPLY: Readonly<Record<number, number>> = { 0: 8, 14: 13, 16: 15, 18: 17 };
const ICMPV6_REQUEST_OF_REPLY: Readonly<Record<number, number>> = { 129: 128 };

/** The opening direction of a reply flow: ends, ports and ICMP type swapped back; `isReply` false, same index. */
export function reverseFlow(flow: Flow): Flow {
  let icmpType = flow.icmpType;
  if (icmpType !== undefined) {
    const table = flow.protocol === 'ICMPv6' ? ICMPV6_REQUEST_OF_REPLY : ICMPV4_REQUEST_OF_REPLY;
    icmpType = table[icmpType] ?? icmpType;
  }
  return {
    ...flow,
    src: flow.dst,
    dst: flow.src,
    srcPort: flow.dstPort,
    dstPort: flow.srcPort,
    icmpType,
    isReply: false,
  };
}
