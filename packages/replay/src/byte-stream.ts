/**
 * Opens a trace file as a stream of byte chunks, gunzipping it when it starts with the gzip magic
 * bytes (1f 8b) whatever its name. Nothing but the current chunk is held in memory.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { TraceFormatError } from './errors.js';

/** True if the file starts with the gzip magic bytes. */
export async function isGzipFile(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = new Uint8Array(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/**
 * The (decompressed) bytes of `path`, chunk by chunk. `onFileBytes(n)` is called as `n` more
 * bytes of the file itself are read (compressed bytes for a gzip file), so the calls add up to
 * the file size: what a progress display needs.
 * @throws TraceFormatError if a gzip stream is corrupt or truncated (offset = decompressed bytes
 *   delivered so far); the file system's own errors (ENOENT…) as they are.
 */
export async function* readBytes(
  path: string,
  onFileBytes?: (bytes: number) => void,
): AsyncGenerator<Uint8Array> {
  const gzip = await isGzipFile(path);
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  if (!gzip) {
    for await (const chunk of file) {
      onFileBytes?.((chunk as Uint8Array).length);
      yield chunk as Uint8Array;
    }
    return;
  }
  if (onFileBytes) file.on('data', (chunk) => onFileBytes((chunk as Uint8Array).length));
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  file.on('error', (e) => gunzip.destroy(e));
  file.pipe(gunzip);
  let delivered = 0;
  try {
    for await (const chunk of gunzip) {
      delivered += (chunk as Uint8Array).length;
      yield chunk as Uint8Array;
    }
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw new TraceFormatError(
        path,
        { byteOffset: delivered },
        String((e as Error).message),
        'a valid gzip stream',
      );
    }
    throw e;
  } finally {
    file.destroy();
  }
}
