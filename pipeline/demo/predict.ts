/**
 * What the simulation predicts for the demo's live connections under a policy tree: each connection's stand-in
 * flow judged by the reference engine, as `palisade simulate` judges recorded flows. The kernel then has to agree.
 */
import { writeFile } from 'node:fs/promises';
import { loadPolicyModel } from '../core/policy/index.js';
import { countDiagnostics, formatDiagnostic, sortDiagnostics } from '../core/validate/diagnostic.js';
import { FlowReader, readInventory } from '../flows/index.js';
import { judgeFlows, referenceEngine } from '../simulate/index.js';
import { readPolicyFiles } from '../sources/index.js';
import { DemoError } from './errors.js';
import type { LabConnection } from './lab-plan.js';

/** The prediction for one connection. */
export interface Prediction {
  readonly allowed: boolean;
  /** An L7 rule governs it: the datapath hands it to the proxy (allowed at L3/L4; requests are judged there). */
  readonly proxied: boolean;
  /** `file:line` of the rule that decides it (the first allowing or denying rule), when one does. */
  readonly rule: string | null;
}

/**
 * Judges every connection under the policies in `policiesDir`.
 * @param scratch a file the stand-in flows are written to
 * @throws DemoError when the policies have errors
 */
export async function predictConnections(policiesDir: string, inventoryFile: string, connections: readonly LabConnection[], scratch: string): Promise<Map<string, Prediction>> {
  const read = await readPolicyFiles(policiesDir);
  const loaded = loadPolicyModel(read.files);
  const diagnostics = sortDiagnostics([...read.diagnostics, ...loaded.diagnostics]);
  if (countDiagnostics(diagnostics).errors > 0) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    throw new DemoError('demo-policy-errors', `${errors.length} policy error(s) in ${policiesDir}, first: ${formatDiagnostic(errors[0]!)}`);
  }
  await writeFile(scratch, connections.map((c) => c.flowLine).join('\n') + '\n');
  const inventory = await readInventory([inventoryFile]);
  const engine = await referenceEngine(loaded.model, { services: inventory.services });
  const out = new Map<string, Prediction>();
  try {
    for await (const { flow, verdict } of judgeFlows(engine, new FlowReader([scratch], { inventory }).flows())) {
      const c = connections[flow.index]!;
      const proxied = verdict.l7 === 'proxy';
      const rule = [...verdict.denied_by, ...verdict.allowed_by][0];
      // A proxied connection opens (the L7 verdict of a stand-in flow without a request says nothing about it).
      out.set(c.id, { allowed: proxied || verdict.verdict === 'FORWARDED', proxied, rule: rule ? `${rule.file}:${rule.line}` : null });
    }
  } finally {
    await engine.close?.();
  }
  return out;
}
