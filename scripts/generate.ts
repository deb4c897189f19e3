/**
 * Writes the generated files (the CRD, the bundle, the chart's CRD, the kustomize base) from their
 * single sources of truth. `npm run generate`;
 * test/unit/generated.test.ts fails when a checked-in file differs from what this would write.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { generatedFiles } from './generated-files.ts';

for (const [path, text] of Object.entries(generatedFiles())) {
  const url = new URL(`../${path}`, import.meta.url);
  mkdirSync(new URL('.', url), { recursive: true });
  writeFileSync(url, text);
  process.stdout.write(`wrote ${path}\n`);
}
