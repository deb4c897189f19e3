/**
 * The values of flags, checked, with errors that name the flag. Pure (no Node built-ins): the
 * browser playground checks its context fields with these same functions.
 */
import { dns1123Label, imageReference, labelValue, qualifiedName } from '../common/k8s-names.ts';
import type { KubeVersion, UnknownProfiles } from '../engine/index.ts';

export class UsageError extends Error {}

export const DEFAULT_KUBE_VERSION: KubeVersion = { major: 1, minor: 33 };

/** @example parseKubeVersion('v1.28.3') // { major: 1, minor: 28 } */
export function parseKubeVersion(v: string): KubeVersion {
  const m = /^v?(\d+)\.(\d+)(\.\d+)?([-+].*)?$/.exec(v.trim());
  if (!m) throw new UsageError(`--kube-version: ${JSON.stringify(v)} is not a version such as 1.33`);
  if (Number(m[1]) !== 1) throw new UsageError(`--kube-version: ${JSON.stringify(v)}: Kubernetes has only major version 1 (a version such as 1.33)`);
  return { major: 1, minor: Number(m[2]) };
}

/** -o/--output: one of `formats`, the first being the default. */
export function parseOutput<F extends string>(v: string | undefined, formats: readonly [F, ...F[]]): F {
  if (v === undefined) return formats[0];
  if (!(formats as readonly string[]).includes(v))
    throw new UsageError(`--output: ${JSON.stringify(v)} must be ${formats.slice(0, -1).join(', ')} or ${formats.at(-1)}`);
  return v as F;
}

/** --unknown-profiles: what happens to a pod that requests a profile that does not exist. */
export function parseUnknownProfiles(v: string): UnknownProfiles {
  if (v !== 'admit' && v !== 'deny') throw new UsageError(`--unknown-profiles: ${JSON.stringify(v)} must be admit or deny`);
  return v;
}

/** `--admission` of serve and manifests: how pods are injected (default webhook). */
export function parseAdmission(v: string | undefined): 'webhook' | 'policy' {
  const mode = v ?? 'webhook';
  if (mode !== 'webhook' && mode !== 'policy') throw new UsageError(`--admission: ${JSON.stringify(mode)} must be webhook or policy`);
  return mode;
}

/** A namespace flag's value, checked as the API server checks a namespace name. */
export function namespaceFlag(flag: string, v: string): string {
  const e = dns1123Label(v);
  if (e) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not a namespace name: it ${e}`);
  return v;
}

/** An image flag's value, checked as a container runtime parses a reference. */
export function imageFlag(flag: string, v: string): string {
  const e = imageReference(v);
  if (e) throw new UsageError(`${flag}: ${JSON.stringify(v)} ${e}`);
  return v;
}

export function parseLabels(values: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag}: ${JSON.stringify(v)} must be KEY=VALUE`);
    const [key, value] = [v.slice(0, eq), v.slice(eq + 1)];
    const keyError = qualifiedName(key);
    const valueError = keyError ? undefined : labelValue(value);
    const e = keyError ? `key ${keyError}` : valueError ? `value ${valueError}` : undefined;
    if (e) throw new UsageError(`${flag}: ${JSON.stringify(v)}: the label ${e}`);
    out[key] = value;
  }
  return out;
}
