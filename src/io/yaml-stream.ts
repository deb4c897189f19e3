/**
 * Multi-document YAML read as it arrives: text goes in a piece at a time, documents come out as
 * they complete, and only the text of the documents not yet done is held. The stream is cut where
 * a document starts whatever came before it, and each piece is parsed as `parseAllDocuments`
 * parses the whole text, with the same options: the same documents, values and texts, with line
 * numbers counted from the start of the stream (yaml-stream.test.ts compares the two). Where they
 * differ, on purpose: a %TAG directive holds for its own document only (the YAML spec's reading; the
 * whole-text parse carries it over), and an error that runs past a `---` (an unclosed quote, a
 * stray `]`) is reported in the document where the parser sees it, with the line it gives there.
 */
import { type Document, LineCounter, parseAllDocuments, type Tags } from 'yaml';
import type { JsonValue } from '../common/json.ts';
import { checkDocument } from './yaml-checks.ts';

export interface YamlDocument {
  /** 1-based position in the file. */
  index: number;
  value: JsonValue;
  /**
   * The document's own source text, written back as it is when nothing changes it. The texts of a
   * file's documents, in order, are the whole file (leading comments go with the first, a `---`
   * marker with the document it starts, an empty document with the one before it).
   */
  text: string;
}

export class YamlError extends Error {}

// kubectl (go-yaml v2) reads a plain 2001-12-14 as a string, not a timestamp; the types without a
// JSON form stay unresolved here and are refused by checkDocument with their path.
const NOT_READ = new Set(['timestamp', 'binary', 'set', 'omap', 'pairs'].map((t) => `tag:yaml.org,2002:${t}`));
export const PARSE_OPTIONS = {
  version: '1.1',
  uniqueKeys: true,
  prettyErrors: true,
  strict: true,
  customTags: (tags: Tags) => tags.filter((t) => typeof t === 'string' || !NOT_READ.has(t.tag)),
} as const;

const isMarker = (line: string, marker: '---' | '...') => line.startsWith(marker) && (line.length === 3 || ' \t\r'.includes(line[3] as string));
const SKIPPED = /^[ \t]*(?:#.*)?\r?$/;

export class YamlStream {
  private readonly source: string;
  /** Unread text and text still needed, from stream offset `bufStart`. */
  private buf = '';
  private bufStart = 0;
  /** The part of `buf` not yet parsed starts at `segFrom`, on line `segLine`; `scan` is the next line to look at, on line `scanLine`. */
  private segFrom = 0;
  private segLine = 1;
  private scan = 0;
  private scanLine = 1;
  /** After `...` (or at the start): a `%` line is a directive of the next document. */
  private afterEnd = true;
  private inDirectives = false;
  private count = 0;
  /** Stream offset where the text of the last document seen starts (its end is not known yet). */
  private openStart = 0;
  /** The last kept document, whose text grows until the next one starts. */
  private held: YamlDocument | undefined;
  /** Text of empty documents before the first kept one. */
  private pendingText = '';

  /** Pieces of a line still without its line break. */
  private unbroken: string[] = [];

  private takeUnbroken(): string {
    const text = this.unbroken.join('');
    this.unbroken = [];
    return text;
  }

  constructor(source: string) {
    this.source = source;
  }

  /** Reads more of the stream; returns the documents it completed. Throws YamlError. */
  push(chunk: string): YamlDocument[] {
    // A piece without a line break completes no line: it waits, so that a long line (minified
    // JSON is one) is joined and searched once, not once per piece.
    if (!chunk.includes('\n')) {
      this.unbroken.push(chunk);
      return [];
    }
    this.buf += this.takeUnbroken() + chunk;
    const out: YamlDocument[] = [];
    this.scanLines(false, out);
    // Keep only what is needed: the text of the open document and what is not parsed yet.
    const keep = Math.min(this.openStart - this.bufStart, this.segFrom);
    if (keep > 0) {
      this.buf = this.buf.slice(keep);
      this.bufStart += keep;
      this.segFrom -= keep;
      this.scan -= keep;
    }
    return out;
  }

  /** The end of the stream: the documents still open. Throws YamlError. */
  end(): YamlDocument[] {
    this.buf += this.takeUnbroken();
    const out: YamlDocument[] = [];
    this.scanLines(true, out);
    this.cut(this.buf.length, out);
    const rest = this.buf.slice(this.openStart - this.bufStart);
    if (this.held) {
      this.held.text += rest;
      out.push(this.held);
    }
    this.held = undefined;
    return out;
  }

  /**
   * Splits at what starts a document whatever came before it: a `---` line at column 0 (YAML
   * allows no content line to look like one; the parser ends a block scalar or a quoted string
   * there), or the directives after a `...`, which belong to the `---` after them.
   */
  private scanLines(atEnd: boolean, out: YamlDocument[]): void {
    while (this.scan < this.buf.length) {
      const nl = this.buf.indexOf('\n', this.scan);
      if (nl === -1 && !atEnd) return;
      const line = this.buf.slice(this.scan, nl === -1 ? this.buf.length : nl);
      if (nl === -1 && !atEnd && line.length < 4) return;
      if (isMarker(line, '---')) {
        if (this.inDirectives) this.inDirectives = false;
        else this.cut(this.scan, out, this.buf.slice(this.scan, this.scan + 4));
        this.afterEnd = false;
      } else if (isMarker(line, '...')) {
        this.afterEnd = true;
        this.inDirectives = false;
      } else if (line.startsWith('%') && this.afterEnd) {
        if (!this.inDirectives) this.cut(this.scan, out);
        this.inDirectives = true;
      } else if (!SKIPPED.test(line)) {
        this.afterEnd = false;
        this.inDirectives = false;
      }
      if (nl === -1) {
        this.scan = this.buf.length;
        return;
      }
      this.scan = nl + 1;
      this.scanLine++;
    }
  }

  /**
   * Parses the text from `segFrom` to `at` of `buf`: whole documents, as a stream of their own.
   * `marker`, the start of the `---` line after them, is parsed too (and the document it starts
   * dropped) so that what ends there ends as it does in the whole text. After it come both quote
   * characters: the lexer looks ahead for a closing quote, and where it finds none it names the end
   * of the input, not the marker, as where an unclosed quoted string ends.
   */
  private cut(at: number, out: YamlDocument[], marker = ''): void {
    if (at <= this.segFrom) return;
    const text = this.buf.slice(this.segFrom, at);
    const offset = this.bufStart + this.segFrom;
    const firstLine = this.segLine;
    this.segFrom = at;
    this.segLine = this.scanLine;
    const lines = new LineCounter();
    const docs = parseAllDocuments(marker === '' ? text : `${text}${marker}\n"'`, { ...PARSE_OPTIONS, prettyErrors: false, lineCounter: lines });
    if (!Array.isArray(docs)) return;
    for (const doc of docs) if (doc.range[0] < text.length || marker === '') this.finish(doc, text, offset, firstLine, lines, out);
  }

  private finish(doc: Document.Parsed, text: string, offset: number, firstLine: number, lines: LineCounter, out: YamlDocument[]): void {
    const index = ++this.count;
    const where = `${this.source}, document ${index}`;
    const err = doc.errors[0];
    if (err) {
      const at = err.pos[0] === -1 ? undefined : lines.linePos(err.pos[0]);
      const line = at && at.line > 0 ? at.line + firstLine - 1 : at?.line;
      // What prettyErrors adds to the message, whose first line is kept.
      const pretty = at === undefined ? err.message : `${err.message} at line ${line}, column ${at.col}`;
      const message = err.code === 'DUPLICATE_KEY' ? duplicateKey(text, err.pos[0]) : (pretty.split('\n')[0] ?? '').replace(/:$/, '');
      throw new YamlError(`${where}${line ? ` (line ${line})` : ''}: ${message}`);
    }
    const problem = checkDocument(doc);
    if (problem) {
      const line = problem.offset === undefined ? undefined : lineOf(text, problem.offset) + firstLine - 1;
      throw new YamlError(`${where}${line ? ` (line ${line})` : ''}: ${problem.path ? `${problem.path}: ` : ''}${problem.message}`);
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      throw new YamlError(`${where}: ${(e as Error).message}`);
    }
    // The text from where the document before started to where this one starts is that one's.
    const start = index === 1 ? 0 : offset + doc.range[0];
    const piece = this.buf.slice(this.openStart - this.bufStart, start - this.bufStart);
    if (this.held) this.held.text += piece;
    else this.pendingText += piece;
    this.openStart = start;
    if (value === null || value === undefined) return; // `---` with nothing after it: its text stays with the one before
    if (this.held) out.push(this.held);
    this.held = { index, value: value as JsonValue, text: this.pendingText };
    this.pendingText = '';
  }
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The message for a key set twice in one mapping, naming the key (the parser's names only the line). */
function duplicateKey(text: string, offset: number): string {
  const rest = text.slice(offset, offset + 256);
  const key = /^\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\n]|'')*)'|([^:#\n]*?))\s*:/.exec(rest);
  const name = key ? (key[1] ?? key[2]?.replaceAll("''", "'") ?? key[3]) : undefined;
  return name ? `key ${JSON.stringify(name)} is set twice in one mapping` : 'a key is set twice in one mapping';
}
