/**
 * Checks on a parsed YAML document before it becomes a value: what aliases expand to (a billion
 * laughs is a few hundred bytes of text), aliases that contain themselves, and YAML types that have
 * no JSON form. Each problem is reported with the field path and line.
 */
import { type Document, isAlias, isMap, isPair, isScalar, isSeq, type Node, visit } from 'yaml';

/**
 * Most that aliases may add to one document. The API server takes no request larger than 3 MiB, so
 * no object it accepts needs more; without a bound, 106 KB of text expanded to 100 MB.
 */
export const MAX_ALIAS_EXPANSION = 4 * 1024 * 1024;

/** YAML 1.1 types without a JSON form. kubectl decodes `!!binary` into raw bytes sent as text, which mangles anything that is not UTF-8. */
const UNSUPPORTED_TAGS: Record<string, string> = {
  'tag:yaml.org,2002:binary': '!!binary is not read; write the base64 text as a plain string (Secret data is base64 already)',
  'tag:yaml.org,2002:set': '!!set has no JSON form; write a list',
  'tag:yaml.org,2002:omap': '!!omap has no JSON form; write a map or a list',
  'tag:yaml.org,2002:pairs': '!!pairs has no JSON form; write a map or a list',
};

/** A problem found in a document: a message, the node's offset in the text and its field path. */
export interface DocumentProblem {
  message: string;
  offset: number | undefined;
  path: string;
}

export function checkDocument(doc: Document): DocumentProblem | undefined {
  let problem: DocumentProblem | undefined;
  const anchors = new Map<string, Node>();
  const aliasTargets = new Map<Node, Node>();
  visit(doc, {
    Pair(_, pair, path) {
      if (pair.key !== null && !isScalar(pair.key)) {
        problem = at(pair.key as Node, [...path, pair], 'a map key is a collection, not a string; is this an unrendered template?');
        return visit.BREAK;
      }
      return undefined;
    },
    Node(_, node, path) {
      const unsupported = node.tag === undefined ? undefined : UNSUPPORTED_TAGS[node.tag];
      if (unsupported) {
        problem = at(node, [...path, node], unsupported);
        return visit.BREAK;
      }
      // Anchors are seen in document order, before the nodes inside them: an alias names the last
      // anchor of its name before it, as the parser resolves it.
      if (isAlias(node)) {
        const target = anchors.get(node.source);
        if (target) aliasTargets.set(node, target);
      } else if (node.anchor) anchors.set(node.anchor, node);
      return undefined;
    },
  });
  return problem ?? (aliasTargets.size > 0 ? checkExpansion(doc, aliasTargets) : undefined);
}

/** Sizes in source characters, each node once: linear in the document however deep the aliasing. */
function checkExpansion(doc: Document, aliasTargets: ReadonlyMap<Node, Node>): DocumentProblem | undefined {
  const own = doc.range ? doc.range[1] - doc.range[0] : 0;
  const sizes = new Map<Node, number>();
  const open = new Set<Node>();
  const size = (n: unknown): number => {
    if (!n || typeof n !== 'object') return 0;
    const node = n as Node;
    if (isAlias(node)) {
      const target = aliasTargets.get(node);
      if (target && open.has(target)) throw new Refusal(node, `alias *${node.source} refers to a node that contains it`);
      return target ? size(target) : 0;
    }
    const known = sizes.get(node);
    if (known !== undefined) return known;
    open.add(node);
    let s = node.range ? Math.max(1, node.range[1] - node.range[0]) : 1;
    if (isMap(node)) s = node.items.reduce((sum, p) => sum + 2 + size(p.key) + size(p.value), 1);
    else if (isSeq(node)) s = node.items.reduce((sum: number, item) => sum + 1 + size(item), 1);
    open.delete(node);
    sizes.set(node, s);
    if (s > own + MAX_ALIAS_EXPANSION)
      throw new Refusal(node, `aliases expand this document by more than ${MAX_ALIAS_EXPANSION / 1024 / 1024} MiB; is it a YAML bomb?`);
    return s;
  };
  try {
    size(doc.contents);
    return undefined;
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    return { message: e.message, offset: e.node.range?.[0], path: '' };
  }
}

class Refusal extends Error {
  readonly node: Node;
  constructor(node: Node, message: string) {
    super(message);
    this.node = node;
  }
}

function at(node: Node, ancestors: readonly unknown[], message: string): DocumentProblem {
  return { message, offset: node.range?.[0], path: fieldPath(ancestors) };
}

/** `spec.containers[0].name` from the visitor's ancestors (Document, maps, pairs, sequences). */
function fieldPath(ancestors: readonly unknown[]): string {
  let out = '';
  for (let i = 0; i < ancestors.length - 1; i++) {
    const parent = ancestors[i];
    const child = ancestors[i + 1];
    if (isPair(parent) && child === parent.value) {
      const key = isScalar(parent.key) ? String(parent.key.value) : '?';
      out += /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? `${out ? '.' : ''}${key}` : `[${JSON.stringify(key)}]`;
    } else if (isSeq(parent)) out += `[${parent.items.indexOf(child as never)}]`;
  }
  return out;
}
