/**
 * Lays out the image's two file trees on disk: the runtime (glibc, libstdc++, libgcc, CA
 * certificates, the node binary, the non-root user) per architecture, and the application (built
 * dist/, package.json, production node_modules), which is the same for every architecture.
 */
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeBuildInfo } from '../build/info.ts';
import { run } from './run.ts';
import type { NpmModule } from './sbom.ts';

export const NONROOT = { uid: 65532, gid: 65532, name: 'nonroot', home: '/home/nonroot' };
export const NODE_PATH = '/usr/bin/node';
export const APP_DIR = '/app';
export const ENTRYPOINT = [NODE_PATH, `${APP_DIR}/dist/cli/main.js`];
export const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
/** No shell reads PATH; SSL_CERT_FILE points OpenSSL (node --use-openssl-ca) at Debian's bundle. */
export const ENV = ['PATH=/usr/bin', `SSL_CERT_FILE=${CA_BUNDLE}`];

/** What a package contributes: libraries and their configuration, never executables or docs. */
const KEPT_FROM_DEBS = ['etc', 'lib', 'lib64', 'usr/lib', 'usr/share/ca-certificates'];

const PASSWD = `root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
${NONROOT.name}:x:${NONROOT.uid}:${NONROOT.gid}:${NONROOT.name}:${NONROOT.home}:/sbin/nologin
`;
const GROUP = `root:x:0:
nobody:x:65534:
${NONROOT.name}:x:${NONROOT.gid}:
`;

function write(root: string, path: string, text: string): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
}

function extractDeb(deb: string, into: string, tmp: string): void {
  const dir = mkdtempSync(join(tmp, 'deb-'));
  run('dpkg-deb', ['-x', deb, dir]);
  for (const sub of KEPT_FROM_DEBS) {
    if (existsSync(join(dir, sub))) cpSync(join(dir, sub), join(into, sub), { recursive: true, verbatimSymlinks: true });
  }
  rmSync(dir, { recursive: true });
}

/** Debian's update-ca-certificates concatenates the certificates in name order; so does this. */
function caBundle(root: string): string {
  const dir = join(root, 'usr/share/ca-certificates/mozilla');
  const names = readdirSync(dir)
    .filter((n) => n.endsWith('.crt'))
    .sort();
  if (names.length === 0) throw new Error('ca-certificates: no certificates under usr/share/ca-certificates/mozilla');
  return names.map((n) => readFileSync(join(dir, n), 'utf8')).join('');
}

export interface RuntimeInputs {
  nodeTarball: string;
  debs: string[];
}

export function stageRuntime(root: string, tmp: string, i: RuntimeInputs): void {
  for (const deb of i.debs) extractDeb(deb, root, tmp);
  const nodeDir = mkdtempSync(join(tmp, 'node-'));
  run('tar', ['-xzf', i.nodeTarball, '-C', nodeDir, 'package/bin/node']);
  const node = join(nodeDir, 'package/bin/node');
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  cpSync(node, join(root, NODE_PATH));
  rmSync(nodeDir, { recursive: true });
  write(root, 'etc/passwd', PASSWD);
  write(root, 'etc/group', GROUP);
  write(root, CA_BUNDLE, caBundle(root));
  mkdirSync(join(root, 'tmp'), { recursive: true });
  mkdirSync(join(root, NONROOT.home), { recursive: true });
}

interface LockEntry {
  version?: string;
  integrity?: string;
  license?: string;
  dev?: boolean;
  devOptional?: boolean;
  link?: boolean;
}

export interface ProductionModule extends NpmModule {
  /** Its directory, relative to the repository (node_modules/…). */
  path: string;
}

/** The production dependencies (package-lock entries that are not dev-only), as npm ci installed them. */
export function productionModules(repo: string): ProductionModule[] {
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  return Object.entries(lock.packages)
    .filter(([path, p]) => path.startsWith('node_modules/') && !p.dev && !p.devOptional && !p.link)
    .map(([path, p]) => {
      if (!p.version || !p.integrity) throw new Error(`package-lock.json: ${path} has no version or integrity`);
      const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
      return { path, name, version: p.version, integrity: p.integrity, ...(p.license ? { license: p.license } : {}) };
    })
    .sort((a, b) => a.path.localeCompare(b.path));
}

/** The package.json fields the runtime reads: the module type and the version `outrigger` reports. */
function runtimePackageJson(repo: string): string {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as Record<string, unknown>;
  const { name, version, description, license, type, bin, dependencies } = pkg;
  return `${JSON.stringify({ name, version, description, license, type, bin, dependencies }, null, 2)}\n`;
}

/** `revision` is the commit the image's labels name, so `outrigger version` in the image says the same. */
export function stageApp(root: string, repo: string, o: { sourceMaps: boolean; revision: string }): void {
  const app = join(root, APP_DIR);
  run(join(repo, 'node_modules/.bin/tsc'), ['-p', join(repo, 'tsconfig.build.json'), '--outDir', join(app, 'dist'), '--sourceMap', String(o.sourceMaps)], {
    cwd: repo,
  });
  writeBuildInfo(join(app, 'dist'), o.revision);
  write(root, `${APP_DIR}/package.json`, runtimePackageJson(repo));
  for (const m of productionModules(repo)) cpSync(join(repo, m.path), join(app, m.path), { recursive: true, verbatimSymlinks: true });
}

/**
 * Modes that depend on nothing but the file's kind: directories 0755 (/tmp 1777), executables
 * 0755, everything else 0644, whatever umask or extraction left behind.
 */
export function normalizeModes(root: string, dir = root): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (st.isSymbolicLink()) continue;
    if (st.isDirectory()) {
      chmodSync(path, path === join(root, 'tmp') ? 0o1777 : 0o755);
      normalizeModes(root, path);
    } else chmodSync(path, st.mode & 0o111 ? 0o755 : 0o644);
  }
}
