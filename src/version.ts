/**
 * Outrigger's version, from package.json (one level above both src/ and dist/), and the commit it
 * was built from, from the build-info.json that `npm run build` and the image build write beside
 * the compiled modules. Running from source (src/*.ts) has no such file: the commit is "unknown".
 */
import { readFileSync } from 'node:fs';

export const UNKNOWN = 'unknown';

function readJson(url: URL): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(readFileSync(url, 'utf8')) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : UNKNOWN);

export const VERSION: string = str(readJson(new URL('../package.json', import.meta.url))?.version);

/** The git commit (40 hex digits) this build came from, or "unknown" (not built, or not from git). */
export const COMMIT: string = str(readJson(new URL('./build-info.json', import.meta.url))?.commit);

export interface VersionInfo {
  version: string;
  commit: string;
  node: string;
}

export function versionInfo(): VersionInfo {
  return { version: VERSION, commit: COMMIT, node: process.version };
}
