/** Flag parsing shared by the CLI commands (node:util parseArgs), with errors that name the flag. */
import { parseArgs } from 'node:util';
import { UsageError } from './flag-values.ts';

export {
  DEFAULT_KUBE_VERSION,
  imageFlag,
  namespaceFlag,
  parseAdmission,
  parseKubeVersion,
  parseLabels,
  parseOutput,
  parseUnknownProfiles,
  UsageError,
} from './flag-values.ts';

type OptionSpec = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

export function parseFlags<O extends OptionSpec>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: false, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
