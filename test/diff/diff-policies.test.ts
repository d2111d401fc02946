/**
 * The diff stage in process, on the template's policies and recorded flows: the batched synchronous path and the
 * streaming path give the same report, and the flows are read once.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPolicyModel } from '../../pipeline/core/policy/index.js';
import { diffPolicies, selectsEndpointOf, type JudgingEngine } from '../../pipeline/diff/index.js';
import { FlowReader, readInventory } from '../../pipeline/flows/index.js';
import { readPolicyFiles } from '../../pipeline/sources/index.js';
import { referenceEngine } from '../../pipeline/simulate/index.js';

const TEMPLATE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'policy-repo-template');
const RECORDED = join(TEMPLATE, 'flows', 'recorded.json');

async function models() {
  const { files } = await readPolicyFiles(join(TEMPLATE, 'policies'), { displayBase: TEMPLATE });
  const base = loadPolicyModel(files).model;
  // Head: redis moves to 6380 and the frontend loses its egress to the API.
  const edited = files.map((f) =>
    f.path === 'policies/data/redis.yaml'
      ? { ...f, text: f.text.replace('port: "6379"', 'port: "6380"') }
      : f.path === 'policies/shop/frontend.yaml'
        ? { ...f, text: f.text.replace('port: "8080"', 'port: "8081"') }
        : f,
  );
  const head = loadPolicyModel(edited);
  expect(head.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return { base, head: head.model };
}

/** The same engine without its synchronous path: forces the streaming fan-out. */
function streamingOnly(engine: JudgingEngine): JudgingEngine {
  return { judge: (flows) => engine.judge(flows) };
}

describe('diffPolicies', () => {
  it('gives the same report through the batched and the streaming path', async () => {
    const { base, head } = await models();
    const inventory = await readInventory([join(TEMPLATE, 'inventory.json')]);
    const opts = { services: inventory.services };
    const run = async (batched: boolean) => {
      const reader = new FlowReader([RECORDED], { inventory });
      const engines = [referenceEngine(base, opts), referenceEngine(head, opts)];
      return diffPolicies({
        flows: batched ? reader : reader.flows(),
        base: { ref: { ref: 'base', commit: null }, engine: batched ? engines[0]! : streamingOnly(engines[0]!) },
        head: {
          ref: { ref: 'head', commit: null },
          engine: batched ? engines[1]! : streamingOnly(engines[1]!),
          model: head,
          selects: selectsEndpointOf(head),
        },
        inputSummary: () => ({ files: reader.stats.files, lines: reader.stats.lines, flows: reader.stats.flows, not_flows: 0, unjudgeable: 0, invalid: 0 }),
      });
    };
    const fast = await run(true);
    const slow = await run(false);
    expect(slow).toEqual(fast);
    const lines = readFileSync(RECORDED, 'utf8').trim().split('\n').length;
    expect(fast.flows.total).toBe(lines);
    expect(fast.input).toMatchObject({ files: 1, lines, flows: lines });
    expect(fast.connections.map((c) => [c.change, c.source.name, c.destination.name, c.port_label])).toEqual([
      ['newly-blocked', 'shop/frontend', 'shop/api', 'TCP/8080'],
      ['newly-blocked', 'shop/api', 'data/cache', 'TCP/6379'],
    ]);
    // The frontend's edited egress rule is where its change is.
    expect(fast.connections[0]!.changed_rules).toEqual([expect.objectContaining({ name: 'frontend', file: 'policies/shop/frontend.yaml' })]);
    expect(fast.unselected_endpoints).toEqual([]);

    // The JSON contract: field names are stable API.
    expect(Object.keys(fast).sort()).toEqual(
      ['base', 'connections', 'flows', 'head', 'input', 'unmatched_rules', 'unselected_endpoints', 'version'],
    );
    expect(Object.keys(fast.flows).sort()).toEqual(['changed', 'l7_changed', 'newly_allowed', 'newly_blocked', 'not_grouped', 'total']);
    expect(Object.keys(fast.connections[0]!).sort()).toEqual([
      'base', 'change', 'changed_rules', 'destination', 'first_seen', 'flows', 'head', 'last_seen', 'port', 'port_label',
      'protocol', 'sample_destinations', 'sample_flow_indexes', 'sample_requests', 'sample_sources', 'source',
    ]);
    expect(Object.keys(fast.connections[0]!.head).sort()).toEqual([
      'allowed_by', 'denied_by', 'drop_reasons', 'dropped_at', 'l7_proxied', 'rules_omitted', 'verdict',
    ]);
    expect(Object.keys(fast.connections[0]!.source).sort()).toEqual(['kind', 'name', 'namespace', 'workload']);
  });
});
