/**
 * Reads the CLI's `-f` inputs: files, directories (their `*.yaml`, `*.yml`, `*.json`, sorted;
 * `--recursive` descends; links are followed only within the directory, see io/directory.ts) and
 * `-` for stdin. Every document keeps where it came from.
 */
import { readFile } from 'node:fs/promises';
import { DirectoryError, listFiles } from '../io/directory.ts';
import { parseYamlDocuments } from '../io/yaml.ts';

export interface InputDocument {
  where: string;
  value: import('../common/json.ts').JsonValue;
  /** The document's source text (see YamlDocument.text). */
  text: string;
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

export interface ReadOptions {
  /** Go on past a file that cannot be read or parsed, collecting its error (default: stop there). */
  continueOnError?: boolean;
  /** A path (file, stdin, directory) that yields no object is an error, as kubectl apply says. */
  requireObjects?: boolean;
}

export interface InputRead {
  docs: InputDocument[];
  /** One message per bad file or path, in input order; empty unless continueOnError. */
  errors: string[];
}

/** Why a `-f` path gave no object, naming it. */
function nothingIn(path: string, files: readonly string[]): string {
  if (path === '-') return '(stdin): no objects in the input (it is empty, or holds only comments and ---)';
  if (files.length === 0) return `${path}: no manifests in the directory (no *.yaml, *.yml or *.json files; -R descends into subdirectories)`;
  if (files.length === 1 && files[0] === path) return `${path}: no objects in the file (it is empty, or holds only comments and ---)`;
  return `${path}: no objects in the directory (its ${files.length} manifest files are empty, or hold only comments and ---)`;
}

export async function readEachInput(paths: readonly string[], recursive: boolean, stdin: NodeJS.ReadableStream, opts: ReadOptions = {}): Promise<InputRead> {
  const out: InputRead = { docs: [], errors: [] };
  const fail = (message: string) => {
    if (!opts.continueOnError) throw new InputError(message);
    out.errors.push(message);
  };
  for (const p of paths) {
    let files: string[];
    try {
      files = p === '-' ? ['-'] : await expand(p, recursive);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      fail(e.message);
      continue;
    }
    const [docsBefore, errorsBefore] = [out.docs.length, out.errors.length];
    for (const file of files) {
      const source = file === '-' ? '(stdin)' : file;
      let text: string;
      try {
        text = file === '-' ? await readStdin(stdin) : await readFile(file, 'utf8');
      } catch (e) {
        fail(`${source}: ${(e as Error).message}`);
        continue;
      }
      try {
        const parsed = parseYamlDocuments(text, source);
        for (const d of parsed) out.docs.push({ where: `${source}, document ${d.index}`, value: d.value, text: d.text });
      } catch (e) {
        fail((e as Error).message);
      }
    }
    // A path whose files were bad has said so already; only a path with nothing in it is empty.
    if (opts.requireObjects && out.docs.length === docsBefore && out.errors.length === errorsBefore) fail(nothingIn(p, files));
  }
  return out;
}

/** Every document of the inputs; throws InputError at the first file that cannot be read or parsed. */
export async function readInputs(paths: readonly string[], recursive: boolean, stdin: NodeJS.ReadableStream): Promise<InputDocument[]> {
  return (await readEachInput(paths, recursive, stdin)).docs;
}
