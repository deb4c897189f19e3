/**
 * Which profiles apply in which namespace. Profiles from files and from Outrigger's own namespace
 * are cluster-wide; a profile anywhere else applies only to pods of its namespace, and may not reuse
 * a cluster-wide profile's name (that would let a tenant shadow a platform profile, mandatory ones
 * included). A tenant can never affect another namespace's pods.
 */
import { type ProfileSet, profileSet, type SidecarProfile } from '../engine/profile.ts';

export interface Tenancy {
  /** The profile set for pods of `namespace`; cached until the profiles change. */
  forNamespace(namespace: string): ProfileSet;
  /** Tenant profiles refused because a cluster-wide profile has their name, with the reason. */
  readonly shadowed: ReadonlyMap<SidecarProfile, string>;
  readonly global: ProfileSet;
}

/** Whether a profile applies cluster-wide: from a file, or from Outrigger's own namespace. */
export function isClusterWide(p: SidecarProfile, controllerNamespace: string): boolean {
  return p.namespace === undefined || p.namespace === controllerNamespace;
}

/**
 * @param controllerNamespace Outrigger's own namespace: its profiles are cluster-wide.
 * @example tenancy([...fileProfiles, ...clusterProfiles], 'outrigger-system').forNamespace('shop')
 */
export function tenancy(profiles: readonly SidecarProfile[], controllerNamespace: string): Tenancy {
  const global: SidecarProfile[] = [];
  const byNamespace = new Map<string, SidecarProfile[]>();
  for (const p of profiles) {
    const ns = p.namespace as string; // set on every profile that is not cluster-wide
    if (isClusterWide(p, controllerNamespace)) global.push(p);
    else byNamespace.set(ns, [...(byNamespace.get(ns) ?? []), p]);
  }
  const globalSet = profileSet(global);
  const shadowed = new Map<SidecarProfile, string>();
  const sets = new Map<string, ProfileSet>();
  for (const [ns, list] of byNamespace) {
    const allowed = list.filter((p) => {
      const owner = globalSet.byName.get(p.name);
      if (!owner) return true;
      shadowed.set(p, `the name ${JSON.stringify(p.name)} is taken by the cluster-wide profile from ${owner.source}; rename this profile`);
      return false;
    });
    sets.set(ns, profileSet([...global, ...allowed]));
  }
  return {
    forNamespace: (namespace) => sets.get(namespace) ?? globalSet,
    shadowed,
    global: globalSet,
  };
}
