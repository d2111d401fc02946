/**
 * The tables engine on the cases where compiled tables are hardest to get right, each checked against a stated
 * verdict and against the reference evaluator: DNS answers only count from the flow after them, named ports resolve
 * on each destination pod, a reused pod address binds to the pod of the moment, L7 rules hand flows to the proxy,
 * replies are judged as their connection, and the local host's exemption does not beat a deny.
 */
import { describe, expect, it } from 'vitest';
import type { Flow } from '../../pipeline/core/flow/types.js';
import type { PolicyModel } from '../../pipeline/core/model/types.js';
import { createEngine } from '../../pipeline/simulate/engines/tables.js';
import { flow, model, peer, pod, ports, reserved, sel, spec } from '../evaluate/model-builder.js';
import { engineVerdicts, referenceVerdicts } from './differential.js';

const web = pod({ ns: 'default', labels: { app: 'web' }, ip: '10.0.0.1', name: 'web-1' });
const apiA = pod({ ns: 'default', labels: { app: 'api' }, ip: '10.0.0.2', name: 'api-a', namedPorts: [{ name: 'http', port: 8080, protocol: 'TCP' }] });
const apiB = pod({ ns: 'default', labels: { app: 'api' }, ip: '10.0.0.3', name: 'api-b', namedPorts: [{ name: 'http', port: 9090, protocol: 'TCP' }] });
const db = pod({ ns: 'default', labels: { app: 'db' }, ip: '10.0.0.2', name: 'db-reused' });
const dnsServer = reserved('world', '10.96.0.10');
const site = reserved('world', '93.184.216.34');
const host = reserved('host', '192.168.0.10');

async function both(m: PolicyModel, flows: Flow[]) {
  const tables = await engineVerdicts(await createEngine(m), flows);
  expect(tables).toEqual(referenceVerdicts(m, flows));
  return tables;
}

const seq = (...fs: Flow[]): Flow[] => fs.map((f, index) => ({ ...f, index }));

describe('tables engine', () => {
  it('lets a toFQDNs rule match an address only after the DNS answer that gave it', async () => {
    const m = model(spec({ name: 'web-out', subject: sel({ app: 'web' }, 'default'), rules: [{ direction: 'egress', peers: [peer.fqdn({ matchPattern: '*.example.com' })] }] }));
    const answer = flow(dnsServer, web, { protocol: 'UDP', srcPort: 53, dstPort: 40000, isReply: true, dns: { query: 'www.example.com.', ips: ['93.184.216.34'] } });
    const v = await both(m, seq(flow(web, site), answer, flow(web, site)));
    expect(v.map((x) => x.verdict)).toEqual(['DROPPED', 'DROPPED', 'FORWARDED']);
    expect(v[2]!.allowed_by.map((r) => r.name)).toEqual(['web-out']);
  });

  it('resolves an egress named port on each destination pod', async () => {
    const m = model(spec({ name: 'web-out', subject: sel({ app: 'web' }, 'default'), rules: [{ direction: 'egress', peers: [peer.endpoints(sel({ app: 'api' }, 'default'))], ports: [ports([['TCP', 0, 0, 'http']])] }] }));
    const v = await both(m, seq(flow(web, apiA, { dstPort: 8080 }), flow(web, apiA, { dstPort: 9090 }), flow(web, apiB, { dstPort: 9090 }), flow(web, apiB, { dstPort: 8080 })));
    expect(v.map((x) => x.verdict)).toEqual(['FORWARDED', 'DROPPED', 'FORWARDED', 'DROPPED']);
  });

  it('binds a reused pod address to the pod that holds it at each flow', async () => {
    const m = model(spec({ name: 'api-in', subject: sel({ app: 'api' }, 'default'), rules: [{ direction: 'ingress', peers: [peer.endpoints(sel({ app: 'web' }, 'default'))] }] }));
    const v = await both(m, seq(flow(host, apiA), flow(db, web), flow(reserved('remote-node', '192.168.0.11'), apiA), flow(web, db), flow(web, apiA)));
    expect(v.map((x) => x.verdict)).toEqual(['FORWARDED', 'FORWARDED', 'DROPPED', 'FORWARDED', 'FORWARDED']);
  });

  it('hands L7-governed flows to the proxy and keeps the L7 decision of the reference', async () => {
    const m = model(
      spec({
        name: 'api-http',
        subject: sel({ app: 'api' }, 'default'),
        rules: [{ direction: 'ingress', peers: [peer.endpoints(sel({ app: 'web' }, 'default'))], ports: [ports([['TCP', 8080]], { http: [{ method: 'GET', path: '/public/.*', pos: sel().pos }] })] }],
      }),
    );
    const get = (path: string) => flow(web, apiA, { dstPort: 8080, http: { method: 'GET', url: `http://api${path}`, headers: [] } });
    const v = await both(m, seq(get('/public/x'), get('/private'), flow(web, apiA, { dstPort: 8081 })));
    expect(v.map((x) => [x.verdict, x.l7 ?? null])).toEqual([
      ['FORWARDED', 'proxy'],
      ['DROPPED', 'proxy'],
      ['DROPPED', null],
    ]);
  });

  it('judges a reply as the connection it answers, and lets a deny beat the host exemption', async () => {
    const m = model(
      spec({
        name: 'api-in',
        subject: sel({ app: 'api' }, 'default'),
        rules: [
          { direction: 'ingress', peers: [peer.endpoints(sel({ app: 'web' }, 'default'))], ports: [ports([['TCP', 80]])] },
          { direction: 'ingress', action: 'deny', peers: [peer.entities('host')], ports: [ports([['TCP', 22]])] },
        ],
      }),
    );
    const reply = flow(apiA, web, { srcPort: 80, dstPort: 40000, isReply: true });
    const v = await both(m, seq(reply, flow(apiA, web, { srcPort: 81, dstPort: 40000, isReply: true }), flow(host, apiA, { dstPort: 443 }), flow(host, apiA, { dstPort: 22 })));
    expect(v.map((x) => x.drop_reason)).toEqual([null, 'POLICY_DENIED', null, 'POLICY_DENY']);
    expect(v[3]!.denied_by.map((r) => r.rule)).toEqual(['CiliumNetworkPolicy/default/api-in/0/ingress-deny/0']);
  });
});
