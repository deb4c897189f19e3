/**
 * SidecarProfiles from the cluster: watched into memory, validated with the same code as files,
 * combined with file profiles under the tenancy rules, and given status conditions. An invalid
 * update keeps the last valid version of that profile in use, and says so in its status.
 */
import { isObject, type JsonObject, type JsonValue } from '../engine/json.ts';
import type { SidecarProfile } from '../engine/profile.ts';
import { compileProfile } from '../profiles/compile.ts';
import { GROUP, PLURAL, VERSION } from '../profiles/crd.ts';
import { type Tenancy, tenancy } from '../profiles/tenancy.ts';
import { validateProfileDocument } from '../profiles/validate.ts';
import type { KubeClient } from './client.ts';
import { Informer } from './informer.ts';

export const PROFILES_PATH = `/apis/${GROUP}/${VERSION}/${PLURAL}`;

export interface ProfileState {
  key: string;
  generation: number;
  /** The profile in use for this object: the current spec when valid, else the last valid one. */
  active?: SidecarProfile;
  /** Why the current spec is not in use, when it is not. */
  problem?: { reason: 'Invalid' | 'NameTaken'; message: string };
}

export interface ClusterProfilesOptions {
  controllerNamespace: string;
  fileProfiles?: readonly SidecarProfile[];
  /** Whether this replica writes status (the elected one, or every replica when there is no election). */
  writeStatus?: () => boolean;
  onUpdate?: (t: Tenancy) => void;
  /** Set when pods can skip the webhook (its opt-out matchCondition): a mandatory profile then says so in its status. */
  mandatoryBypass?: string;
  log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  now?: () => Date;
}

type Condition = { type: string; status: 'True' | 'False'; reason: string; message: string; observedGeneration: number; lastTransitionTime: string };

export class ClusterProfiles {
  readonly informer: Informer;
  readonly #client: KubeClient;
  readonly #opts: ClusterProfilesOptions;
  readonly #lastValid = new Map<string, { profile: SidecarProfile; generation: number }>();
  #states = new Map<string, ProfileState>();
  #tenancy: Tenancy;
  #writing: Promise<void> = Promise.resolve();

  constructor(client: KubeClient, opts: ClusterProfilesOptions) {
    this.#client = client;
    this.#opts = opts;
    this.#tenancy = tenancy(opts.fileProfiles ?? [], opts.controllerNamespace);
    this.informer = new Informer(client, PROFILES_PATH, {
      onChange: (store) => this.#rebuild(store),
      onError: (e, retry) => opts.log?.('warn', 'profile watch failed; retrying', { error: e.message, retryInMs: retry }),
    });
  }

  get tenancy(): Tenancy {
    return this.#tenancy;
  }

  get states(): ReadonlyMap<string, ProfileState> {
    return this.#states;
  }

  start(): void {
    this.informer.start();
  }

  async stop(): Promise<void> {
    await this.informer.stop();
    await this.#writing;
  }

  /** Replaces the file profiles (after a file reload) and rebuilds. */
  setFileProfiles(profiles: readonly SidecarProfile[]): void {
    this.#opts.fileProfiles = profiles;
    this.#rebuild(this.informer.store);
  }

  #rebuild(store: ReadonlyMap<string, JsonObject>): void {
    const states = new Map<string, ProfileState>();
    const fileNames = new Map((this.#opts.fileProfiles ?? []).map((p) => [p.name, p]));
    for (const [key, obj] of store) {
      const meta = isObject(obj.metadata) ? obj.metadata : {};
      const generation = typeof meta.generation === 'number' ? meta.generation : 0;
      const errors = validateProfileDocument(obj);
      const state: ProfileState = { key, generation };
      if (errors.length === 0) {
        const profile = compileProfile(obj, `SidecarProfile ${key}`);
        const file = profile.namespace === this.#opts.controllerNamespace ? fileNames.get(profile.name) : undefined;
        if (file) state.problem = { reason: 'NameTaken', message: `the name ${JSON.stringify(profile.name)} is taken by the profile from ${file.source}` };
        else this.#lastValid.set(key, { profile, generation });
      } else {
        state.problem = { reason: 'Invalid', message: errors.map((e) => `${e.path}: ${e.message}`).join('; ') };
      }
      const last = this.#lastValid.get(key);
      if (last && state.problem?.reason !== 'NameTaken') state.active = last.profile;
      states.set(key, state);
    }
    for (const key of [...this.#lastValid.keys()]) if (!store.has(key)) this.#lastValid.delete(key);
    const active = [...states.values()].flatMap((s) => (s.active ? [s.active] : []));
    this.#tenancy = tenancy([...(this.#opts.fileProfiles ?? []), ...active], this.#opts.controllerNamespace);
    for (const [p, message] of this.#tenancy.shadowed) {
      const s = states.get(`${p.namespace}/${p.name}`);
      if (s) {
        s.problem = { reason: 'NameTaken', message };
        delete s.active;
      }
    }
    this.#states = states;
    for (const s of states.values()) {
      if (s.problem)
        this.#opts.log?.('warn', 'profile not in use as written', {
          profile: s.key,
          reason: s.problem.reason,
          message: s.problem.message,
          activeVersion: s.active?.version,
        });
    }
    this.#opts.onUpdate?.(this.#tenancy);
    if (this.#opts.writeStatus?.() ?? true) this.#queueStatusWrites(store);
  }

  /** The status one object should have: conditions keep their transition time unless their status changes. */
  #desiredStatus(s: ProfileState, current: JsonValue | undefined): JsonObject {
    const now = (this.#opts.now?.() ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const previous = isObject(current) && Array.isArray(current.conditions) ? current.conditions.filter(isObject) : [];
    const cond = (type: string, status: 'True' | 'False', reason: string, message: string): Condition => {
      const before = previous.find((c) => c.type === type);
      const lastTransitionTime = before && before.status === status && typeof before.lastTransitionTime === 'string' ? before.lastTransitionTime : now;
      return { type, status, reason, message, observedGeneration: s.generation, lastTransitionTime };
    };
    const keeping = s.active ? ` Still injecting the last valid version ${s.active.version}.` : ' Nothing is injected for it.';
    const conditions = s.problem
      ? [cond('Ready', 'False', s.problem.reason, `${s.problem.message}.${keeping}`), cond('Invalid', 'True', s.problem.reason, s.problem.message)]
      : [
          cond('Ready', 'True', 'Valid', `Injected at version ${s.active?.version} (${s.active?.hash}).`),
          cond('Invalid', 'False', 'Valid', 'The profile is valid.'),
        ];
    if (s.active?.mandatory) {
      const bypass = this.#opts.mandatoryBypass;
      conditions.push(
        bypass
          ? cond('MandatoryBypassable', 'True', 'OptOutMatchCondition', `Pods can skip this mandatory profile: ${bypass}.`)
          : cond('MandatoryBypassable', 'False', 'EveryPodReviewed', 'Opted-out pods still reach Outrigger, which injects this profile into them.'),
      );
    }
    return {
      observedGeneration: s.generation,
      ...(s.active ? { activeVersion: s.active.version, activeHash: s.active.hash } : {}),
      conditions: conditions as unknown as JsonValue,
    };
  }

  #queueStatusWrites(store: ReadonlyMap<string, JsonObject>): void {
    const writes: { path: string; status: JsonObject }[] = [];
    for (const [key, s] of this.#states) {
      const obj = store.get(key);
      if (!obj) continue;
      const desired = this.#desiredStatus(s, obj.status);
      if (sameStatus(obj.status, desired)) continue;
      const [ns, name] = key.split('/') as [string, string];
      writes.push({ path: `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}/${name}/status`, status: desired });
    }
    if (writes.length === 0) return;
    this.#writing = this.#writing.then(async () => {
      for (const w of writes) {
        try {
          await this.#client.request('PATCH', w.path, { body: { status: w.status }, contentType: 'application/merge-patch+json' });
        } catch (e) {
          this.#opts.log?.('warn', 'could not write profile status', { path: w.path, error: (e as Error).message });
        }
      }
    });
  }
}

/** Equal apart from lastTransitionTime, which only moves when a condition's status changes. */
function sameStatus(current: JsonValue | undefined, desired: JsonObject): boolean {
  const strip = (v: JsonValue | undefined) => JSON.stringify(v, (k, x) => (k === 'lastTransitionTime' ? undefined : x));
  return strip(current) === strip(desired);
}
