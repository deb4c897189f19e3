/**
 * A Stryker test runner for this repository's `node:test` unit tests, run in process. The tap
 * runner starts one Node process per test file per mutant (seconds each on two cores); this one
 * loads the test files through a `node:test` stand-in that records the tests, and runs just the
 * tests that cover a mutant, each with its own id, so coverage is per test.
 *
 * Every run imports a fresh copy of the repository's modules (a generation suffix on their URLs),
 * so no module state — a cache, a memo, an object a test file built at load — carries over from
 * one mutant to the next, and static mutants (code run at load) are reloaded like any other.
 * Stryker restarts the runner process every `maxTestRunnerReuse` runs to bound the memory this keeps.
 * `nodeTest.skipTests` leaves out tests (by a part of their id) too slow to run per mutant.
 */

import { existsSync, globSync, readFileSync, writeFileSync } from 'node:fs';
import { registerHooks, stripTypeScriptTypes } from 'node:module';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { StrykerOptions } from '@stryker-mutator/api/core';
import { commonTokens, declareClassPlugin, PluginKind, tokens } from '@stryker-mutator/api/plugin';
import {
  type DryRunOptions,
  type DryRunResult,
  DryRunStatus,
  determineHitLimitReached,
  type MutantRunOptions,
  type MutantRunResult,
  type TestResult,
  type TestRunner,
  TestStatus,
  toMutantRunResult,
} from '@stryker-mutator/api/test-runner';
import type { Collector, RecordedTest } from './node-test-shim.ts';

interface Namespace {
  activeMutant?: string;
  currentTestId?: string;
  hitCount?: number;
  hitLimit?: number;
  mutantCoverage?: { static: Record<string, number>; perTest: Record<string, Record<string, number>> };
}

// The dry run's time per test, shared with the other runner processes through the sandbox, so a
// mutant's tests run fastest first: a killed mutant is then usually killed early. Both paths are
// read when used: a runner process enters the sandbox only after it has loaded this plugin.
const times = () => resolve('.mutation-test-times.json');
const sandbox = () => pathToFileURL(`${process.cwd()}/`).href;
const shim = new URL('./node-test-shim.ts', import.meta.url).href;
let generation = 0;
const ours = (url: string) => url.startsWith(sandbox()) && !url.includes('/node_modules/') && !url.startsWith(shim);
/** Each file's JavaScript, stripped of its types once: re-stripping the instrumented sources on every run was most of its cost. */
const stripped = new Map<string, string>();

registerHooks({
  resolve(specifier, context, nextResolve) {
    const parent = context.parentURL;
    if (specifier === 'node:test' && parent && ours(parent)) return { url: shim, shortCircuit: true };
    const r = nextResolve(specifier, context);
    if (!ours(r.url)) return r;
    return { ...r, url: `${r.url.split('?')[0]}?generation=${generation}` };
  },
  load(url, context, nextLoad) {
    const file = url.split('?')[0] ?? url;
    if (!ours(url) || !file.endsWith('.ts')) return nextLoad(url, context);
    let source = stripped.get(file);
    if (source === undefined) {
      source = stripTypeScriptTypes(readFileSync(fileURLToPath(file), 'utf8'));
      stripped.set(file, source);
    }
    return { format: 'module', source, shortCircuit: true };
  },
});

class NodeTestRunner implements TestRunner {
  static inject = tokens(commonTokens.options);
  readonly #files: string[];
  readonly #skip: string[];
  readonly #ns: Namespace;

  constructor(options: StrykerOptions) {
    const o = (options as StrykerOptions & { nodeTest?: { testFiles?: string[]; skipTests?: string[] } }).nodeTest;
    this.#files = [...new Set((o?.testFiles ?? []).flatMap((g) => globSync(g)))].sort();
    this.#skip = o?.skipTests ?? [];
    const g = globalThis as { __stryker__?: Namespace };
    g.__stryker__ ??= {};
    this.#ns = g.__stryker__;
  }

  capabilities() {
    return { reloadEnvironment: true };
  }

  /** Imports the files afresh and returns their tests (with `currentTestId` unset: what runs now is static). */
  async #load(files: readonly string[]): Promise<RecordedTest[]> {
    generation++;
    const tests: RecordedTest[] = [];
    for (const file of files) {
      const c: Collector = { file, tests: [] };
      (globalThis as { __outriggerMutationCollector__?: Collector }).__outriggerMutationCollector__ = c;
      await import(`${pathToFileURL(resolve(file)).href}?generation=${generation}`);
      for (const t of c.tests) tests.push(this.#skip.some((s) => t.id.includes(s)) ? { ...t, skip: true } : t);
    }
    return tests;
  }

  async #run(tests: readonly RecordedTest[], bail: boolean): Promise<TestResult[]> {
    const results: TestResult[] = [];
    for (const t of tests) {
      const base = { id: t.id, name: t.id, fileName: t.id.split(' > ')[0] };
      if (t.skip) {
        results.push({ ...base, status: TestStatus.Skipped, timeSpentMs: 0 });
        continue;
      }
      this.#ns.currentTestId = t.id;
      const start = performance.now();
      try {
        await t.fn();
        results.push({ ...base, status: TestStatus.Success, timeSpentMs: performance.now() - start });
      } catch (e) {
        const failureMessage = e instanceof Error ? e.message : String(e);
        results.push({ ...base, status: TestStatus.Failed, failureMessage, timeSpentMs: performance.now() - start });
        if (bail) break;
      } finally {
        this.#ns.currentTestId = undefined;
      }
    }
    return results;
  }

  #times: Record<string, number> | undefined;
  #fastestFirst(tests: RecordedTest[]): RecordedTest[] {
    this.#times ??= existsSync(times()) ? (JSON.parse(readFileSync(times(), 'utf8')) as Record<string, number>) : {};
    const time = (t: RecordedTest) => this.#times?.[t.id] ?? Number.MAX_VALUE;
    return tests.sort((a, b) => time(a) - time(b));
  }

  #clearCoverage(): void {
    const cov = this.#ns.mutantCoverage;
    if (!cov) return;
    for (const k of Object.keys(cov.static)) delete cov.static[k];
    for (const k of Object.keys(cov.perTest)) delete cov.perTest[k];
  }

  async dryRun(options: DryRunOptions): Promise<DryRunResult> {
    this.#clearCoverage();
    this.#ns.activeMutant = undefined;
    this.#ns.hitLimit = undefined;
    this.#ns.hitCount = undefined;
    try {
      const files = options.testFiles ? this.#files.filter((f) => options.testFiles?.some((t) => resolve(t) === resolve(f))) : this.#files;
      const tests = await this.#run(await this.#load(files), !options.disableBail);
      writeFileSync(times(), JSON.stringify(Object.fromEntries(tests.map((t) => [t.id, t.timeSpentMs]))));
      const cov = this.#ns.mutantCoverage ?? { static: {}, perTest: {} };
      return { status: DryRunStatus.Complete, tests, mutantCoverage: structuredClone(cov) };
    } catch (e) {
      return { status: DryRunStatus.Error, errorMessage: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    }
  }

  async mutantRun(options: MutantRunOptions): Promise<MutantRunResult> {
    this.#clearCoverage();
    const filter = options.testFilter ? new Set(options.testFilter) : undefined;
    const files = filter ? this.#files.filter((f) => [...filter].some((id) => id.startsWith(`${f} > `))) : this.#files;
    const id = options.activeMutant.id;
    this.#ns.hitCount = options.hitLimit === undefined ? undefined : 0;
    this.#ns.hitLimit = options.hitLimit;
    this.#ns.activeMutant = options.mutantActivation === 'static' ? id : undefined;
    try {
      const loaded = await this.#load(files);
      this.#ns.activeMutant = id;
      const tests = await this.#run(this.#fastestFirst(filter ? loaded.filter((t) => filter.has(t.id)) : loaded), !options.disableBail);
      const timeout = determineHitLimitReached(this.#ns.hitCount, this.#ns.hitLimit);
      return toMutantRunResult(timeout ?? { status: DryRunStatus.Complete, tests });
    } catch (e) {
      // A mutant that breaks loading (a test file's top level throws) is caught by the tests.
      const failureMessage = e instanceof Error ? e.message : String(e);
      return toMutantRunResult({
        status: DryRunStatus.Complete,
        tests: [{ id: options.testFilter?.[0] ?? 'load', name: 'load', status: TestStatus.Failed, failureMessage, timeSpentMs: 0 }],
      });
    } finally {
      this.#ns.activeMutant = undefined;
      this.#ns.hitLimit = undefined;
      this.#ns.hitCount = undefined;
    }
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.TestRunner, 'node-test-in-process', NodeTestRunner)];
