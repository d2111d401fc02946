/**
 * The structure of CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy (cilium.io/v2), as the official CRD
 * OpenAPI schema defines it, with Palisade's codes and messages. Semantic rules that the schema cannot express
 * (peer kinds, except-in-cidr, L7 placement...) are in ./check-cilium.ts.
 */
import type { Schema, StringCheck } from './schema.js';
import { field, scalarString, type YMap } from '../load/ynode.js';
import { errorAt, type Diagnostic } from './diagnostic.js';
import {
  checkCidr,
  checkDnsName,
  checkDnsPattern,
  checkLabelKey,
  checkLabelValue,
  checkPortString,
  checkPrintable,
} from './value-checks.js';

const str = (check?: StringCheck, code?: string, maxLength?: number): Schema => ({ t: 'string', ...(check ? { check } : {}), ...(code ? { code } : {}), ...(maxLength !== undefined ? { maxLength } : {}) });
const oneOf = (values: readonly string[], code?: string): Schema => ({ t: 'string', enum: values, ...(code ? { code } : {}) });
const arr = (items: Schema, extra: Partial<Extract<Schema, { t: 'array' }>> = {}): Schema => ({ t: 'array', items, ...extra });
const obj = (fields: Record<string, Schema>, extra: Partial<Extract<Schema, { t: 'object' }>> = {}): Schema => ({ t: 'object', fields, ...extra });

/** apimachinery: In/NotIn need at least one value; Exists/DoesNotExist take none. */
function checkExpressionValues(node: YMap, path: string, out: Diagnostic[]): void {
  const op = scalarString(field(node, 'operator'));
  const values = field(node, 'values');
  const n = values?.kind === 'seq' ? values.items.length : 0;
  if ((op === 'In' || op === 'NotIn') && n === 0) {
    out.push(errorAt('selector-values', `${path}: operator ${op} needs at least one value`, (values ?? node).pos));
  } else if ((op === 'Exists' || op === 'DoesNotExist') && n > 0) {
    out.push(errorAt('selector-values', `${path}: operator ${op} takes no values`, values!.pos));
  }
}

export const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

/** A Kubernetes label selector as Cilium uses it (keys may carry a `source:` prefix). */
export const labelSelectorSchema: Schema = obj({
  matchLabels: { t: 'object', fields: {}, values: str(checkLabelValue, 'label-value'), keyCheck: checkLabelKey, keyCode: 'label-key' },
  matchExpressions: arr(
    obj(
      {
        key: str(checkLabelKey, 'label-key'),
        operator: oneOf(SELECTOR_OPERATORS, 'selector-operator'),
        values: arr(str(checkLabelValue, 'label-value')),
      },
      { required: ['key', 'operator'], objectCheck: checkExpressionValues },
    ),
  ),
});

export const ENTITIES = ['all', 'world', 'cluster', 'host', 'init', 'ingress', 'unmanaged', 'remote-node', 'health', 'none', 'kube-apiserver'] as const;
export const PROTOCOLS = ['TCP', 'UDP', 'SCTP', 'VRRP', 'IGMP', 'GRE', 'IPIP', 'IPV6', 'ESP', 'AH', 'ANY'] as const;

const cidr = str(checkCidr, 'cidr-invalid');
const cidrSet = obj(
  {
    cidr,
    cidrGroupRef: str((v) => (/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(v) && v.length <= 253 ? undefined : `'${v}' is not a valid CiliumCIDRGroup name`), 'schema-pattern'),
    cidrGroupSelector: labelSelectorSchema,
    except: arr(cidr),
  },
  { exactlyOne: ['cidr', 'cidrGroupRef', 'cidrGroupSelector'] },
);

const ICMP_TYPE_NAMES_PATTERN = /^(EchoReply|DestinationUnreachable|Redirect|Echo|RouterAdvertisement|RouterSelection|TimeExceeded|ParameterProblem|Timestamp|TimestampReply|Photuris|ExtendedEchoRequest|ExtendedEcho Reply|PacketTooBig|EchoRequest|MulticastListenerQuery|MulticastListenerReport|MulticastListenerDone|RouterSolicitation|NeighborSolicitation|NeighborAdvertisement|RedirectMessage|RouterRenumbering|ICMPNodeInformationQuery|ICMPNodeInformationResponse|InverseNeighborDiscoverySolicitation|InverseNeighborDiscoveryAdvertisement|HomeAgentAddressDiscoveryRequest|HomeAgentAddressDiscoveryReply|MobilePrefixSolicitation|MobilePrefixAdvertisement|DuplicateAddressRequestCodeSuffix|DuplicateAddressConfirmationCodeSuffix)$/;

const icmps = arr(
  obj({
    fields: arr(
      obj(
        {
          family: oneOf(['IPv4', 'IPv6'], 'icmp-family'),
          type: {
            t: 'int-or-string',
            min: 0,
            max: 255,
            code: 'icmp-type',
            check: (v) => (/^([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])$/.test(v) || ICMP_TYPE_NAMES_PATTERN.test(v) ? undefined : `'${v}' is not an ICMP type number (0-255) or name`),
          },
        },
        { required: ['type'] },
      ),
      { maxItems: 40, maxItemsCode: 'icmp-too-many', maxItemsMessage: 'at most 40 ICMP fields are allowed per entry' },
    ),
  }),
);

const portProtocol = obj({
  port: str(checkPortString, 'port-invalid'),
  endPort: { t: 'int', min: 0, max: 65535 },
  protocol: oneOf(PROTOCOLS, 'port-protocol'),
});
const ports = arr(portProtocol, { maxItems: 40, maxItemsCode: 'ports-too-many', maxItemsMessage: 'at most 40 ports are allowed in one toPorts entry' });

const secretRef = obj({ name: str(), namespace: str() }, { required: ['name'] });
const tlsContext = obj({ secret: secretRef, certificate: str(), privateKey: str(), trustedCA: str() }, { required: ['secret'] });

const fqdnSelector = obj(
  { matchName: str(checkDnsName, 'dns-name'), matchPattern: str(checkDnsPattern, 'dns-pattern') },
  { exactlyOne: ['matchName', 'matchPattern'] },
);

const httpRule = obj({
  method: str(),
  path: str(),
  host: str(),
  headers: arr(str()),
  headerMatches: arr(
    obj(
      {
        name: str((v) => (v.length === 0 ? 'header name is empty' : undefined)),
        value: str(),
        mismatch: oneOf(['LOG', 'ADD', 'DELETE', 'REPLACE']),
        secret: secretRef,
      },
      { required: ['name'] },
    ),
  ),
});

const l7Rules = obj(
  { http: arr(httpRule), dns: arr(fqdnSelector) },
  {
    exactlyOne: ['http', 'dns'],
    rejected: {
      kafka: { code: 'l7-unsupported', message: 'Kafka rules are no longer supported by Cilium' },
      l7proto: { code: 'l7-unsupported', message: 'generic L7 parser rules are no longer part of the CRD' },
      l7: { code: 'l7-unsupported', message: 'generic L7 parser rules are no longer part of the CRD' },
    },
  },
);

const allowPortRule = obj({
  ports,
  rules: l7Rules,
  listener: obj(
    {
      envoyConfig: obj({ kind: oneOf(['CiliumEnvoyConfig', 'CiliumClusterwideEnvoyConfig']), name: str() }, { required: ['name'] }),
      name: str(),
      priority: { t: 'int', min: 1, max: 100 },
    },
    { required: ['envoyConfig', 'name'] },
  ),
  originatingTLS: tlsContext,
  terminatingTLS: tlsContext,
  serverNames: arr(str(checkDnsPattern, 'dns-pattern', 255), { minItems: 1 }),
});

const denyL7 = { code: 'l7-in-deny', message: 'deny rules cannot carry L7 rules, listeners, TLS or server names' };
const denyPortRule = obj(
  { ports },
  { rejected: { rules: denyL7, listener: denyL7, originatingTLS: denyL7, terminatingTLS: denyL7, serverNames: denyL7 } },
);

const groups = arr(
  obj({
    aws: obj({
      labels: { t: 'object', fields: {}, values: str() },
      region: str(),
      securityGroupsIds: arr(str()),
      securityGroupsNames: arr(str()),
    }, { deprecated: { region: 'Cilium ignores it' } }),
  }),
);

const requires = (dir: 'from' | 'to'): { code: string; message: string } => ({
  code: 'requires-unsupported',
  message: `${dir}Requires is not supported by current Cilium (the CRD allows no entries); express the requirement in ${dir}Endpoints selectors instead`,
});

const authentication = obj({ mode: oneOf(['disabled', 'required', 'test-always-fail']) }, { required: ['mode'] });

const ingressCommon = {
  fromEndpoints: arr(labelSelectorSchema),
  fromCIDR: arr(cidr),
  fromCIDRSet: arr(cidrSet),
  fromEntities: arr(oneOf(ENTITIES, 'entity-unknown')),
  fromGroups: groups,
  fromNodes: arr(labelSelectorSchema),
  icmps,
};
const egressCommon = {
  toEndpoints: arr(labelSelectorSchema),
  toCIDR: arr(cidr),
  toCIDRSet: arr(cidrSet),
  toEntities: arr(oneOf(ENTITIES, 'entity-unknown')),
  toGroups: groups,
  toNodes: arr(labelSelectorSchema),
  toServices: arr(
    obj({
      k8sService: obj({ serviceName: str(), namespace: str() }),
      k8sServiceSelector: obj({ selector: labelSelectorSchema, namespace: str() }, { required: ['selector'] }),
    }),
  ),
  icmps,
};

const fqdnIngress = { code: 'fqdn-not-egress-allow', message: 'toFQDNs is only allowed in egress (allow) rules' };
export const ingressRuleSchema: Schema = obj({ ...ingressCommon, toPorts: arr(allowPortRule), authentication }, {
  rejected: { fromRequires: requires('from'), toFQDNs: fqdnIngress, fromFQDNs: fqdnIngress },
});
export const ingressDenyRuleSchema: Schema = obj({ ...ingressCommon, toPorts: arr(denyPortRule) }, {
  rejected: {
    fromRequires: requires('from'),
    toFQDNs: fqdnIngress,
    fromFQDNs: fqdnIngress,
    authentication: { code: 'auth-in-deny', message: 'deny rules cannot require authentication' },
  },
});
export const egressRuleSchema: Schema = obj({ ...egressCommon, toFQDNs: arr(fqdnSelector), toPorts: arr(allowPortRule), authentication }, { rejected: { toRequires: requires('to') } });
export const egressDenyRuleSchema: Schema = obj({ ...egressCommon, toPorts: arr(denyPortRule) }, {
  rejected: {
    toRequires: requires('to'),
    toFQDNs: { code: 'fqdn-not-egress-allow', message: 'toFQDNs is only allowed in egress (allow) rules, not in egressDeny' },
    authentication: { code: 'auth-in-deny', message: 'deny rules cannot require authentication' },
  },
});

/** One rule block: a CNP `spec`, an entry of `specs`, or a CCNP spec. */
export const ciliumRuleSchema: Schema = obj(
  {
    description: str(),
    endpointSelector: labelSelectorSchema,
    nodeSelector: labelSelectorSchema,
    ingress: arr(ingressRuleSchema),
    ingressDeny: arr(ingressDenyRuleSchema),
    egress: arr(egressRuleSchema),
    egressDeny: arr(egressDenyRuleSchema),
    enableDefaultDeny: obj({ ingress: { t: 'bool' }, egress: { t: 'bool' } }),
    labels: arr(obj({ key: str(), source: str(), value: str() }, { required: ['key'] })),
    log: obj({ value: str(checkPrintable, 'schema-pattern', 32) }),
  },
  // exactly-one-subject and at-least-one-direction are checked in check-cilium.ts with their own codes.
);

/** Object metadata: name and namespace are checked by the document checks; the rest is free. */
export const metadataSchema: Schema = obj(
  {
    name: str(),
    namespace: str(),
    labels: { t: 'object', fields: {}, values: str(checkLabelValue, 'label-value'), keyCheck: checkLabelKey, keyCode: 'label-key' },
    annotations: { t: 'object', fields: {}, values: str() },
    generateName: str(),
    uid: str(),
    resourceVersion: str(),
    generation: { t: 'int' },
    creationTimestamp: { t: 'any' },
    deletionTimestamp: { t: 'any' },
    managedFields: { t: 'any' },
    ownerReferences: { t: 'any' },
    finalizers: arr(str()),
    selfLink: str(),
  },
  { required: ['name'] },
);

/** The whole CNP/CCNP object. */
export const ciliumPolicySchema: Schema = obj(
  {
    apiVersion: str(),
    kind: str(),
    metadata: metadataSchema,
    spec: ciliumRuleSchema,
    specs: arr(ciliumRuleSchema),
    status: { t: 'any' },
  },
  { required: ['metadata'], atLeastOne: ['spec', 'specs'] },
);
