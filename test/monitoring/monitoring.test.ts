/**
 * The monitoring files against the real server: every metric an alert, the dashboard or the
 * operations guide names is one a live `outrigger serve` exposes; promtool lints that scrape,
 * checks the rules and runs their unit tests (deploy/monitoring/tests: each alert firing and not).
 */
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readRuleGroups } from '../../scripts/prometheus-rules.ts';
import { isObject, type JsonValue } from '../../src/common/json.ts';
import { toYaml } from '../../src/io/yaml.ts';
import { startTarget, type Target } from '../adversarial/support.ts';
import { send, tempDir } from '../support/webhook.ts';
import { exposedNames, mentionedNames } from './metric-names.ts';
import { promtool, promtoolProblem } from './promtool.ts';

const ROOT = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, ROOT), 'utf8');
const skip = promtoolProblem();

let target: Target;
let scrape: string;

before(async () => {
  target = await startTarget();
  const r = await send(target.port, { method: 'GET', path: '/metrics', ca: target.caPem });
  assert.equal(r.status, 200, r.text);
  scrape = r.text;
});
after(() => target?.stop());

/** Every PromQL expression in a Grafana dashboard, at any depth. */
function dashboardExprs(v: JsonValue): string[] {
  if (Array.isArray(v)) return v.flatMap(dashboardExprs);
  if (!isObject(v)) return [];
  return Object.entries(v).flatMap(([k, x]) => (k === 'expr' && typeof x === 'string' ? [x] : dashboardExprs(x)));
}

function ruleExprs(): { alert: string; expr: string }[] {
  return readRuleGroups(ROOT).flatMap((g) =>
    isObject(g) && Array.isArray(g.rules) ? g.rules.filter(isObject).map((r) => ({ alert: String(r.alert), expr: String(r.expr) })) : [],
  );
}

function assertExposed(where: string, names: Set<string>): void {
  const exposed = exposedNames(scrape);
  assert.ok(names.size > 0, `${where} names no metric`);
  const unknown = [...names].filter((n) => !exposed.has(n));
  assert.deepEqual(unknown, [], `${where} names metrics that outrigger serve does not expose`);
}

test('every metric an alert expression uses is exposed by outrigger serve', () => {
  for (const { alert, expr } of ruleExprs()) assertExposed(`alert ${alert}`, mentionedNames(expr));
});

test('every metric the Grafana dashboard queries is exposed by outrigger serve', () => {
  const exprs = dashboardExprs(JSON.parse(read('deploy/monitoring/grafana-dashboard.json')) as JsonValue);
  assert.ok(exprs.length >= 8, 'the dashboard has its panels');
  assertExposed('the dashboard', new Set(exprs.flatMap((e) => [...mentionedNames(e)])));
});

test('every metric docs/operations.md names is exposed by outrigger serve', () => {
  assertExposed('docs/operations.md', mentionedNames(read('docs/operations.md')));
});

test('every alert has a severity, a summary, a description and a runbook entry in docs/operations.md', () => {
  const docs = read('docs/operations.md');
  for (const g of readRuleGroups(ROOT)) {
    assert.ok(isObject(g) && Array.isArray(g.rules));
    for (const r of g.rules) {
      assert.ok(isObject(r) && isObject(r.labels) && isObject(r.annotations), JSON.stringify(r));
      const name = String(r.alert);
      assert.match(String(r.labels.severity), /^(critical|warning|info)$/, `${name}: severity`);
      assert.ok(r.annotations.summary && r.annotations.description, `${name}: summary and description`);
      const anchor = name.toLowerCase();
      assert.equal(r.annotations.runbook_url, `https://github.com/outrigger-dev/outrigger/blob/main/docs/operations.md#${anchor}`, `${name}: runbook_url`);
      assert.ok(docs.includes(`\n### ${name}\n`), `docs/operations.md has a runbook section "### ${name}"`);
    }
  }
});

test('promtool check metrics accepts the live scrape', { skip }, () => {
  const r = promtool(['check', 'metrics'], { input: scrape });
  assert.equal(r.status, 0, r.output);
});

test('promtool check rules accepts the rule groups, and promtool test rules passes every alert test', { skip }, () => {
  const { dir, cleanup } = tempDir('outrigger-monitoring-');
  try {
    writeFileSync(join(dir, 'rules.yaml'), toYaml({ groups: readRuleGroups(ROOT) }));
    const check = promtool(['check', 'rules', 'rules.yaml'], { cwd: dir });
    assert.equal(check.status, 0, check.output);
    assert.match(check.output, new RegExp(`SUCCESS: ${ruleExprs().length} rules found`));
    const testsDir = new URL('deploy/monitoring/tests/', ROOT);
    const files = readdirSync(testsDir).filter((f) => f.endsWith('.yaml'));
    assert.ok(files.length > 0, 'deploy/monitoring/tests holds promtool tests');
    for (const f of files) copyFileSync(new URL(f, testsDir), join(dir, f));
    const run = promtool(['test', 'rules', ...files], { cwd: dir });
    assert.equal(run.status, 0, run.output);
  } finally {
    cleanup();
  }
});

test('the promtool tests make every alert fire and also check it not firing', () => {
  const tested = new Map<string, { fires: boolean; quiet: boolean }>();
  const text = read('deploy/monitoring/tests/alerts.yaml');
  // Each alert_rule_test entry: its alertname, then exp_alerts empty ([]) or not.
  for (const m of text.matchAll(/- alertname: (\w+)\n\s+eval_time: \S+\n\s+exp_alerts:( \[\])?/g)) {
    const t = tested.get(m[1] as string) ?? { fires: false, quiet: false };
    if (m[2]) t.quiet = true;
    else t.fires = true;
    tested.set(m[1] as string, t);
  }
  for (const { alert } of ruleExprs()) assert.deepEqual(tested.get(alert), { fires: true, quiet: true }, alert);
});
