/** The alert groups of deploy/monitoring/prometheus-rule.yaml: the one source for the chart's copy and promtool. */
import { readFileSync } from 'node:fs';
import { isObject, type JsonValue } from '../src/common/json.ts';
import { parseYamlDocuments } from '../src/io/yaml.ts';

export const PROMETHEUS_RULE = 'deploy/monitoring/prometheus-rule.yaml';

/** spec.groups of the PrometheusRule in `text`; `source` names the file in errors. */
export function ruleGroups(text: string, source: string): JsonValue[] {
  const docs = parseYamlDocuments(text, source);
  if (docs.length !== 1) throw new Error(`${source}: expected one document, found ${docs.length}`);
  const rule = docs[0]?.value;
  if (!isObject(rule) || rule.apiVersion !== 'monitoring.coreos.com/v1' || rule.kind !== 'PrometheusRule')
    throw new Error(`${source}: expected a monitoring.coreos.com/v1 PrometheusRule`);
  const groups = isObject(rule.spec) ? rule.spec.groups : undefined;
  if (!Array.isArray(groups) || groups.length === 0) throw new Error(`${source}: spec.groups must be a non-empty list`);
  return groups;
}

export function readRuleGroups(root: URL): JsonValue[] {
  return ruleGroups(readFileSync(new URL(PROMETHEUS_RULE, root), 'utf8'), PROMETHEUS_RULE);
}
