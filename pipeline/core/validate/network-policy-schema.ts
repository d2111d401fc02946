/**
 * The structure of Kubernetes NetworkPolicy (networking.k8s.io/v1), following the API types and the API server's
 * validation (ports 1-65535, named ports as IANA service names, ipBlock exclusive with selectors).
 */
import { labelSelectorSchema, metadataSchema } from './cilium-schema.js';
import type { Schema } from './schema.js';
import { checkCidr, isServiceName } from './value-checks.js';

const arr = (items: Schema): Schema => ({ t: 'array', items });

const peer: Schema = {
  t: 'object',
  fields: {
    podSelector: labelSelectorSchema,
    namespaceSelector: labelSelectorSchema,
    ipBlock: {
      t: 'object',
      fields: { cidr: { t: 'string', check: checkCidr, code: 'cidr-invalid' }, except: arr({ t: 'string', check: checkCidr, code: 'cidr-invalid' }) },
      required: ['cidr'],
    },
  },
};

const port: Schema = {
  t: 'object',
  fields: {
    protocol: { t: 'string', enum: ['TCP', 'UDP', 'SCTP'], code: 'port-protocol' },
    port: {
      t: 'int-or-string',
      min: 1,
      max: 65535,
      code: 'port-invalid',
      check: (v) => (isServiceName(v) ? undefined : `'${v}' is not a valid port name (1-15 letters, digits or '-', with a letter); write numbers without quotes`),
    },
    endPort: { t: 'int', min: 1, max: 65535 },
  },
};

/** The whole NetworkPolicy object. */
export const networkPolicySchema: Schema = {
  t: 'object',
  fields: {
    apiVersion: { t: 'string' },
    kind: { t: 'string' },
    metadata: metadataSchema,
    spec: {
      t: 'object',
      fields: {
        podSelector: labelSelectorSchema,
        policyTypes: arr({ t: 'string', enum: ['Ingress', 'Egress'], code: 'policy-type' }),
        ingress: arr({ t: 'object', fields: { from: arr(peer), ports: arr(port) } }),
        egress: arr({ t: 'object', fields: { to: arr(peer), ports: arr(port) } }),
      },
      // podSelector may be omitted: the API server reads it as {} (every pod of the namespace).
    },
    status: { t: 'any' },
  },
  required: ['metadata', 'spec'],
};
