/**
 * `npm start` as people run it, through the real npm: SIGTERM to npm (a terminal closing, a
 * supervisor stopping it) stops the webhook it started, which drains and exits, instead of
 * leaving it orphaned and holding the port.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { REPO } from '../support/built-package.ts';
import { processAlive } from '../support/processes.ts';

const children = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
const descendants = (pid: number): number[] => children(pid).flatMap((c) => [c, ...descendants(c)]);

test('SIGTERM to npm start stops the server it runs, which drains and exits', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  const npm = spawn('npm', ['start'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let server: number | undefined;
  // Every process npm started, so nothing outlives the test whatever fails.
  const started = new Set<number>();
  let out = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start did not listen within 60 s:\n${out}`)), 60_000);
      npm.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('"msg":"listening"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      npm.stderr.on('data', (d: Buffer) => {
        out += d.toString();
      });
      npm.on('exit', (code) => reject(new Error(`npm start exited (${code}) before listening:\n${out}`)));
    });
    const pid = npm.pid as number;
    for (const d of descendants(pid)) started.add(d);
    // npm runs the script's node directly (package.json: exec), so the server is npm's child.
    server = children(pid).find((c) => readFileSync(`/proc/${c}/cmdline`, 'utf8').includes('scripts/start.ts'));
    assert.ok(server, `the server is a child of npm: ${children(pid).join(', ')}`);
    const exited = new Promise<number | null>((r) => npm.on('exit', (code) => r(code)));
    npm.kill('SIGTERM');
    await exited;
    for (let i = 0; i < 100 && processAlive(server); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(processAlive(server), false, 'the server is gone after npm');
    assert.match(out, /"msg":"shutting down: not ready, draining","reason":"SIGTERM"/);
    assert.match(out, /"msg":"stopped","exitCode":0/);
  } finally {
    for (const d of [...started, ...(server !== undefined ? [server] : [])]) if (processAlive(d)) process.kill(d, 'SIGKILL');
    if (npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL');
  }
});
