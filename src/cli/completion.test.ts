/**
 * `outrigger completion`: the bash script is sourced in a real bash and its completion function
 * driven as readline drives it; every command and flag of the registry appears in every script;
 * the flag lists and value sets are checked against the commands' own parsers. Also the
 * `kubectl-outrigger` executable, run by a real kubectl when one is installed.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BuiltPackage, buildPackage, REPO } from '../../test/support/built-package.ts';
import { runCli } from '../../test/support/run-cli.ts';
import { HELP } from './commands.ts';
import { COMMAND_FLAGS, COMPLETION_HELP, commandSpecs, completionScript, FLAG_VALUES, SHELLS } from './completion.ts';
import { COMMANDS } from './registry.ts';

const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const tmp = mkdtempSync(join(tmpdir(), 'outrigger-completion-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Candidates bash offers for each command line (the last word is the one being completed). */
function bashComplete(lines: readonly string[][]): string[][] {
  const file = join(tmp, 'outrigger.bash');
  writeFileSync(file, completionScript('bash'));
  const calls = lines.map((words) => {
    const quoted = words.map((w) => `'${w}'`).join(' ');
    return `COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _outrigger; printf '%s\\n' "\${COMPREPLY[@]}"; echo '@@'`;
  });
  const out = execFileSync('bash', ['--norc', '--noprofile', '-c', `source '${file}'\n${calls.join('\n')}`], { encoding: 'utf8' });
  return out
    .split('@@\n')
    .slice(0, lines.length)
    .map((chunk) => chunk.split('\n').filter((l) => l !== ''));
}

describe('outrigger completion bash, in a real bash', () => {
  test('registers _outrigger for outrigger and kubectl-outrigger', () => {
    const file = join(tmp, 'registered.bash');
    writeFileSync(file, completionScript('bash'));
    const out = execFileSync('bash', ['--norc', '--noprofile', '-c', `source '${file}'; complete -p outrigger kubectl-outrigger`], { encoding: 'utf8' });
    assert.equal(out, 'complete -o default -F _outrigger outrigger\ncomplete -o default -F _outrigger kubectl-outrigger\n');
  });

  test('completes commands, flags and closed sets of values', () => {
    const cases: [string[], string[]][] = [
      [['outrigger', 'in'], ['inject']],
      [['outrigger', ''], COMMANDS.map((c) => c.name)],
      [['outrigger', 'inject', '--pro'], ['--profiles']],
      [
        ['kubectl-outrigger', 'uninject', '--'],
        ['--filename', '--recursive', '--continue-on-error', '--output', '--help'],
      ],
      [
        ['outrigger', 'explain', '-o', ''],
        ['table', 'json'],
      ],
      [['outrigger', 'version', '--output', 'j'], ['json']],
      [
        ['outrigger', 'manifests', '--cert-mode', ''],
        ['self', 'cert-manager', 'files'],
      ],
      [
        ['outrigger', 'serve', '--cert-mode', ''],
        ['files', 'self'],
      ],
      [['outrigger', 'serve', '--log-level', 'w'], ['warn']],
      [
        ['outrigger', 'inject', '--unknown-profiles', ''],
        ['admit', 'deny'],
      ],
      [
        ['outrigger', 'completion', ''],
        ['bash', 'zsh', 'fish'],
      ],
      // A file or a name: nothing from the script, so bash falls back to its default (file names).
      [['outrigger', 'inject', '-f', ''], []],
      [['outrigger', 'nosuch', '--'], []],
    ];
    assert.deepEqual(
      bashComplete(cases.map(([words]) => words)),
      cases.map(([, want]) => want),
    );
  });

  test('every flag of every command completes from its prefix', () => {
    const lines = commandSpecs().flatMap((c) => c.flags.map((f) => ['outrigger', c.name, `--${f.long}`]));
    const got = bashComplete(lines);
    lines.forEach((words, i) => {
      assert.ok(got[i]?.includes(words[2] as string), `${words.join(' ')}<TAB> offers ${JSON.stringify(got[i])}`);
    });
  });
});

describe('the scripts name every command, flag and value of the registry', () => {
  for (const shell of SHELLS) {
    test(shell, () => {
      const script = completionScript(shell);
      for (const c of commandSpecs()) {
        assert.ok(new RegExp(`\\b${c.name}\\b`).test(script), `${shell}: command ${c.name}`);
        for (const f of c.flags) {
          const long = shell === 'fish' ? `-l ${f.long}` : `--${f.long}`;
          assert.ok(script.includes(long), `${shell}: ${c.name} ${long}`);
          if (f.short) assert.ok(script.includes(shell === 'fish' ? `-s ${f.short}` : `-${f.short}`), `${shell}: ${c.name} -${f.short}`);
          for (const v of f.values ?? []) assert.ok(script.includes(v), `${shell}: ${c.name} --${f.long} ${v}`);
        }
      }
    });
  }

  test('zsh: syntax (zsh -n when installed) and structure', () => {
    const script = completionScript('zsh');
    if (have('zsh')) {
      const file = join(tmp, '_outrigger');
      writeFileSync(file, script);
      execFileSync('zsh', ['-n', file]);
    }
    assert.match(script, /^#compdef outrigger kubectl-outrigger\n/);
    assert.match(script, /\n {2}compdef _outrigger outrigger kubectl-outrigger\nfi\n$/);
    assert.equal(script.match(/\bcase\b/g)?.length, script.match(/\besac\b/g)?.length);
    for (const c of COMMANDS) assert.match(script, new RegExp(`\\n {4}${c.name}\\)\\n {6}_arguments \\\\\\n`), c.name);
    // Every _arguments spec is one single-quoted word; an unbalanced quote would swallow the rest.
    for (const line of script.split('\n').filter((l) => l.startsWith("        '"))) assert.match(line, /^ {8}'[^']*'( \\| ;;)$/, line);
  });

  test('fish: syntax (fish --no-execute when installed) and structure', () => {
    const script = completionScript('fish');
    if (have('fish')) {
      const file = join(tmp, 'outrigger.fish');
      writeFileSync(file, script);
      execFileSync('fish', ['--no-execute', file]);
    }
    const lines = script.trimEnd().split('\n');
    for (const l of lines.slice(1)) assert.match(l, /^complete -c (outrigger|kubectl-outrigger)( -[a-zA-Z]( '[^']*'| [^\s'-]\S*)?)*$/, l);
    for (const c of COMMANDS) assert.ok(lines.includes(`complete -c outrigger -n __fish_use_subcommand -a ${c.name} -d '${c.summary}'`), c.name);
    assert.ok(lines.includes('complete -c kubectl-outrigger -w outrigger'));
  });
});

describe('the flag lists agree with the commands', () => {
  test('every registered command has its flags; none are listed for a command that does not exist', () => {
    assert.deepEqual(Object.keys(COMMAND_FLAGS).sort(), COMMANDS.map((c) => c.name).sort());
  });

  test('every flag listed is accepted by the command, and every flag its help names is listed', async () => {
    for (const c of commandSpecs()) {
      const args = c.flags.filter((f) => f.long !== 'help').flatMap((f) => (f.takesValue ? [`--${f.long}`, f.values?.[0] ?? 'x'] : [`--${f.long}`]));
      const r = await runCli([c.name, ...args, '--help']);
      assert.equal(r.code, 0, `${c.name} ${args.join(' ')}: ${r.stderr}`);
      const { help } = await (COMMANDS.find((e) => e.name === c.name) as (typeof COMMANDS)[number]).load();
      for (const m of help.matchAll(/(?<![\w-])--([a-z][a-z-]*)/g)) {
        const flag = m[1] as string;
        // manifests' usage line pipes into `kubectl apply --server-side`: kubectl's flag, not ours.
        if (flag === 'server-side') continue;
        assert.ok(
          c.flags.some((f) => f.long === flag),
          `${c.name}: its help names --${flag}, the completion does not`,
        );
      }
    }
  });

  test('every closed set of values is the one the command names when it refuses a value', async () => {
    const offline = ['-f', 'examples/workloads/shop.yaml', '--profiles', 'examples/profiles'];
    const base: Record<string, string[]> = {
      serve: ['--profiles', 'x', '--tls-cert', 'c', '--tls-key', 'k'],
      inject: offline,
      explain: offline,
      validate: ['--profiles', 'examples/profiles'],
    };
    for (const [command, flags] of Object.entries(FLAG_VALUES)) {
      for (const [flag, values] of Object.entries(flags)) {
        const r = await runCli([command, ...(base[command] ?? []), `--${flag}`, 'no-such-value']);
        assert.equal(r.code, 2, `${command} --${flag}`);
        const m = new RegExp(`--${flag}: "no-such-value" must be (?:one of )?(.+)\\n`).exec(r.stderr);
        assert.ok(m, `${command} --${flag}: ${r.stderr}`);
        assert.deepEqual((m[1] as string).split(/, | or /), [...values], `${command} --${flag}`);
      }
    }
  });
});

describe('outrigger completion', () => {
  test('prints the script for each shell; a missing or unknown shell is a usage error naming the shells', async () => {
    for (const shell of SHELLS) {
      const r = await runCli(['completion', shell]);
      assert.deepEqual(r, { code: 0, stdout: completionScript(shell), stderr: '' });
    }
    const none = await runCli(['completion']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^error: completion: name a shell: bash, zsh, fish\n/);
    const tcsh = await runCli(['completion', 'tcsh']);
    assert.equal(tcsh.code, 2);
    assert.match(tcsh.stderr, /^error: completion: "tcsh" is not a supported shell: bash, zsh, fish\n/);
    assert.equal((await runCli(['completion', 'bash', 'extra'])).code, 2);
  });

  test('the README shows its help and how to install it', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    assert.ok(readme.includes(`\n\`\`\`\n${COMPLETION_HELP}\`\`\`\n`), 'README.md: the help of outrigger completion, as printed');
    assert.ok(readme.includes('source <(outrigger completion bash)'));
    assert.ok(readme.includes('kubectl outrigger inject'));
  });
});

describe('kubectl-outrigger (the built package)', () => {
  let pkg: BuiltPackage | undefined;
  before(() => {
    pkg = buildPackage();
  });
  after(() => pkg?.remove());

  test('package.json names it, with the same executable as outrigger', () => {
    const { bin } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    assert.equal(bin['kubectl-outrigger'], bin.outrigger);
    assert.ok(existsSync(join((pkg as BuiltPackage).dir, bin['kubectl-outrigger'] as string)));
  });

  test('run as a kubectl plugin, it gets the arguments after the plugin name', { skip: !have('kubectl') && 'kubectl is not installed' }, () => {
    const built = pkg as BuiltPackage;
    const binDir = join(tmp, 'bin');
    mkdirSync(binDir);
    // As npm links a package's bin: a symlink to the file, made executable.
    chmodSync(built.bin, 0o755);
    symlinkSync(built.bin, join(binDir, 'kubectl-outrigger'));
    const env = { ...process.env, PATH: [binDir, dirname(process.execPath), process.env.PATH].join(delimiter) };
    const r = spawnSync('kubectl', ['outrigger', 'inject', '--help'], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, HELP.inject);
  });
});
