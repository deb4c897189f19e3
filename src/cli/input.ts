/**
 * Reads the CLI's `-f` inputs: files, directories (their `*.yaml`, `*.yml`, `*.json`, sorted;
 * `--recursive` descends) and `-` for stdin. Every document keeps where it came from.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Document } from 'yaml';
import { parseYamlDocuments } from '../io/yaml.ts';

export interface InputDocument {
  where: string;
  value: import('../engine/json.ts').JsonValue;
  doc: Document;
}

export class InputError extends Error {}

const MANIFEST = /\.(ya?ml|json)$/i;

async function expand(path: string, recursive: boolean): Promise<string[]> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (e) {
    throw new InputError(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
  }
  if (!st.isDirectory()) return [path];
  const out: string[] = [];
  for (const name of (await readdir(path)).sort()) {
    if (name.startsWith('.')) continue;
    const p = join(path, name);
    const s = await stat(p);
    if (s.isDirectory()) {
      if (recursive) out.push(...(await expand(p, true)));
    } else if (MANIFEST.test(name)) out.push(p);
  }
  return out;
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export async function readInputs(paths: readonly string[], recursive: boolean, stdin: NodeJS.ReadableStream): Promise<InputDocument[]> {
  const docs: InputDocument[] = [];
  for (const p of paths) {
    const files = p === '-' ? ['-'] : await expand(p, recursive);
    for (const file of files) {
      const source = file === '-' ? '(stdin)' : file;
      let text: string;
      try {
        text = file === '-' ? await readStdin(stdin) : await readFile(file, 'utf8');
      } catch (e) {
        throw new InputError(`${source}: ${(e as Error).message}`);
      }
      try {
        for (const d of parseYamlDocuments(text, source)) docs.push({ where: `${source}, document ${d.index}`, value: d.value, doc: d.doc });
      } catch (e) {
        throw new InputError((e as Error).message);
      }
    }
  }
  return docs;
}
