/**
 * Keyed merge of one rendered profile into a pod, copy-on-write: only the objects along changed
 * paths are rebuilt, everything else is shared with the input. Items are keyed by name (mountPath
 * for volume mounts); an identical item already present is left alone and not recorded, a different
 * one is a conflict settled by the profile's conflictPolicy (merge/settle.ts).
 *
 * The parts: containers (merge/containers.ts), pod-level keyed lists (merge/keyed-lists.ts), the
 * targeted app containers (merge/targets.ts), labels and annotations (merge/metadata.ts).
 */
import { isObject, type JsonObject } from '../common/json.ts';
import { mergeContainers } from './merge/containers.ts';
import { mergePodLists } from './merge/keyed-lists.ts';
import { mergeMetadata } from './merge/metadata.ts';
import { Conflict, settleByPolicy } from './merge/settle.ts';
import { mergeTargets } from './merge/targets.ts';
import type { SidecarProfile } from './profile.ts';
import type { Parts } from './render.ts';
import type { ProfileRecord } from './status.ts';

export interface MergeState {
  pod: JsonObject;
  /** Index in spec.initContainers where the next profile's init containers go (after earlier profiles', before the pod's own). */
  initInsertAt: number;
  /** Fields created by injection so far (see StatusRecord.created). */
  created: string[];
  /** Names of the pod's own containers and init containers: the only candidates for targets. */
  own: { containers: ReadonlySet<string>; initContainers: ReadonlySet<string> };
}

export type MergeOutcome = { ok: true; state: MergeState; record: ProfileRecord; warnings: string[] } | { ok: false; message: string };

export function mergeProfile(state: MergeState, profile: SidecarProfile, parts: Parts, mode: 'native' | 'classic'): MergeOutcome {
  const warnings: string[] = [];
  const created = [...state.created];
  const record: ProfileRecord = { name: profile.name, version: profile.version, hash: profile.hash, mode };
  const settle = settleByPolicy(profile, warnings);
  try {
    const pod: JsonObject = { ...state.pod };
    const originalSpec = isObject(pod.spec) ? pod.spec : undefined;
    const spec: JsonObject = { ...originalSpec };
    const initAdded = mergeContainers(spec, parts, mode, state.initInsertAt, settle, record, created);
    mergePodLists(spec, parts, settle, record, created);
    const targets = mergeTargets(spec, 'containers', profile.targets, state.own.containers, parts, settle, created);
    if (targets) record.targets = targets;
    const initTargets = mergeTargets(spec, 'initContainers', profile.initContainerTargets, state.own.initContainers, parts, settle, created);
    if (initTargets) record.initTargets = initTargets;
    if (Object.keys(spec).some((k) => spec[k] !== originalSpec?.[k])) {
      if (!originalSpec) created.push('spec');
      pod.spec = spec;
    }
    mergeMetadata(pod, parts, settle, record, created);
    return { ok: true, state: { ...state, pod, created, initInsertAt: state.initInsertAt + initAdded }, record, warnings };
  } catch (e) {
    if (e instanceof Conflict) return { ok: false, message: e.message };
    throw e;
  }
}
