/**
 * Profile documents → validated, compiled profiles. Collects every error with its source,
 * document and field path instead of stopping at the first.
 */
import { isObject, type JsonValue } from '../common/json.ts';
import { type ProfileSet, profileSet, type SidecarProfile } from '../engine/index.ts';
import { parseYamlDocuments, YamlError } from '../io/yaml.ts';
import { compileProfile } from './compile.ts';
import { validateProfileDocument } from './validate.ts';

export class ProfileLoadError extends Error {
  readonly errors: readonly string[];
  constructor(errors: readonly string[]) {
    super(`${errors.length} error${errors.length === 1 ? '' : 's'} in profiles:\n  ${errors.join('\n  ')}`);
    this.name = 'ProfileLoadError';
    this.errors = errors;
  }
}

export interface ParseResult {
  profiles: SidecarProfile[];
  errors: string[];
}

/** `kind: List` (or `SidecarProfileList`) documents are unpacked, as `kubectl get -o yaml` writes them. */
function unpack(value: JsonValue): { value: JsonValue; item?: number }[] {
  if (isObject(value) && typeof value.kind === 'string' && (value.kind === 'List' || value.kind.endsWith('List')) && Array.isArray(value.items)) {
    return value.items.map((v, item) => ({ value: v, item }));
  }
  return [{ value }];
}

export function parseProfiles(text: string, source: string): ParseResult {
  const result: ParseResult = { profiles: [], errors: [] };
  let docs: ReturnType<typeof parseYamlDocuments>;
  try {
    docs = parseYamlDocuments(text, source);
  } catch (e) {
    if (e instanceof YamlError) return { profiles: [], errors: [e.message] };
    throw e;
  }
  for (const d of docs) {
    for (const { value, item } of unpack(d.value)) {
      const where = `${source}, document ${d.index}${item === undefined ? '' : `, item ${item}`}`;
      const errors = validateProfileDocument(value);
      if (errors.length > 0) {
        for (const e of errors) result.errors.push(`${where}: ${e.path}: ${e.message}`);
        continue;
      }
      result.profiles.push(compileProfile(value as { [k: string]: JsonValue }, where));
    }
  }
  return result;
}

/** Names must be unique within a namespace (files count as one namespace). */
export function checkDuplicates(profiles: readonly SidecarProfile[]): string[] {
  const seen = new Map<string, SidecarProfile>();
  const errors: string[] = [];
  for (const p of profiles) {
    const key = `${p.namespace ?? ''}/${p.name}`;
    const first = seen.get(key);
    if (first) errors.push(`${p.source}: metadata.name: profile ${JSON.stringify(p.name)} is already defined in ${first.source}`);
    else seen.set(key, p);
  }
  return errors;
}

/**
 * Profile texts, each named by its source, as one set: every profile, or ProfileLoadError listing
 * every problem (`errors` are those found before parsing, such as unreadable files). Pure: the CLI,
 * the server and the browser playground all load profiles through it.
 */
export function compileProfileTexts(texts: readonly { source: string; text: string }[], errors: string[] = []): ProfileSet {
  const profiles: SidecarProfile[] = [];
  for (const t of texts) {
    const r = parseProfiles(t.text, t.source);
    profiles.push(...r.profiles);
    errors.push(...r.errors);
  }
  errors.push(...checkDuplicates(profiles));
  if (errors.length > 0) throw new ProfileLoadError(errors);
  return profileSet(profiles);
}
