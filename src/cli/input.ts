/**
 * Reads the CLI's `-f` inputs: files, directories (their `*.yaml`, `*.yml`, `*.json`, sorted;
 * `--recursive` descends; links are followed only within the directory, see io/directory.ts) and
 * `-` for stdin. Every document keeps where it came from.
 */
import { readFile } from 'node:fs/promises';
import type { Document } from 'yaml';
import { DirectoryError, listFiles } from '../io/directory.ts';
import { parseYamlDocuments } from '../io/yaml.ts';

export interface InputDocument {
  where: string;
  value: import('../common/json.ts').JsonValue;
  doc: Document;
}

export class InputError extends Error {}

const MANIFEST = /\.(ya?ml|json)$/i;

async function expand(path: string, recursive: boolean): Promise<string[]> {
  try {
    return await listFiles(path, { recursive, matches: (name) => MANIFEST.test(name) });
  } catch (e) {
    if (e instanceof DirectoryError) throw new InputError(e.message);
    throw e;
  }
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
