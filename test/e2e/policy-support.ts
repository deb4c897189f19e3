/**
 * The differential check of policy mode against a real kube-apiserver: one pod created with the
 * compiled policies installed (and no webhook), compared field for field with what the engine's
 * inject() makes of the same pod, as the API server would store that.
 */
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { inject, type JsonObject, type ProfileSet } from '../../src/engine/index.ts';
import type { ControlPlane } from './harness.ts';

export interface Pod {
  metadata: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  spec: JsonObject;
  [k: string]: unknown;
}

/** How the engine's warning for a failurePolicy ignore profile it left out ends (steps/decision.ts), written out: the policies must say the same. */
const ADMITTED_WITHOUT = ' (the pod is admitted without it: failurePolicy ignore)';

export const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Server-owned fields: not part of what admission sees, nor of what a create may send. */
export function bare(p: Pod, namespace: string): Pod {
  const meta = { ...p.metadata };
  for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'managedFields', 'generation', 'selfLink', 'ownerReferences']) delete meta[k];
  return { apiVersion: 'v1', kind: 'Pod', metadata: { ...meta, namespace }, spec: clone(p.spec) };
}

/** What injection may change: labels, annotations, the whole spec (status is the server's). */
export const comparable = (p: Pod) => clone({ labels: p.metadata.labels ?? null, annotations: p.metadata.annotations ?? null, spec: p.spec });

/** The first path where two JSON values differ. */
export function firstDiff(a: unknown, b: unknown, path = ''): string | undefined {
  if (isDeepStrictEqual(a, b)) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b))
    return `${path || '(root)'}: ${JSON.stringify(a)?.slice(0, 300)} != ${JSON.stringify(b)?.slice(0, 300)}`;
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = firstDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}/${k}`);
    if (d) return d;
  }
  return `${path}: differ`;
}

export interface Verdict {
  outcome: 'injected' | 'unchanged' | 'denied' | 'rejected-by-server' | 'baseline-refused';
  problem?: string;
  /** Admitted without a failurePolicy ignore profile, with the engine's warning. */
  warned?: boolean;
  /** The pod the API server made with the policies, when it made one. */
  made?: Pod;
}

export interface Differential {
  cp: ControlPlane;
  /** A namespace the policies do not serve: the API server alone. */
  baseline: string;
  /** The namespace the policies serve. */
  served: string;
  servedLabels: Record<string, string>;
  set: ProfileSet;
  kubeMinor: number;
}

const create = (cp: ControlPlane, ns: string, pod: Pod) =>
  cp.request<Pod & { message?: string }>('POST', `/api/v1/namespaces/${ns}/pods`, pod, { query: { dryRun: 'All' } });

/**
 * Creates `pod` without the policies (the pod admission sees: defaulted), runs the engine on it,
 * creates the engine's pod without the policies (the pod the webhook would have stored), creates
 * `pod` with them, and compares.
 */
export async function differential(d: Differential, pod: Pod): Promise<Verdict> {
  const base = await create(d.cp, d.baseline, bare(pod, d.baseline));
  if (base.status !== 201) return { outcome: 'baseline-refused' };
  // Admission sees no name yet for a pod created with generateName: the API server makes it up after.
  const admitted = bare(base.body, d.served);
  if (pod.metadata.name === undefined) delete admitted.metadata.name;
  const seen = admitted as unknown as JsonObject;
  const decision = inject(seen, d.set, { namespace: d.served, namespaceLabels: d.servedLabels, kubeVersion: { major: 1, minor: d.kubeMinor } });
  const policy = await create(d.cp, d.served, bare(pod, d.served));
  if (decision.outcome === 'denied') {
    if (policy.status !== 403) return { outcome: 'denied', problem: `the engine denies (${decision.message}) but the policies gave ${policy.status}` };
    const message = policy.body.message ?? '';
    if (!message.endsWith(`denied request: ${decision.message}`))
      return { outcome: 'denied', problem: `denied with another message:\n  policy: ${message}\n  engine: ${decision.message}` };
    return { outcome: 'denied' };
  }
  const stored = await create(d.cp, d.baseline, bare(decision.pod as unknown as Pod, d.baseline));
  if (stored.status !== 201) {
    if (policy.status === stored.status) return { outcome: 'rejected-by-server' };
    return { outcome: 'rejected-by-server', problem: `the engine's pod gets ${stored.status} (${stored.body.message}), the policies' ${policy.status}` };
  }
  if (policy.status !== 201)
    return {
      outcome: decision.outcome,
      problem: `the engine ${decision.outcome === 'injected' ? 'injects' : 'admits'} it; the policies gave ${policy.status} ${policy.body.message}`,
    };
  const diff = firstDiff(comparable(policy.body), comparable(stored.body));
  if (diff) return { outcome: decision.outcome, problem: `differs at ${diff}` };
  // A failurePolicy ignore profile left out: the validating policy warns with the engine's words.
  // The Warning header's text is a quoted-string: \\ and \" stand for \ and ".
  const warned = String(policy.headers.warning ?? '').replace(/\\(.)/g, '$1');
  const missing = decision.warnings.filter((w) => w.endsWith(ADMITTED_WITHOUT) && !warned.includes(`${w}"`));
  if (missing.length > 0) return { outcome: decision.outcome, problem: `no warning ${JSON.stringify(missing[0])} (got ${JSON.stringify(warned)})` };
  return { outcome: decision.outcome, warned: decision.warnings.some((w) => w.endsWith(ADMITTED_WITHOUT)), made: policy.body };
}

/** The objects `outrigger policy` printed. */
export function policyDocuments(yaml: string): JsonObject[] {
  return parseAllDocuments(yaml).map((d) => d.toJS() as JsonObject);
}

const RESOURCES: Record<string, string> = {
  MutatingAdmissionPolicy: 'mutatingadmissionpolicies',
  MutatingAdmissionPolicyBinding: 'mutatingadmissionpolicybindings',
  ValidatingAdmissionPolicy: 'validatingadmissionpolicies',
  ValidatingAdmissionPolicyBinding: 'validatingadmissionpolicybindings',
};

export const objectPath = (o: JsonObject) => `/apis/admissionregistration.k8s.io/v1/${RESOURCES[o.kind as string]}`;

/** Creates the objects; throws with the API server's message (a CEL compile error names the expression). */
export async function install(cp: ControlPlane, objects: readonly JsonObject[]): Promise<void> {
  for (const o of objects) {
    const r = await cp.request('POST', objectPath(o), o);
    if (r.status !== 201) throw new Error(`creating ${o.kind} ${(o.metadata as JsonObject).name}: ${r.status} ${r.text.slice(0, 2000)}`);
  }
}

export async function uninstall(cp: ControlPlane, objects: readonly JsonObject[]): Promise<void> {
  for (const o of objects) await cp.request('DELETE', `${objectPath(o)}/${(o.metadata as JsonObject).name}`);
}

/** Polls a dry-run create of `probe` until `ok` holds (policies take effect a moment after they are created). */
export async function until(cp: ControlPlane, ns: string, probe: Pod, ok: (status: number, pod: Pod, warning: string) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await create(cp, ns, bare(probe, ns));
    if (ok(r.status, r.body, String(r.headers.warning ?? ''))) return;
    if (Date.now() > deadline) throw new Error(`${what}: still ${r.status} ${r.text.slice(0, 300)} after 30 s\n${cp.logTail(20)}`);
    await sleep(200);
  }
}
