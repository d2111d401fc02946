/** ICMP and ICMPv6 type names as Cilium accepts them in `icmps[].fields[].type`, resolved to numbers. */

export const ICMPV4_TYPES: Readonly<Record<string, number>> = {
  EchoReply: 0,
  DestinationUnreachable: 3,
  Redirect: 5,
  Echo: 8,
  EchoRequest: 8,
  RouterAdvertisement: 9,
  RouterSelection: 10,
  TimeExceeded: 11,
  ParameterProblem: 12,
  Timestamp: 13,
  TimestampReply: 14,
  Photuris: 40,
  ExtendedEchoRequest: 42,
  ExtendedEchoReply: 43,
};

export const ICMPV6_TYPES: Readonly<Record<string, number>> = {
  DestinationUnreachable: 1,
  PacketTooBig: 2,
  TimeExceeded: 3,
  ParameterProblem: 4,
  EchoRequest: 128,
  EchoReply: 129,
  MulticastListenerQuery: 130,
  MulticastListenerReport: 131,
  MulticastListenerDone: 132,
  RouterSolicitation: 133,
  RouterAdvertisement: 134,
  NeighborSolicitation: 135,
  NeighborAdvertisement: 136,
  RedirectMessage: 137,
  RouterRenumbering: 138,
  ICMPNodeInformationQuery: 139,
  ICMPNodeInformationResponse: 140,
  InverseNeighborDiscoverySolicitation: 141,
  InverseNeighborDiscoveryAdvertisement: 142,
  HomeAgentAddressDiscoveryRequest: 144,
  HomeAgentAddressDiscoveryReply: 145,
  MobilePrefixSolicitation: 146,
  MobilePrefixAdvertisement: 147,
  DuplicateAddressRequestCodeSuffix: 157,
  DuplicateAddressConfirmationCodeSuffix: 158,
  ExtendedEchoRequest: 160,
  ExtendedEchoReply: 161,
};

/**
 * Resolves an ICMP type as written (number, numeric string or name) for a family.
 * Returns undefined when the name does not exist for that family or the number is outside 0–255.
 */
export function resolveIcmpType(family: 4 | 6, written: string | number): number | undefined {
  if (typeof written === 'number') return Number.isInteger(written) && written >= 0 && written <= 255 ? written : undefined;
  if (/^[0-9]{1,3}$/.test(written)) return resolveIcmpType(family, Number(written));
  const names = family === 4 ? ICMPV4_TYPES : ICMPV6_TYPES;
  // Own properties only: a name like `constructor` is not an ICMP type.
  return Object.hasOwn(names, written) ? names[written] : undefined;
}
