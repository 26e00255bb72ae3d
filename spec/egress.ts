// Host names an action may reach with `network: egress`, and how one list narrows another. A
// pattern is a lowercase DNS name ("pypi.org") or one with a leading wildcard ("*.huggingface.co",
// any name ending in ".huggingface.co", at any depth): never an IP address, so that no pattern can
// name the host's own services or a private range directly.
import { z } from 'zod';

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOST_PATTERN = new RegExp(`^(?:\\*\\.)?(?:${LABEL}\\.)+${LABEL}$`);

/** Whether `text` is a host pattern: a dotted name whose last label is not a number (no IPv4). */
export const isHostPattern = (text: string): boolean =>
  text.length <= 253 && HOST_PATTERN.test(text) && !/^[0-9]+$/.test(text.slice(text.lastIndexOf('.') + 1));

export const HostPattern = z
  .string()
  .refine(
    isHostPattern,
    'a lowercase host name ("pypi.org") or a wildcard over its subdomains ("*.huggingface.co"); no IP addresses',
  );

/** Whether every name `narrow` matches is matched by `wide` too. */
export function patternCovers(wide: string, narrow: string): boolean {
  if (wide === narrow) return true;
  if (!wide.startsWith('*.')) return false;
  // "*.a.b" covers "x.a.b" and "*.x.a.b", not "a.b" itself.
  return narrow.endsWith(wide.slice(1));
}

/** The patterns of `asked` that no pattern of `granted` covers. */
export const uncovered = (asked: readonly string[], granted: readonly string[]): string[] =>
  asked.filter((pattern) => !granted.some((g) => patternCovers(g, pattern)));
