/**
 * The per-pod image tag override (`outrigger.dev/<profile>.image-tag`, render.ts) as CEL: with the
 * annotation, every sidecar and init container with an image gets the tag (the digest dropped); a
 * tag that breaks the engine's rule (k8s-names.ts imageTag) is the engine's invalid-override, with
 * its message. The resources override stays refused (JSON in an annotation).
 */
import type { JsonObject } from '../common/json.ts';
import { overrideAnnotation } from '../common/labels.ts';
import { type SidecarProfile, withTag } from '../engine/index.ts';
import { CelExpr, hasAnnotation, literal, str } from './cel.ts';
import type { TemplateError } from './templates.ts';

const TAG = '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$';
const TOO_LONG = 'must be no more than 128 characters';
const NOT_A_TAG = 'must be an image tag (letters, digits, "_", "." and "-", not starting with "." or "-")';

/** JSON.stringify of a CEL string: backslash, quote, and the C0 controls are all it escapes (the API server's strings are valid UTF-8). */
export function jsonQuoted(s: string): string {
  const short: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r' };
  let out = `${s}.replace('\\\\', '\\\\\\\\').replace('"', '\\\\"')`;
  for (let c = 0; c < 0x20; c++) out += `.replace(${str(String.fromCharCode(c))}, ${str(short[c] ?? `\\u${c.toString(16).padStart(4, '0')}`)})`;
  return `'"' + ${out} + '"'`;
}

/** The annotation's length as JavaScript counts it (UTF-16 code units): astral characters count twice. */
const utf16Length = (s: string) => `(size(${s}) + size(${s}.findAll('[\\\\x{10000}-\\\\x{10FFFF}]')))`;

/** Containers with the tag applied when the pod asks for one. */
export function withImageTag(p: SidecarProfile): SidecarProfile {
  if (!p.overrides.imageTag) return p;
  const key = overrideAnnotation(p.name, 'image-tag');
  const tag = `object.metadata.annotations[${str(key)}]`;
  const tagged = (c: JsonObject, path: string): JsonObject => {
    if (typeof c.image !== 'string') return c;
    const repo = withTag(c.image, '');
    const image = new CelExpr(`(${hasAnnotation(key)} ? ${str(repo)} + ${tag} : ${literal(c.image, `${path}.image`)})`);
    return { ...c, image: image as unknown as string };
  };
  const containers = p.containers.map((c, i) => tagged(c, `spec.containers[${i}]`));
  return {
    ...p,
    containers,
    initContainers: p.initContainers.map((c, i) => tagged(c, `spec.initContainers[${i}]`)),
    nativeContainers: containers.map((c) => (c.restartPolicy === 'Always' ? c : { ...c, restartPolicy: 'Always' })),
  };
}

/** The engine's invalid-override for a tag that breaks its rule; none when the profile takes no tag. */
export function tagErrors(p: SidecarProfile): TemplateError[] {
  if (!p.overrides.imageTag) return [];
  const key = overrideAnnotation(p.name, 'image-tag');
  const tag = `object.metadata.annotations[${str(key)}]`;
  const long = `${utf16Length(tag)} > 128`;
  const what = `(${long} ? 'the value (' + string(${utf16Length(tag)}) + ' characters)' : ${jsonQuoted(tag)})`;
  const why = `(${long} ? ${str(TOO_LONG)} : ${str(NOT_A_TAG)})`;
  return [
    { when: `${hasAnnotation(key)} && (${long} || !${tag}.matches(${str(TAG)}))`, message: '', expression: `${str(`${key}: `)} + ${what} + ' ' + ${why}` },
  ];
}
