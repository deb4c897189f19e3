/** Kubeconfig loading: one file, or several merged as kubectl merges a multi-path KUBECONFIG. */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadKubeconfig } from './config.ts';
import { kubeconfigFiles } from './connect.ts';

const dir = mkdtempSync(join(tmpdir(), 'outrigger-kubeconfig-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const f = join(dir, name);
  mkdirSync(join(f, '..'), { recursive: true });
  writeFileSync(f, text);
  return f;
};

describe('one kubeconfig file', () => {
  test('the current context gives server, credentials and namespace; relative files resolve against the kubeconfig', () => {
    write('one/ca.pem', 'CA\n');
    const f = write(
      'one/config',
      `current-context: dev
contexts: [{name: dev, context: {cluster: c, user: u, namespace: team}}]
clusters: [{name: c, cluster: {server: 'https://127.0.0.1:6443/', certificate-authority: ca.pem}}]
users: [{name: u, user: {token: abc}}]
`,
    );
    const c = loadKubeconfig(f);
    assert.equal(c.server, 'https://127.0.0.1:6443');
    assert.equal(c.ca, 'CA\n');
    assert.equal(c.token?.(), 'abc');
    assert.equal(c.namespace, 'team');
  });

  test('what is missing is named with the file', () => {
    const f = write('broken/config', 'current-context: x\ncontexts: [{name: y, context: {cluster: c}}]\n');
    assert.throws(() => loadKubeconfig(f), { message: `${f}: no context named "x"` });
    assert.throws(() => loadKubeconfig(f, 'y'), { message: `${f}: no cluster named "c"` });
    assert.throws(() => loadKubeconfig(join(dir, 'absent')), { message: new RegExp(`^${join(dir, 'absent')}: ENOENT`) });
    assert.throws(() => loadKubeconfig(write('list', '- a\n')), { message: `${join(dir, 'list')}: not a kubeconfig` });
    assert.throws(() => loadKubeconfig(write('nameless', 'users: [{user: {}}]\n')), {
      message: `${join(dir, 'nameless')}: every entry of users needs a name`,
    });
  });
});

describe('several kubeconfig files, merged', () => {
  // The first file sets the context; the cluster and user come from later files, whose relative
  // paths resolve against their own directory; a later file's same-named entries lose.
  const first = write('a/config', 'current-context: prod\ncontexts: [{name: prod, context: {cluster: east, user: admin}}]\n');
  const second = write(
    'b/config',
    `current-context: other
clusters: [{name: east, cluster: {server: 'https://east.example:6443', certificate-authority: ca.pem}}]
users: [{name: admin, user: {client-certificate: tls.crt, client-key: tls.key}}]
contexts: [{name: prod, context: {cluster: west, user: nobody}}]
`,
  );
  write('b/ca.pem', 'EAST CA');
  write('b/tls.crt', 'CERT');
  write('b/tls.key', 'KEY');
  const third = write('c/config', `clusters: [{name: east, cluster: {server: 'https://wrong.example'}}]\nusers: [{name: admin, user: {token: wrong}}]\n`);
  const empty = write('empty', '');

  test('the first file to set a value wins, and each path resolves against the file that names it', () => {
    const c = loadKubeconfig([empty, first, second, third]);
    assert.deepEqual({ ...c }, { server: 'https://east.example:6443', ca: 'EAST CA', cert: 'CERT', key: 'KEY', namespace: 'default' });
    assert.throws(() => loadKubeconfig([second, first]), { message: `${second}, ${first}: no context named "other"` });
    assert.throws(() => loadKubeconfig([second, first], 'prod'), { message: `${second}: no cluster named "west"` });
  });

  test('KUBECONFIG: files that exist are merged in order, missing ones skipped; none existing is an error naming them', () => {
    const env = { KUBECONFIG: [join(dir, 'nope'), first, '', second, first].join(':') };
    assert.deepEqual(kubeconfigFiles(undefined, env, dir), [first, second]);
    assert.throws(() => kubeconfigFiles(undefined, { KUBECONFIG: '/nonexistent' }, dir), { message: 'KUBECONFIG names no file that exists: /nonexistent' });
    assert.throws(() => kubeconfigFiles(undefined, { KUBECONFIG: '/x:/y' }, dir), { message: 'KUBECONFIG names no file that exists: /x, /y' });
    // In a pod a KUBECONFIG naming nothing that exists leaves the service account, as in client-go.
    assert.equal(kubeconfigFiles(undefined, { KUBECONFIG: '/nonexistent', KUBERNETES_SERVICE_HOST: '10.96.0.1' }, dir), undefined);
    // --kubeconfig wins and is used even if missing (loading it then names it).
    assert.deepEqual(kubeconfigFiles('/given', env, dir), ['/given']);
  });

  test('without KUBECONFIG: ~/.kube/config outside a pod, the service account inside one', () => {
    const home = join(dir, 'home');
    assert.equal(kubeconfigFiles(undefined, {}, home), undefined);
    const f = write('home/.kube/config', 'current-context: x\n');
    assert.deepEqual(kubeconfigFiles(undefined, {}, home), [f]);
    assert.deepEqual(kubeconfigFiles(undefined, { KUBECONFIG: '' }, home), [f]);
    assert.equal(kubeconfigFiles(undefined, { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, home), undefined);
  });
});

describe('exec plugins and the cluster they are told about', () => {
  test('provideClusterInfo passes the server, CA, tls-server-name, proxy-url, disable-compression and the exec extension', async () => {
    const seen = join(dir, 'exec-info/seen');
    const plugin = write(
      'exec-info/plugin.sh',
      `#!/bin/sh\nprintf '%s' "$KUBERNETES_EXEC_INFO" > '${seen}'\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t"}}'\n`,
    );
    chmodSync(plugin, 0o755);
    const f = write(
      'exec-info/config',
      `current-context: c
contexts: [{name: c, context: {cluster: c, user: u}}]
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: ${Buffer.from('CA\n').toString('base64')}
    tls-server-name: api.internal
    proxy-url: http://127.0.0.1:3128
    disable-compression: true
    extensions: [{name: client.authentication.k8s.io/exec, extension: {audience: x}}]
users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: ./plugin.sh, provideClusterInfo: true}}}]
`,
    );
    const c = loadKubeconfig(f);
    assert.deepEqual(await c.exec?.get(), { token: 't' });
    assert.deepEqual(JSON.parse(readFileSync(seen, 'utf8')).spec.cluster, {
      server: 'https://127.0.0.1:6443',
      'certificate-authority-data': Buffer.from('CA\n').toString('base64'),
      'tls-server-name': 'api.internal',
      'proxy-url': 'http://127.0.0.1:3128',
      'disable-compression': true,
      config: { audience: 'x' },
    });
  });
});
