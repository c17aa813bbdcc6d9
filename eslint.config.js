// ESLint (flat config): typescript-eslint's type-checked rules over everything tsc compiles;
// formatting is Prettier's job (eslint-config-prettier turns the overlapping rules off).
import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

/** Every folder under services/ (one protocol each). */
const SERVICES = readdirSync(new URL('./services', import.meta.url), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

export default tseslint.config(
  { ignores: ['build/**', 'node_modules/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Protocol code matches control characters on purpose (NUL, CR, LF, CTLs in headers and names).
      'no-control-regex': 'off',
      // Prettier wraps code at 160; this catches what it cannot wrap (comments). Long literals (page
      // text, fixtures) are left whole so that they stay greppable.
      'max-len': ['error', { code: 160, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The layering of the design card: core/ never imports services/ or app/ (the composition root).
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/services/**', '**/app/**'], message: 'core/ never imports services/ or app/' }] }],
    },
  },
  ...SERVICES.map((name) => ({
    // A service never imports another service (shared code belongs in core/).
    files: [`services/${name}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/app/**', ...SERVICES.filter((o) => o !== name).flatMap((o) => [`../${o}/**`, `../../${o}/**`, `**/services/${o}/**`])],
              message: 'a service imports only core/ and its own folder',
            },
          ],
        },
      ],
    },
  })),
  {
    // Test doubles implement async interfaces with bodies that need no await.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  prettier,
);
