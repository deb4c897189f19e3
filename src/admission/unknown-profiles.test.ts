/** The admission handler hands the server's --unknown-profiles and the namespace's labels to the engine. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import { UNKNOWN_PROFILES_LABEL } from '../common/labels.ts';
import { decide, type HandlerConfig } from './handle.ts';

const profiles = profilesFromYaml(profileYaml('agent', { version: '1', containers: [{ name: 'agent', image: 'a' }] }));
const pod = { metadata: { name: 'p', annotations: { 'outrigger.dev/inject': 'nope' } }, spec: { containers: [{ name: 'app', image: 'app' }] } };
const cfg = (extra: Partial<HandlerConfig>): HandlerConfig => ({ profiles, kubeVersion: { major: 1, minor: 33 }, ...extra });

test('--unknown-profiles reaches the engine, and a namespace label overrides it', () => {
  assert.equal(decide(pod, 'shop', cfg({})).outcome, 'unchanged');
  assert.equal(decide(pod, 'shop', cfg({ unknownProfiles: 'deny' })).outcome, 'denied');
  const labels = (ns: string) => (ns === 'lenient' ? { [UNKNOWN_PROFILES_LABEL]: 'admit' } : { [UNKNOWN_PROFILES_LABEL]: 'deny' });
  assert.equal(decide(pod, 'lenient', cfg({ unknownProfiles: 'deny', namespaceLabels: labels })).outcome, 'unchanged');
  assert.equal(decide(pod, 'strict', cfg({ namespaceLabels: labels })).outcome, 'denied');
});
