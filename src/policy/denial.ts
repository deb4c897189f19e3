/**
 * Why the engine would deny a wanted profile, as a CEL string ('' when it would not), with the
 * engine's own message: too many target checks (target-bound.ts), an override annotation the
 * profile does not allow (render.ts), then the first conflict in merge order under conflictPolicy
 * fail (merge/settle.ts). A ValidatingAdmissionPolicy denies with it; the mutation is not applied.
 */
import { overrideAnnotation } from '../common/labels.ts';
import { cannotInject, type SidecarProfile } from '../engine/index.ts';
import { chosen, hasAnnotation, str } from './cel.ts';
import { itemIs, type PodItem } from './items.ts';
import { cutQuoted } from './rules.ts';
import { active, type Targeting, tooManyChecks } from './targets.ts';
import type { TemplateError } from './templates.ts';
import type { Variable } from './variables.ts';

const conflictText = (what: string, clash: string) => `it adds ${what}, but ${clash} (conflictPolicy: fail)`;

/** The conflicts of one targeting, per targeted container in pod order: env, then mounts. */
function targetConflicts(t: Targeting): string {
  if (!active(t)) return '[]';
  const where = t.field === 'containers' ? 'container' : 'init container';
  const text = (what: (name: string) => string, clash: string) => {
    const [before, after] = conflictText(what('\u0000'), clash).split('"\u0000"') as [string, string];
    return `${str(`${before}"`)} + t.name + ${str(`"${after}`)}`;
  };
  const env = t.env.map(
    (e, j) =>
      `t.env[${j}] == 'conflict' ? ${text((n) => `env ${JSON.stringify(e.name)} in ${where} "${n}"`, `that container already sets ${JSON.stringify(e.name)} differently`)} : ''`,
  );
  const mounts = t.mounts.map(
    (m, j) =>
      `t.mounts[${j}] == 'conflict' ? ${text((n) => `volumeMount at ${JSON.stringify(m.mountPath)} in ${where} "${n}"`, 'that container already mounts something else there')} : ''`,
  );
  return `variables.${t.variable}.map(t, ${chosen([...env, ...mounts])}).flatten()`;
}

/** Every conflict, in the order the merge meets them. */
function conflicts(items: readonly PodItem[], targetings: readonly Targeting[]): string {
  const at = (field: (i: PodItem) => boolean) =>
    chosen(items.filter(field).map((i) => `${itemIs(i, 'conflict')} ? ${str(conflictText(i.what, i.clash))} : ''`));
  const podLists = at((i) => i.field !== 'labels' && i.field !== 'annotations');
  const metadata = at((i) => i.field === 'labels' || i.field === 'annotations');
  return [podLists, ...targetings.map(targetConflicts), metadata].join(' + ');
}

/** Override annotations the profile does not allow (it allows none: others are refused). */
function overrides(p: SidecarProfile): [string, string][] {
  const tag = overrideAnnotation(p.name, 'image-tag');
  const res = overrideAnnotation(p.name, 'resources');
  return [
    ...(p.overrides.imageTag
      ? []
      : [
          [hasAnnotation(tag), `${tag}: profile ${JSON.stringify(p.name)} does not allow overriding the image tag (spec.overrides.imageTag)`] as [
            string,
            string,
          ],
        ]),
    [hasAnnotation(res), `${res}: profile ${JSON.stringify(p.name)} does not allow overriding resources (spec.overrides.resources)`],
  ];
}

/**
 * The value of the first template that breaks its rule, and its cut: when the denial reads them,
 * every error before that template's is false, so it is this one. The cut's CEL is written once
 * instead of once per template (a CEL expression holds at most 100,000 characters).
 */
function brokenVariables(templates: readonly TemplateError[]): Variable[] {
  const broken = templates.filter((t) => t.broken);
  if (broken.length === 0) return [];
  const value = broken.map((t) => `${t.when} ? ${t.broken?.value} : `).join('');
  return [
    { name: 'brokenValue', expression: `${value}''` },
    { name: 'brokenCut', expression: cutQuoted('variables.brokenValue') },
  ];
}

export function denialVariables(
  p: SidecarProfile,
  items: readonly PodItem[],
  targetings: readonly Targeting[],
  templates: readonly TemplateError[],
  tags: readonly TemplateError[],
): Variable[] {
  const prefix = str(cannotInject(p, ''));
  // Templates render first, in their order, then overrides are read, the tag checked last (render.ts renderParts).
  const message = (t: TemplateError) => {
    if (t.broken) return `${prefix} + ${t.broken.before} + variables.brokenCut + ${t.broken.after}`;
    return t.expression ? `${prefix} + ${t.expression}` : str(cannotInject(p, t.message));
  };
  const checks = [...templates, ...overrides(p).map(([when, m]) => ({ when, message: m })), ...tags];
  const chain = checks.map((t) => `${t.when} ? ${message(t)} : `);
  // keep-pod settles every conflict; under fail the first one stops the merge (and failurePolicy decides).
  const conflict = p.conflictPolicy === 'fail' ? `size(variables.conflicts) > 0 ? ${prefix} + variables.conflicts[0] : ''` : "''";
  return [
    { name: 'tooMany', expression: tooManyChecks(p) },
    ...brokenVariables(templates),
    ...(p.conflictPolicy === 'fail' ? [{ name: 'conflicts', expression: conflicts(items, targetings) }] : []),
    { name: 'denial', expression: `variables.tooMany != '' ? variables.tooMany : ${chain.join('')}${conflict}` },
  ];
}
