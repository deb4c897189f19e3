/**
 * `npm run release -- --step ID`: one step of the release, as .github/workflows/release.yml runs it.
 * `npm run release:dry-run`: every step that can run without credentials, here, for real; the
 * steps that publish or sign are printed with the exact commands the workflow would run.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { helmBinary } from '../test/tools/helm.ts';
import { gitCommit } from './build/info.ts';
import { type Context, findStep, packageVersion, ReleaseError, STEPS, type Step } from './release/steps.ts';

const HELP = `Usage: npm run release -- --step ID [--tag vX.Y.Z] [--out DIR]
       npm run release:dry-run [-- --tag vX.Y.Z] [--out DIR]
       npm run release -- --list

Options:
  --step ID     run one step (as the release workflow does); publish steps run their commands
  --dry-run     run every local step and print the publish steps' commands without running them
  --tag TAG     the release tag (default: GITHUB_REF_NAME on a tag push; in a dry-run the tag on
                HEAD, else v<package.json version>)
  --out DIR     where the outputs go (default release-out/ for --step, a new temporary directory
                for --dry-run)
  --list        list the steps
  -h, --help    show this help

Steps:
${STEPS.map((s) => `  ${s.id.padEnd(14)} ${s.kind === 'publish' ? '[publish] ' : ''}${s.summary}`).join('\n')}
`;

const repo = fileURLToPath(new URL('..', import.meta.url));
const log = (line: string) => process.stdout.write(`${line}\n`);

function usage(message: string): never {
  process.stderr.write(`error: ${message}\n\n${HELP}`);
  process.exit(2);
}

function headTag(): string | undefined {
  try {
    return (
      execFileSync('git', ['describe', '--tags', '--exact-match', '--match', 'v*', 'HEAD'], {
        cwd: repo,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

/** A shell-ready rendering of argv, for the commands a dry-run prints. */
const quote = (argv: string[]) => argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(' ');

function runStep(step: Step, c: Context): void {
  log(`== ${step.id}: ${step.summary}`);
  if (step.run) {
    step.run(c);
    return;
  }
  if (c.dryRun) step.rehearse?.(c);
  for (const argv of step.commands?.(c) ?? []) {
    if (c.dryRun) {
      log(`would run: ${quote(argv)}`);
      continue;
    }
    log(`+ ${quote(argv)}`);
    try {
      execFileSync(argv[0] as string, argv.slice(1), { cwd: c.repo, stdio: 'inherit' });
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { status?: number };
      throw new ReleaseError(err.code === 'ENOENT' ? `${argv[0]} is not installed` : `${quote(argv)} failed (exit ${err.status ?? err.code})`);
    }
  }
}

let values: { step?: string; 'dry-run'?: boolean; tag?: string; out?: string; list?: boolean; help?: boolean };
try {
  values = parseArgs({
    options: {
      step: { type: 'string' },
      'dry-run': { type: 'boolean' },
      tag: { type: 'string' },
      out: { type: 'string' },
      list: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }).values;
} catch (e) {
  usage((e as Error).message);
}
if (values.help || values.list) {
  process.stdout.write(HELP);
  process.exit(0);
}
const dryRun = values['dry-run'] === true;
if (dryRun === (values.step !== undefined)) usage('give exactly one of --step ID and --dry-run');

const version = packageVersion(repo);
const envTag = process.env.GITHUB_REF_TYPE === 'tag' ? process.env.GITHUB_REF_NAME : undefined;
let tag = values.tag ?? envTag;
if (!tag && dryRun) {
  tag = headTag() ?? `v${version}`;
  log(`tag: ${tag} (${headTag() ? 'the tag on HEAD' : 'HEAD has no v* tag; checking as the tag this release would need'})`);
}
if (!tag) usage('--tag is required (or run on a tag push, which sets GITHUB_REF_NAME)');
const out = resolve(values.out ?? (dryRun ? mkdtempSync(join(tmpdir(), 'outrigger-release-')) : join(repo, 'release-out')));
const c: Context = { repo, out, version, tag, commit: gitCommit(repo), dryRun, log };
// The chart steps use helm built from the module the tests pin (test/tools/helm), unless HELM names one.
if (!process.env.HELM && (dryRun || values.step?.startsWith('helm-'))) process.env.HELM = await helmBinary();

try {
  if (values.step !== undefined) runStep(findStep(values.step), c);
  else {
    for (const step of STEPS) runStep(step, c);
    log(`dry-run done: outputs in ${out}; nothing was pushed, signed or published`);
  }
} catch (e) {
  process.stderr.write(`error: ${e instanceof ReleaseError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
}
