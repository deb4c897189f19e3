/**
 * The playground's files: index.html, playground.css and playground.js, the engine bundled for the
 * browser by esbuild from the same sources the CLI runs. `npm run build` writes them to
 * dist/playground/; `outrigger playground` run from a checkout builds them in memory. esbuild is a
 * development dependency, loaded only here, only from a checkout.
 */

import { readdir, readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseYamlDocuments } from '../io/yaml.ts';

/** A file of the page: its name (no directory) and bytes. */
export interface PlaygroundFile {
  name: string;
  bytes: Uint8Array;
}

/** Every file of the page, by name: nothing else is served. */
export const PLAYGROUND_FILES = ['index.html', 'playground.css', 'playground.js', 'favicon.svg'] as const;

const repo = fileURLToPath(new URL('../../', import.meta.url));
const pageDir = join(repo, 'src/playground');

const BUILTIN = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/** The examples menu: the example profiles together, with each example workload file and each of its documents. */
export async function examples(dir = join(repo, 'examples')): Promise<{ name: string; profiles: string; workload: string; context: object }[]> {
  const read = async (sub: string) => {
    const names = (await readdir(join(dir, sub))).filter((n) => /\.ya?ml$/.test(n)).sort();
    return Promise.all(names.map(async (n) => ({ name: n, text: await readFile(join(dir, sub, n), 'utf8') })));
  };
  const profiles = (await read('profiles')).map((f) => f.text.replace(/\n*$/, '\n')).join('---\n');
  const context = { kubeVersion: '', namespace: '', labels: '' };
  return (await read('workloads')).flatMap((w) => {
    const docs = parseYamlDocuments(w.text, w.name);
    const label = (v: unknown) => {
      const o = (typeof v === 'object' && v !== null ? v : {}) as { kind?: unknown; metadata?: { name?: unknown } };
      return `${String(o.kind ?? '?')} ${String(o.metadata?.name ?? '')}`.trim();
    };
    return [
      { name: `examples/workloads/${w.name}`, profiles, workload: w.text, context },
      ...docs.map((d) => ({ name: `examples/workloads/${w.name}: ${label(d.value)}`, profiles, workload: d.text.replace(/^---\n/, ''), context })),
    ];
  });
}

/**
 * Bundles the page. The bundle must hold no Node built-in: any import of one (fs, node:crypto...)
 * fails the build, naming the module that imports it, instead of shipping a page that breaks.
 */
export async function bundlePlayground(opts: { minify?: boolean; entry?: string } = {}): Promise<PlaygroundFile[]> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [opts.entry ?? join(pageDir, 'page.ts')],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    minify: opts.minify ?? true,
    legalComments: 'none',
    charset: 'utf8',
    logLevel: 'silent',
    define: { OUTRIGGER_EXAMPLES: JSON.stringify(await examples()) },
    plugins: [
      {
        name: 'no-node-builtins',
        setup(build) {
          build.onResolve({ filter: /.*/ }, (args) =>
            BUILTIN.has(args.path)
              ? { errors: [{ text: `the playground bundle may not use Node built-ins: ${args.path} imported by ${args.importer}` }] }
              : undefined,
          );
        },
      },
    ],
    outfile: 'playground.js',
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('playground.js'));
  if (!js) throw new Error('esbuild wrote no playground.js');
  return [
    { name: 'index.html', bytes: await readFile(join(pageDir, 'index.html')) },
    { name: 'playground.css', bytes: await readFile(join(pageDir, 'playground.css')) },
    { name: 'playground.js', bytes: js.contents },
    { name: 'favicon.svg', bytes: await readFile(join(pageDir, 'favicon.svg')) },
  ];
}
