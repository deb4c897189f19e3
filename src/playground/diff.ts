/**
 * A side-by-side line diff of the workload against the injected output: the longest common
 * subsequence of lines (Myers' greedy algorithm, O((n+m)·d) time and O(d²) memory), as rows of
 * left and right lines. Past MAX_EDITS differing lines (a one-line JSON pod that injection turns
 * into YAML) or MAX_LINES lines the diff is coarse instead: common first and last lines, the rest
 * removed and added; still exact, only not minimal, so a pasted or linked input cannot stall the page.
 */

const MAX_EDITS = 2_000;
const MAX_LINES = 50_000;

/** Same leading and trailing lines, everything between removed then added: linear time. */
function coarse(a: readonly string[], b: readonly string[]): (0 | 1 | -1)[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  return [
    ...new Array<0>(head).fill(0),
    ...new Array<-1>(a.length - head - tail).fill(-1),
    ...new Array<1>(b.length - head - tail).fill(1),
    ...new Array<0>(tail).fill(0),
  ];
}

export type DiffRow =
  | { kind: 'same'; left: string; right: string; leftNo: number; rightNo: number }
  | { kind: 'removed'; left: string; leftNo: number }
  | { kind: 'added'; right: string; rightNo: number }
  | { kind: 'changed'; left: string; right: string; leftNo: number; rightNo: number };

/** Lines of a text; a final line break ends the last line and starts none. */
export const linesOf = (text: string): string[] => (text === '' ? [] : text.replace(/\n$/, '').split('\n'));

/** The edit script from `a` to `b`: for each step, 0 same, -1 removed from a, 1 added from b. */
function script(a: readonly string[], b: readonly string[]): (0 | 1 | -1)[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  if (max > MAX_LINES) return coarse(a, b);
  const v = new Int32Array(2 * max + 2);
  // The frontier before each d, only the diagonals -d-1..d+1 that the walk back reads.
  const trace: { base: number; v: Int32Array }[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    if (d > MAX_EDITS) return coarse(a, b);
    const base = Math.max(0, max - d - 1);
    trace.push({ base, v: v.slice(base, max + d + 2) });
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && (v[max + k - 1] as number) < (v[max + k + 1] as number)) ? (v[max + k + 1] as number) : (v[max + k - 1] as number) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[max + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  // Walk back from the end through the saved frontiers.
  const steps: (0 | 1 | -1)[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const { base, v: t } = trace[d] as { base: number; v: Int32Array };
    const at = (kk: number) => t[max + kk - base] ?? 0;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      steps.push(0);
      x--;
      y--;
    }
    if (d > 0) steps.push(x === prevX ? 1 : -1);
    x = prevX;
    y = prevY;
  }
  return steps.reverse();
}

/** Rows of the side-by-side diff; a run of removals next to a run of additions pairs up as changes. */
export function sideBySide(before: string, after: string): DiffRow[] {
  const a = linesOf(before);
  const b = linesOf(after);
  const rows: DiffRow[] = [];
  let i = 0;
  let j = 0;
  let removed: number[] = [];
  let added: number[] = [];
  const flush = () => {
    const pairs = Math.min(removed.length, added.length);
    for (let p = 0; p < pairs; p++) {
      const [l, r] = [removed[p] as number, added[p] as number];
      rows.push({ kind: 'changed', left: a[l] as string, right: b[r] as string, leftNo: l + 1, rightNo: r + 1 });
    }
    for (const l of removed.slice(pairs)) rows.push({ kind: 'removed', left: a[l] as string, leftNo: l + 1 });
    for (const r of added.slice(pairs)) rows.push({ kind: 'added', right: b[r] as string, rightNo: r + 1 });
    removed = [];
    added = [];
  };
  for (const s of script(a, b)) {
    if (s === 0) {
      flush();
      rows.push({ kind: 'same', left: a[i] as string, right: b[j] as string, leftNo: i + 1, rightNo: j + 1 });
      i++;
      j++;
    } else if (s === -1) removed.push(i++);
    else added.push(j++);
  }
  flush();
  return rows;
}
