/**
 * Stands in for `node:test` while the mutation runner loads a test file: `describe` and `test`
 * record the tests instead of running them, so the runner can run any one of them again, in
 * process, under another mutant. Only what the mutated suites use is here; anything else fails
 * loudly at load (the dry run then reports it) rather than running wrongly.
 */
type TestFn = () => unknown;
interface Options {
  skip?: boolean | string;
  todo?: boolean | string;
}
export interface RecordedTest {
  /** `file > suite > name`, made unique within the file. */
  id: string;
  fn: TestFn;
  skip: boolean;
}
export interface Collector {
  file: string;
  tests: RecordedTest[];
}

const suites: string[] = [];
const skippedSuites: boolean[] = [];

function collector(): Collector {
  const c = (globalThis as { __outriggerMutationCollector__?: Collector }).__outriggerMutationCollector__;
  if (!c) throw new Error('node:test shim used outside the mutation runner');
  return c;
}

function args(a: unknown, b: unknown): { opts: Options; fn: TestFn | undefined } {
  if (typeof a === 'function') return { opts: {}, fn: a as TestFn };
  return { opts: (a ?? {}) as Options, fn: b as TestFn | undefined };
}

const skipped = (opts: Options): boolean => Boolean(opts.skip) || Boolean(opts.todo) || skippedSuites.includes(true);

export function test(name: string, a?: unknown, b?: unknown): void {
  const { opts, fn } = args(a, b);
  const c = collector();
  const base = [c.file, ...suites, name].join(' > ');
  let id = base;
  for (let n = 2; c.tests.some((t) => t.id === id); n++) id = `${base} #${n}`;
  c.tests.push({ id, fn: fn ?? (() => {}), skip: skipped(opts) || !fn });
}

export function describe(name: string, a?: unknown, b?: unknown): void {
  const { opts, fn } = args(a, b);
  suites.push(name);
  skippedSuites.push(Boolean(opts.skip) || Boolean(opts.todo));
  try {
    const r = fn?.();
    if (r instanceof Promise) throw new Error(`describe("${name}") is async; the mutation runner needs it synchronous`);
  } finally {
    suites.pop();
    skippedSuites.pop();
  }
}

test.skip = (name: string, a?: unknown, b?: unknown) => test(name, { ...args(a, b).opts, skip: true }, args(a, b).fn);
describe.skip = (name: string, a?: unknown, b?: unknown) => describe(name, { ...args(a, b).opts, skip: true }, args(a, b).fn);
export const it = test;
