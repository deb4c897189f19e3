/**
 * Where a profile error is: its document, field path and line. The loader's messages name the
 * document and the field path (`profiles.yaml, document 2: spec.containers[0].comand: ...`); only a
 * YAML syntax error carries a line (`document 1 (line 3)`). The line of a field path is found here
 * by walking the document's YAML nodes along the path.
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml';
import { PARSE_OPTIONS } from '../io/yaml-stream.ts';

export interface LocatedError {
  /** The whole message, as the CLI prints it after `error: `. */
  message: string;
  document?: number;
  item?: number;
  path?: string;
  line?: number;
  /** The message without its source, document and path. */
  detail: string;
}

const HEAD = /^(?<source>.+?), document (?<doc>\d+)(?:, item (?<item>\d+))?(?: \(line (?<line>\d+)\))?: (?<rest>[\s\S]*)$/;
const PATH = /^(?<path>[A-Za-z_$][\w$-]*(?:\.[A-Za-z_$][\w$-]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])*): (?<detail>[\s\S]*)$/;

/** The keys and indices of a field path: `spec.containers[0]["a.b"]` → spec, containers, 0, a.b. */
export function pathSteps(path: string): (string | number)[] {
  const steps: (string | number)[] = [];
  for (const m of path.matchAll(/([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g)) {
    if (m[1] !== undefined) steps.push(m[1]);
    else if (m[2] !== undefined) steps.push(Number(m[2]));
    else steps.push(JSON.parse(m[3] as string) as string);
  }
  return steps;
}

/** The 1-based line of the deepest node along `steps` in the document's contents (a key's own line for a map entry). */
function lineOf(contents: unknown, steps: readonly (string | number)[], lines: LineCounter): number | undefined {
  let node = contents as Node | null | undefined;
  let offset = node?.range?.[0];
  for (const s of steps) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : p.key) === String(s));
      if (!pair) break;
      offset = (pair.key as Node | null)?.range?.[0] ?? offset;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof s === 'number') {
      const item = node.items[s] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

/** Every error of a profiles text, with where it is in `text`. */
export function locateErrors(messages: readonly string[], text: string): LocatedError[] {
  const lines = new LineCounter();
  let docs: { contents: unknown }[] | undefined;
  return messages.map((message) => {
    const head = HEAD.exec(message)?.groups;
    if (!head) return { message, detail: message };
    const document = Number(head.doc);
    const item = head.item === undefined ? undefined : Number(head.item);
    const at = PATH.exec(head.rest as string)?.groups;
    const path = at?.path;
    let line = head.line === undefined ? undefined : Number(head.line);
    if (line === undefined) {
      docs ??= [parseAllDocuments(text, { ...PARSE_OPTIONS, lineCounter: lines })].flat() as { contents: unknown }[];
      const doc = docs[document - 1];
      const steps = [...(item === undefined ? [] : ['items', item]), ...(path ? pathSteps(path) : [])];
      if (doc) line = lineOf(doc.contents, steps, lines);
    }
    return {
      message,
      document,
      ...(item === undefined ? {} : { item }),
      ...(path === undefined ? {} : { path }),
      ...(line === undefined ? {} : { line }),
      detail: at?.detail ?? (head.rest as string),
    };
  });
}
