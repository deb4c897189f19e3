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

/** Env var names: since Kubernetes 1.34 any printable ASCII except "="; older servers also accept C identifiers, a subset. */
export function envName(v: string): string | undefined {
  if (v.length === 0) return 'must not be empty';
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x3d) return 'must consist of printable ASCII characters other than "="';
  }
  return undefined;
}

/** Globs for container names: `*` matches any run of characters, `?` one character. */
export function glob(v: string): string | undefined {
  if (v.length === 0) return 'must not be empty';
  if (!/^[a-z0-9*?-]+$/.test(v)) return 'must be a container name or a glob of lower case alphanumerics, "-", "*" and "?"';
  return undefined;
}

const globs = new Map<string, RegExp>();

/** Compiled once per glob (globs come from profiles, a fixed set). */
export function globToRegExp(g: string): RegExp {
  let re = globs.get(g);
  if (!re) {
    re = new RegExp(`^${g.replace(/[-]/g, '\\-').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    if (globs.size >= 10_000) globs.clear();
    globs.set(g, re);
  }
  return re;
}
