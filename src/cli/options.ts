/** Flag parsing shared by the CLI commands (node:util parseArgs), with errors that name the flag. */
import { parseArgs } from 'node:util';
import type { KubeVersion } from '../engine/index.ts';

export class UsageError extends Error {}

export const DEFAULT_KUBE_VERSION: KubeVersion = { major: 1, minor: 33 };

/** @example parseKubeVersion('v1.28.3') // { major: 1, minor: 28 } */
export function parseKubeVersion(v: string): KubeVersion {
  const m = /^v?(\d+)\.(\d+)(\.\d+)?([-+].*)?$/.exec(v.trim());
  if (!m) throw new UsageError(`--kube-version: ${JSON.stringify(v)} is not a version such as 1.33`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

export function parseLabels(values: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag}: ${JSON.stringify(v)} must be KEY=VALUE`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

type OptionSpec = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

export function parseFlags<O extends OptionSpec>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: false, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
