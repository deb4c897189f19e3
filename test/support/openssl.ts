/** A real TLS client for tests: `openssl s_client` (on every machine the tests run on). */
import { spawn } from 'node:child_process';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `openssl s_client` against the server: its whole output once it exits (killed after 10 s). `steps` are written to stdin in turn, `pause` ms apart. */
export function sClient(port: number, args: string[], steps: string[] = [], pause = 300): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString('latin1');
    });
    child.stdin.on('error', () => {});
    const kill = setTimeout(() => child.kill(), 10_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(kill);
      resolve(out);
    });
    void (async () => {
      for (const s of steps) {
        await sleep(pause);
        if (!child.stdin.writable) break;
        child.stdin.write(s);
      }
      await sleep(pause);
      child.stdin.end();
    })();
  });
}
