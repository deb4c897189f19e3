/// <reference lib="dom" />
/**
 * The playground page: reads the panes, runs the engine (run.ts) a moment after the last keystroke,
 * and shows what `outrigger inject` and `outrigger explain` print. The input lives in the URL
 * fragment, which never leaves the browser; nothing is fetched or sent.
 */
import { decodeFragment, encodeFragment, MAX_FRAGMENT, type PlaygroundState } from '../cli/playground-fragment.ts';
import type { DiffRow } from './diff.ts';
import { EXAMPLES } from './examples.ts';
import { FILES, type PlaygroundOutput, runPlayground } from './run.ts';

const DEBOUNCE_MS = 150;

function $<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`playground: no #${id} in the page`);
  return e as T;
}

const ui = {
  profiles: $<HTMLTextAreaElement>('profiles'),
  workload: $<HTMLTextAreaElement>('workload'),
  kubeVersion: $<HTMLInputElement>('kube-version'),
  namespace: $<HTMLInputElement>('namespace'),
  labels: $<HTMLTextAreaElement>('labels'),
  unknownProfiles: $<HTMLSelectElement>('unknown-profiles'),
  examples: $<HTMLSelectElement>('examples'),
  profileErrors: $<HTMLUListElement>('profile-errors'),
  workloadError: $('workload-error'),
  contextError: $('context-error'),
  injectExit: $('inject-exit'),
  injectStdout: $('inject-stdout'),
  injectStderr: $('inject-stderr'),
  explainExit: $('explain-exit'),
  explainStdout: $('explain-stdout'),
  explainStderr: $('explain-stderr'),
  diff: $<HTMLTableElement>('diff'),
  patch: $('patch'),
  command: $('command'),
  copy: $<HTMLButtonElement>('copy-command'),
  copyStatus: $('copy-status'),
  saveProfiles: $<HTMLButtonElement>('save-profiles'),
  saveWorkload: $<HTMLButtonElement>('save-workload'),
};

function readState(): PlaygroundState {
  return {
    profiles: ui.profiles.value,
    workload: ui.workload.value,
    context: { kubeVersion: ui.kubeVersion.value, namespace: ui.namespace.value, labels: ui.labels.value, unknownProfiles: ui.unknownProfiles.value },
  };
}

function writeState(s: PlaygroundState): void {
  ui.profiles.value = s.profiles;
  ui.workload.value = s.workload;
  ui.kubeVersion.value = s.context.kubeVersion;
  ui.namespace.value = s.context.namespace;
  ui.labels.value = s.context.labels;
  ui.unknownProfiles.value = s.context.unknownProfiles ?? '';
}

function exitText(el: HTMLElement, exit: number): void {
  el.textContent = `exit ${exit}`;
  el.classList.toggle('failed', exit !== 0);
}

function diffRow(r: DiffRow): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.className = r.kind;
  const cell = (text: string, cls: string) => {
    const td = document.createElement('td');
    td.className = cls;
    td.textContent = text;
    tr.append(td);
  };
  const left = r.kind === 'added' ? undefined : r;
  const right = r.kind === 'removed' ? undefined : r;
  cell(left ? String(left.leftNo) : '', 'no left');
  cell(left ? left.left : '', 'left');
  cell(right ? String(right.rightNo) : '', 'no right');
  cell(right ? right.right : '', 'right');
  return tr;
}

/** Saves a pane as a file of the name the command line gives it (a download; nothing is uploaded). */
function save(name: string, text: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type: 'application/yaml' }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 0);
}

function render(out: PlaygroundOutput): void {
  exitText(ui.injectExit, out.inject.exit);
  ui.injectStdout.textContent = out.inject.stdout;
  ui.injectStderr.textContent = out.inject.stderr;
  exitText(ui.explainExit, out.explain.exit);
  ui.explainStdout.textContent = out.explain.stdout;
  ui.explainStderr.textContent = out.explain.stderr;
  ui.profileErrors.replaceChildren(
    ...out.profileErrors.map((e) => {
      const li = document.createElement('li');
      li.dataset.document = e.document === undefined ? '' : String(e.document);
      li.dataset.path = e.path ?? '';
      li.dataset.line = e.line === undefined ? '' : String(e.line);
      const where = document.createElement('span');
      where.className = 'where';
      where.textContent = [
        e.line === undefined ? undefined : `line ${e.line}`,
        e.document === undefined ? undefined : `document ${e.document}${e.item === undefined ? '' : `, item ${e.item}`}`,
        e.path,
      ]
        .filter(Boolean)
        .join(' · ');
      li.append(where, document.createTextNode(`${where.textContent ? ': ' : ''}${e.detail}`));
      return li;
    }),
  );
  ui.workloadError.textContent = out.workloadError ?? '';
  ui.contextError.textContent = out.contextError ?? '';
  ui.diff.replaceChildren(...out.diff.map(diffRow));
  ui.patch.textContent = out.patches.map((p) => `# ${p.workload} (${p.outcome})\n${JSON.stringify(p.patch, null, 2)}\n`).join('\n');
  ui.command.textContent = out.command;
}

let runs = 0;
function run(): void {
  const state = readState();
  let out: PlaygroundOutput;
  try {
    out = runPlayground(state);
  } catch (e) {
    // An engine bug: say so where the output would be, rather than leave the last result up.
    ui.injectStderr.textContent = `internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
    return;
  }
  render(out);
  // The link holds the whole input; past what browsers keep in a URL it is left as it was.
  const fragment = encodeFragment(state);
  if (fragment.length <= MAX_FRAGMENT) {
    try {
      history.replaceState(null, '', fragment);
    } catch {
      // A browser refusing the URL: the page still works, only the link is not updated.
    }
  }
  // Tests wait for this to change.
  document.body.dataset.runs = String(++runs);
}

let timer: ReturnType<typeof setTimeout> | undefined;
function schedule(): void {
  clearTimeout(timer);
  timer = setTimeout(run, DEBOUNCE_MS);
}

for (const el of [ui.profiles, ui.workload, ui.kubeVersion, ui.namespace, ui.labels, ui.unknownProfiles]) el.addEventListener('input', schedule);

ui.examples.append(new Option('Choose an example…', ''), ...EXAMPLES.map((e, i) => new Option(e.name, String(i))), new Option('Empty', 'empty'));
ui.examples.addEventListener('change', () => {
  const v = ui.examples.value;
  const e = v === 'empty' ? { profiles: '', workload: '', context: { kubeVersion: '', namespace: '', labels: '' } } : EXAMPLES[Number(v)];
  if (v === '' || !e) return;
  writeState(e);
  run();
});

ui.saveProfiles.addEventListener('click', () => save(FILES.profiles, ui.profiles.value));
ui.saveWorkload.addEventListener('click', () => save(FILES.workload, ui.workload.value));

ui.copy.addEventListener('click', async () => {
  const text = ui.command.textContent ?? '';
  try {
    await navigator.clipboard.writeText(text);
    ui.copyStatus.textContent = `Copied. It reads ${FILES.profiles} and ${FILES.workload}: save the panes with the buttons beside it.`;
  } catch {
    // No clipboard permission: leave the command selected for Ctrl-C.
    getSelection()?.selectAllChildren(ui.command);
    ui.copyStatus.textContent = 'Press Ctrl-C to copy the selected command.';
  }
});

function load(): void {
  const state = decodeFragment(location.hash);
  const first = EXAMPLES[0];
  if (state) writeState(state);
  else if (first) {
    writeState(first);
    ui.examples.value = '0';
  }
  run();
}
window.addEventListener('hashchange', () => {
  const state = decodeFragment(location.hash);
  if (state && encodeFragment(state) !== encodeFragment(readState())) load();
});
load();
