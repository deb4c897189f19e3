/**
 * The playground's whole input in the URL fragment: base64url of the UTF-8 JSON of the panes. The
 * fragment never leaves the browser (it is not part of an HTTP request), so what is typed stays on
 * the machine. Pure: `outrigger playground` writes it to preload files, the page reads and writes it.
 */
import type { RunContext } from './offline-text.ts';

export interface PlaygroundState {
  profiles: string;
  workload: string;
  context: RunContext;
}

/** The fragment's key: `#s=...`. */
const KEY = 's=';

function base64url(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function fromBase64url(text: string): Uint8Array {
  const bin = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** `#s=...` for the state. */
export function encodeFragment(state: PlaygroundState): string {
  return `#${KEY}${base64url(new TextEncoder().encode(JSON.stringify({ v: 1, ...state })))}`;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The state in a fragment (with or without its `#`); undefined when it holds none or is not one. */
export function decodeFragment(fragment: string): PlaygroundState | undefined {
  const f = fragment.replace(/^#/, '');
  if (!f.startsWith(KEY)) return undefined;
  let v: { v?: unknown; profiles?: unknown; workload?: unknown; context?: Record<string, unknown> };
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(fromBase64url(f.slice(KEY.length))));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || v.v !== 1) return undefined;
  const c = typeof v.context === 'object' && v.context !== null ? v.context : {};
  return {
    profiles: str(v.profiles),
    workload: str(v.workload),
    context: { kubeVersion: str(c.kubeVersion), namespace: str(c.namespace), labels: str(c.labels), unknownProfiles: str(c.unknownProfiles) },
  };
}

/** How long a fragment may get: browsers cap a URL at about 2 MB. */
export const MAX_FRAGMENT = 1536 * 1024;
