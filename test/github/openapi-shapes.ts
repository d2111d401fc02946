/**
 * The request shapes @octokit/openapi-types declares, read from its types.d.ts at test time: the REST routes (method
 * and path template → operation id) and each operation's JSON request body as a checkable shape (required and
 * optional fields, strings, numbers, booleans, enums, arrays, nested objects). The GitHub stand-in validates every
 * request against these, so a request GitHub would refuse fails the test.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type Shape =
  | { readonly k: 'any' }
  | { readonly k: 'string'; readonly values?: readonly string[] }
  | { readonly k: 'number' }
  | { readonly k: 'boolean' }
  | { readonly k: 'null' }
  | { readonly k: 'object'; readonly fields: ReadonlyMap<string, { optional: boolean; shape: Shape }>; readonly open: boolean }
  | { readonly k: 'array'; readonly item: Shape }
  | { readonly k: 'union'; readonly options: readonly Shape[] };

const require = createRequire(import.meta.url);
const TYPES = join(dirname(require.resolve('@octokit/openapi-types/package.json')), 'types.d.ts');
let text: string | undefined;
let lines: string[] | undefined;
function source(): { text: string; lines: string[] } {
  text ??= readFileSync(TYPES, 'utf8');
  lines ??= text.split('\n');
  return { text, lines };
}

/** One REST route: method, a matcher for concrete paths, the operation id. */
export interface Route {
  readonly method: string;
  readonly template: string;
  readonly pattern: RegExp;
  readonly operation: string;
}

let routesCache: Route[] | undefined;
/** Every route of the `paths` interface. */
export function routes(): Route[] {
  if (routesCache) return routesCache;
  const { lines } = source();
  const start = lines.findIndex((l) => l.startsWith('export interface paths {'));
  const out: Route[] = [];
  let current: string | null = null;
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === '}') break;
    const p = /^ {2}"(\/[^"]*)": \{$/.exec(l);
    if (p) current = p[1]!;
    const m = /^ {4}(get|put|post|delete|patch): operations\["([^"]+)"\];$/.exec(l);
    if (m && current) {
      const pattern = new RegExp(`^${current.replace(/[.+*?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`);
      out.push({ method: m[1]!.toUpperCase(), template: current, pattern, operation: m[2]! });
    }
  }
  routesCache = out;
  return out;
}

/** The route of a concrete request, preferring templates with fewer parameters; undefined when unknown. */
export function findRoute(method: string, path: string): Route | undefined {
  const matches = routes().filter((r) => r.method === method && r.pattern.test(path));
  return matches.sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0))[0];
}

const bodyCache = new Map<string, Shape | null>();
/** The JSON request body of an operation, or null when it takes none. */
export function requestBodyShape(operation: string): Shape | null {
  if (bodyCache.has(operation)) return bodyCache.get(operation)!;
  const { text } = source();
  const opsStart = text.indexOf('\nexport interface operations {');
  const at = text.indexOf(`\n  "${operation}": {\n`, opsStart);
  if (at < 0) throw new Error(`openapi-types has no operation ${operation}`);
  const next = text.indexOf('\n  "', at + 5);
  const block = text.slice(at, next < 0 ? undefined : next);
  const rb = block.indexOf('requestBody');
  let shape: Shape | null = null;
  if (rb >= 0) {
    const json = block.indexOf('"application/json":', rb);
    if (json >= 0) shape = new TypeParser(block, json + '"application/json":'.length).parseType();
  }
  bodyCache.set(operation, shape);
  return shape;
}

const queryCache = new Map<string, Shape | null>();
/** The query parameters an operation declares (as an object shape of strings), or null when it has none. */
export function queryShape(operation: string): Shape | null {
  if (queryCache.has(operation)) return queryCache.get(operation)!;
  const { text } = source();
  const at = text.indexOf(`\n  "${operation}": {\n`, text.indexOf('\nexport interface operations {'));
  const block = text.slice(at, text.indexOf('\n    requestBody', at) > 0 ? Math.min(text.indexOf('\n    responses', at), text.indexOf('\n  "', at + 5)) : text.indexOf('\n  "', at + 5));
  const m = /\n {6}query\??: \{/.exec(block);
  const shape = m ? new TypeParser(block, m.index + m[0].length - 1).parseType() : null;
  queryCache.set(operation, shape);
  return shape;
}

/** Validates a value against a shape. @returns problems as `path: what`, empty when it conforms. */
export function validate(value: unknown, shape: Shape, path = 'body'): string[] {
  switch (shape.k) {
    case 'any':
      return [];
    case 'string':
      if (typeof value !== 'string') return [`${path}: expected a string`];
      return shape.values && !shape.values.includes(value) ? [`${path}: '${value}' is not one of ${shape.values.join(', ')}`] : [];
    case 'number':
      return typeof value === 'number' ? [] : [`${path}: expected a number`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${path}: expected a boolean`];
    case 'null':
      return value === null ? [] : [`${path}: expected null`];
    case 'array':
      return Array.isArray(value) ? value.flatMap((v, i) => validate(v, shape.item, `${path}[${i}]`)) : [`${path}: expected an array`];
    case 'union':
      return shape.options.some((o) => validate(value, o, path).length === 0) ? [] : [`${path}: matches none of the declared alternatives`];
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path}: expected an object`];
      const problems: string[] = [];
      for (const [name, f] of shape.fields) {
        const v = (value as Record<string, unknown>)[name];
        if (v === undefined) {
          if (!f.optional) problems.push(`${path}.${name}: required`);
        } else problems.push(...validate(v, f.shape, `${path}.${name}`));
      }
      if (!shape.open) for (const name of Object.keys(value)) if (!shape.fields.has(name)) problems.push(`${path}.${name}: not a field of this request`);
      return problems;
    }
  }
}

/** A recursive-descent reader for the subset of TypeScript that openapi-typescript generates. */
class TypeParser {
  constructor(private readonly s: string, private i: number) {}

  parseType(): Shape {
    this.skip();
    if (this.s[this.i] === '|') this.i++;
    const options = [this.postfix()];
    for (;;) {
      this.skip();
      if (this.s[this.i] !== '|') break;
      this.i++;
      options.push(this.postfix());
    }
    if (options.length === 1) return options[0]!;
    if (options.every((o) => o.k === 'string' && o.values)) return { k: 'string', values: options.flatMap((o) => (o.k === 'string' ? o.values ?? [] : [])) };
    return { k: 'union', options };
  }

  private postfix(): Shape {
    let t = this.primary();
    for (;;) {
      this.skip();
      if (this.s.startsWith('[]', this.i)) {
        this.i += 2;
        t = { k: 'array', item: t };
      } else if (this.s[this.i] === '[') {
        // An indexed access (components["schemas"]["x"]): a referenced schema, accepted as is.
        this.skipBalanced('[', ']');
        t = { k: 'any' };
      } else return t;
    }
  }

  private primary(): Shape {
    this.skip();
    const c = this.s[this.i]!;
    if (c === '{') return this.object();
    if (c === '(') {
      this.i++;
      const t = this.parseType();
      this.skip();
      this.i++; // ')'
      return t;
    }
    if (c === '"') {
      const end = this.s.indexOf('"', this.i + 1);
      const v = this.s.slice(this.i + 1, end);
      this.i = end + 1;
      return { k: 'string', values: [v] };
    }
    if (c === '[') {
      this.skipBalanced('[', ']');
      return { k: 'any' };
    }
    const word = /^[A-Za-z_$][\w$]*/.exec(this.s.slice(this.i, this.i + 64))?.[0] ?? '';
    this.i += word.length;
    if (word === 'Record' || this.s[this.i] === '<') {
      this.skipBalanced('<', '>');
      return { k: 'any' };
    }
    if (word === 'string') return { k: 'string' };
    if (word === 'number') return { k: 'number' };
    if (word === 'boolean') return { k: 'boolean' };
    if (word === 'null') return { k: 'null' };
    if (word === 'true' || word === 'false') return { k: 'boolean' };
    if (word === '') throw new Error(`cannot read a type at ${JSON.stringify(this.s.slice(this.i, this.i + 40))}`);
    return { k: 'any' }; // unknown, components, never...
  }

  private object(): Shape {
    this.i++; // '{'
    const fields = new Map<string, { optional: boolean; shape: Shape }>();
    let open = false;
    for (;;) {
      this.skip();
      if (this.s[this.i] === '}') {
        this.i++;
        return { k: 'object', fields, open };
      }
      if (this.s[this.i] === '[') {
        // An index signature: any further keys are allowed.
        this.skipBalanced('[', ']');
        this.skip();
        this.i++; // ':'
        this.parseType();
        open = true;
      } else {
        let name: string;
        if (this.s[this.i] === '"') {
          const end = this.s.indexOf('"', this.i + 1);
          name = this.s.slice(this.i + 1, end);
          this.i = end + 1;
        } else {
          name = /^[\w$-]+/.exec(this.s.slice(this.i, this.i + 128))![0];
          this.i += name.length;
        }
        this.skip();
        const optional = this.s[this.i] === '?';
        if (optional) this.i++;
        this.skip();
        this.i++; // ':'
        fields.set(name, { optional, shape: this.parseType() });
      }
      this.skip();
      if (this.s[this.i] === ';' || this.s[this.i] === ',') this.i++;
    }
  }

  private skipBalanced(open: string, close: string): void {
    let depth = 0;
    do {
      const c = this.s[this.i++];
      if (c === '"') this.i = this.s.indexOf('"', this.i) + 1;
      else if (c === open) depth++;
      else if (c === close) depth--;
    } while (depth > 0 && this.i < this.s.length);
  }

  private skip(): void {
    for (;;) {
      while (/\s/.test(this.s[this.i] ?? '')) this.i++;
      if (this.s.startsWith('/*', this.i)) this.i = this.s.indexOf('*/', this.i) + 2;
      else if (this.s.startsWith('//', this.i)) this.i = this.s.indexOf('\n', this.i);
      else return;
    }
  }
}
