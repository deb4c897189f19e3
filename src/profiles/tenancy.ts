/**
 * Which profiles apply in which namespace. Profiles from files and from Outrigger's own namespace
 * are cluster-wide; a profile anywhere else applies only to pods of its namespace, and may not reuse
 * a cluster-wide profile's name (that would let a tenant shadow a platform profile, mandatory ones
 * included). A tenant can never affect another namespace's pods.
 *
 * The index is updated one profile at a time: a tenant's change rebuilds only its own namespace's
 * set, on that namespace's next request, so its cost does not grow with the number of profiles or
 * namespaces in the cluster. A cluster-wide change (platform-owned, rare) marks every namespace's
 * set stale, and each is rebuilt on its next request.
 */
import { type ProfileSet, profileSet, type SidecarProfile } from '../engine/index.ts';

export interface Tenancy {
  /** The profile set for pods of `namespace`; cached until the profiles change. */
  forNamespace(namespace: string): ProfileSet;
  /** Why a tenant profile is refused (a cluster-wide profile has its name), or undefined. */
  shadowReason(profile: SidecarProfile): string | undefined;
  readonly global: ProfileSet;
  /** The namespaces that have profiles of their own (each has a set other than the global one). */
  tenantNamespaces(): string[];
}

/** Whether a profile applies cluster-wide: from a file, or from Outrigger's own namespace. */
export function isClusterWide(p: SidecarProfile, controllerNamespace: string): boolean {
  return p.namespace === undefined || p.namespace === controllerNamespace;
}

export class TenancyIndex implements Tenancy {
  readonly #controllerNamespace: string;
  #files: readonly SidecarProfile[] = [];
  readonly #globalCluster = new Map<string, SidecarProfile>();
  #global: ProfileSet | undefined;
  /** Bumped on every cluster-wide change; a namespace's cached set from an older epoch is stale. */
  #epoch = 0;
  readonly #tenants = new Map<string, Map<string, SidecarProfile>>();
  readonly #tenantsByName = new Map<string, Set<SidecarProfile>>();
  readonly #sets = new Map<string, { epoch: number; set: ProfileSet }>();

  constructor(controllerNamespace: string) {
    this.#controllerNamespace = controllerNamespace;
  }

  get global(): ProfileSet {
    this.#global ??= profileSet([...this.#files, ...this.#globalCluster.values()]);
    return this.#global;
  }

  forNamespace(namespace: string): ProfileSet {
    const own = this.#tenants.get(namespace);
    if (!own) return this.global;
    const cached = this.#sets.get(namespace);
    if (cached && cached.epoch === this.#epoch) return cached.set;
    const allowed = [...own.values()].filter((p) => this.shadowReason(p) === undefined);
    const set = profileSet([...this.global.profiles, ...allowed]);
    this.#sets.set(namespace, { epoch: this.#epoch, set });
    return set;
  }

  tenantNamespaces(): string[] {
    return [...this.#tenants.keys()];
  }

  shadowReason(p: SidecarProfile): string | undefined {
    if (isClusterWide(p, this.#controllerNamespace)) return undefined;
    const owner = this.global.byName.get(p.name);
    return owner ? `the name ${JSON.stringify(p.name)} is taken by the cluster-wide profile from ${owner.source}; rename this profile` : undefined;
  }

  /** Tenant profiles (in any namespace) with this name: those a cluster-wide change of it can shadow or free. */
  tenantsNamed(name: string): readonly SidecarProfile[] {
    return [...(this.#tenantsByName.get(name) ?? [])];
  }

  /** Replaces the profiles from files (all cluster-wide). */
  setFiles(profiles: readonly SidecarProfile[]): void {
    this.#files = profiles;
    this.#globalChanged();
  }

  /** Adds or replaces the cluster profile stored under `key` (`namespace/name`). */
  set(key: string, profile: SidecarProfile): void {
    this.delete(key);
    if (isClusterWide(profile, this.#controllerNamespace)) {
      this.#globalCluster.set(key, profile);
      this.#globalChanged();
      return;
    }
    const ns = profile.namespace as string;
    const own = this.#tenants.get(ns) ?? new Map<string, SidecarProfile>();
    own.set(key, profile);
    this.#tenants.set(ns, own);
    const named = this.#tenantsByName.get(profile.name) ?? new Set<SidecarProfile>();
    named.add(profile);
    this.#tenantsByName.set(profile.name, named);
    this.#sets.delete(ns);
  }

  delete(key: string): void {
    if (this.#globalCluster.delete(key)) {
      this.#globalChanged();
      return;
    }
    const ns = key.slice(0, key.indexOf('/'));
    const own = this.#tenants.get(ns);
    const profile = own?.get(key);
    if (!own || !profile) return;
    own.delete(key);
    if (own.size === 0) this.#tenants.delete(ns);
    const named = this.#tenantsByName.get(profile.name);
    named?.delete(profile);
    if (named?.size === 0) this.#tenantsByName.delete(profile.name);
    this.#sets.delete(ns);
  }

  #globalChanged(): void {
    this.#global = undefined;
    this.#epoch++;
  }
}

/**
 * @param controllerNamespace Outrigger's own namespace: its profiles are cluster-wide.
 * @example tenancy([...fileProfiles, ...clusterProfiles], 'outrigger-system').forNamespace('shop')
 */
export function tenancy(profiles: readonly SidecarProfile[], controllerNamespace: string): TenancyIndex {
  const index = new TenancyIndex(controllerNamespace);
  const files: SidecarProfile[] = [];
  for (const p of profiles) {
    if (p.namespace === undefined) files.push(p);
    else index.set(`${p.namespace}/${p.name}`, p);
  }
  index.setFiles(files);
  return index;
}
