/**
 * YamlStream read a piece at a time gives what the whole text parsed at once gives: the same
 * documents, texts, values and errors (with line numbers counted from the start of the stream).
 * The reference is the `yaml` library's parseAllDocuments over the whole text.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { CORPUS, corpusFiles } from '../../test/support/corpus.ts';
import { checkDocument } from './yaml-checks.ts';
import { PARSE_OPTIONS, YamlStream } from './yaml-stream.ts';

type Result = { docs: { index: number; value: unknown; text: string }[] } | { error: string };

/** The whole text at once: documents, each with its text from its start to the next's, errors by line. */
function whole(text: string, source: string): Result {
  const docs = parseAllDocuments(text, PARSE_OPTIONS);
  const out: { index: number; value: unknown; text: string }[] = [];
  if (!Array.isArray(docs)) return { docs: out };
  let pending = '';
  for (const [i, doc] of docs.entries()) {
    const next = docs[i + 1];
    const own = text.slice(i === 0 ? 0 : doc.range[0], next ? next.range[0] : text.length);
    const err = doc.errors[0];
    if (err) {
      const line = err.linePos?.[0]?.line;
      if (err.code === 'DUPLICATE_KEY') return { error: `${source}, document ${i + 1}${line ? ` (line ${line})` : ''}: duplicate` };
      return { error: `${source}, document ${i + 1}${line ? ` (line ${line})` : ''}: ${(err.message.split('\n')[0] ?? '').replace(/:$/, '')}` };
    }
    const problem = checkDocument(doc);
    if (problem) {
      const line = problem.offset === undefined ? 0 : text.slice(0, problem.offset).split('\n').length;
      return { error: `${source}, document ${i + 1}${line ? ` (line ${line})` : ''}: ${problem.path ? `${problem.path}: ` : ''}${problem.message}` };
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      return { error: `${source}, document ${i + 1}: ${(e as Error).message}` };
    }
    if (value === null || value === undefined) {
      const last = out.at(-1);
      if (last) last.text += own;
      else pending += own;
      continue;
    }
    out.push({ index: i + 1, value, text: pending + own });
    pending = '';
  }
  return { docs: out };
}

function inPieces(text: string, source: string, size: number): Result {
  const stream = new YamlStream(source);
  const docs: { index: number; value: unknown; text: string }[] = [];
  try {
    for (let at = 0; at < text.length; ) {
      // Whole lines, at least `size` characters.
      const nl = text.indexOf('\n', at + size - 1);
      const end = nl === -1 ? text.length : nl + 1;
      docs.push(...stream.push(text.slice(at, end)));
      at = end;
    }
    docs.push(...stream.end());
  } catch (e) {
    const m = (e as Error).message;
    // The reference names no key; the stream's message does.
    return { error: / is set twice in one mapping$/.test(m) ? m.replace(/: [^:]*$/, ': duplicate') : m };
  }
  return { docs };
}

const CASES: Record<string, string> = {
  'comments between documents': 'a: 1\n# about b\n---\nb: 2\n',
  'leading comments, empty documents': '# lead\n---\na: 1\n---\n---\nb: 2\n---\n',
  'only empty documents, then one': '---\n---\n# c\n---\nz: 1\n',
  'document end and a bare document': 'a: 1\n...\nb: 2\n',
  'directives after a document end': 'a: 1\n...\n# c\n%YAML 1.1\n---\nb: 2\n',
  'a directive as the first line': '%YAML 1.1\n---\na: 0644\n',
  'indented --- inside a block scalar': 'a: |\n  x\n  ---\n  y\n---\nb: 1\n',
  '--- at column 0 ends a block scalar': 'a: |\n  x\n---\n  y\n',
  '--- at column 0 inside a quoted string': 'a: "x\n---\n y"\n',
  '--- followed by text is content': 'a: 1\n---x: 2\n',
  'CRLF line ends': 'a: 1\r\n---\r\nb: 2\r\n',
  'no newline at the end': 'a: 1\n---\nb: 2',
  'a byte order mark': '\ufeffa: 1\n---\nb: 2\n',
  'multi-byte text': 'a: "häfen ✓"\n---\nb: 日本語\n',
  'a parse error in a later document': 'a: 1\n---\nb: 2\n---\nkind: [\n',
  'a duplicate key in a later document': 'a: 1\n---\nb: 2\nc: 3\nb: 4\n',
  'a tab indent in a later document': 'a: 1\n---\nb:\n\t- x\n',
  'an unsupported tag with its path': 'a: 1\n---\nspec:\n  data: !!binary aGk=\n',
  'an alias': 'x: &a {b: 1}\ny: *a\n---\nz: *a\n',
  'flow collection across a marker': 'a: [1,\n---\n2]\n',
  'empty stream': '',
  'only a comment': '# nothing\n',
};

const corpus = CORPUS;
const files = corpusFiles;

const SIZES = [1, 3, 17, 256, 65536];

test('read a piece at a time, every case gives what the whole text gives', () => {
  for (const [name, text] of Object.entries(CASES)) {
    const expected = whole(text, 'f.yaml');
    for (const size of SIZES) assert.deepEqual(inPieces(text, 'f.yaml', size), expected, `${name}, pieces of ${size}`);
  }
});

test('errors in a later document name it and the line in the whole text', () => {
  assert.deepEqual(inPieces(CASES['a parse error in a later document'] as string, 'f.yaml', 4), {
    error: 'f.yaml, document 3 (line 6): Flow sequence in block collection must be sufficiently indented and end with a ] at line 6, column 1',
  });
  const stream = new YamlStream('f.yaml');
  assert.throws(() => {
    for (const piece of ['a: 1\n---\nb: 2\n', 'c: 3\n', 'b: 4\n']) stream.push(piece);
    stream.end();
  }, /^Error: f\.yaml, document 2 \(line 5\): key "b" is set twice in one mapping$/);
});

test('read a piece at a time, every corpus file gives what the whole text gives', { skip: !existsSync(corpus) && !process.env.CI }, () => {
  const all = files(corpus);
  assert.ok(all.length > 200);
  for (const file of all) {
    const text = readFileSync(file, 'utf8');
    const expected = whole(text, file);
    for (const size of [7, 4096]) assert.deepEqual(inPieces(text, file, size), expected, `${file}, pieces of ${size}`);
  }
});
