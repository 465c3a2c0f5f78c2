import js from '@eslint/js';
import prettierRecommended from 'eslint-plugin-prettier/recommended';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/*.d.ts',
      '**/*.js',
      // Virtual environments, caches and tool folders (.venv, .compat, ...).
      '.*/**',
      'lab-extension/lib/**',
      'src/labtrack/labextension/**',
      'ui-tests/test-results/**',
      'ui-tests/playwright-report/**'
    ]
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['lab-extension/src/**/*.ts'],
    languageOptions: {
      globals: { ...globals.browser },
      parserOptions: {
        project: './tsconfig.json',
        tsconfigRootDir: import.meta.dirname
      }
    },
    rules: {
      '@typescript-eslint/naming-convention': [
        'error',
        {
          selector: 'interface',
          format: ['PascalCase'],
          custom: { regex: '^I[A-Z]', match: true }
        }
      ],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false } }
      ]
    }
  },
  {
    files: ['**/*.ts', '**/*.mjs'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['warn', { args: 'none' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-namespace': 'off',
      eqeqeq: 'error',
      'no-restricted-properties': [
        'error',
        {
          property: 'innerHTML',
          message: 'Render text with textContent; never inject HTML.'
        },
        {
          property: 'outerHTML',
          message: 'Render text with textContent; never inject HTML.'
        }
      ],
      'prefer-arrow-callback': 'error'
    }
  },
  {
    files: ['ui-tests/**/*.ts'],
    languageOptions: { globals: { ...globals.node } }
  },
  prettierRecommended,
  {
    // After prettier's config, which turns `curly` off; 'all' is safe with it.
    rules: { curly: ['error', 'all'] }
  }
);
