/**
 * inject, uninject and explain over their `-f` inputs a document at a time: each document is
 * processed as it is read and then dropped; what it gives is kept (output in a Spool, messages in
 * lists) until the run ends, so memory stays flat however large the input and a run that fails
 * still writes nothing to stdout.
 */
import { type InputDocument, streamInputs } from './input.ts';
import type { Transformed } from './offline-core.ts';
import { JsonWriter, YamlWriter } from './output.ts';
import { Spool } from './spool.ts';

export interface InputFlags {
  recursive?: boolean;
  'continue-on-error'?: boolean;
}

/** What a command keeps of each document; `mark`/`restore` take back a dropped file's part. */
export interface DocumentPass {
  document(doc: InputDocument): void | Promise<void>;
  mark(): unknown;
  restore(mark: unknown): void | Promise<void>;
}

/** Runs `pass` over every document of `files`; returns the read errors (only with --continue-on-error). */
export async function eachDocument(files: readonly string[], values: InputFlags, stdin: NodeJS.ReadableStream, pass: DocumentPass): Promise<string[]> {
  let mark: unknown;
  return streamInputs(
    files,
    values.recursive === true,
    stdin,
    { continueOnError: values['continue-on-error'] === true, requireObjects: true },
    {
      beginFile: () => {
        mark = pass.mark();
      },
      document: (d) => pass.document(d),
      dropFile: () => pass.restore(mark),
    },
  );
}

export interface TransformRun {
  readErrors: string[];
  warnings: string[];
  errors: string[];
  /** Writes the output; call only when it is to be written. */
  write(out: NodeJS.WritableStream): Promise<void>;
  close(): Promise<void>;
}

/** inject and uninject: `transform` each document, the output spooled in `format`. */
export async function transformInputs(
  files: readonly string[],
  values: InputFlags,
  stdin: NodeJS.ReadableStream,
  format: 'yaml' | 'json',
  transform: (doc: InputDocument) => Transformed,
): Promise<TransformRun> {
  const spool = new Spool();
  const yaml = new YamlWriter();
  const json = new JsonWriter();
  const warnings: string[] = [];
  const errors: string[] = [];
  try {
    const readErrors = await eachDocument(files, values, stdin, {
      document: async (doc) => {
        const t = transform(doc);
        warnings.push(...t.warnings);
        errors.push(...t.errors);
        // Once a document has failed nothing is written: the rest are only checked.
        if (errors.length > 0) return;
        await spool.write(format === 'json' ? json.next(t.value) : yaml.next({ value: t.value, changed: t.changed, text: doc.text, before: doc.value }));
      },
      mark: () => ({ bytes: spool.length, yaml: yaml.mark(), json: json.count, warnings: warnings.length, errors: errors.length }),
      restore: async (m) => {
        const mark = m as { bytes: number; yaml: ReturnType<YamlWriter['mark']>; json: number; warnings: number; errors: number };
        await spool.rollback(mark.bytes);
        yaml.restore(mark.yaml);
        json.count = mark.json;
        warnings.length = mark.warnings;
        errors.length = mark.errors;
      },
    });
    return {
      readErrors,
      warnings,
      errors,
      write: async (out) => {
        if (format === 'json') out.write(json.head());
        await spool.copyTo(out, format === 'json' ? (c) => json.map(c) : undefined);
        if (format === 'json') out.write(json.end());
      },
      close: () => spool.close(),
    };
  } catch (e) {
    await spool.close();
    throw e;
  }
}
