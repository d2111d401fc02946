/**
 * The per-file value limit (`maxNodesPerFile`), checked as early as each load path can: the line scanner and the
 * converters count values as they build them, and before yaml's parser builds a concrete syntax tree (about 700 bytes
 * of objects per value, so 1.4 GB for the 2,000,000 values an 8 MiB file can hold), a pass over the lexer's tokens
 * alone — no tree, flat memory — finds files that certainly hold too many.
 */
import { CST, Lexer } from 'yaml';
import type { SourcePos } from '../errors.js';
import { errorAt, type Diagnostic } from '../validate/diagnostic.js';
import type { LoadLimits } from './limits.js';

/** The `yaml-too-large` error every load path reports, at the first value past the limit. */
export function tooManyValues(limits: LoadLimits, pos: SourcePos): Diagnostic {
  return errorAt('yaml-too-large', `file has more than ${limits.maxNodesPerFile} values (maps, sequences and scalars, aliases expanded)`, pos);
}

/**
 * True when a file is large enough that its written values alone might pass the limit: every value takes at least
 * one character of text, or sits beside a key or `-` that does. Smaller files skip the token pass; the counts on the
 * load paths still stand behind it (and catch alias expansion).
 */
export function mayHoldTooManyValues(text: string, limits: LoadLimits): boolean {
  return text.length * 2 > limits.maxNodesPerFile;
}

/**
 * Streams the file through yaml's lexer and keeps two lower bounds on the values composing it would produce (maps,
 * sequences and scalars, keys not counted, as the load paths count):
 * - every `-` item indicator and every `:` value indicator brings its own value (null when nothing follows), and
 *   the collection holding them is one more;
 * - every scalar, alias and flow collection is a value unless it is a key, and each key is announced by a `:` or `?`.
 * Keys are counted before their `:` arrives, so the second bound may run ahead by the keys still open (at most one per
 * nesting level); it is compared with that allowance. Files with collection keys are rejected on every path anyway.
 * @returns the offset of the token where a bound passes the limit, or -1 when none does
 */
export function valueLimitOffset(text: string, limits: LoadLimits): number {
  const max = limits.maxNodesPerFile;
  const openKeys = limits.maxDepth + 1;
  let offset = 0;
  let afterScalarMarker = false;
  let indicators = 0;
  let nodes = 0;
  let keys = 0;
  for (const source of new Lexer().lex(text)) {
    if (afterScalarMarker) {
      // The scalar's own text: counted at its marker, whatever it looks like (`,` can be a plain scalar).
      afterScalarMarker = false;
      offset += source.length;
      continue;
    }
    switch (CST.tokenType(source)) {
      case 'scalar':
        // A marker the lexer puts before a scalar's text; it takes no room in the file.
        afterScalarMarker = true;
        if (++nodes - keys > max + openKeys) return offset;
        continue;
      case 'doc-mode':
      case 'flow-error-end':
        continue;
      case 'single-quoted-scalar':
      case 'double-quoted-scalar':
      case 'alias':
      case 'flow-map-start':
      case 'flow-seq-start':
        if (++nodes - keys > max + openKeys) return offset;
        break;
      case 'map-value-ind':
        keys++;
        if (++indicators >= max) return offset;
        break;
      case 'seq-item-ind':
        if (++indicators >= max) return offset;
        break;
      case 'explicit-key-ind':
        keys++;
        break;
      default:
        break;
    }
    offset += source.length;
  }
  return -1;
}
