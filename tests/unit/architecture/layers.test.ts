/**
 * The folders of src/ form one acyclic order (docs/design.md, "Layers"): a file imports only from
 * its own folder and the folders before it. Every import counts, `import type` and `declare
 * module` included, so a type cannot sneak an upward dependency in either. Also: no framework
 * or Redis client is imported at run time by anything (adapters import their framework's types
 * only), so an app loads only what it uses.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { describe, expect, it } from '@jest/globals';

/** Lowest first. */
export const LAYERS = ['core', 'abstract', 'stores', 'engine', 'adapters', 'concrete', 'di', 'compat', 'index.ts'] as const;

const SRC = resolve(dirname(new URL(import.meta.url).pathname), '../../../src');

/**
 * Packages code may import at run time (anything else: `import type` only). `@opentelemetry/api`
 * is the documented exception: an optional peer, loaded with `import()` by `core/telemetry.ts`
 * only for `telemetry: true` (tests/integration/telemetry.test.ts checks nothing else loads it).
 */
const RUNTIME_PACKAGES = /^(node:.+|inversify|reflect-metadata|@opentelemetry\/api)$/;

interface Import {
  readonly specifier: string;
  readonly typeOnly: boolean;
}

/** Every module specifier in `text`: imports, re-exports, `import()` (type or value) and module augmentations. */
export function importsOf(text: string): Import[] {
  const found: Import[] = [];
  const patterns: Array<[RegExp, (match: RegExpExecArray) => boolean]> = [
    [/^\s*import\s+(type\s+)?[^'";]*?\sfrom\s*['"]([^'"]+)['"]/gm, (m) => m[1] !== undefined || /^\s*import\s*\{\s*(type\s+[^,}]+,?\s*)+\}/.test(m[0])],
    [/^\s*import\s*['"]([^'"]+)['"]/gm, () => false],
    [/^\s*export\s+(type\s+)?(?:\*|\{[^}]*\})\s*from\s*['"]([^'"]+)['"]/gm, (m) => m[1] !== undefined],
    [/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g, () => false],
    [/^\s*declare\s+module\s+['"]([^'"]+)['"]/gm, () => true],
  ];
  for (const [pattern, typeOnly] of patterns) {
    for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
      found.push({ specifier: m[m.length - 1]!, typeOnly: typeOnly(m) });
    }
  }
  return found;
}

/** The layer of a path relative to src/ (`stores/redis/x.ts` is in `stores`). */
export function layerOf(path: string): number {
  const top = path.split(/[\\/]/)[0]!;
  const index = (LAYERS as readonly string[]).indexOf(top);
  if (index < 0) throw new Error(`${path} is in no layer: add its folder to LAYERS and docs/design.md`);
  return index;
}

/** What is wrong with the imports of the files (`path` relative to src/ -> source text). */
export function violations(files: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  for (const [path, text] of files) {
    const from = layerOf(path);
    for (const { specifier, typeOnly } of importsOf(text)) {
      if (specifier.startsWith('.')) {
        const target = relative(SRC, resolve(SRC, dirname(path), specifier)).split(sep).join('/').replace(/\.js$/, '.ts');
        const to = layerOf(target);
        if (to > from) problems.push(`${path} imports ${target}: ${LAYERS[from]} may not depend on ${LAYERS[to]}`);
      } else if (!typeOnly && !RUNTIME_PACKAGES.test(specifier)) {
        problems.push(`${path} imports the package ${specifier} at run time (use import type)`);
      }
    }
  }
  return problems;
}

function sources(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const full = join(entry.parentPath, entry.name);
    files.set(relative(SRC, full).split(sep).join('/'), readFileSync(full, 'utf8'));
  }
  return files;
}

describe('layers of src/', () => {
  it('every import points to the same or a lower layer, and no package loads at run time but node:, inversify and reflect-metadata', () => {
    const files = sources(SRC);
    expect(files.size).toBeGreaterThan(20);
    expect(violations(files)).toEqual([]);
  });

  it('catches an upward import, a type-only one, an augmentation and a runtime framework import', () => {
    const bad = new Map([
      ['core/x.ts', "import { Session } from '../concrete/Session.js';"],
      ['abstract/y.ts', "import type { SessionEngine } from '../engine/SessionEngine.js';"],
      ['stores/redis/z.ts', "export { thing } from '../../adapters/node.js';"],
      ['engine/w.ts', "declare module '../concrete/Session.js' {}"],
      ['adapters/fastify.ts', "import fastify from 'fastify';\nimport type { FastifyInstance } from 'fastify';"],
      ['core/v.ts', "type T = import('../di/sessionModule.js').X;"],
    ]);
    expect(violations(bad)).toEqual([
      'core/x.ts imports concrete/Session.ts: core may not depend on concrete',
      'abstract/y.ts imports engine/SessionEngine.ts: abstract may not depend on engine',
      'stores/redis/z.ts imports adapters/node.ts: stores may not depend on adapters',
      'engine/w.ts imports concrete/Session.ts: engine may not depend on concrete',
      'adapters/fastify.ts imports the package fastify at run time (use import type)',
      'core/v.ts imports di/sessionModule.ts: core may not depend on di',
    ]);
  });

  it('allows the same folder and lower layers', () => {
    const good = new Map([
      ['concrete/Session.ts', "import { x } from './SessionMiddleware.js';\nimport type { y } from '../engine/runtime.js';\nimport { z } from '../core/json.js';"],
      ['di/sessionModule.ts', "import { SessionMiddleware } from '../concrete/SessionMiddleware.js';\nimport { Container } from 'inversify';"],
      ['adapters/koa.ts', "import type { Context } from 'koa';"],
    ]);
    expect(violations(good)).toEqual([]);
  });
});
