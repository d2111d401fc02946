/**
 * The changed connections as a small Mermaid graph for a pull-request comment: one node per workload, one edge per
 * changed connection (blocked in red, allowed in green, L7 changes dashed), at most `maxEdges` edges, the biggest
 * first (the report's order), with a count of the rest. Labels are quoted and stripped of what Mermaid would parse.
 */
import type { ChangeKind, DiffReport } from './report.js';
import { plural } from './wording.js';

/** Default bound on edges drawn. */
export const DEFAULT_MERMAID_EDGES = 20;

const MARK: Readonly<Record<ChangeKind, { readonly arrow: string; readonly word: string; readonly color: string }>> = {
  'newly-blocked': { arrow: '-->', word: 'blocked', color: '#d73a49' },
  'newly-allowed': { arrow: '-->', word: 'allowed', color: '#28a745' },
  'l7-changed': { arrow: '-.->', word: 'L7 changed', color: '#6f42c1' },
};

/**
 * Renders a fenced `mermaid` block, or '' when nothing changed.
 * @returns text ending in a newline; its length grows with `maxEdges` only (labels are capped at 80 characters).
 */
export function renderMermaid(report: DiffReport, maxEdges: number = DEFAULT_MERMAID_EDGES): string {
  if (report.connections.length === 0) return '';
  const ids = new Map<string, string>();
  const nodes: string[] = [];
  const node = (name: string): string => {
    let id = ids.get(name);
    if (!id) {
      id = `n${ids.size}`;
      ids.set(name, id);
      nodes.push(`  ${id}["${label(name)}"]`);
    }
    return id;
  };
  const edges: string[] = [];
  const styles: string[] = [];
  const shown = report.connections.slice(0, maxEdges);
  shown.forEach((c, i) => {
    const m = MARK[c.change];
    edges.push(`  ${node(c.source.name)} ${m.arrow}|"${label(`${m.word} ${c.port_label}, ${plural(c.flows, 'flow')}`)}"| ${node(c.destination.name)}`);
    styles.push(`  linkStyle ${i} stroke:${m.color},stroke-width:2px`);
  });
  const rest = report.connections.length - shown.length;
  const note = rest > 0 ? `\n${plural(rest, 'more changed connection')} not drawn.\n` : '';
  return ['```mermaid', 'graph LR', ...nodes, ...edges, ...styles, '```', ''].join('\n') + note;
}

/** Text safe inside a quoted Mermaid label: no quotes, brackets, pipes, backticks or line breaks; at most 80 characters. */
function label(s: string): string {
  const clean = s.replace(/["`|<>[\]{}\r\n#;]/g, ' ').replace(/\s+/g, ' ').trim();
  return clean.length > 80 ? `${clean.slice(0, 79)}…` : clean;
}
