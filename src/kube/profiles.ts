/**
 * SidecarProfiles from the cluster: watched into memory, validated with the same code as files,
 * combined with file profiles under the tenancy rules, and given status conditions. An invalid
 * update keeps the last valid version of that profile in use, and says so in its status.
 *
 * Work is per object: a watch event validates and compiles only the profile it carries (and only
 * when its spec changed, so a status write coming back costs a string comparison), updates the
 * tenancy index for that one profile, and queues at most that profile's status. A list (at start,
 * after a 410) goes through the same path for every object, reusing what did not change.
 */
import { isObject, type JsonObject, type JsonValue } from '../common/json.ts';
import { API_GROUP, API_VERSION, PROFILE_PLURAL } from '../common/labels.ts';
import type { SidecarProfile } from '../engine/index.ts';
import { compileProfile } from '../profiles/compile.ts';
import { type Tenancy, TenancyIndex } from '../profiles/tenancy.ts';
import { validateProfileDocument } from '../profiles/validate.ts';
import type { KubeClient } from './client.ts';
import { Informer, type StoreChange } from './informer.ts';

/** Status checks done before the writer yields to other work (each is two small serialisations). */
const STATUS_CHECKS_PER_TURN = 100;

export const PROFILES_PATH = `/apis/${API_GROUP}/${API_VERSION}/${PROFILE_PLURAL}`;

/** What the watch knows of one SidecarProfile object (the served set is server/profile-reloader.ts's ProfileState). */
export interface ProfileObjectState {
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
  /** Which admission mode serves the profile in use (condition `Served`), once known. */
  served?: (s: ProfileObjectState) => ServedCondition | undefined;
}

/** The `Served` condition: whether the webhook or an admission policy injects the profile, and if not, why. */
export interface ServedCondition {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/** The last check of an object's spec: its fingerprint, and the errors when it is invalid. */
type Checked = { fingerprint: string; invalid?: string };

type Condition = { type: string; status: 'True' | 'False'; reason: string; message: string; observedGeneration: number; lastTransitionTime: string };

export class ClusterProfiles {
  readonly informer: Informer;
  readonly #client: KubeClient;
  readonly #opts: ClusterProfilesOptions;
  readonly #index: TenancyIndex;
  readonly #checked = new Map<string, Checked>();
  readonly #lastValid = new Map<string, SidecarProfile>();
  readonly #states = new Map<string, ProfileObjectState>();
  /** The states with a problem, kept per event so readiness never walks every profile. */
  readonly #problems = new Map<string, ProfileObjectState>();
  /** Objects whose status may need writing; a set, so a profile edited in a loop queues one write. */
  readonly #dirty = new Set<string>();
  #writing: Promise<void> | undefined;

  constructor(client: KubeClient, opts: ClusterProfilesOptions) {
    this.#client = client;
    this.#opts = opts;
    this.#index = new TenancyIndex(opts.controllerNamespace);
    this.#index.setFiles(opts.fileProfiles ?? []);
    this.informer = new Informer(client, PROFILES_PATH, {
      onChange: (change) => this.#onChange(change),
      onError: (e, retry) => opts.log?.('warn', 'profile watch failed; retrying', { error: e.message, retryInMs: retry }),
    });
  }

  get tenancy(): Tenancy {
    return this.#index;
  }

  get states(): ReadonlyMap<string, ProfileObjectState> {
    return this.#states;
  }

  /** The profiles not in use as written (Invalid or NameTaken). */
  get problems(): ReadonlyMap<string, ProfileObjectState> {
    return this.#problems;
  }

  start(): void {
    this.informer.start();
  }

  async stop(): Promise<void> {
    await this.informer.stop();
    await this.#writing;
  }

  /** Replaces the file profiles (after a file reload); re-evaluates only the profiles whose names they touch. */
  setFileProfiles(profiles: readonly SidecarProfile[]): void {
    const names = new Set([...(this.#opts.fileProfiles ?? []), ...profiles].map((p) => p.name));
    this.#opts.fileProfiles = profiles;
    this.#index.setFiles(profiles);
    for (const name of names) {
      const key = `${this.#opts.controllerNamespace}/${name}`;
      if (this.#states.has(key)) this.#evaluate(key);
      this.#evaluateTenantsNamed(name);
    }
    this.#opts.onUpdate?.(this.#index);
  }

  /** Queues these profiles' status once (`namespace/name`), or every profile's (this replica just became the one that writes status). */
  resyncStatus(keys: Iterable<string> = this.#states.keys()): void {
    for (const key of keys) if (this.#states.has(key)) this.#queueStatus(key);
  }

  #onChange(change: StoreChange): void {
    if (change.type === 'replaced') {
      for (const key of [...this.#states.keys()]) if (!change.store.has(key)) this.#remove(key);
      // A re-list costs what changed while the watch was away: an object at the resourceVersion
      // already seen was checked (and its status queued) then.
      for (const [key, obj] of change.store) if (!this.#states.has(key) || rv(change.previous.get(key)) !== rv(obj)) this.#set(key, obj);
    } else if (change.type === 'set') this.#set(change.key, change.object);
    else this.#remove(change.key);
    this.#opts.onUpdate?.(this.#index);
  }

  #set(key: string, obj: JsonObject): void {
    const meta = isObject(obj.metadata) ? obj.metadata : {};
    const generation = typeof meta.generation === 'number' ? meta.generation : 0;
    const fingerprint = JSON.stringify([obj.apiVersion, obj.kind, obj.spec]);
    const state = this.#states.get(key);
    if (state && this.#checked.get(key)?.fingerprint === fingerprint) {
      // Same spec (a status write, a label): nothing to validate or compile.
      state.generation = generation;
    } else {
      this.#check(key, obj, fingerprint);
      this.#evaluate(key, generation);
    }
    this.#queueStatus(key);
  }

  #check(key: string, obj: JsonObject, fingerprint: string): void {
    const errors = validateProfileDocument(obj);
    if (errors.length > 0) {
      this.#checked.set(key, { fingerprint, invalid: errors.map((e) => `${e.path}: ${e.message}`).join('; ') });
      return;
    }
    this.#checked.set(key, { fingerprint });
    this.#lastValid.set(key, compileProfile(obj, `SidecarProfile ${key}`));
  }

  #remove(key: string): void {
    const name = this.#lastValid.get(key)?.name;
    this.#checked.delete(key);
    this.#lastValid.delete(key);
    this.#states.delete(key);
    this.#problems.delete(key);
    this.#dirty.delete(key);
    this.#index.delete(key);
    if (name !== undefined && this.#isGlobalKey(key)) this.#evaluateTenantsNamed(name);
  }

  /** Recomputes one object's state, and those of tenant profiles it shadows or frees. */
  #evaluate(key: string, generation = this.#states.get(key)?.generation ?? 0): void {
    const before = this.#states.get(key);
    const state = this.#stateOf(key, generation);
    this.#states.set(key, state);
    if (state.problem) this.#problems.set(key, state);
    else this.#problems.delete(key);
    if (state.problem && (state.problem.message !== before?.problem?.message || state.active !== before?.active))
      this.#opts.log?.('warn', 'profile not in use as written', {
        profile: key,
        reason: state.problem.reason,
        message: state.problem.message,
        activeVersion: state.active?.version,
      });
    // A cluster-wide profile appearing or going away can shadow or free tenant profiles of its name.
    if (this.#isGlobalKey(key) && (before?.active !== undefined) !== (state.active !== undefined)) this.#evaluateTenantsNamed(nameOfKey(key));
  }

  /** One object's state from its last check, the file profiles and the tenancy rules; puts it in the index or takes it out. */
  #stateOf(key: string, generation: number): ProfileObjectState {
    const name = nameOfKey(key);
    const state: ProfileObjectState = { key, generation };
    const file = this.#isGlobalKey(key) ? (this.#opts.fileProfiles ?? []).find((p) => p.name === name) : undefined;
    if (file) {
      this.#index.delete(key);
      state.problem = { reason: 'NameTaken', message: `the name ${JSON.stringify(name)} is taken by the profile from ${file.source}` };
      return state;
    }
    const invalid = this.#checked.get(key)?.invalid;
    if (invalid !== undefined) state.problem = { reason: 'Invalid', message: invalid };
    const last = this.#lastValid.get(key);
    if (!last) {
      this.#index.delete(key);
      return state;
    }
    this.#index.set(key, last);
    const shadow = this.#index.shadowReason(last);
    if (shadow) state.problem = { reason: 'NameTaken', message: shadow };
    else state.active = last;
    return state;
  }

  #evaluateTenantsNamed(name: string): void {
    for (const p of this.#index.tenantsNamed(name)) {
      const key = `${p.namespace}/${p.name}`;
      if (!this.#states.has(key)) continue;
      this.#evaluate(key);
      this.#queueStatus(key);
    }
  }

  #isGlobalKey(key: string): boolean {
    return key.startsWith(`${this.#opts.controllerNamespace}/`);
  }

  #queueStatus(key: string): void {
    if (!(this.#opts.writeStatus?.() ?? true)) return;
    this.#dirty.add(key);
    this.#writing ??= this.#writeStatuses().finally(() => {
      this.#writing = undefined;
    });
  }

  /** Writes the queued statuses one at a time, each computed from the object as it is when its turn comes. */
  async #writeStatuses(): Promise<void> {
    let checked = 0;
    for (const key of this.#dirty) {
      this.#dirty.delete(key);
      // Thousands queued at once (a replica taking over) must not hold the event loop in one go.
      if (++checked % STATUS_CHECKS_PER_TURN === 0) await new Promise((r) => setImmediate(r));
      const s = this.#states.get(key);
      const obj = this.informer.store.get(key);
      if (!s || !obj) continue;
      const desired = this.#desiredStatus(s, obj.status);
      if (sameStatus(obj.status, desired)) continue;
      const [ns, name] = key.split('/') as [string, string];
      const path = `/apis/${API_GROUP}/${API_VERSION}/namespaces/${ns}/${PROFILE_PLURAL}/${name}/status`;
      try {
        await this.#client.request('PATCH', path, { body: { status: desired }, contentType: 'application/merge-patch+json' });
      } catch (e) {
        this.#opts.log?.('warn', 'could not write profile status', { path, error: (e as Error).message });
      }
    }
  }

  /** The status one object should have: conditions keep their transition time unless their status changes. */
  #desiredStatus(s: ProfileObjectState, current: JsonValue | undefined): JsonObject {
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
    const served = this.#opts.served?.(s);
    if (served) conditions.push(cond('Served', served.status, served.reason, served.message));
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
}

const nameOfKey = (key: string) => key.slice(key.indexOf('/') + 1);
const rv = (obj: JsonObject | undefined) => (obj && isObject(obj.metadata) ? obj.metadata.resourceVersion : undefined);

/** Equal apart from lastTransitionTime, which only moves when a condition's status changes. */
function sameStatus(current: JsonValue | undefined, desired: JsonObject): boolean {
  const strip = (v: JsonValue | undefined) => JSON.stringify(v, (k, x) => (k === 'lastTransitionTime' ? undefined : x));
  return strip(current) === strip(desired);
}
