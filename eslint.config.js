import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * What each folder of the product (src/) may import, besides itself, node: modules and packages;
 * docs/architecture.md says why. Product code never imports tools/, test/ or bench/; tools, tests
 * and benchmarks may import anything. `'.'` is src/ itself (log.ts, shell.ts).
 */
const MAY_IMPORT = {
  net: [],
  frames: ['net'],
  schedule: ['net'],
  link: ['net', 'frames'],
  targets: ['net', 'link'],
  nova: ['net', 'targets'],
  inventory: ['net', 'targets', 'nova'],
  amqp: ['net', 'nova'],
  core: ['net', 'frames', 'link', 'targets', 'schedule', 'inventory'],
  sender: ['net', 'frames', 'link', 'targets', 'schedule', 'core'],
  verify: ['.', 'net', 'frames', 'link'],
  sidecar: ['.', 'net', 'frames', 'link', 'targets', 'schedule', 'nova', 'inventory', 'amqp', 'core', 'sender', 'verify'],
  cli: ['.', 'net', 'frames', 'link', 'targets', 'schedule', 'nova', 'inventory', 'amqp', 'core', 'sender', 'verify', 'sidecar'],
};
const SRC_FOLDERS = Object.keys(MAY_IMPORT);
// A new folder of src/ gets its line above before lint passes.
for (const e of readdirSync(`${import.meta.dirname}/src`, { withFileTypes: true })) {
  if (e.isDirectory() && !SRC_FOLDERS.includes(e.name)) throw new Error(`eslint.config.js: src/${e.name}/ has no MAY_IMPORT entry`);
}

/** An import source (relative to a file one level below src/) that reaches `what`. */
const reaching = (what) => `^\\.\\./(${what})(/|$)`;
const outsideSrc = {
  regex: '^(\\.\\./)+(tools|test|bench)(/|$)',
  message: 'Product code (src/) does not import tools/, test/ or bench/: move what both need into src/, or let the tool import the product.',
};
// import() with a computed path would slip past the rules; no-restricted-imports does not look at
// import() at all, so each pattern is applied to literal import() sources as well.
const noComputedImport = {
  selector: 'ImportExpression[source.type!="Literal"]',
  message: 'Product code imports by literal path only, so that the folder rules can see every import.',
};
const dynamic = (pattern) => ({
  selector: `ImportExpression[source.value=/${pattern.regex.replaceAll('/', '\\/')}/]`,
  message: pattern.message,
});

const TOP_LEVEL = [{ regex: '^\\./[^/]+/', message: 'src/*.ts (log, shell) import no folder of src/.' }, outsideSrc];

const layerRules = SRC_FOLDERS.map((folder) => {
  const allowed = MAY_IMPORT[folder];
  const forbidden = SRC_FOLDERS.filter((f) => f !== folder && !allowed.includes(f));
  const patterns = [outsideSrc];
  if (forbidden.length > 0) {
    patterns.push({ regex: reaching(forbidden.join('|')), message: `src/${folder} may import only ${allowed.length === 0 ? 'itself' : allowed.map((f) => (f === '.' ? 'src/*.ts' : `src/${f}`)).join(', ')} (eslint.config.js MAY_IMPORT, docs/architecture.md).` });
  }
  if (!allowed.includes('.')) patterns.push({ regex: '^\\.\\./[^/]+\\.js$', message: `src/${folder} does not import src/*.ts (log, shell).` });
  return {
    files: [`src/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', { patterns }],
      'no-restricted-syntax': ['error', noComputedImport, ...patterns.map(dynamic)],
    },
  };
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['src/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: TOP_LEVEL }],
      'no-restricted-syntax': ['error', noComputedImport, ...TOP_LEVEL.map(dynamic)],
    },
  },
  ...layerRules,
);
