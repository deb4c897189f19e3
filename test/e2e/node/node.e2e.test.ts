// The node harness itself: a busybox pod scheduled by kube-scheduler runs on the kubelet, its
// ServiceAccount token comes from the controller-manager and the API server, its output is read
// through pods/log (API server → kubelet), and after stop() the host is as it was found.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ControlPlane, e2eAvailability, startControlPlane } from '../harness.ts';
import { hostSnapshot, nodeAvailability, snapshotDiff } from './host.ts';
import { busyboxPod, create, podLog, waitForPod } from './kube.ts';
import { type KubeNode, nodeName, startNode } from './node.ts';

const e2e = await e2eAvailability();
const skip = e2e.skip || nodeAvailability();

describe('e2e node: a kubelet-backed node on this machine', { skip, timeout: 20 * 60_000 }, () => {
  let cp: ControlPlane;
  let node: KubeNode;
  before(async () => {
    cp = await startControlPlane({ serviceAccountAdmission: true, kubeletClient: true });
    node = await startNode(cp, { controllers: true });
  });
  after(async () => {
    await node?.stop();
    await cp?.stop();
  });

  it('runs a scheduled busybox pod with a ServiceAccount token; pods/log reads its output', async () => {
    await cp.createNamespace('smoke');
    await create(
      cp,
      '/api/v1/namespaces/smoke/pods',
      busyboxPod('hello', 'echo hello-from-the-node; id -u; cat /var/run/secrets/kubernetes.io/serviceaccount/namespace; echo; sleep 3600'),
    );
    const pod = await waitForPod(cp, 'smoke', 'hello', 'Running', (p) => p.status?.phase === 'Running');
    assert.equal(pod.spec.nodeName, nodeName(0));
    assert.match(pod.status?.podIP ?? '', /^10\.244\.77\./);
    const out = await waitForLog(cp, 'smoke', 'hello', 'app', /smoke/);
    assert.match(out, /^hello-from-the-node\n0\nsmoke\n/);
  });

  it('leaves the host as found: processes, mounts, cgroups, links, iptables, sysctls, paths', async () => {
    const before = node.before;
    await node.stop();
    assert.deepEqual(snapshotDiff(before, hostSnapshot()), []);
  });
});

async function waitForLog(cp: ControlPlane, ns: string, pod: string, container: string, want: RegExp): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const out = await podLog(cp, ns, pod, container);
    if (want.test(out) || Date.now() > deadline) return out;
    await new Promise((r) => setTimeout(r, 250));
  }
}
