/**
 * The Node.js versions the CLI runs on. Kept free of imports and of any newer API, so the
 * executable can load it on an old Node and refuse with a message rather than fail obscurely.
 */

/** The oldest major version supported; package.json's `engines` says the same (a test checks). */
export const MIN_NODE_MAJOR = 24;

/** Why this Node cannot run the CLI (`version` as in `process.versions.node`), or undefined when it can. */
export function nodeRefusal(version: string): string | undefined {
  const major = Number(/^(\d+)\./.exec(version)?.[1]);
  if (major >= MIN_NODE_MAJOR) return undefined;
  return `outrigger needs Node.js ${MIN_NODE_MAJOR} or newer; this is Node.js ${version}. Install Node.js ${MIN_NODE_MAJOR} or later (any current LTS) and run it again.\n`;
}
