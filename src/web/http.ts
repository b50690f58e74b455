import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export class BodyError extends Error {
  constructor(readonly status: 400 | 413 | 415) {
    super(`request body refused (${status})`);
  }
}

/** Reads a urlencoded form body of at most `limit` bytes. */
export async function readForm(req: IncomingMessage, limit: number): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new BodyError(415);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new BodyError(413);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyError(413);
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** Headers every page carries: nothing cached or leaked (tokens live in the URL), no framing. */
export function pageHeaders(styleHash: string): Record<string, string> {
  return {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    Pragma: 'no-cache',
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Content-Security-Policy': `default-src 'none'; style-src '${styleHash}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * Reads and drops what is left of a refused request's body, up to `cap` bytes, so the client
 * finishes sending and reads the answer (a client still uploading when the connection closes
 * sees a reset instead). Resolves false when the body is larger than that; the answer then
 * goes out with "Connection: close" and the rest is never read.
 */
export function drain(req: IncomingMessage, cap: number): Promise<boolean> {
  if (req.readableEnded) return Promise.resolve(true);
  if (req.destroyed) return Promise.resolve(false);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > cap) return Promise.resolve(false);
  return new Promise((resolve) => {
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > cap) {
        req.pause();
        resolve(false);
      }
    });
    req.on('end', () => resolve(true));
    req.on('error', () => resolve(false));
    req.on('close', () => resolve(req.readableEnded));
    req.resume();
  });
}

/** Answers 413 to a request that declares a body over `limit`, after draining it (see `drain`). */
export function refuseOversized(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  drainCap = 8 * limit,
): boolean {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (!(declared > limit)) return false;
  void drain(req, drainCap).then(() => {
    res.writeHead(413, { Connection: 'close', 'Content-Type': 'text/plain' });
    res.end('request body too large');
  });
  return true;
}

/** A cookie's value from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

/** Compares two secrets in time that does not depend on where they differ. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
