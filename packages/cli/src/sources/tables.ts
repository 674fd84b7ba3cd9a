/**
 * Loads the translation tables of a source into simulated memory: `loadTables` of
 * `@mmkit/scenario` (browser-safe, shared with the playground).
 */
export {
  type LoadedState,
  type LoadedTable,
  loadTables,
  MAX_TABLES,
  type UnreadableTable,
} from '@mmkit/scenario';
