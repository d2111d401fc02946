/**
 * The policy changes the demo's pull requests make to the template, as text edits a person would make. Each edit
 * checks that its text is where it expects it, so a template change that moves it fails loudly instead of making
 * an empty pull request.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DemoError } from './errors.js';

/** A pull request of the demo: its branch, title, and the edit of the repository's files. */
export interface PolicyChange {
  readonly branch: string;
  readonly title: string;
  edit(repoDir: string): Promise<void>;
}

async function replaceIn(repoDir: string, file: string, from: string | RegExp, to: string): Promise<void> {
  const p = path.join(repoDir, file);
  const text = await readFile(p, 'utf8');
  const next = text.replace(from, to);
  if (next === text) throw new DemoError('demo-policy-errors', `${file}: the text this demo change edits is not there (was the template changed?)`);
  await writeFile(p, next);
}

/** Breaks a recorded connection: postgres is said to listen on 5433, so the api's 5432 connections are refused. */
export const MOVE_POSTGRES_PORT: PolicyChange = {
  branch: 'postgres-5433',
  title: 'data: postgres listens on 5433',
  edit: (dir) => replaceIn(dir, 'policies/data/postgres.yaml', /port: postgres\b/, 'port: 5433'),
};

/**
 * Passes the simulation, fails on a node: DNS "only needs UDP" in the shop namespace. The recording has no DNS over
 * TCP, so no recorded flow changes; the live pods fall back to TCP for large answers, and that breaks.
 */
export const SHOP_DNS_UDP_ONLY: PolicyChange = {
  branch: 'shop-dns-udp-only',
  title: 'shop: DNS needs only UDP',
  edit: (dir) =>
    replaceIn(
      dir,
      'policies/baseline.yaml',
      /(namespace: shop[\s\S]*?port: "53"\n\s*protocol: UDP\n)\s*- port: "53"\n\s*protocol: TCP\n/,
      '$1',
    ),
};

/** A good change: Prometheus may scrape CoreDNS's metrics port (9153), which the recording shows it trying. */
export const SCRAPE_COREDNS: PolicyChange = {
  branch: 'scrape-coredns',
  title: 'monitoring: scrape CoreDNS metrics on 9153',
  edit: (dir) =>
    replaceIn(
      dir,
      'policies/cluster/monitoring.yaml',
      /(name: prometheus-egress[\s\S]*?egress:\n)/,
      '$1' +
        '    - toEndpoints:\n' +
        '        - matchLabels:\n' +
        '            k8s:io.kubernetes.pod.namespace: kube-system\n' +
        '            k8s:k8s-app: kube-dns\n' +
        '      toPorts:\n' +
        '        - ports:\n' +
        '            - port: "9153"\n' +
        '              protocol: TCP\n',
    ),
};
