/**
 * What of a status record injection may remove before injecting again. Only an entry whose profile
 * exists at the recorded hash is checked against the pod (record-check.ts); any other entry is
 * unchecked pod input, and may name another webhook's sidecar. So an entry of an unknown profile
 * removes nothing, and an entry of an older version removes only what the current version adds by
 * the same name or key: that is replaced by the current rendering anyway. What an older version
 * added and the current one no longer adds cannot be shown to be Outrigger's, and stays.
 */
import { canonicalJson, nameOf } from '../common/json.ts';
import type { ProfileSet, SidecarProfile } from './profile.ts';
import type { ProfileRecord, StatusRecord, TargetRecord } from './status.ts';

export interface RecordScope {
  /** The record cut to what may be removed. */
  removable: StatusRecord;
  /** One line per entry that named more than it may remove. */
  warnings: string[];
}

/** Names shown in a warning: the record is pod input, so only a few, cut. */
const MAX_SHOWN = 5;
const show = (names: readonly string[]) =>
  names
    .slice(0, MAX_SHOWN)
    .map((n) => JSON.stringify(n.length > 63 ? `${n.slice(0, 63)}…` : n))
    .join(', ') + (names.length > MAX_SHOWN ? `, and ${names.length - MAX_SHOWN} more` : '');

export function recordScope(status: StatusRecord, set: ProfileSet): RecordScope {
  const warnings: string[] = [];
  const profiles = status.profiles.map((r) => {
    const p = set.byName.get(r.name);
    if (p && p.hash === r.hash) return r;
    const { entry, left } = p ? sameKeysAs(r, p) : { entry: { name: r.name, version: r.version, hash: r.hash, mode: r.mode }, left: everything(r) };
    if (left.length > 0) {
      const why = p ? `version ${JSON.stringify(r.version)}, and the current version does not add` : 'a profile that does not exist, and it names';
      warnings.push(`the status record claims for ${why} ${show(left)}: left in the pod (it may not be Outrigger's)`);
    }
    return entry;
  });
  return { removable: { ...status, profiles }, warnings };
}

type Lists = 'containers' | 'initContainers' | 'volumes' | 'imagePullSecrets' | 'labels' | 'annotations';

/** Every name an entry claims, for the warning about an entry that removes nothing. */
function everything(r: ProfileRecord): string[] {
  const lists: Lists[] = ['containers', 'initContainers', 'volumes', 'imagePullSecrets', 'labels', 'annotations'];
  const targets = [...Object.values(r.targets ?? {}), ...Object.values(r.initTargets ?? {})];
  return [...lists.flatMap((k) => r[k] ?? []), ...targets.flatMap((t) => [...(t.env ?? []), ...(t.volumeMounts ?? [])])];
}

/** The entry `r` of an older version of `p`, cut to the names `p` adds now. */
function sameKeysAs(r: ProfileRecord, p: SidecarProfile): { entry: ProfileRecord; left: string[] } {
  const left: string[] = [];
  const keep = (names: readonly string[] | undefined, current: ReadonlySet<string>) => {
    const out: string[] = [];
    for (const n of names ?? []) (current.has(n) ? out : left).push(n);
    return out;
  };
  // A sidecar may move between containers and initContainers when the mode changes.
  const sidecars = new Set([...p.containers, ...p.initContainers].map((c) => nameOf(c) as string));
  const env = new Set(p.env.map((e) => nameOf(e) as string));
  const mounts = new Set(p.volumeMounts.map((m) => m.mountPath as string));
  const from = new Set(p.envFrom.map((f) => canonicalJson(f)));
  const targets = (recs: Readonly<Record<string, TargetRecord>> | undefined) => {
    const out: Record<string, TargetRecord> = {};
    for (const [c, t] of Object.entries(recs ?? {})) {
      out[c] = {
        env: keep(t.env, env),
        volumeMounts: keep(t.volumeMounts, mounts),
        envFrom: (t.envFrom ?? []).filter((f) => from.has(canonicalJson(f))),
      };
    }
    return out;
  };
  const entry: ProfileRecord = {
    name: r.name,
    version: r.version,
    hash: r.hash,
    mode: r.mode,
    containers: keep(r.containers, sidecars),
    initContainers: keep(r.initContainers, sidecars),
    volumes: keep(r.volumes, new Set(p.volumes.map((v) => nameOf(v) as string))),
    imagePullSecrets: keep(r.imagePullSecrets, new Set(p.imagePullSecrets.map((s) => nameOf(s) as string))),
    labels: keep(r.labels, new Set(Object.keys(p.labels))),
    annotations: keep(r.annotations, new Set(Object.keys(p.annotations))),
    targets: targets(r.targets),
    initTargets: targets(r.initTargets),
  };
  return { entry, left };
}
