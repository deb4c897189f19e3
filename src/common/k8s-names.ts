/**
 * Kubernetes name and label rules (apimachinery validation), each returning an error message or
 * undefined. Shared by profile validation at load and pod validation after injection.
 */

// The patterns themselves are exported for the CRD (profiles/crd.ts), which the API server checks.
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
export const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
/** Printable ASCII other than "=". */
export const ENV_NAME = /^[ -<>-~]+$/;
export const GLOB = /^[a-z0-9*?-]+$/;

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

export const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Image tags (distribution reference grammar): at most 128 word characters, "." and "-", not starting with either. */
export function imageTag(v: string): string | undefined {
  if (v.length > 128) return 'must be no more than 128 characters';
  if (!IMAGE_TAG.test(v)) return 'must be an image tag (letters, digits, "_", "." and "-", not starting with "." or "-")';
  return undefined;
}

// Image references as container runtimes parse them (the distribution reference grammar): an
// optional registry host[:port], lower-case path components, an optional tag and digest.
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const HOST_COMPONENT = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
const REGISTRY = `(?:${HOST_COMPONENT}(?:\\.${HOST_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?`;
const IMAGE_NAME = new RegExp(`^(?:${REGISTRY}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$`);
/** The digest algorithms runtimes verify, and the length of their lower-case hex. */
const DIGEST_HEX: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
/** The longest repository name (registry and path, without tag or digest) a runtime accepts. */
const MAX_IMAGE_NAME = 255;

/** The name as runtimes read it: without a registry it is Docker Hub's, `library/` for a single component. */
function normalizedName(name: string): string {
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  if (slash !== -1 && (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase())) return name;
  return `docker.io/${slash === -1 ? 'library/' : ''}${name}`;
}

/** An image reference such as `registry.example.com:5000/team/app:1.2@sha256:…`, as container runtimes parse it. */
export function imageReference(v: string): string | undefined {
  if (v.length === 0) return 'must not be empty';
  if (v.length > 4096) return 'must be no more than 4096 characters';
  const at = v.indexOf('@');
  const nameAndTag = at === -1 ? v : v.slice(0, at);
  if (!IMAGE_NAME.test(nameAndTag))
    return 'must be an image reference such as registry.example.com/team/app:1.2 (lower-case repository, optional :tag and @digest)';
  const tagAt = nameAndTag.lastIndexOf(':');
  const name = tagAt > nameAndTag.lastIndexOf('/') ? nameAndTag.slice(0, tagAt) : nameAndTag;
  if (/^[a-f0-9]{64}$/.test(name)) return 'must not be 64 hex digits alone, which runtimes read as an image ID; write @sha256:<digest> after a repository';
  const normalized = normalizedName(name);
  if (normalized.length > MAX_IMAGE_NAME)
    return `must have a repository name of at most ${MAX_IMAGE_NAME} characters as runtimes read it (${JSON.stringify(normalized.slice(0, 40))}…: ${normalized.length})`;
  if (at === -1) return undefined;
  const digest = v.slice(at + 1);
  const colon = digest.indexOf(':');
  const algorithm = colon === -1 ? '' : digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  const length = Object.hasOwn(DIGEST_HEX, algorithm) ? DIGEST_HEX[algorithm] : undefined;
  if (length === undefined) return 'must have a digest of the form @sha256:<64 lower-case hex digits> (or sha384, sha512)';
  if (hex.length !== length || !/^[a-f0-9]+$/.test(hex))
    return `must have a ${algorithm} digest of ${length} lower-case hex digits, not ${JSON.stringify(hex.length > 20 ? `${hex.slice(0, 20)}…` : hex)}`;
  return undefined;
}

/** Env var names: since Kubernetes 1.34 any printable ASCII except "="; older servers also accept C identifiers, a subset. */
export function envName(v: string): string | undefined {
  if (v.length === 0) return 'must not be empty';
  if (!ENV_NAME.test(v)) return 'must consist of printable ASCII characters other than "="';
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
  if (!GLOB.test(v)) return 'must be a container name or a glob of lower case alphanumerics, "-", "*" and "?"';
  return undefined;
}

const STAR = 42; // '*'
const QUESTION = 63; // '?'

/**
 * A glob as a bitmask NFA: bit i of the state means "the first i glob characters are matched". A
 * glob has at most 63 characters, so its 64 states fit two 32-bit halves, and one name character
 * costs a few bit operations whatever the glob: O(length(name)) per glob.
 */
interface GlobNfa {
  /** Per name character (CHAR_INDEX): the states whose next glob character is it, low half at 2k, high at 2k+1. */
  masks: number[];
  /** States whose glob character is `?`: they advance on any character. */
  anyLo: number;
  anyHi: number;
  /** States whose glob character is `*` (stars collapsed, so a star is never followed by another). */
  starLo: number;
  starHi: number;
  /** The state after the whole glob. */
  accept: number;
}

/** A matched name is a DNS-1123 label (containerName is checked first): 37 characters, each with an index. */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789-';
const CHAR_INDEX = new Int8Array(128).fill(-1);
for (let k = 0; k < ALPHABET.length; k++) CHAR_INDEX[ALPHABET.charCodeAt(k)] = k;
const indexOf = (c: number): number => (c < 128 ? (CHAR_INDEX[c] as number) : -1);

function compileNfa(raw: string): GlobNfa {
  const g = raw.replace(/\*+/g, '*');
  // States live in two 32-bit halves: past 63 glob characters they would wrap onto earlier ones and
  // match wrongly. Profiles cannot hold such a glob (MAX_GLOB_LENGTH); a caller that skips that check is refused.
  if (g.length > MAX_GLOB_LENGTH) throw new RangeError(`glob of ${g.length} characters: globs hold at most ${MAX_GLOB_LENGTH}`);
  const nfa: GlobNfa = { masks: new Array<number>(2 * ALPHABET.length).fill(0), anyLo: 0, anyHi: 0, starLo: 0, starHi: 0, accept: g.length };
  // One step per glob character: compiled wherever a list is used, so compiling stays as cheap as matching.
  for (let i = 0; i < g.length; i++) {
    const c = g.charCodeAt(i);
    const low = i < 32;
    const bit = low ? 1 << i : 1 << (i - 32);
    if (c === STAR) {
      if (low) nfa.starLo |= bit;
      else nfa.starHi |= bit;
    } else if (c === QUESTION) {
      if (low) nfa.anyLo |= bit;
      else nfa.anyHi |= bit;
    } else {
      // A character no container name holds never advances: the glob cannot match past it.
      const k = indexOf(c);
      if (k >= 0) nfa.masks[2 * k + (low ? 0 : 1)] = (nfa.masks[2 * k + (low ? 0 : 1)] as number) | bit;
    }
  }
  return nfa;
}

function runNfa(n: GlobNfa, name: string): boolean {
  // Start in state 0, plus state 1 when the glob starts with `*` (it may match nothing).
  let lo = 1 | ((1 & n.starLo) << 1);
  let hi = 0;
  for (let i = 0; i < name.length && (lo | hi) !== 0; i++) {
    const k = indexOf(name.charCodeAt(i));
    if (k < 0) return false;
    const aLo = lo & ((n.masks[2 * k] as number) | n.anyLo);
    const aHi = hi & ((n.masks[2 * k + 1] as number) | n.anyHi);
    // Advance past a matching character, or stay on a star; then a star may also match nothing.
    let nLo = (aLo << 1) | (lo & n.starLo);
    let nHi = (aHi << 1) | (aLo >>> 31) | (hi & n.starHi);
    const sLo = nLo & n.starLo;
    nHi |= ((nHi & n.starHi) << 1) | (sLo >>> 31);
    nLo |= sLo << 1;
    lo = nLo;
    hi = nHi;
  }
  return n.accept < 32 ? (lo & (1 << n.accept)) !== 0 : (hi & (1 << (n.accept - 32))) !== 0;
}

/**
 * A glob without `?` is literal segments between stars: the first must start the name, the last end
 * it, and each middle one is found by indexOf after the previous (leftmost is always best), so a
 * match is O(length(name)) in native string search.
 */
const anyName = () => true;

function segmentMatcher(raw: string): ((name: string) => boolean) | undefined {
  if (raw.includes('?')) return undefined;
  if (raw === '*') return anyName;
  if (!raw.includes('*')) return (name) => name === raw;
  const segs = raw.split('*');
  const first = segs[0] as string;
  const last = segs[segs.length - 1] as string;
  const middle = segs.slice(1, -1).filter((x) => x !== '');
  return (name) => {
    if (name.length < first.length + last.length || !name.startsWith(first) || !name.endsWith(last)) return false;
    const end = name.length - last.length;
    let pos = first.length;
    for (const seg of middle) {
      const at = name.indexOf(seg, pos);
      if (at < 0 || at + seg.length > end) return false;
      pos = at + seg.length;
    }
    return true;
  };
}

/** One glob's matcher for valid container names: segment search when it has no `?`, else the NFA. */
function compileOne(g: string): (name: string) => boolean {
  const segments = segmentMatcher(g);
  if (segments) return segments;
  const nfa = compileNfa(g);
  return (name) => runNfa(nfa, name);
}

/** Names that may match at all: the API server rejects a container whose name is not a DNS-1123 label. */
function containerName(name: string): boolean {
  return name.length <= 63 && DNS1123_LABEL.test(name);
}

/**
 * Whether `name` matches glob `g`. A name that is not a valid container name (a DNS-1123 label of
 * at most 63 characters) matches nothing: the API server rejects the pod anyway, and no work on it
 * grows with its length.
 * @example matchesGlob('app-*', 'app-main') // true
 */
export function matchesGlob(g: string, name: string): boolean {
  return containerName(name) && compileOne(g)(name);
}

/** The NFA alone, whatever the glob (matchesGlob takes segment search for globs without `?`). */
export function matchesByNfa(g: string, name: string): boolean {
  return containerName(name) && runNfa(compileNfa(g), name);
}

/** The globs of one target list, compiled together: `test` is whether any of them matches. */
export interface GlobList {
  readonly size: number;
  test(name: string): boolean;
}

/**
 * A target list compiled for matching. No cache: compiling costs one step per glob character, less
 * than matching one name, so it is done wherever a list is used.
 */
export function globList(globs: readonly string[]): GlobList {
  const matchers = globs.map(compileOne);
  return { size: matchers.length, test: (name) => matchers.length > 0 && containerName(name) && matchers.some((m) => m(name)) };
}
