/**
 * The Containerfile (for docker/podman elsewhere) and `npm run image` describe the same image: the
 * same Node version, user, entrypoint, environment, file layout and labels.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { pinnedNodeVersion } from '../../scripts/image/lock.ts';
import { APP_DIR, ENTRYPOINT, ENV, NODE_PATH, NONROOT } from '../../scripts/image/rootfs.ts';
import { IMAGE_TAG, SOURCE_URL } from '../../src/deploy/image.ts';

const text = readFileSync(new URL('../../Containerfile', import.meta.url), 'utf8');
/** Instructions as [keyword, rest], continuation lines joined, comments dropped. */
const instructions = text
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .filter((l) => l.trim() !== '' && !l.startsWith('#'))
  .map((l) => {
    const [keyword = '', ...rest] = l.trim().split(/\s+/);
    return [keyword, rest.join(' ')] as const;
  });
const all = (keyword: string) => instructions.filter(([k]) => k === keyword).map(([, v]) => v);
const finalStage = instructions.slice(instructions.findLastIndex(([k]) => k === 'FROM'));
const last = (keyword: string) => finalStage.filter(([k]) => k === keyword).map(([, v]) => v);
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { license: string };

test('the build stage uses the Node version package-lock.json pins', () => {
  assert.match(all('FROM')[0] ?? '', new RegExp(`^docker\\.io/library/node:${pinnedNodeVersion().replaceAll('.', '\\.')}-bookworm AS build$`));
});

test('the final stage runs as the same user, entrypoint, working directory and environment', () => {
  assert.deepEqual(last('USER'), [`${NONROOT.uid}:${NONROOT.gid}`]);
  assert.deepEqual(
    last('ENTRYPOINT').map((e) => JSON.parse(e)),
    [ENTRYPOINT],
  );
  assert.deepEqual(last('WORKDIR'), [APP_DIR]);
  assert.deepEqual(
    last('ENV').flatMap((e) => e.split(' ')),
    ENV,
  );
});

test('the final stage holds the same files: node, package.json, dist and node_modules under /app', () => {
  const targets = last('COPY').map((c) => c.split(' ').at(-1));
  assert.deepEqual(targets, [NODE_PATH, `${APP_DIR}/package.json`, `${APP_DIR}/dist`, `${APP_DIR}/node_modules`]);
});

test('the labels match the ones npm run image writes', () => {
  const labels = Object.fromEntries(
    [
      ...last('LABEL')
        .join(' ')
        .matchAll(/([\w.]+)="([^"]*)"/g),
    ].map((m) => [m[1], m[2]]),
  );
  assert.equal(labels['org.opencontainers.image.source'], SOURCE_URL);
  assert.equal(labels['org.opencontainers.image.licenses'], pkg.license);
  assert.equal(labels['org.opencontainers.image.title'], 'outrigger');
  // The Containerfile's own ARG reference, taken literally.
  assert.equal(labels['org.opencontainers.image.version'], '$' + '{VERSION}');
  assert.ok(last('ARG').includes(`VERSION=${IMAGE_TAG}`), 'ARG VERSION defaults to the package version');
});
