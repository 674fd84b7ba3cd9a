/**
 * From root and control registers to a paging backend and a loaded MMU: the browser-safe code
 * lives in `@mmkit/scenario` (`parseRegisterList`, `backendFor`, `loadRegime`), shared with the
 * playground; its `PageTableSourceError` is a usage error here (exit 2, see run-cli.ts).
 */
export {
  backendFor,
  loadRegime,
  parseRegisterList,
  REGISTER_NAMES,
  type Regime,
  registerName,
} from '@mmkit/scenario';
