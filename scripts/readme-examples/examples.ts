/**
 * README examples as tests: extracts the code blocks of a README, runs them and compares what they
 * print and return with the comments next to them.
 *
 * The convention (documented in the root README, section "Examples in the READMEs"):
 *
 * - Every ```ts / ```js block is a program, run as an ES module with the workspace packages
 *   resolved to their sources. A block preceded by `<!-- example: continues -->` continues the
 *   previous block of the same README (one program, run once); `<!-- example: skip (reason) -->`
 *   skips a block and needs a reason in parentheses.
 * - `expr; // → value` — the statement ending on that line produces `value`. The value is a
 *   JavaScript expression (`42n`, `0x4000_0000n`, `{ ok: false, errno: 'EFAULT' }`, `'r--'`)
 *   compared by deep equality (bigint ≠ number, no extra or missing keys); if it contains `…` it
 *   is a pattern matched against `util.inspect` of the value, `…` standing for any text.
 *   Prose may come before the arrow: `mem.read64(pa); // little-endian → 0xdeadbeefn`.
 * - `stmt; // → throws Name: message` — the statement throws an error whose `name: message`
 *   matches (`…` wildcards; `throws Name` alone checks the name only). The program goes on.
 * - `// → text` on lines of their own after a statement — the exact lines the program printed
 *   (console.log, process.stdout.write) since the previous check. A line `// → …` stands for any
 *   number of lines. Output that no comment shows fails the example.
 * - A ```text block preceded by `<!-- example: output -->` is the complete output of the program
 *   just before it.
 * - A ```console block runs every `$ mmkit …` line with the built CLI (in bash, so pipes work) and
 *   compares stdout and stderr with the lines that follow it (`…` wildcards as above).
 *
 * Everything here is pure (parsing, transforming, comparing); the test file does the running.
 */
import { inspect } from 'node:util';
import ts from 'typescript';

/** A fenced code block of a Markdown file. */
export interface CodeBlock {
  readonly file: string;
  /** The info string's first word: `ts`, `js`, `console`, `text`, … */
  readonly lang: string;
  /** 1-based line of the first line of code (the line after the opening fence). */
  readonly line: number;
  readonly code: string;
  /** The `<!-- example: … -->` directive just before the fence, if any. */
  readonly directive: Directive | undefined;
}

export type Directive =
  | { readonly kind: 'continues' }
  | { readonly kind: 'skip'; readonly reason: string }
  | { readonly kind: 'output' };

/** Languages run as programs. */
export const PROGRAM_LANGS = new Set(['ts', 'js', 'typescript', 'javascript', 'mjs']);

/** Extracts the fenced code blocks of a Markdown text, with the directive before each. */
export function extractBlocks(markdown: string, file: string): { blocks: CodeBlock[]; problems: string[] } {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  const problems: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i] ?? '');
    if (!open) {
      // A program's line outside any fence means the fences around it are broken (a merge that
      // interleaved two examples left exactly this).
      if (/^import .* from '[^']+';$/.test(lines[i] ?? ''))
        problems.push(`${file}:${i + 1}: an import outside a fenced code block (unbalanced fences?)`);
      continue;
    }
    const fence = open[2] ?? '```';
    const lang = (open[3] ?? '').toLowerCase();
    let j = i + 1;
    while (j < lines.length && !(lines[j] ?? '').trim().startsWith(fence)) j++;
    if (j >= lines.length) problems.push(`${file}:${i + 1}: this code fence is never closed`);
    else if ((lines[j] ?? '').trim() !== fence)
      // CommonMark: a closing fence has no info string; "```ts" here opens the next block.
      problems.push(
        `${file}:${j + 1}: "${(lines[j] ?? '').trim()}" closes the block opened at line ${i + 1} (a closing fence has no language: unbalanced fences?)`,
      );
    // Directives: the HTML comment lines just before the fence (blank lines allowed between).
    let directive: Directive | undefined;
    for (let k = i - 1; k >= 0; k--) {
      const t = (lines[k] ?? '').trim();
      if (t === '') continue;
      const c = /^<!--\s*(.*?)\s*-->$/.exec(t);
      if (!c) break;
      const body = c[1] ?? '';
      if (!body.startsWith('example:')) continue;
      const d = parseDirective(body.slice('example:'.length).trim());
      if (typeof d === 'string') problems.push(`${file}:${k + 1}: ${d}`);
      else directive = d;
    }
    blocks.push({ file, lang, line: i + 2, code: lines.slice(i + 1, j).join('\n'), directive });
    i = j;
  }
  return { blocks, problems };
}

function parseDirective(text: string): Directive | string {
  if (text === 'continues') return { kind: 'continues' };
  if (text === 'output') return { kind: 'output' };
  const skip = /^skip\s*\((.+)\)$/.exec(text);
  if (skip) return { kind: 'skip', reason: skip[1]!.trim() };
  if (text.startsWith('skip'))
    return `"example: ${text}": a skip needs a reason: <!-- example: skip (why) -->`;
  return `unknown directive "example: ${text}"; expected continues, output or skip (reason)`;
}

/** One check inside a program. `line` is the README line the comment is on. */
export type Check =
  | { readonly kind: 'value'; readonly line: number; readonly expected: string }
  | { readonly kind: 'throws'; readonly line: number; readonly expected: string }
  | { readonly kind: 'output'; readonly line: number; readonly expected: readonly string[] };

/** A runnable program: one block and the blocks that continue it. */
export interface Program {
  readonly file: string;
  /** README line of the program's first code line. */
  readonly line: number;
  readonly blocks: readonly CodeBlock[];
  /** The transformed TypeScript module (uses `__mm` for checks, `console` and `process` shadowed). */
  readonly source: string;
  readonly checks: readonly Check[];
  /** The complete expected output (from an `<!-- example: output -->` block), if given. */
  readonly fullOutput: readonly string[] | undefined;
}

/** A ```console block's commands. */
export interface ConsoleCommand {
  readonly file: string;
  readonly line: number;
  readonly command: string;
  readonly expected: readonly string[];
}

export interface Plan {
  readonly programs: Program[];
  readonly commands: ConsoleCommand[];
  readonly skipped: { block: CodeBlock; reason: string }[];
  readonly problems: string[];
}

/** Groups a README's blocks into programs and console commands, and transforms the programs. */
export function planReadme(markdown: string, file: string): Plan {
  const { blocks, problems } = extractBlocks(markdown, file);
  const programs: Program[] = [];
  const commands: ConsoleCommand[] = [];
  const skipped: { block: CodeBlock; reason: string }[] = [];
  let group: CodeBlock[] | undefined;
  let groupOutput: string[] | undefined;
  const flush = () => {
    if (group) {
      try {
        programs.push(transformProgram(group, groupOutput));
      } catch (e) {
        problems.push(e instanceof Error ? e.message : String(e));
      }
    }
    group = undefined;
    groupOutput = undefined;
  };
  for (const block of blocks) {
    const where = `${file}:${block.line}`;
    if (block.directive?.kind === 'skip') {
      skipped.push({ block, reason: block.directive.reason });
      continue;
    }
    if (PROGRAM_LANGS.has(block.lang)) {
      if (block.directive?.kind === 'continues') {
        if (!group) problems.push(`${where}: "example: continues" but no earlier program to continue`);
        else {
          group.push(block);
          continue;
        }
      } else if (block.directive?.kind === 'output') {
        problems.push(`${where}: "example: output" belongs before a text block, not a program`);
      }
      flush();
      group = [block];
      continue;
    }
    if (block.directive?.kind === 'output') {
      if (!group) problems.push(`${where}: "example: output" but no program before it`);
      else if (groupOutput) problems.push(`${where}: a second "example: output" block for one program`);
      else groupOutput = block.code.split('\n');
      continue;
    }
    if (block.directive?.kind === 'continues') {
      problems.push(`${where}: "example: continues" on a ${block.lang || 'plain'} block`);
    }
    if (block.lang === 'console') {
      const parsed = parseConsole(block);
      if (typeof parsed === 'string') problems.push(`${where}: ${parsed}`);
      else commands.push(...parsed);
    }
  }
  flush();
  return { programs, commands, skipped, problems };
}

/** Splits a console block into `$ command` + expected output. Only `mmkit` commands run. */
export function parseConsole(block: CodeBlock): ConsoleCommand[] | string {
  const lines = block.code.split('\n');
  const out: { line: number; command: string; expected: string[] }[] = [];
  let current: { line: number; command: string; expected: string[] } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] ?? '';
    if (text.startsWith('$ ')) {
      if (current) out.push(current);
      const command = text.slice(2).trim();
      if (!/^mmkit(\s|$)/.test(command)) {
        return `console block runs "${command}"; only mmkit commands run here (mark it <!-- example: skip (reason) -->)`;
      }
      current = { line: block.line + i, command, expected: [] };
    } else if (current) current.expected.push(text);
    else if (text.trim() !== '') return `console block: output before the first "$ " command line`;
  }
  if (current) out.push(current);
  if (out.length === 0) return 'console block without a "$ mmkit …" command';
  for (const c of out) while (c.expected.length > 0 && c.expected.at(-1)?.trim() === '') c.expected.pop();
  return out.map((c) => ({ ...c, file: block.file }));
}

const ARROW = '→';

/**
 * Turns a program's blocks into one module: before each top-level statement `__mm.at(line)`,
 * and after a statement with a check `__mm.value(i, …)`, `__mm.throws(i, () => …)` or
 * `__mm.output(i)`. Throws an Error naming the README line for a malformed check comment.
 */
export function transformProgram(blocks: readonly CodeBlock[], fullOutput?: readonly string[]): Program {
  const first = blocks[0]!;
  const file = first.file;
  // Concatenate the blocks; lineMap[i] = README line of the program's line i (0-based).
  const codeLines: string[] = [];
  const lineMap: number[] = [];
  for (const b of blocks) {
    b.code.split('\n').forEach((text, i) => {
      codeLines.push(text);
      lineMap.push(b.line + i);
    });
  }
  const text = codeLines.join('\n');
  const sf = ts.createSourceFile('example.ts', text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const diagnostics = (sf as unknown as { parseDiagnostics?: ts.Diagnostic[] }).parseDiagnostics ?? [];
  if (diagnostics.length > 0) {
    const d = diagnostics[0]!;
    const { line } = sf.getLineAndCharacterOfPosition(d.start ?? 0);
    throw new Error(
      `${file}:${lineMap[line]}: does not parse: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
    );
  }
  const lineOf = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line;
  const readmeLine = (pos: number) => lineMap[lineOf(pos)]!;

  // Every line comment with an arrow must be claimed by a check.
  const arrowComments = new Map<number, { pos: number; end: number; body: string }>();
  // Comments come from the parsed tree (leading and trailing trivia of every node), not from a
  // raw token scan: a raw scanner does not re-scan a template literal after its `${…}`, so every
  // comment after one would be missed.
  const record = (c: ts.CommentRange) => {
    if (c.kind !== ts.SyntaxKind.SingleLineCommentTrivia || arrowComments.has(c.pos)) return;
    const body = text.slice(c.pos + 2, c.end);
    if (body.includes(ARROW)) arrowComments.set(c.pos, { pos: c.pos, end: c.end, body });
  };
  const visitComments = (node: ts.Node): void => {
    for (const c of ts.getLeadingCommentRanges(text, node.getFullStart()) ?? []) record(c);
    for (const c of ts.getTrailingCommentRanges(text, node.end) ?? []) record(c);
    for (const child of node.getChildren(sf)) visitComments(child);
  };
  visitComments(sf);
  const claimed = new Set<number>();
  const checks: Check[] = [];
  const insertions: { pos: number; text: string; order: number }[] = [];
  let order = 0;
  const insert = (pos: number, code: string) => insertions.push({ pos, text: code, order: order++ });

  const statements = sf.statements;
  statements.forEach((stmt, index) => {
    const start = stmt.getStart(sf);
    if (!ts.isImportDeclaration(stmt) && !isTypeOnly(stmt)) {
      insert(start, `__mm.at(${readmeLine(start)}); `);
    }
    // Trailing comment on the statement's last line: a value or throws check.
    const trailing = ts.getTrailingCommentRanges(text, stmt.end) ?? [];
    for (const c of trailing) {
      const comment = arrowComments.get(c.pos);
      if (!comment) continue;
      claimed.add(c.pos);
      const expected = comment.body.slice(comment.body.indexOf(ARROW) + 1).trim();
      const line = readmeLine(c.pos);
      if (expected === '') throw new Error(`${file}:${line}: "${ARROW}" with nothing after it`);
      const id = checks.length;
      if (/^throws(\s|$)/.test(expected)) {
        checks.push({ kind: 'throws', line, expected: expected.slice('throws'.length).trim() });
        insert(start, `__mm.throws(${id}, () => { `);
        insert(stmt.end, ' });');
      } else if (ts.isExpressionStatement(stmt)) {
        checks.push({ kind: 'value', line, expected });
        const expr = stmt.expression;
        insert(expr.getStart(sf), `__mm.value(${id}, (`);
        insert(expr.end, '))');
      } else if (ts.isVariableStatement(stmt)) {
        const decls = stmt.declarationList.declarations;
        const last = decls[decls.length - 1]!;
        if (!ts.isIdentifier(last.name)) {
          throw new Error(`${file}:${line}: a "${ARROW}" after a destructuring declaration; show one value`);
        }
        checks.push({ kind: 'value', line, expected });
        insert(stmt.end, ` __mm.value(${id}, ${last.name.text});`);
      } else {
        throw new Error(
          `${file}:${line}: "${ARROW} value" after a ${ts.SyntaxKind[stmt.kind]}; only expressions and declarations have a value (print it and show the output on "// ${ARROW}" lines)`,
        );
      }
    }
    // Output lines: comment lines of their own between this statement and the next.
    const nextStart = index + 1 < statements.length ? statements[index + 1]!.getStart(sf) : text.length;
    const lines: string[] = [];
    let lastLine = -1;
    for (const comment of arrowComments.values()) {
      if (comment.pos < stmt.end || comment.pos >= nextStart || claimed.has(comment.pos)) continue;
      const own = text.slice(text.lastIndexOf('\n', comment.pos - 1) + 1, comment.pos).trim() === '';
      if (!own) continue;
      if (!/^\s*→ ?/.test(comment.body)) {
        throw new Error(
          `${file}:${readmeLine(comment.pos)}: an output line is "// ${ARROW} text" (no prose before the arrow)`,
        );
      }
      claimed.add(comment.pos);
      lines.push(comment.body.replace(/^\s*→ ?/, ''));
      lastLine = readmeLine(comment.pos);
    }
    if (lines.length > 0) {
      const id = checks.length;
      checks.push({ kind: 'output', line: lastLine, expected: lines });
      insert(stmt.end, ` __mm.output(${id});`);
    }
  });
  for (const comment of arrowComments.values()) {
    if (!claimed.has(comment.pos)) {
      throw new Error(
        `${file}:${readmeLine(comment.pos)}: a "${ARROW}" comment that belongs to no statement (put it at the end of the statement's last line, or on lines of its own after it)`,
      );
    }
  }
  insertions.sort((a, b) => a.pos - b.pos || a.order - b.order);
  let source = '';
  let at = 0;
  for (const ins of insertions) {
    source += text.slice(at, ins.pos) + ins.text;
    at = ins.pos;
  }
  source += text.slice(at);
  const header =
    'const __mm = (globalThis as any).__mmkitExample; const console = __mm.console; const process = __mm.process;';
  return {
    file,
    line: first.line,
    blocks,
    source: `${header}\n${source}\n;__mm.end();\n`,
    checks,
    fullOutput: fullOutput ? trimTrailingBlank(fullOutput) : undefined,
  };
}

function isTypeOnly(stmt: ts.Statement): boolean {
  return ts.isInterfaceDeclaration(stmt) || ts.isTypeAliasDeclaration(stmt);
}

function trimTrailingBlank(lines: readonly string[]): string[] {
  const out = [...lines];
  while (out.length > 0 && out.at(-1)?.trim() === '') out.pop();
  return out;
}

/** How a value is shown in a failure and matched by a `…` pattern. */
export function formatValue(value: unknown): string {
  return inspect(value, { depth: 8, breakLength: Number.POSITIVE_INFINITY, maxArrayLength: 50 });
}

/** `…` in `pattern` stands for any text (also none); everything else is literal. */
export function matchesPattern(actual: string, pattern: string): boolean {
  const parts = pattern.split('…').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('[\\s\\S]*')}$`).test(actual);
}

/**
 * Compares printed lines with expected ones: a line that is only `…` (after trimming) matches any
 * number of lines, `…` inside a line any text. Returns undefined on a match, else a description.
 */
export function compareLines(actual: readonly string[], expected: readonly string[]): string | undefined {
  const memo = new Map<string, boolean>();
  const match = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let r: boolean;
    if (j === expected.length) r = i === actual.length;
    else if (expected[j]!.trim() === '…') r = match(i, j + 1) || (i < actual.length && match(i + 1, j));
    else r = i < actual.length && matchesPattern(actual[i]!, expected[j]!) && match(i + 1, j + 1);
    memo.set(key, r);
    return r;
  };
  if (match(0, 0)) return undefined;
  // Point at the first line that differs (ignoring wildcard subtleties).
  for (let k = 0; k < Math.max(actual.length, expected.length); k++) {
    const e = expected[k];
    const a = actual[k];
    if (e !== undefined && e.trim() === '…') break;
    if (e === undefined || a === undefined || !matchesPattern(a, e)) {
      return `line ${k + 1}: expected ${e === undefined ? '(no more lines)' : JSON.stringify(e)}, got ${a === undefined ? '(no more lines)' : JSON.stringify(a)}`;
    }
  }
  return `expected:\n${expected.join('\n')}\ngot:\n${actual.join('\n')}`;
}

/**
 * Evaluates an expected value written as a JavaScript expression; undefined when it does not
 * parse or contains `…` (then it is a pattern).
 */
export function parseExpected(text: string): { value: unknown } | undefined {
  if (text.includes('…')) return undefined;
  try {
    return { value: new Function(`"use strict"; return (${text});`)() };
  } catch {
    return undefined;
  }
}

/**
 * Deep equality for documentation: primitives by `Object.is` (so `1` ≠ `1n`), arrays and typed
 * arrays element by element, other objects by their own enumerable keys (no extra, no missing;
 * prototypes are not compared, so a class instance matches an object literal of its fields).
 */
export function deepEqual(actual: unknown, expected: unknown): boolean {
  if (Object.is(actual, expected)) return true;
  if (typeof actual !== 'object' || typeof expected !== 'object' || actual === null || expected === null) {
    return false;
  }
  if (Array.isArray(expected) || ArrayBuffer.isView(expected)) {
    const a = actual as ArrayLike<unknown>;
    const e = expected as ArrayLike<unknown>;
    if (!(Array.isArray(actual) || ArrayBuffer.isView(actual)) || a.length !== e.length) return false;
    for (let i = 0; i < e.length; i++) if (!deepEqual(a[i], e[i])) return false;
    return true;
  }
  if (actual instanceof Map || actual instanceof Set) return false;
  const ak = Object.keys(actual);
  const ek = Object.keys(expected);
  if (ak.length !== ek.length) return false;
  for (const k of ek) {
    if (!Object.hasOwn(actual, k)) return false;
    if (!deepEqual((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k]))
      return false;
  }
  return true;
}

/** Checks one value against its expected text; undefined on a match, else the failure. */
export function checkValue(actual: unknown, expected: string): string | undefined {
  const parsed = parseExpected(expected);
  if (parsed) {
    return deepEqual(actual, parsed.value) ? undefined : `expected ${expected}, got ${formatValue(actual)}`;
  }
  const shown = formatValue(actual);
  return matchesPattern(shown, expected) ? undefined : `expected ${expected}, got ${shown}`;
}

/** Checks a thrown error against `Name: message` (or `Name`); undefined on a match. */
export function checkThrown(error: unknown, expected: string): string | undefined {
  const name = error instanceof Error ? error.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  const shown = `${name}: ${message}`;
  const ok = expected.includes(':') ? matchesPattern(shown, expected) : matchesPattern(name, expected);
  return ok ? undefined : `expected to throw ${expected}, threw ${shown}`;
}
