/**
 * The built CLI reads its input a document at a time: on an input of 5 MB it runs in a heap of
 * 48 MB, where reading the whole input first (as it once did) ran out of memory and died (that
 * took 185 MB of heap for 5 MB, and 3.5 GB for 50 MB). Through a file and through stdin, with
 * every document injected (re-written) and the output complete.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BuiltPackage, buildPackage } from '../support/built-package.ts';

const HEAP_MB = 48;
const COPIES = 1500;

/** A Deployment of about 3.5 KB, as real ones are, with comments. */
function deployment(i: number): string {
  const env = Array.from({ length: 40 }, (_, k) => `            - name: SETTING_${k}\n              value: "value of setting ${k}"  # why it is set\n`).join(
    '',
  );
  return `---\n# Deployment ${i}\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-${i}\n  namespace: shop\nspec:\n  selector:\n    matchLabels: {app: app-${i}}\n  template:\n    metadata:\n      labels: {app: app-${i}}\n    spec:\n      containers:\n        - name: app\n          image: registry.example.com/app:${i}\n          env:\n${env}`;
}

const PROFILE = `apiVersion: outrigger.dev/v1alpha1
kind: SidecarProfile
metadata: {name: probe}
spec:
  version: "1"
  selector: {podSelector: {}}
  containers: [{name: probe, image: example.com/probe:1}]
`;

function run(
  pkg: BuiltPackage,
  args: string[],
  stdinFile?: string,
): Promise<{ code: number | null; signal: string | null; docs: number; bytes: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MB}`, pkg.bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let docs = 0;
    let bytes = 0;
    let stderr = '';
    // Counted as it arrives: the output is as large as the input.
    let tail = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      bytes += Buffer.byteLength(c);
      const text = tail + c;
      docs += text.match(/^kind: Deployment$/gm)?.length ?? 0;
      tail = text.slice(text.lastIndexOf('\n') + 1);
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c.slice(0, 2000);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, docs, bytes, stderr }));
    if (stdinFile) createReadStream(stdinFile).pipe(child.stdin);
    else child.stdin.end();
  });
}

describe(`a 5 MB input in a ${HEAP_MB} MB heap`, () => {
  let pkg: BuiltPackage | undefined;
  let dir = '';
  let input = '';
  let profiles = '';
  before(async () => {
    pkg = buildPackage();
    dir = await mkdtemp(join(tmpdir(), 'outrigger-large-'));
    input = join(dir, 'big.yaml');
    profiles = join(dir, 'probe.yaml');
    await writeFile(input, Array.from({ length: COPIES }, (_, i) => deployment(i)).join(''));
    await writeFile(profiles, PROFILE);
  });
  after(async () => {
    pkg?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  for (const via of ['a file', 'stdin']) {
    test(`inject reads it from ${via}, injects every document and writes them all`, async () => {
      const r = await run(pkg as BuiltPackage, ['inject', '-f', via === 'stdin' ? '-' : input, '-p', profiles], via === 'stdin' ? input : undefined);
      assert.deepEqual({ code: r.code, signal: r.signal }, { code: 0, signal: null }, r.stderr);
      assert.equal(r.docs, COPIES);
      assert.ok(r.bytes > 5_000_000, `${r.bytes} bytes written`);
    });
  }
});
