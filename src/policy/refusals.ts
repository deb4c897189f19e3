/**
 * What a compiled policy cannot reproduce exactly, decided from the profile alone. Each refusal
 * names the profile, the field that prevents it and why; the README's table lists them all, and
 * the compiler never approximates instead.
 */
import { isObject, type JsonValue, listOf } from '../common/json.ts';
import type { KubeVersion, SidecarProfile } from '../engine/index.ts';
import { MAX_EXPRESSION_CODE_POINTS, MAX_POLICY_BYTES } from './size.ts';

export interface Refusal {
  profile: string;
  /** Where the profile came from (`profiles/a.yaml, document 1`). */
  source: string;
  /** The field that prevents compiling it, as in profile validation (`spec.mandatory`). */
  path: string;
  why: string;
}

/** The first Kubernetes minor with admissionregistration.k8s.io/v1 MutatingAdmissionPolicy. */
export const FIRST_POLICY_MINOR = 36;

/** Why policies cannot serve this cluster version at all, or undefined. */
export function kubeVersionRefusal(v: KubeVersion): string | undefined {
  if (v.major === 1 && v.minor >= FIRST_POLICY_MINOR) return undefined;
  return `Kubernetes ${v.major}.${v.minor} has no admissionregistration.k8s.io/v1 MutatingAdmissionPolicy (generally available from 1.${FIRST_POLICY_MINOR}); use the webhook there`;
}

export const WHY = {
  mandatory:
    'a pod that carries an outrigger.dev/status record it does not hold is injected by the webhook as if it had none (steps/read-record.ts); CEL cannot parse the record to check it, so the policy leaves every recorded pod as it is, and a forged record would escape a mandatory profile',
  resources: 'per-pod resource overrides are JSON in an annotation (render.ts); CEL cannot parse JSON',
  hostPort:
    "whether a hostPort collides with one of the pod's own decides between the webhook's invalid-result denial (validate-pod.ts) and the API server's own 422; a policy can only give the latter",
  mountVolume:
    "names a volume the profile does not define: whether the pod has it decides between the webhook's invalid-result denial (validate-pod.ts) and the API server's own 422; a policy can only give the latter",
  ignoreInSet: (first: string) =>
    `failurePolicy ignore in a set of several profiles (profile ${JSON.stringify(first)} comes first by spec.order, then name): the engine admits the pod without this profile, with a warning, while injecting the others; the warning's policy runs on the mutated pod, which then carries the status record, so it is skipped (no-status-record) and the warning is lost`,
  afterIgnore: (first: string) =>
    `profile ${JSON.stringify(first)} comes first by spec.order, then name, and has failurePolicy ignore: in a set of several profiles its warning would be lost once another profile writes the status record, so it is compiled alone`,
  tooLong: (before: readonly string[], e: { where: string; codePoints: number }) =>
    `${before.length === 0 ? 'its policy' : `with the profiles before it (${before.map((n) => JSON.stringify(n)).join(', ')}), the set's policy`} would hold a CEL expression of ${e.codePoints} code points (${e.where}), and the API server accepts at most ${MAX_EXPRESSION_CODE_POINTS}: serve it with the webhook, or split what the set injects`,
  tooLarge: (before: readonly string[], e: { where: string; bytes: number }) =>
    `${before.length === 0 ? 'its policy' : `with the profiles before it (${before.map((n) => JSON.stringify(n)).join(', ')}), the set's policy`} would be ${e.bytes} bytes (${e.where}), and the API server stores at most ${MAX_POLICY_BYTES}: serve it with the webhook, or split what the set injects`,
  tooMany: (max: number) =>
    `a set holds at most ${max} profiles, and this one comes after them in the engine's order: serve it with the webhook, or merge profiles`,
} as const;

/** Mounts (the profile's own and its containers') that name a volume the profile does not define. */
function foreignMounts(p: SidecarProfile): string[] {
  const volumes = new Set(p.volumes.map((v) => v.name));
  const out: string[] = [];
  const check = (mounts: JsonValue | undefined, at: string) => {
    for (const [i, m] of listOf(mounts).entries()) if (isObject(m) && !volumes.has(m.name as string)) out.push(`${at}[${i}].name`);
  };
  check(p.volumeMounts as JsonValue, 'spec.volumeMounts');
  for (const field of ['containers', 'initContainers'] as const)
    for (const [i, c] of p[field].entries()) check(c.volumeMounts, `spec.${field}[${i}].volumeMounts`);
  return out;
}

function hostPorts(p: SidecarProfile): string[] {
  const out: string[] = [];
  for (const field of ['containers', 'initContainers'] as const)
    for (const [i, c] of p[field].entries())
      for (const [j, port] of listOf(c.ports).entries())
        if (isObject(port) && port.hostPort !== undefined) out.push(`spec.${field}[${i}].ports[${j}].hostPort`);
  return out;
}

/** Every reason this one profile cannot be compiled, first the most fundamental. */
export function profileRefusals(p: SidecarProfile): Refusal[] {
  const out: Refusal[] = [];
  const refuse = (path: string, why: string) => out.push({ profile: p.name, source: p.source, path, why });
  if (p.mandatory) refuse('spec.mandatory', WHY.mandatory);
  if (p.overrides.resources) refuse('spec.overrides.resources', WHY.resources);
  for (const path of hostPorts(p)) refuse(path, WHY.hostPort);
  for (const path of foreignMounts(p)) refuse(path, WHY.mountVolume);
  return out;
}
