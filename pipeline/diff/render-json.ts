/** The diff as JSON: the {@link DiffReport} itself, indented, with a final newline. */
import type { DiffReport } from './report.js';

/** @returns the whole report; nothing is cut. */
export function renderJson(report: DiffReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
