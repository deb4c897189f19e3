/**
 * Kubernetes name and label rules (apimachinery validation), each returning an error message or
 * undefined. Shared by profile validation at load and pod validation after injection.
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export function dns1123Label(v: string): string | undefined {
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!DNS1123_LABEL.test(v)) return 'must be a DNS-1123 label (lower case alphanumerics and "-", starting and ending with an alphanumeric)';
  return undefined;
}

export function dns1123Subdomain(v: string): string | undefined {
  if (v.length > 253) return 'must be no more than 253 characters';
  if (!DNS1123_SUBDOMAIN.test(v)) return 'must be a DNS-1123 subdomain (lower case alphanumerics, "-" and ".")';
  return undefined;
}

/** Label and annotation keys: an optional DNS-1123 subdomain prefix and a name of at most 63 characters. */
export function qualifiedName(v: string): string | undefined {
  const slash = v.indexOf('/');
  const prefix = slash >= 0 ? v.slice(0, slash) : undefined;
  const name = slash >= 0 ? v.slice(slash + 1) : v;
  if (prefix !== undefined) {
    if (prefix.length === 0) return 'prefix must not be empty';
    const e = dns1123Subdomain(prefix);
    if (e) return `prefix ${e}`;
  }
  if (name.length === 0) return 'name part must not be empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!QUALIFIED_NAME.test(name)) return 'name part must consist of alphanumerics, "-", "_" or ".", starting and ending with an alphanumeric';
  return undefined;
}

export function labelValue(v: string): string | undefined {
  if (v.length > 63) return 'must be no more than 63 characters';
  if (v !== '' && !QUALIFIED_NAME.test(v)) return 'must be empty or consist of alphanumerics, "-", "_" or ".", starting and ending with an alphanumeric';
  return undefined;
}

/** Container port names (IANA_SVC_NAME): at most 15 characters, at least one letter, no "--". */
export function portName(v: string): string | undefined {
  if (v.length > 15) return 'must be no more than 15 characters';
  if (!IANA_SVC_NAME.test(v)) return 'must contain only lower case alphanumerics and "-", starting and ending with an alphanumeric';
  if (v.includes('--')) return 'must not contain consecutive hyphens';
  if (!/[a-z]/.test(v)) return 'must contain at least one letter';
  return undefined;
}

const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Image tags (distribution reference grammar): at most 128 word characters, "." and "-", not starting with either. */
export function imageTag(v: string): string | undefined {
  if (v.length > 128) return 'must be no more than 128 characters';
  if (!IMAGE_TAG.test(v)) return 'must be an image tag (letters, digits, "_", "." and "-", not starting with "." or "-")';
  return undefined;
}

/** Env var names: since Kubernetes 1.34 any printable ASCII except "="; older servers also accept C identifiers, a subset. */
export function envName(v: string): string | undefined {
  if (v.length === 0) return 'must not be empty';
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x3d) return 'must consist of printable ASCII characters other than "="';
  }
  return undefined;
}

/** Longest glob a profile may hold: a container name is at most 63 characters, a glob needs no more. */
export const MAX_GLOB_LENGTH = 63;
/** Most globs one target list may hold. */
export const MAX_GLOBS = 64;

/** Globs for container names: `*` matches any run of characters, `?` one character. */
export function glob(v: string): string | undefined {
  if (v.length === 0) return 'must not be empty';
  if (v.length > MAX_GLOB_LENGTH) return `must be no more than ${MAX_GLOB_LENGTH} characters`;
  if (!/^[a-z0-9*?-]+$/.test(v)) return 'must be a container name or a glob of lower case alphanumerics, "-", "*" and "?"';
  return undefined;
}

const STAR = 42; // '*'
const QUESTION = 63; // '?'

/**
 * Whether `name` matches glob `g`, without a regular expression: greedy, going back only to the last
 * `*` seen, so the cost is at most length(g) × length(name) steps whatever the glob (a RegExp of
 * `.*.*.*…z` backtracks exponentially).
 * @example matchesGlob('app-*', 'app-main') // true
 */
export function matchesGlob(g: string, name: string): boolean {
  let gi = 0;
  let ni = 0;
  let star = -1; // position in g just after the last `*`
  let resume = 0; // position in name that star is matched up to
  while (ni < name.length) {
    const c = g.charCodeAt(gi);
    if (gi < g.length && c === STAR) {
      star = ++gi;
      resume = ni;
    } else if (gi < g.length && (c === QUESTION || c === name.charCodeAt(ni))) {
      gi++;
      ni++;
    } else if (star >= 0) {
      gi = star;
      ni = ++resume;
    } else return false;
  }
  while (gi < g.length && g.charCodeAt(gi) === STAR) gi++;
  return gi === g.length;
}

export interface CompiledGlob {
  test(name: string): boolean;
}

/** A glob as a matcher object, for callers that hold matchers; the same linear matching. */
export function compileGlob(g: string): CompiledGlob {
  return { test: (name) => matchesGlob(g, name) };
}

/** The same as compileGlob; kept under this name for existing callers (it no longer builds a RegExp). */
export const globToRegExp = compileGlob;
