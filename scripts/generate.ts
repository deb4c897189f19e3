/**
 * Writes the generated files (the core/v1 schema, the CRD, the bundle, the chart's CRD, the
 * kustomize base) from their single sources of truth. `npm run generate`;
 * test/unit/generated.test.ts and test/unit/core-v1-generated.test.ts fail when a checked-in file
 * differs from what this would write.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { CORE_V1_FILE, coreV1File, haveGo, kubernetesModule } from './core-v1/module.ts';

function write(path: string, text: string): void {
  const url = new URL(`../${path}`, import.meta.url);
  mkdirSync(new URL('.', url), { recursive: true });
  writeFileSync(url, text);
  process.stdout.write(`wrote ${path}\n`);
}

// First: the CRD is built from it. Go finds (and if need be downloads) the Kubernetes module.
if (haveGo()) write(CORE_V1_FILE, coreV1File(kubernetesModule()));
else process.stdout.write(`kept ${CORE_V1_FILE}: it is generated from the k8s.io/kubernetes Go module, and go is not installed\n`);

// Imported only now, so the CRD reads the core/v1 schema just written.
const { generatedFiles } = await import('./generated-files.ts');
for (const [path, text] of Object.entries(generatedFiles())) write(path, text);
