/**
 * `npm start`: the webhook on this machine in one command. Generates a fresh CA and serving
 * certificate for localhost into .cache/outrigger-dev/, writes a sample AdmissionReview built from
 * a pod of examples/workloads/shop.yaml, runs `outrigger serve` with examples/profiles on port 8443
 * (or a free port), and prints the curl commands to try it. Ctrl-C stops it (with a clean drain).
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative } from 'node:path';
import { runServe } from '../src/cli/serve.ts';
import type { JsonObject } from '../src/engine/index.ts';
import { parseYamlDocuments } from '../src/io/yaml.ts';
import { findPodSites } from '../src/manifest/workloads.ts';
import { generateCA, generateServingCert } from '../src/tls/certs.ts';

const ROOT = new URL('../', import.meta.url).pathname;
const DIR = join(ROOT, '.cache', 'outrigger-dev');
const rel = (p: string) => relative(process.cwd(), p) || '.';

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1' }, () => s.close(() => resolve(true)));
  });
}

/** The first pod template of the examples, as the Pod a ReplicaSet would create (generateName, no name). */
function samplePod(): { pod: JsonObject; namespace: string } {
  const file = join(ROOT, 'examples', 'workloads', 'shop.yaml');
  for (const doc of parseYamlDocuments(readFileSync(file, 'utf8'), file)) {
    const site = findPodSites(doc.value)[0];
    if (!site) continue;
    const meta = (site.pod.metadata ?? {}) as JsonObject;
    return {
      pod: { apiVersion: 'v1', kind: 'Pod', ...site.pod, metadata: { ...meta, generateName: `${site.name}-7d9f8c6b5-` } },
      namespace: site.namespace ?? 'default',
    };
  }
  throw new Error(`no pod template in ${file}`);
}

mkdirSync(DIR, { recursive: true });
const ca = generateCA({ commonName: 'outrigger-dev-ca', validityDays: 30 });
const leaf = generateServingCert({ ca, commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'], validityDays: 30 });
const files = { ca: join(DIR, 'ca.crt'), cert: join(DIR, 'tls.crt'), key: join(DIR, 'tls.key'), review: join(DIR, 'review.json'), pod: join(DIR, 'pod.json') };
writeFileSync(files.ca, ca.certPem);
writeFileSync(files.cert, leaf.certPem);
writeFileSync(files.key, leaf.keyPem, { mode: 0o600 });
chmodSync(files.key, 0o600);

const { pod, namespace } = samplePod();
const review = {
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: '3c2b6d0e-8f1a-4d5e-9b7c-1a2b3c4d5e6f',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    requestKind: { group: '', version: 'v1', kind: 'Pod' },
    requestResource: { group: '', version: 'v1', resource: 'pods' },
    namespace,
    operation: 'CREATE',
    userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', groups: ['system:serviceaccounts', 'system:authenticated'] },
    object: pod,
    oldObject: null,
    dryRun: false,
    options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
  },
};
writeFileSync(files.review, `${JSON.stringify(review, null, 2)}\n`);
writeFileSync(files.pod, `${JSON.stringify(pod, null, 2)}\n`);

const port = (await portFree(8443)) ? 8443 : 0;
const adminPort = (await portFree(9443)) ? 9443 : 0;
const args = [
  '--profiles',
  join(ROOT, 'examples', 'profiles'),
  '--tls-cert',
  files.cert,
  '--tls-key',
  files.key,
  '--host',
  '127.0.0.1',
  '--port',
  String(port),
  '--admin-address',
  `127.0.0.1:${adminPort}`,
  '--drain-timeout',
  '5s',
];

process.exitCode = await runServe(
  args,
  { stdout: process.stdout, stderr: process.stderr },
  {
    onListening: (s) => {
      const url = `https://localhost:${s.port}`;
      const admin = `https://localhost:${s.adminPort}`;
      const curl = `curl --cacert ${rel(files.ca)} -H 'Content-Type: application/json'`;
      process.stderr.write(
        [
          '',
          `Outrigger webhook on ${url} with the profiles in examples/profiles (logs are the JSON lines on stdout).`,
          '',
          `Send it the AdmissionReview the API server would send for a pod of examples/workloads/shop.yaml (${rel(files.review)}):`,
          `  ${curl} --data @${rel(files.review)} ${url}/mutate`,
          'See the JSON Patch it returns:',
          `  ${curl} --data @${rel(files.review)} -s ${url}/mutate | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.stringify(JSON.parse(Buffer.from(JSON.parse(s).response.patch,"base64")),null,2)))'`,
          'Ask why (the whole decision, with the would-be pod), on the admin listener:',
          `  ${curl} --data @${rel(files.pod)} '${admin}/explain?namespace=${namespace}'`,
          `Health and metrics: ${url}/readyz  ${url}/metrics  ${admin}/readyz?verbose  (curl --cacert ${rel(files.ca)} URL)`,
          '',
          'Ctrl-C stops it.',
          '',
        ].join('\n'),
      );
    },
  },
);
