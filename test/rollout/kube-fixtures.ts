/** The fake API server with Palisade's CRDs, and clients of it, for the Kubernetes backend's tests. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { KubernetesRecordStore, type PolicyRolloutView } from '../../pipeline/stores/index.js';
import { kubeconfigAs, startFakeApiServer, type CrdDocument, type FakeApiServer } from '../support/fake-kube-apiserver.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Every document of a YAML manifest file of the repository. */
export function manifest(path: string): Record<string, unknown>[] {
  return parseAllDocuments(readFileSync(join(ROOT, path), 'utf8')).map((d) => d.toJS() as Record<string, unknown>);
}

export const CRDS = manifest('pipeline/rollout/kubernetes/deploy/crds.yaml') as unknown as CrdDocument[];

/** The fake API server checking PolicyRollout and PolicyNode objects against the CRDs' schemas. */
export function startApiWithCrds(): Promise<FakeApiServer> {
  return startFakeApiServer({ crds: CRDS });
}

/** A client configuration for the fake API server, authenticated as `who`. */
export function kubeConfigAs(api: FakeApiServer, who: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigAs(api, who));
  return kc;
}

/** Records in namespace `palisade` of the fake API server, as `who`. */
export function recordsAs(api: FakeApiServer, who: string, view?: PolicyRolloutView): KubernetesRecordStore {
  return new KubernetesRecordStore({ kubeConfig: kubeConfigAs(api, who), namespace: 'palisade', retryDelayMs: 10, ...(view ? { view } : {}) });
}
