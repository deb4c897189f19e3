/**
 * The image's SBOM (CycloneDX 1.5 JSON): the Node runtime per architecture, the Debian packages and
 * the npm packages in /app/node_modules, each with its version and the digest the build checked.
 * Built from the lock files alone, so it is as reproducible as the image.
 */
import { IMAGE_REPOSITORY } from '../../src/deploy/image.ts';
import type { Arch, ImageLock } from './lock.ts';
import type { Provenance } from './provenance.ts';

export const SBOM_MEDIA_TYPE = 'application/vnd.cyclonedx+json';
export const SBOM_FILE = 'sbom.cdx.json';

export interface NpmModule {
  name: string;
  version: string;
  integrity: string;
  license?: string;
}

const sriHex = (sri: string) => Buffer.from(sri.replace(/^sha512-/, ''), 'base64').toString('hex');
const arch = (a: string) => [{ name: 'arch', value: a }];

export function sbom(lock: ImageLock, arches: readonly Arch[], modules: NpmModule[], p: Provenance): object {
  const node = arches.map((a) => {
    const n = lock.node[a];
    return {
      type: 'application',
      name: n.name,
      version: n.version,
      purl: `pkg:npm/${n.name}@${n.version}`,
      hashes: [
        { alg: 'SHA-512', content: sriHex(n.integrity) },
        { alg: 'SHA-256', content: n.sha256 },
      ],
      properties: [...arch(a), { name: 'path', value: '/usr/bin/node' }],
    };
  });
  const debs = lock.debian
    .filter((d) => d.architecture === 'all' || (arches as readonly string[]).includes(d.architecture))
    .map((d) => ({
      type: 'library',
      name: d.name,
      version: d.version,
      purl: `pkg:deb/debian/${d.name}@${encodeURIComponent(d.version)}?arch=${d.architecture}&distro=debian-12`,
      hashes: [{ alg: 'SHA-256', content: d.sha256 }],
      externalReferences: [{ type: 'distribution', url: d.url }],
      properties: arch(d.architecture),
    }));
  const npm = modules.map((m) => ({
    type: 'library',
    name: m.name,
    version: m.version,
    purl: `pkg:npm/${m.name.replace('@', '%40')}@${m.version}`,
    hashes: [{ alg: 'SHA-512', content: sriHex(m.integrity) }],
    ...(m.license ? { licenses: [{ license: { id: m.license } }] } : {}),
  }));
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    version: 1,
    metadata: {
      timestamp: p.created,
      component: {
        type: 'container',
        name: IMAGE_REPOSITORY,
        version: p.version,
        licenses: [{ license: { id: p.license } }],
        properties: [{ name: 'org.opencontainers.image.revision', value: p.revision }],
      },
    },
    components: [...node, ...debs, ...npm],
  };
}
