/** Runs the CLI in-process with captured stdout/stderr, as a user would see them. */
import { Readable, Writable } from 'node:stream';
import { main } from '../../src/cli/registry.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

export async function runCli(args: string[], stdin = ''): Promise<CliResult> {
  const out = sink();
  const err = sink();
  const code = await main(args, { stdin: Readable.from([stdin]), stdout: out.stream, stderr: err.stream });
  return { code, stdout: out.text(), stderr: err.text() };
}
