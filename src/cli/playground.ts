/**
 * `outrigger playground`: serves the browser playground and prints its URL, with the given files
 * and context in the URL's fragment so the page opens with them. Runs until SIGINT or SIGTERM.
 * The page's files come from dist/playground/ in the built package, or are bundled in memory
 * when run from a checkout (src/, with esbuild from the development dependencies).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { readProfileSources } from '../profiles/load.ts';
import { ProfileLoadError } from '../profiles/parse.ts';
import { EXIT, engineFlags, type Io } from './commands.ts';
import { readInputs } from './input.ts';
import { engineOptions } from './offline-core.ts';
import { parseFlags, UsageError } from './options.ts';
import { writeStream } from './output.ts';
import { PLAYGROUND_FILES, type PlaygroundFile } from './playground-bundle.ts';
import { encodeFragment, MAX_FRAGMENT } from './playground-fragment.ts';
import { startPlaygroundServer } from './playground-server.ts';

export const PLAYGROUND_HELP = `Usage: outrigger playground [--port N] [--address ADDR] [--profiles PATH] [-f FILE] [options]

Serves the profile playground, the engine running in the browser: type profiles and a workload,
see what inject and explain print, the diff and the JSON Patch. Prints the page's URL; the files
and context given here are in the URL's fragment (#...), which the browser never sends, so the
page opens with them. Nothing typed in the page leaves the browser. Stops on Ctrl-C or SIGTERM.

Options:
      --port N             port to listen on (default 8090; 0 picks a free one)
      --address ADDR       address to listen on (default 127.0.0.1, this machine only)
  -p, --profiles PATH      SidecarProfile file or directory to open the page with (repeatable)
  -f, --filename PATH      manifest file, directory or - to open the page with (repeatable)
  -R, --recursive          descend into subdirectories of a -f directory
      --kube-version X.Y   the page's Kubernetes version
  -n, --namespace NAME     the page's namespace
      --namespace-label K=V  the page's namespace labels (repeatable)
      --unknown-profiles admit|deny  the page's choice for requested profiles that do not exist
  -h, --help               show this help

Exit codes: 0 stopped by a signal, 1 the page's files are not in this build (or another internal
error), 2 usage error, 3 unreadable --profiles or -f input.
`;

export const PLAYGROUND_FLAGS = {
  port: { type: 'string' },
  address: { type: 'string' },
  filename: { type: 'string', short: 'f', multiple: true },
  recursive: { type: 'boolean', short: 'R' },
  ...engineFlags,
} as const;

export const DEFAULT_PORT = 8090;

function parsePort(v: string | undefined): number {
  if (v === undefined) return DEFAULT_PORT;
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) throw new UsageError(`--port: ${JSON.stringify(v)} is not a port number (0 to 65535)`);
  return Number(v);
}

/** A failure to listen as the flag that caused it; anything else is left as it is. */
export function listenError(e: NodeJS.ErrnoException, address: string, port: number): Error {
  if (e.code === 'EADDRINUSE') return new UsageError(`--port ${port}: ${address}:${port} is in use; pick another port, or --port 0 for any free one`);
  if (e.code === 'EACCES') return new UsageError(`--port ${port}: not allowed to listen on ${address}:${port}`);
  if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN')
    return new UsageError(`--address ${address}: not an address of this machine (${e.code})`);
  return e;
}

/** The page's files: built ones beside dist/cli, or bundled now when running from src/. */
export async function playgroundFiles(): Promise<PlaygroundFile[]> {
  if (import.meta.url.endsWith('.ts')) return (await import('./playground-bundle.ts')).bundlePlayground();
  const dir = fileURLToPath(new URL('../playground/', import.meta.url));
  try {
    return await Promise.all(PLAYGROUND_FILES.map(async (name) => ({ name, bytes: await readFile(`${dir}${name}`) })));
  } catch (e) {
    throw new Error(`the playground's files are not in ${dir} (${(e as Error).message}); build them with npm run build`);
  }
}

/** The given profile files, one text (files joined as documents). */
async function profilesText(paths: readonly string[]): Promise<string> {
  const sources = await readProfileSources(paths);
  const errors = [...sources.errors.map((e) => e.error), ...sources.files.flatMap((f) => (f.error ? [f.error] : []))];
  if (errors.length > 0) throw new ProfileLoadError(errors);
  return writeStream(sources.files.map((f) => ({ value: null, changed: false, text: f.bytes?.toString('utf8') ?? '' })));
}

export async function playgroundCommand(argv: string[], io: Io, hooks: { signal?: AbortSignal } = {}): Promise<number> {
  const { values } = parseFlags(argv, PLAYGROUND_FLAGS);
  if (values.help) {
    io.stdout.write(PLAYGROUND_HELP);
    return EXIT.ok;
  }
  const port = parsePort(values.port);
  const address = values.address ?? '127.0.0.1';
  engineOptions(values); // the context flags are checked as inject checks them
  const profiles = values.profiles?.length ? await profilesText(values.profiles) : '';
  const workload = values.filename?.length
    ? writeStream((await readInputs(values.filename, values.recursive === true, io.stdin)).map((d) => ({ ...d, changed: false })))
    : '';
  const context = {
    kubeVersion: values['kube-version'] ?? '',
    namespace: values.namespace ?? '',
    labels: (values['namespace-label'] ?? []).map((l) => `${l}\n`).join(''),
    unknownProfiles: values['unknown-profiles'] ?? '',
  };
  const preload = profiles !== '' || workload !== '' || Object.values(context).some((v) => v !== '');
  // The limit is on the URL that results (base64 of UTF-8 JSON), which browsers cap at about 2 MB.
  const fragment = preload ? encodeFragment({ profiles, workload, context }) : '';
  if (fragment.length > MAX_FRAGMENT)
    throw new UsageError(`--profiles and -f make a ${fragment.length}-character link; the page can be opened with at most ${MAX_FRAGMENT}`);

  let files: PlaygroundFile[];
  try {
    files = await playgroundFiles();
  } catch (e) {
    // A package built without the page (the container image compiles src/ only).
    io.stderr.write(`error: ${(e as Error).message}\n`);
    return EXIT.internal;
  }
  const server = await startPlaygroundServer(files, address, port).catch((e: NodeJS.ErrnoException) => {
    throw listenError(e, address, port);
  });
  io.stdout.write(`Outrigger playground on ${server.url} (Ctrl-C stops it)\n${server.url}${fragment}\n`);
  const why = await new Promise<string>((resolve) => {
    const stop = (reason: string) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      hooks.signal?.removeEventListener('abort', onAbort);
      resolve(reason);
    };
    const onSignal = (signal: NodeJS.Signals) => stop(signal);
    const onAbort = () => stop('abort');
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    if (hooks.signal?.aborted) onAbort();
    else hooks.signal?.addEventListener('abort', onAbort, { once: true });
  });
  await server.close();
  io.stderr.write(`playground stopped (${why})\n`);
  return EXIT.ok;
}
