/**
 * @mmkit/core — the architecture-neutral core of mmkit: exact addresses,
 * simulated physical memory, the page-table backend contract, the TLB model,
 * the page-table cursor and editor, flush obligations, errors and events. No runtime dependencies.
 *
 * @packageDocumentation
 * @module @mmkit/core
 */
export * from './address.js';
export * from './arch.js';
export * from './arch-helpers.js';
export * from './break-before-make.js';
export * from './errors.js';
export * from './events.js';
export * from './flush.js';
export * from './format.js';
export * from './leaf-state.js';
export * from './leaf-template.js';
export * from './page-table-cursor.js';
export * from './page-table-editor.js';
export * from './physical-memory.js';
export * from './swap-entry.js';
export * from './tlb.js';
