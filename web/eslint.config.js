import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// The rules a tool checks (`npm test` runs `eslint . --max-warnings 0` first).
// Imports flow one way: src/app → src/features/<name> → src/components, src/lib.
// A feature never imports another feature; what two features share moves down
// into src/lib or src/components, and the routes in src/app compose features.

// One zone per feature folder, so a new feature is covered without editing this file.
const features = readdirSync(new URL('./src/features', import.meta.url), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

const featureZones = features.map((name) => ({
  target: `./src/features/${name}`,
  from: './src/features',
  except: [`./${name}`],
  message: 'Features do not import each other: move what both need into src/lib or src/components, or compose them in src/app.',
}));

const layerZones = [
  {
    target: ['./src/features', './src/components', './src/lib'],
    from: './src/app',
    message: 'Nothing below src/app imports it (src/main.tsx mounts it): imports flow app → features → components/lib.',
  },
  {
    target: ['./src/components', './src/lib'],
    from: './src/features',
    message: 'Shared code (src/components, src/lib) does not import features: imports flow app → features → components/lib.',
  },
];

export default defineConfig(
  // Build output and the end-to-end run's screenshots and logs.
  globalIgnores(['dist/', 'e2e/artifacts/']),

  js.configs.recommended,
  tseslint.configs.recommended,

  // The app: browser code, React, TypeScript.
  {
    files: ['src/**/*.{ts,tsx}'],
    languageOptions: {
      globals: globals.browser,
    },
    plugins: {
      'react-hooks': reactHooks,
      'import-x': importX,
    },
    settings: {
      // Without the TypeScript extensions and parser here, import-x cannot
      // read .ts/.tsx modules and no-cycle silently sees no dependencies.
      'import-x/extensions': ['.ts', '.tsx', '.js', '.mjs'],
      'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',

      ...importX.flatConfigs.recommended.rules,
      ...importX.flatConfigs.typescript.rules,
      // Dynamic import() counts too: a lazily loaded chunk that imports its
      // loader back is still a cycle. Type-only imports do not.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
      'import-x/no-duplicates': 'error',
      'import-x/no-restricted-paths': ['error', { zones: [...featureZones, ...layerZones] }],
    },
  },

  // Config files: Node scripts.
  {
    files: ['*.{js,mjs,ts}'],
    languageOptions: {
      globals: globals.node,
    },
  },

  // The end-to-end runner: Node, plus the callbacks it runs in the page.
  {
    files: ['e2e/**/*.{js,mjs}'],
    languageOptions: {
      globals: { ...globals.node, ...globals.browser },
    },
  },
);
