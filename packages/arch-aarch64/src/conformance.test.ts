/**
 * The shared conformance suite (@mmkit/testkit) for the AArch64 backend, with
 * hardware dirty management on (Linux DBM scheme) and off (writable = dirty),
 * and with software Access-flag management (TCR_EL1.HA = 0).
 */
import { describeConformance, describeEditorConformance } from '@mmkit/testkit';
import { createAarch64Arch } from './backend.js';

describeConformance('aarch64 (HA, HD)', () => createAarch64Arch());
describeConformance('aarch64 (HA, no HD)', () => createAarch64Arch({ hardwareDirty: false }));
describeConformance('aarch64 (no HA, no HD)', () =>
  createAarch64Arch({ hardwareAccessFlag: false, hardwareDirty: false }),
);
describeEditorConformance('aarch64', () => createAarch64Arch());
