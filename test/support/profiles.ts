/** Test helpers: build profile sets from YAML text, as users write them. */
import { readFileSync } from 'node:fs';
import { type ProfileSet, profileSet } from '../../src/engine/profile.ts';
import { compileProfile } from '../../src/profiles/compile.ts';
import { parseProfiles } from '../../src/profiles/parse.ts';

export function profilesFromYaml(text: string): ProfileSet {
  const r = parseProfiles(text, 'test.yaml');
  if (r.errors.length > 0) throw new Error(r.errors.join('\n'));
  return profileSet(r.profiles);
}

/**
 * Profiles compiled without load-time validation, as if a check had been missed: for the engine's
 * own last line of defence (`invalid-result`), which must hold whatever reaches it.
 */
export function unvalidatedProfiles(...docs: object[]): ProfileSet {
  return profileSet(docs.map((d, i) => compileProfile(structuredClone(d) as Parameters<typeof compileProfile>[0], `unvalidated ${i + 1}`)));
}

/** A SidecarProfile document with the given name and spec (YAML flow/JSON text for the spec). */
export function profileYaml(name: string, spec: object): string {
  return JSON.stringify({ apiVersion: 'outrigger.dev/v1alpha1', kind: 'SidecarProfile', metadata: { name }, spec });
}

export function exampleProfiles(): ProfileSet {
  const dir = new URL('../../examples/profiles/', import.meta.url);
  return profilesFromYaml(['envoy.yaml', 'log-shipper.yaml', 'secrets-agent.yaml'].map((f) => readFileSync(new URL(f, dir), 'utf8')).join('\n---\n'));
}

/** A SidecarProfile named "a" at version "1", up to and including `spec:` and its version: append more spec lines (indented two spaces). */
export const SPEC_HEADER = 'apiVersion: outrigger.dev/v1alpha1\nkind: SidecarProfile\nmetadata: {name: a}\nspec:\n  version: "1"\n';

/** The load errors of that profile with `specLines` added, without the file and document prefix. */
export function specErrors(specLines: string): string[] {
  return parseProfiles(SPEC_HEADER + specLines, 'p.yaml').errors.map((e) => e.replace('p.yaml, document 1: ', ''));
}
