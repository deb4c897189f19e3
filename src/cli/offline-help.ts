/** The --help texts of the offline commands (inject, uninject, explain, validate). */
import { DEFAULT_KUBE_VERSION } from './options.ts';

export const HELP = {
  inject: `Usage: outrigger inject -f FILE|DIR|- [-f ...] --profiles PATH [options]

Adds the sidecars of the requested and selected profiles to every pod and pod template in the
input (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob,
List, any object with spec.template) and writes the documents to stdout as YAML, in input order.
Other documents pass through unchanged.

Options:
  -f, --filename PATH      manifest file, directory of *.yaml/*.yml/*.json, or - for stdin (repeatable)
  -R, --recursive          descend into subdirectories of a -f directory
      --continue-on-error  report every unreadable file on stderr and still process the others
  -p, --profiles PATH      SidecarProfile file or directory (repeatable)
      --kube-version X.Y   Kubernetes version of the target cluster (default ${DEFAULT_KUBE_VERSION.major}.${DEFAULT_KUBE_VERSION.minor}); decides native sidecars
  -n, --namespace NAME     namespace for objects that name none (default "default")
      --namespace-label K=V  labels of that namespace, for profile selectors (repeatable)
      --unknown-profiles admit|deny  a workload requesting a profile that does not exist: injected
                           without it, with a warning (admit, the default), or refused (deny)
  -o, --output FORMAT      yaml (default) or json (one object, or a List of several)
  -h, --help               show this help

Exit codes: 0 done, 2 usage error, 3 unreadable input (also an empty file or stdin, or a directory
with no manifests) or invalid profiles, 4 a workload could not be injected. Nothing is written to
stdout unless the exit code is 0; with --continue-on-error an unreadable file gives exit 3 and
stdout holds the other files' result (a workload that could not be injected still gives 4 and
nothing on stdout).
`,
  uninject: `Usage: outrigger uninject -f FILE|DIR|- [-f ...]

Removes exactly what Outrigger injected, as recorded in each pod's outrigger.dev/status annotation,
giving back the original manifests. Needs no profiles.

Options:
  -f, --filename PATH   manifest file, directory, or - for stdin (repeatable)
  -R, --recursive       descend into subdirectories
      --continue-on-error  report every unreadable file on stderr and still process the others
  -o, --output FORMAT   yaml (default) or json (one object, or a List of several)
  -h, --help            show this help

Exit codes: 0 done, 2 usage error, 3 unreadable input (also an empty file or stdin, or a directory
with no manifests), 4 a status annotation is corrupt. Nothing is written to stdout unless the exit
code is 0; with --continue-on-error an unreadable file gives exit 3 and stdout holds the other
files' result.
`,
  explain: `Usage: outrigger explain -f FILE|DIR|- --profiles PATH [options] [-o table|json]

For every workload: which profiles apply, why or why not, and what injection would change.

Options: as for inject, except
  -o, --output FORMAT   table (default) or json

Exit codes: 0 done (whatever the decisions), 2 usage error, 3 unreadable input (also an empty file
or stdin, or a directory with no manifests) or invalid profiles. Nothing is written to stdout
unless the exit code is 0; with --continue-on-error an unreadable file gives exit 3 and stdout
holds the explanation of the other files.
`,
  validate: `Usage: outrigger validate --profiles PATH [--profiles PATH ...] [--require-profiles]

Loads and validates SidecarProfiles; prints every error with its file, document and field path.
A --profiles file or directory that holds no SidecarProfile is named in a warning.

Options:
  -p, --profiles PATH     SidecarProfile file or directory (repeatable)
      --require-profiles  a --profiles path with no SidecarProfile is an error, not a warning
  -o, --output FORMAT     text (default) or json: the valid profiles and the paths without any
  -h, --help              show this help

Exit codes: 0 all valid, 2 usage error, 3 one or more errors.
`,
} as const;
