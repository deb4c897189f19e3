/**
 * A changed document written back with its comments: the changes from one value to the next are
 * made in the parsed document's own node tree, so every node they do not touch keeps its comments,
 * quoting and flow or block style; a changed scalar keeps the comments it had, and a changed
 * collection is written in block style. Anything this does
 * not edit safely gives undefined, and the caller writes the value anew (toYaml):
 * - anchors, aliases or merge keys (an edit to an anchored node would change its aliases too),
 * - directives, more than one document in the text, or keys that are not scalars,
 * - a result that does not read back as exactly the new value.
 */
import { type Document, isAlias, isMap, isPair, isScalar, isSeq, type Node, type Pair, parseAllDocuments, visit, type YAMLMap, type YAMLSeq } from 'yaml';
import { deepEqual, isObject, type JsonObject, type JsonValue } from '../common/json.ts';
import { PARSE_OPTIONS } from './yaml-stream.ts';

class Unsupported extends Error {}

/** Larger documents are written anew: the edit parses the text twice more, and checks its result. */
export const MAX_EDITED_CHARS = 512 * 1024;

/** `text` (one document, whose value is `before`) changed to `after`, with its comments; undefined where it cannot be. */
export function editYaml(text: string, before: JsonValue, after: JsonValue): string | undefined {
  // Nothing to keep in JSON (no comments; its flow style would come out mixed with block style),
  // and a large document (a List from kubectl get) would be parsed twice more for it.
  if (text.length > MAX_EDITED_CHARS || /^\s*[{[]/.test(text.replace(/^(\s*(#[^\n]*)?\n)*/, ''))) return undefined;
  if (/^%/m.test(text)) return undefined;
  const docs = parseAllDocuments(text, PARSE_OPTIONS);
  if (!Array.isArray(docs)) return undefined;
  const kept = docs.filter((d) => d.contents !== null && !(isScalar(d.contents) && d.contents.value === null));
  const doc = kept[0];
  if (!doc || kept.length !== 1 || doc.errors.length > 0 || !plain(doc) || !deepEqual(doc.toJS(), before)) return undefined;
  try {
    doc.contents = edit(doc, doc.contents, before, after) as typeof doc.contents;
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
  const out = doc.toString({ lineWidth: 0, directives: false });
  const back = parseAllDocuments(out, PARSE_OPTIONS);
  if (!Array.isArray(back) || back.length !== 1 || back[0]?.errors.length !== 0 || !deepEqual(back[0].toJS(), after)) return undefined;
  return out;
}

/** No anchors, aliases or merge keys. */
function plain(doc: Document): boolean {
  let ok = true;
  visit(doc, {
    Node(_, node) {
      if (isAlias(node) || (node as { anchor?: string }).anchor) {
        ok = false;
        return visit.BREAK;
      }
      return undefined;
    },
    Pair(_, pair) {
      // A merge key reads as a symbol; a literal "<<" as a string.
      if (isScalar(pair.key) && typeof pair.key.value === 'symbol') {
        ok = false;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return ok;
}

function edit(doc: Document, node: unknown, a: JsonValue, b: JsonValue): unknown {
  if (deepEqual(a, b)) return node;
  // A collection that changes is written in block style: a sidecar added to `{containers: [...]}` is
  // not put on one line.
  if (isMap(node) && isObject(a) && isObject(b)) {
    editMap(doc, node, a, b);
    node.flow = false;
    return node;
  }
  if (isSeq(node) && Array.isArray(a) && Array.isArray(b) && node.items.length === a.length) {
    editSeq(doc, node, a, b);
    node.flow = false;
    return node;
  }
  const created = create(doc, b);
  if (node && typeof node === 'object' && !isPair(node)) {
    const old = node as Node;
    if (old.commentBefore) created.commentBefore = old.commentBefore;
    if (old.comment) created.comment = old.comment;
    if (old.spaceBefore) created.spaceBefore = true;
  }
  return created;
}

const keyOf = (pair: Pair): string => {
  if (!isScalar(pair.key)) throw new Unsupported();
  return String(pair.key.value);
};

function editMap(doc: Document, map: YAMLMap, a: JsonObject, b: JsonObject): void {
  const pairs = new Map<string, Pair>();
  for (const p of map.items) {
    const k = keyOf(p);
    if (pairs.has(k)) throw new Unsupported();
    pairs.set(k, p);
  }
  map.items = map.items.filter((p) => Object.hasOwn(b, keyOf(p)));
  // A new key goes after the key before it in the new value.
  let at = -1;
  for (const [k, v] of Object.entries(b)) {
    const pair = pairs.get(k);
    if (pair && Object.hasOwn(a, k)) {
      pair.value = edit(doc, pair.value, a[k] as JsonValue, v);
      at = map.items.indexOf(pair);
    } else {
      map.items.splice(++at, 0, doc.createPair(k, create(doc, v)));
    }
  }
}

function editSeq(doc: Document, seq: YAMLSeq, a: JsonValue[], b: JsonValue[]): void {
  const used = new Set<number>();
  const free = (j: number) => !used.has(j);
  seq.items = b.map((v) => {
    // The item it continues: an equal one, else one of the same name (a container, a volume, an env var).
    let i = a.findIndex((old, j) => free(j) && deepEqual(old, v));
    if (i === -1 && isObject(v) && typeof v.name === 'string') i = a.findIndex((old, j) => free(j) && isObject(old) && old.name === v.name);
    if (i === -1) return create(doc, v);
    used.add(i);
    return edit(doc, seq.items[i], a[i] as JsonValue, v);
  });
}

/** A new node; a literal `<<` key is quoted, as toYaml quotes it (in YAML 1.1 a plain one merges). */
function create(doc: Document, value: JsonValue): Node {
  const node = doc.createNode(value, { aliasDuplicateObjects: false }) as Node;
  visit(node, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === '<<') {
        pair.key.tag = 'tag:yaml.org,2002:str';
        pair.key.type = 'QUOTE_DOUBLE';
      }
    },
  });
  return node;
}
