/**
 * The release's build provenance: an in-toto statement (SLSA provenance v1) naming the image index
 * and each platform manifest by digest, and the commit and tag they were built from. Nothing in it
 * depends on the time of the build, so a rebuild of one commit gives the same statement.
 */
import { IMAGE_REPOSITORY, SOURCE_URL } from '../../src/deploy/image.ts';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const BUILD_TYPE = `${SOURCE_URL}/blob/main/scripts/release.ts`;

export interface Subject {
  name: string;
  digest: { sha256: string };
}

export interface ProvenanceInput {
  version: string;
  tag: string;
  commit: string;
  /** The image index first, then the platform manifests. */
  digests: { name: string; digest: string }[];
  env?: NodeJS.ProcessEnv;
}

/** GitHub Actions names the workflow run; a local dry-run names itself. */
function builder(env: NodeJS.ProcessEnv): { id: string; invocationId?: string } {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_WORKFLOW_REF: workflow, GITHUB_RUN_ID: run, GITHUB_RUN_ATTEMPT: attempt } = env;
  if (server && repo && workflow && run) {
    return { id: `${server}/${workflow}`, invocationId: `${server}/${repo}/actions/runs/${run}/attempts/${attempt ?? '1'}` };
  }
  return { id: `${SOURCE_URL}/scripts/release.ts#local-dry-run` };
}

export function provenancePredicate(p: ProvenanceInput): object {
  const source = { uri: `git+${SOURCE_URL}@refs/tags/${p.tag}`, digest: { gitCommit: p.commit } };
  return {
    buildDefinition: {
      buildType: BUILD_TYPE,
      externalParameters: { source, version: p.version },
      resolvedDependencies: [source],
    },
    runDetails: { builder: builder(p.env ?? process.env) },
  };
}

export function provenanceStatement(p: ProvenanceInput): { _type: string; subject: Subject[]; predicateType: string; predicate: object } {
  const subject = p.digests.map((d) => {
    const m = /^sha256:([0-9a-f]{64})$/.exec(d.digest);
    if (!m) throw new Error(`provenance: ${d.name}: ${JSON.stringify(d.digest)} is not a sha256 digest`);
    return { name: d.name, digest: { sha256: m[1] as string } };
  });
  return { _type: STATEMENT_TYPE, subject, predicateType: SLSA_PROVENANCE_V1, predicate: provenancePredicate(p) };
}

export const subjectName = (platform?: { os: string; architecture: string }) =>
  platform ? `${IMAGE_REPOSITORY}@${platform.os}/${platform.architecture}` : IMAGE_REPOSITORY;
