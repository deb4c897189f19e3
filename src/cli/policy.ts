/** `outrigger policy`: compiles SidecarProfiles to MutatingAdmissionPolicies (webhook-less mode). */

import { toYaml } from '../io/yaml.ts';
import { type CompiledPolicies, compilePolicies, UnsupportedKubeVersion } from '../policy/compile.ts';
import { FIRST_POLICY_MINOR, type Refusal } from '../policy/refusals.ts';
import { loadProfiles } from '../profiles/load.ts';
import { EXIT, type Io } from './commands.ts';
import { parseFlags, parseKubeVersion, parseOutput, UsageError } from './options.ts';
import { jsonDocuments } from './output.ts';

export const POLICY_HELP = `Usage: outrigger policy --profiles PATH [--profiles PATH ...] [options] | kubectl apply --server-side -f -

Compiles SidecarProfiles into admissionregistration.k8s.io/v1 admission policies the API server
runs itself, with no webhook: per profile a MutatingAdmissionPolicy that injects exactly what the
webhook would, a ValidatingAdmissionPolicy that denies the pods the webhook would deny (or warns,
for failurePolicy ignore), and their bindings (namespaces labelled outrigger.dev/injection=enabled,
as the webhook); and for the set, a ValidatingAdmissionPolicy for requests of unknown profiles.

A profile the policies cannot reproduce exactly is refused, naming the field and why (the README's
"Policy mode" lists every refusal); nothing of it is printed. Pods that already carry an
outrigger.dev/status record are left as they are.

Options:
  -p, --profiles PATH     profile files or directories (repeatable)
      --kube-version X.Y  the cluster's version: native or classic sidecars, and the CEL the
                          policies may use (default 1.${FIRST_POLICY_MINOR}, the first with these policies)
      --skip-refused      print the profiles that compile; refusals become warnings
  -o, --output FORMAT     yaml (default) or json (a v1 List)
  -h, --help              show this help

Exit codes: 0 printed, 2 usage error or a version before 1.${FIRST_POLICY_MINOR}, 3 invalid profiles,
4 a profile was refused (nothing printed unless --skip-refused; then only when none compiled).
`;

export const POLICY_FLAGS = {
  profiles: { type: 'string', short: 'p', multiple: true },
  'kube-version': { type: 'string' },
  'skip-refused': { type: 'boolean' },
  output: { type: 'string', short: 'o' },
} as const;

/** One refusal, as a person reads it: the profile, where it is, the field, why. */
export const refusalLine = (r: Refusal) => `profile ${JSON.stringify(r.profile)} (${r.source}) cannot be compiled to a policy: ${r.path}: ${r.why}`;

export async function policyCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, POLICY_FLAGS);
  if (values.help) {
    io.stdout.write(POLICY_HELP);
    return EXIT.ok;
  }
  const format = parseOutput(values.output, ['yaml', 'json']);
  if (!values.profiles || values.profiles.length === 0) throw new UsageError('--profiles is required');
  const kube = values['kube-version'] ? parseKubeVersion(values['kube-version']) : { major: 1, minor: FIRST_POLICY_MINOR };
  const set = await loadProfiles(values.profiles);
  let out: CompiledPolicies;
  try {
    out = compilePolicies(set, kube);
  } catch (e) {
    if (e instanceof UnsupportedKubeVersion) throw new UsageError(`--kube-version: ${e.message}`);
    throw e;
  }
  const skip = values['skip-refused'] === true;
  for (const r of out.refusals) io.stderr.write(`${skip ? 'warning' : 'error'}: ${refusalLine(r)}\n`);
  if (out.refusals.length > 0 && (!skip || out.compiled.length === 0)) return EXIT.notInjectable;
  if (set.profiles.length === 0) io.stderr.write(`warning: no SidecarProfiles found in ${values.profiles.join(', ')}\n`);
  io.stdout.write(format === 'json' ? jsonDocuments(out.objects) : out.objects.map((o) => toYaml(o)).join('---\n'));
  return EXIT.ok;
}
