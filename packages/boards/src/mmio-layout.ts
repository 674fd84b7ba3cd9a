/**
 * Building MMIO window lists: a peripheral region with named devices inside
 * becomes the devices plus "gap" windows that cover the rest of the region,
 * so every address of the region belongs to exactly one window and
 * `PhysicalMemory.mmioAt` (first match wins) is unambiguous.
 */
import type { MmioWindow } from '@mmkit/core';
import { InvalidArgumentError } from '@mmkit/core';
import { formatPa } from './format.js';

/** A named device window inside a region. */
export interface DeviceWindow {
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

/**
 * Splits `[start, end)` of region `region` around `devices` (sorted or not; they must lie inside the
 * region and not overlap). Gaps are named `<region>@<address>`.
 * @throws InvalidArgumentError if a device window is empty, overlaps another or leaves the region.
 */
export function carveRegion(
  region: string,
  start: number,
  end: number,
  devices: readonly DeviceWindow[],
): MmioWindow[] {
  const sorted = [...devices].sort((a, b) => a.start - b.start);
  const out: MmioWindow[] = [];
  let cursor = start;
  for (const d of sorted) {
    if (d.start < cursor || d.end > end || d.end <= d.start) {
      throw new InvalidArgumentError(
        `device window ${d.name}`,
        `${formatPa(d.start)}..${formatPa(d.end)}`,
        `a non-empty window inside region ${region} [${formatPa(start)}, ${formatPa(end)}) not overlapping another`,
      );
    }
    if (d.start > cursor) out.push({ name: `${region}@${formatPa(cursor)}`, start: cursor, end: d.start });
    out.push({ name: d.name, start: d.start, end: d.end });
    cursor = d.end;
  }
  if (cursor < end) out.push({ name: `${region}@${formatPa(cursor)}`, start: cursor, end });
  return out;
}
