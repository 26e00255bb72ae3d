// Small pieces every HTTP endpoint of Caisson needs: a bearer-token check that takes the same time
// whatever the guess, and a request body read with a size bound (refused unread past it).
import type { IncomingMessage } from 'node:http';
import { timingSafeEqual } from 'node:crypto';

/** True when no token is required, or the request carries "Authorization: Bearer <token>". */
export function bearerAuthorized(req: IncomingMessage, token: string | undefined): boolean {
  if (!token) return true;
  const given = Buffer.from(req.headers.authorization ?? '');
  const wanted = Buffer.from(`Bearer ${token}`);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/** The body as text, or undefined when it is larger than maxBytes (the rest is not read). */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
