/** Runs the external tools the image build relies on, with errors that say what failed and what to install. */
import { execFileSync } from 'node:child_process';

/** The Debian package that provides each tool. */
const PROVIDED_BY: Record<string, string> = {
  umoci: 'umoci',
  tar: 'tar',
  'dpkg-deb': 'dpkg',
  'apt-get': 'apt',
  'apt-cache': 'apt',
  git: 'git',
};

export function installHint(tool: string): string {
  return `${tool} is not installed: apt-get install ${PROVIDED_BY[tool] ?? tool}`;
}

export function run(cmd: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'], ...o });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { status?: number; stderr?: string };
    if (err.code === 'ENOENT') throw new Error(installHint(cmd));
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${err.status ?? err.code}): ${String(err.stderr ?? err.message).trim()}`);
  }
}

/** Fails early, naming every missing tool at once, instead of halfway through a build. */
export function requireTools(tools: string[]): void {
  const missing = tools.filter((t) => {
    try {
      execFileSync(t, ['--version'], { stdio: 'ignore' });
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT';
    }
  });
  if (missing.length > 0) throw new Error(`missing tools for the image build: ${missing.map(installHint).join('; ')}`);
}
