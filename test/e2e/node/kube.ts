// Small API helpers for the node tests: create objects, wait for pod states, read logs.

import type { ControlPlane } from '../harness.ts';
import { sleep } from '../harness.ts';
import { BUSYBOX_REF } from './oci.ts';

export interface ContainerStatus {
  name: string;
  ready: boolean;
  restartCount: number;
  containerID?: string;
  state?: {
    running?: { startedAt: string };
    terminated?: { exitCode: number; startedAt: string; finishedAt: string; reason?: string };
    waiting?: { reason?: string; message?: string };
  };
}

export interface Pod {
  metadata: {
    name: string;
    namespace: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    uid?: string;
    ownerReferences?: unknown[];
  };
  spec: {
    nodeName?: string;
    initContainers?: { name: string; image: string; restartPolicy?: string; env?: { name: string; value?: string }[] }[];
    containers: { name: string; image: string; env?: { name: string; value?: string }[]; volumeMounts?: { name: string; mountPath: string }[] }[];
    volumes?: { name: string }[];
  };
  status?: {
    phase?: string;
    podIP?: string;
    hostIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

export async function create<T = Pod>(cp: ControlPlane, path: string, body: unknown): Promise<T> {
  const r = await cp.request<T>('POST', path, body);
  if (r.status !== 201 && r.status !== 200) throw new Error(`POST ${path}: ${r.status} ${r.text}`);
  return r.body;
}

interface Obj {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: unknown;
}

/** The collection path of an object (core and named groups; plural by the usual English rule). */
export function collectionPath(obj: Obj): string {
  const apiVersion = String(obj.apiVersion);
  const kind = String(obj.kind).toLowerCase();
  const plural = kind.endsWith('y') ? `${kind.slice(0, -1)}ies` : `${kind}s`;
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = (obj.metadata as { namespace?: string } | undefined)?.namespace;
  return ns ? `${base}/namespaces/${ns}/${plural}` : `${base}/${plural}`;
}

/** Creates the objects in order, as `kubectl apply` of a fresh bundle would. */
export async function applyAll(cp: ControlPlane, objects: Obj[]): Promise<void> {
  for (const obj of objects) await create(cp, collectionPath(obj), obj);
}

export async function getJSON<T>(cp: ControlPlane, path: string): Promise<T> {
  const r = await cp.request<T>('GET', path);
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text}`);
  return r.body;
}

/** Polls until `done` returns a value (not undefined); the last state goes into the timeout message. */
export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, describe?: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${describe ? `\n${await describe()}` : ''}`);
    await sleep(250);
  }
}

export function podReady(p: Pod): boolean {
  return !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
}

export async function waitForPod(cp: ControlPlane, ns: string, name: string, what: string, ok: (p: Pod) => boolean, timeoutMs = 90_000): Promise<Pod> {
  let last: Pod | undefined;
  return until(
    `pod ${ns}/${name} ${what}`,
    timeoutMs,
    async () => {
      const r = await cp.request<Pod>('GET', `/api/v1/namespaces/${ns}/pods/${name}`);
      if (r.status !== 200) return undefined;
      last = r.body;
      return ok(r.body) ? r.body : undefined;
    },
    async () => JSON.stringify(last?.status ?? null, null, 1),
  );
}

export async function podsOf(cp: ControlPlane, ns: string, selector: string): Promise<Pod[]> {
  const r = await getJSON<{ items: Pod[] }>(cp, `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`);
  return r.items;
}

export async function podLog(cp: ControlPlane, ns: string, pod: string, container: string): Promise<string> {
  const r = await cp.request('GET', `/api/v1/namespaces/${ns}/pods/${pod}/log`, undefined, { query: { container } });
  if (r.status !== 200) throw new Error(`pods/log ${ns}/${pod} ${container}: ${r.status} ${r.text}`);
  return r.text;
}

/** A busybox pod (image imported into containerd, never pulled). */
export function busyboxPod(name: string, script: string, extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(extra.labels ? { labels: extra.labels } : {}), ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'app', image: BUSYBOX_REF, imagePullPolicy: 'Never', command: ['sh', '-c', script] }],
    },
  };
}
