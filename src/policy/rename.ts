/**
 * Renaming a profile's own CEL variables (`variables.wanted` → `variables.p1_wanted`) so several
 * profiles share one policy. String literals are skipped: a profile's own text may read like a
 * variable reference and must reach the pod as it is.
 */

const REFERENCE = /^variables\.([A-Za-z_][A-Za-z0-9_]*)/;

/** `expr` with each `variables.NAME` outside string literals, NAME in `own`, prefixed. */
export function renamed(expr: string, own: ReadonlySet<string>, prefix: string): string {
  let out = '';
  let i = 0;
  while (i < expr.length) {
    const c = expr[i] as string;
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < expr.length && expr[j] !== c) j += expr[j] === '\\' ? 2 : 1;
      out += expr.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const m = /[A-Za-z0-9_.]/.test(expr[i - 1] ?? '') ? null : REFERENCE.exec(expr.slice(i, i + 80));
    if (m && own.has(m[1] as string)) {
      out += `variables.${prefix}${m[1]}`;
      i += m[0].length;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}
