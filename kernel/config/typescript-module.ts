/**
 * Loads a config or plugin file written in TypeScript (or checks a JavaScript one) with
 * TypeScript's own parser: a syntax error becomes GW_CONFIG_LOAD_FAILED with `file:line:column`
 * and a code frame of the real file, never a temporary file name or a Node loader message.
 *
 * The file is transpiled to CommonJS in memory and run under its real path, so relative imports and
 * stack traces name the operator's files. Its own TypeScript imports are loaded the same way when no
 * TypeScript hook is installed (a built package); `import ... from 'openclaw-gateway'` falls back to
 * the running gateway when the config's folder has no copy of its own (a source or built checkout).
 */
import fs from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import { GatewayError } from '../errors';
import { packageSelf } from './package-self';

type TypeScript = typeof import('typescript');

const PACKAGE_NAME = 'openclaw-gateway';
const TYPESCRIPT_EXTENSIONS = ['.ts', '.mts', '.cts'];
const CODE_FRAME_CONTEXT_LINES = 2;

let typescript: TypeScript | undefined;
function ts(): TypeScript {
  typescript ??= require('typescript') as TypeScript;
  return typescript;
}

export function isTypeScriptFile(file: string): boolean {
  return TYPESCRIPT_EXTENSIONS.includes(path.extname(file)) && !file.endsWith('.d.ts');
}

/** Lines around `line` (1-based) with a caret under `column` (1-based), like compilers print them. */
export function codeFrame(source: string, line: number, column: number): string {
  const lines = source.split(/\r?\n/);
  const first = Math.max(1, line - CODE_FRAME_CONTEXT_LINES);
  const last = Math.min(lines.length, line + CODE_FRAME_CONTEXT_LINES);
  const width = String(last).length;
  const out: string[] = [];
  for (let number = first; number <= last; number++) {
    const marker = number === line ? '>' : ' ';
    out.push(`${marker} ${String(number).padStart(width)} | ${lines[number - 1] ?? ''}`);
    if (number === line) out.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, column - 1))}^`);
  }
  return out.join('\n');
}

/** The syntax errors TypeScript's parser finds in `source`, formatted; empty when it parses. */
export function syntaxErrors(file: string, source: string): { text: string; line: number; column: number }[] {
  const compiler = ts();
  const result = compiler.transpileModule(source, {
    fileName: file,
    reportDiagnostics: true,
    compilerOptions: compilerOptions(compiler),
  });
  return (result.diagnostics ?? [])
    .filter((diagnostic) => diagnostic.category === compiler.DiagnosticCategory.Error)
    .map((diagnostic) => {
      const message = compiler.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
      if (diagnostic.file === undefined || diagnostic.start === undefined) return { text: message, line: 0, column: 0 };
      const position = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
      const line = position.line + 1;
      const column = position.character + 1;
      return { text: `${file}:${line}:${column}: ${message}\n${codeFrame(source, line, column)}`, line, column };
    });
}

function compilerOptions(compiler: TypeScript): import('typescript').CompilerOptions {
  return {
    module: compiler.ModuleKind.CommonJS,
    target: compiler.ScriptTarget.ES2022,
    esModuleInterop: true,
    allowJs: true,
    inlineSourceMap: false,
    sourceMap: false,
  };
}

/**
 * Throws GW_CONFIG_LOAD_FAILED for the file's first syntax error, with its code frame. Only the
 * first: the parser's later errors are mostly the same mistake seen again (one missing quote makes
 * every following token look wrong), so they would bury the line to fix.
 */
export function assertParses(file: string, source: string): void {
  const errors = syntaxErrors(file, source);
  if (errors.length === 0) return;
  const first = errors[0];
  const more = errors.length > 1 ? `\n(${errors.length - 1} more syntax error(s) after this one, often caused by it)` : '';
  throw new GatewayError('GW_CONFIG_LOAD_FAILED', `syntax error in ${first.text}${more}`, {
    details: { file, line: first.line, column: first.column },
  });
}

/** A TypeScript require hook (tsx in a source checkout) handles `.ts` files by itself. */
function hasTypeScriptHook(): boolean {
  const extensions = (Module as unknown as { _extensions: Record<string, unknown> })._extensions;
  return typeof extensions['.ts'] === 'function';
}

function resolveTypeScript(specifier: string, fromDir: string): string | undefined {
  const base = path.resolve(fromDir, specifier);
  const candidates = [
    base,
    ...TYPESCRIPT_EXTENSIONS.map((ext) => base + ext),
    ...TYPESCRIPT_EXTENSIONS.map((ext) => path.join(base, `index${ext}`)),
  ];
  return candidates.find((candidate) => isTypeScriptFile(candidate) && fs.existsSync(candidate) && fs.statSync(candidate).isFile());
}

function isRelative(specifier: string): boolean {
  return specifier.startsWith('./') || specifier.startsWith('../') || path.isAbsolute(specifier);
}

/** Loads TypeScript files of one config load; each file runs once. */
class TypeScriptLoader {
  private readonly cache = new Map<string, Module>();

  load(file: string): unknown {
    const cached = this.cache.get(file);
    if (cached) return cached.exports;
    const source = fs.readFileSync(file, 'utf8');
    assertParses(file, source);
    const compiler = ts();
    const output = compiler.transpileModule(source, { fileName: file, compilerOptions: compilerOptions(compiler) }).outputText;
    const module = new Module(file);
    module.filename = file;
    module.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(file));
    this.cache.set(file, module);
    const nativeRequire = createRequire(file);
    const requireFromFile = Object.assign((specifier: string) => this.require(specifier, file, nativeRequire), nativeRequire);
    // `Function` of this realm, not vm's main context: an embedding host with its own globals (a
    // test runner's sandbox) sees the config run with its own `process` and classes. sourceURL keeps
    // the real file name in stack traces.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- runs the operator's own transpiled config, on purpose
    const compiled = new Function('exports', 'require', 'module', '__filename', '__dirname', `${output}\n//# sourceURL=${file}`) as (
      ...args: unknown[]
    ) => void;
    try {
      compiled.call(module.exports, module.exports, requireFromFile, module, file, path.dirname(file));
    } catch (error) {
      this.cache.delete(file);
      throw error;
    }
    module.loaded = true;
    return module.exports;
  }

  private require(specifier: string, fromFile: string, nativeRequire: NodeJS.Require): unknown {
    if (specifier === PACKAGE_NAME) {
      try {
        return nativeRequire(specifier);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND' || !String((error as Error).message).includes(`'${PACKAGE_NAME}'`))
          throw error;
        // No copy of its own next to the config: the config belongs to this running gateway.
        const self = packageSelf();
        if (self === undefined) throw error;
        return self;
      }
    }
    if (isRelative(specifier) && !hasTypeScriptHook()) {
      const typescriptFile = resolveTypeScript(specifier, path.dirname(fromFile));
      if (typescriptFile) return this.load(typescriptFile);
    }
    return nativeRequire(specifier);
  }
}

/** Runs a TypeScript file (config or plugin) and returns its exports. */
export function loadTypeScriptModule(file: string): unknown {
  return new TypeScriptLoader().load(path.resolve(file));
}

/**
 * Loads a plugin file named by path in the config (`./plugins/audit.ts`, `./plugins/audit.js`, or
 * without extension): TypeScript through the loader above, JavaScript checked for syntax first.
 */
export function requireLocalModule(absolute: string): { exported: unknown; file: string } {
  let file: string | undefined;
  try {
    file = require.resolve(absolute);
  } catch (error) {
    file = resolveTypeScript(absolute, path.dirname(absolute));
    if (!file) throw error;
  }
  if (isTypeScriptFile(file)) return { exported: new TypeScriptLoader().load(file), file };
  if (/\.(c|m)?js$/.test(file)) assertParses(file, fs.readFileSync(file, 'utf8'));
  return { exported: require(file), file };
}
