/**
 * Reads the CLI's `-f` inputs: files, directories (their `*.yaml`, `*.yml`, `*.json`, sorted;
 * `--recursive` descends; links are followed only within the directory, see io/directory.ts) and
 * `-` for stdin. Every document keeps where it came from. Input is read a piece at a time and
 * each document handed on as soon as it is complete, so a large input is never held whole.
 */
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { DirectoryError, listFiles } from '../io/directory.ts';
import { YamlError, YamlStream } from '../io/yaml-stream.ts';
import { InputError, nothingIn } from './offline-core.ts';

export interface InputDocument {
  where: string;
  value: import('../common/json.ts').JsonValue;
  /** The document's source text (see YamlDocument.text). */
  text: string;
}

export { InputError };

const MANIFEST = /\.(ya?ml|json)$/i;

async function expand(path: string, recursive: boolean): Promise<string[]> {
  try {
    return await listFiles(path, { recursive, matches: (name) => MANIFEST.test(name) });
  } catch (e) {
    if (e instanceof DirectoryError) throw new InputError(e.message);
    throw e;
  }
}

/** The text of a file or of stdin, a piece at a time. */
async function* pieces(file: string, stdin: NodeJS.ReadableStream): AsyncGenerator<string> {
  if (file !== '-') {
    for await (const c of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 16 })) yield c as string;
    return;
  }
  const decoder = new StringDecoder('utf8');
  for await (const c of stdin) yield typeof c === 'string' ? c : decoder.write(c as Buffer);
  yield decoder.end();
}

/** Where the documents go as they are read. */
export interface DocumentSink {
  /** A file begins; its documents follow. */
  beginFile(): void | Promise<void>;
  document(doc: InputDocument): void | Promise<void>;
  /** The file begun last could not be read or parsed (with continueOnError): forget its documents. */
  dropFile(): void | Promise<void>;
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

/**
 * Hands every document of the inputs to `sink` as it is read. Without continueOnError the first
 * file that cannot be read or parsed throws InputError (its documents before the bad one have been
 * handed on); with it the file is dropped and its error returned.
 */
export async function streamInputs(
  paths: readonly string[],
  recursive: boolean,
  stdin: NodeJS.ReadableStream,
  opts: ReadOptions,
  sink: DocumentSink,
): Promise<string[]> {
  const errors: string[] = [];
  const fail = (message: string) => {
    if (!opts.continueOnError) throw new InputError(message);
    errors.push(message);
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
    const errorsBefore = errors.length;
    let docs = 0;
    for (const file of files) {
      const source = file === '-' ? '(stdin)' : file;
      const yaml = new YamlStream(source);
      let fileDocs = 0;
      const hand = async (d: { index: number; value: InputDocument['value']; text: string }) => {
        fileDocs++;
        await sink.document({ where: `${source}, document ${d.index}`, value: d.value, text: d.text });
      };
      await sink.beginFile();
      try {
        for await (const text of pieces(file, stdin)) for (const d of yaml.push(text)) await hand(d);
        for (const d of yaml.end()) await hand(d);
      } catch (e) {
        // A file that cannot be opened says so with its name; a bad document names itself.
        const message = e instanceof YamlError ? e.message : `${source}: ${(e as Error).message}`;
        if (!(e instanceof YamlError) && !(e as NodeJS.ErrnoException).code) throw e;
        if (opts.continueOnError) await sink.dropFile();
        fail(message);
        continue;
      }
      docs += fileDocs;
    }
    // A path whose files were bad has said so already; only a path with nothing in it is empty.
    if (opts.requireObjects && docs === 0 && errors.length === errorsBefore) fail(nothingIn(p, files));
  }
  return errors;
}

/** Every document of the inputs, held together (for tests and small inputs). */
export async function readEachInput(paths: readonly string[], recursive: boolean, stdin: NodeJS.ReadableStream, opts: ReadOptions = {}): Promise<InputRead> {
  const out: InputRead = { docs: [], errors: [] };
  let fileStart = 0;
  out.errors = await streamInputs(paths, recursive, stdin, opts, {
    beginFile: () => {
      fileStart = out.docs.length;
    },
    document: (d) => {
      out.docs.push(d);
    },
    dropFile: () => {
      out.docs.length = fileStart;
    },
  });
  return out;
}

/** Every document of the inputs; throws InputError at the first file that cannot be read or parsed. */
export async function readInputs(paths: readonly string[], recursive: boolean, stdin: NodeJS.ReadableStream): Promise<InputDocument[]> {
  return (await readEachInput(paths, recursive, stdin)).docs;
}
