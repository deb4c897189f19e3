/**
 * `npm run image -- --out DIR [--archive FILE]`: builds Outrigger's container image (linux/amd64 and
 * linux/arm64) as an OCI layout, reproducibly, from the inputs pinned in image/lock.json.
 */

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { IMAGE } from '../src/deploy/image.ts';
import { buildImage } from './image/build.ts';
import { ARCHES, type Arch } from './image/lock.ts';
import { provenance } from './image/provenance.ts';

const HELP = `Usage: npm run image -- --out DIR [options]

Writes ${IMAGE} (linux/amd64 and linux/arm64) as an OCI image layout to DIR.

Options:
  --out DIR          the OCI layout to write (replaced if it is one already)
  --archive FILE     also write an oci-archive tarball (podman load, skopeo copy, ctr images import)
  --sbom FILE        also write the SBOM (CycloneDX JSON) here; it is in the image index either way
  --platform LIST    architectures, comma-separated (default ${ARCHES.join(',')})
  --source-maps      include the .js.map files
  -h, --help         show this help
`;

function fail(message: string): never {
  process.stderr.write(`error: ${message}\n\n${HELP}`);
  process.exit(2);
}

function parse() {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      options: {
        out: { type: 'string' },
        archive: { type: 'string' },
        sbom: { type: 'string' },
        platform: { type: 'string' },
        'source-maps': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    fail((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  if (typeof values.out !== 'string') fail('--out DIR is required');
  const arches = (typeof values.platform === 'string' ? values.platform.split(',') : [...ARCHES]).map((a) => a.replace(/^linux\//, ''));
  for (const a of arches) if (!(ARCHES as readonly string[]).includes(a)) fail(`--platform: ${JSON.stringify(a)} is not one of ${ARCHES.join(', ')}`);
  return {
    out: resolve(values.out),
    ...(typeof values.archive === 'string' ? { archive: resolve(values.archive) } : {}),
    ...(typeof values.sbom === 'string' ? { sbom: resolve(values.sbom) } : {}),
    arches: arches as Arch[],
    sourceMaps: values['source-maps'] === true,
  };
}

const repo = fileURLToPath(new URL('..', import.meta.url));
const o = parse();
try {
  const r = await buildImage(repo, o, provenance(repo));
  process.stdout.write(
    `${IMAGE} ${r.index.digest}\n${r.manifests.map((m) => `  ${m.platform?.os}/${m.platform?.architecture} ${m.digest}`).join('\n')}\nwrote ${o.out}${o.archive ? ` and ${o.archive}` : ''}\n`,
  );
} catch (e) {
  process.stderr.write(`error: ${(e as Error).message}\n`);
  process.exit(1);
}
