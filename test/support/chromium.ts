/**
 * Headless Chromium for the browser tests: Debian's `chromium` package (installed with apt-get
 * under CI=true, see debian-tools.ts), driven by playwright-core, which downloads no browser of its
 * own. Every browser process started is tracked and killed at close, whatever happened before.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { debianToolsProblem } from './debian-tools.ts';
import { processAlive } from './processes.ts';

/** Why the browser tests cannot run here (a skip reason), or undefined; throws under CI=true. */
export function chromiumProblem(): string | undefined {
  return debianToolsProblem('the playground browser tests', { chromium: 'chromium' });
}

/** The browser binary itself, not Debian's /usr/bin/chromium wrapper script, so the process tracked is the browser. */
function executable(): string {
  return existsSync('/usr/lib/chromium/chromium') ? '/usr/lib/chromium/chromium' : 'chromium';
}

/** The processes whose parent is `pid`. */
function children(pid: number): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        // Field 4 of /proc/PID/stat is the parent; the name (field 2) may hold spaces, so count from its ")".
        const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

export interface TestBrowser {
  browser: Browser;
  /** The browser processes this launch started (its children are theirs). */
  pids: readonly number[];
  /** Closes the browser, then kills any of its processes still alive; safe to call twice. */
  close(): Promise<void>;
}

export async function launchChromium(): Promise<TestBrowser> {
  const before = new Set(children(process.pid));
  const browser = await chromium.launch({
    executablePath: executable(),
    headless: true,
    // Chromium's sandbox cannot start as root (the test machines and CI run as root). This browser
    // only ever loads the playground's own files, from loopback or file://, so it runs unsandboxed
    // there; as any other user the sandbox stays on.
    chromiumSandbox: process.getuid?.() !== 0,
    args: ['--disable-gpu', '--no-first-run', '--disable-extensions', '--disable-background-networking'],
  });
  const started = children(process.pid).filter((p) => !before.has(p));
  let closed = false;
  return {
    browser,
    pids: started,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await Promise.race([browser.close(), new Promise((r) => setTimeout(r, 10_000))]);
      } finally {
        for (const p of started) if (processAlive(p)) process.kill(p, 'SIGKILL');
      }
    },
  };
}
