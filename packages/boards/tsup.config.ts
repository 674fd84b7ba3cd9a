import { defineConfig } from 'tsup';
import { unbundled } from '../../scripts/tsup-modules.js';

// Unbundled, one module per source file: see scripts/tsup-modules.ts (a bundle's constants are
// `var`s V8 does not fold into hot loops).
export default defineConfig(unbundled(process.cwd()));
