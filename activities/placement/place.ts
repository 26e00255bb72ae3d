// Placing an action on this host: it is taken here when it fits next to what runs (slots, cpu,
// memory, disk budget, GPUs, required labels). When it does not, the fleet's registry tells a
// wait (another host could run it, or this one once something ends) from an end: no host up
// could ever run it (reason no-host-fits), at once when it asks more than any host has, after
// the fleet's host timeout when only labels are missing (a host carrying them may be starting).
import { ApplicationFailure } from '@temporalio/activity';
import { isLive, type FleetRegistry, type HostRecord } from '../../common/storage/fleet-registry.js';
import { describeNeeds, fitNow, neverFits, type HostTotals, type Needs } from '../../spec/placement.js';
import type { PlaceVerdict } from './capacity.js';
import { FailureType } from '../../spec/failures.js';

/** The registry is read at most this often by one host's placements. */
const FLEET_CACHE_MS = 2_000;
/** A host that saw no other on its queue looks again after this long (a new host reports within RECORD_EVERY_MS). */
const ALONE_RECHECK_MS = 5_000;
/** How long an action waits for a host carrying its `prefer` labels while one is up. */
export const PREFER_WAIT_MS = 30_000;

export class FleetView {
  private cached: { at: number; hosts: Promise<HostRecord[]> } | undefined;

  constructor(
    private readonly registry: FleetRegistry,
    private readonly now: () => number = Date.now,
  ) {}

  /** Live hosts (reported within LIVE_WITHIN_MS and not stopped), read at most `maxAgeMs` ago. */
  async live(maxAgeMs = FLEET_CACHE_MS): Promise<HostRecord[]> {
    const now = this.now();
    if (!this.cached || now - this.cached.at > maxAgeMs) {
      const hosts = this.registry.hosts();
      hosts.catch(() => (this.cached = undefined));
      this.cached = { at: now, hosts };
    }
    return (await this.cached.hosts).filter((h) => isLive(h, now));
  }

  /**
   * Whether a host other than `self` may be up: false only when a view of the last few seconds
   * showed none, so that a host alone on its queue does not read the registry on every placement.
   */
  async othersMayBeUp(self: string): Promise<boolean> {
    const hosts = await this.live(ALONE_RECHECK_MS);
    return hosts.some((h) => h.host !== self && !h.drained);
  }
}

const wait = (message: string) => ApplicationFailure.create({ type: FailureType.NotPlacedHere, message });

/**
 * The failure to raise when `verdict` keeps the action off this host: retryable (the action waits
 * and is offered to hosts again) or NoHostFits, which ends it.
 */
export function notHere(
  self: { host: string; totals: HostTotals },
  needs: Needs,
  verdict: Exclude<PlaceVerdict, { held: unknown }>,
  fleet: HostRecord[],
  waitedMs: number,
  waitForHostMs: number,
): ApplicationFailure {
  const asks = describeNeeds(needs);
  if ('short' in verdict)
    return wait(`waiting for a host with ${asks}: host ${self.host} is short of ${verdict.short}`);
  const others = fleet.filter((h) => h.host !== self.host);
  if (others.some((h) => !h.drained && !neverFits(needs, h.totals))) {
    return wait(`waiting for a host with ${asks}: host ${self.host} cannot run it (${verdict.never})`);
  }
  const why = [
    `${self.host}: ${verdict.never}`,
    ...others.map((h) => `${h.host}: ${neverFits(needs, h.totals) ?? `drained (${h.drained})`}`),
  ];
  const listed = why.map((w) => `  - ${w}`).join('\n');
  // Bigger than every host up: no wait can help. Only labels (or drained hosts) missing: a host
  // may be starting or coming back, so that is waited for a while.
  const sizeOnly = { ...needs, require: {} };
  const tooBig = [self.totals, ...others.map((h) => h.totals)].every((t) => neverFits(sizeOnly, t) !== undefined);
  if (tooBig || waitedMs >= waitForHostMs) {
    return ApplicationFailure.create({
      type: FailureType.NoHostFits,
      nonRetryable: true,
      message: `no host up can run an action asking ${asks}:\n${listed}`,
    });
  }
  return wait(
    `waiting up to ${Math.round(waitForHostMs / 1000)} s for a host with ${asks}; none up can run it now:\n${listed}`,
  );
}

/** Whether a live host other than this one carries the `prefer` labels and could run the action. */
export function preferredElsewhere(
  self: string,
  needs: Needs,
  prefer: Record<string, string>,
  fleet: HostRecord[],
): string | undefined {
  const wanted = { ...needs, require: { ...needs.require, ...prefer } };
  return fleet.find((h) => h.host !== self && !h.drained && !neverFits(wanted, h.totals))?.host;
}

/** How the fleet chooses among hosts that can all run an action now. */
export type PlacementMode = 'spread' | 'binpack' | 'any';
/** How old a view of the fleet may be when choosing the better host: placements change it fast. */
export const FRESH_VIEW_MS = 300;
/**
 * How many times an action is declined for a better host before any host that fits takes it (views
 * of the fleet lag placements by a fraction of a second, so hosts may disagree for a moment).
 */
export const BETTER_HOST_OFFERS = 3;
/** A declined action is offered again this soon: the better host is already polling. */
export const OFFER_AGAIN_MS = 100;

/**
 * A live host that should take the action rather than this one: it can run it now and is emptier
 * (spread) or fuller (bin-pack) than this host, counting actions; ties go to the smaller name, so
 * that two idle hosts never both decline.
 */
export function betterHost(
  self: { host: string; actions: number },
  needs: Needs,
  mode: PlacementMode,
  fleet: HostRecord[],
): string | undefined {
  const better = (h: HostRecord) => {
    const n = h.actions.length;
    if (n === self.actions) return h.host < self.host;
    return mode === 'spread' ? n < self.actions : n > self.actions;
  };
  const candidates = fleet.filter(
    (h) =>
      h.host !== self.host &&
      !h.drained &&
      h.actions.length < h.slots &&
      !neverFits(needs, h.totals) &&
      'held' in fitNow(needs, h.totals, h.inUse) &&
      better(h),
  );
  const order = (h: HostRecord) => (mode === 'spread' ? h.actions.length : -h.actions.length);
  return candidates.sort((a, b) => order(a) - order(b) || a.host.localeCompare(b.host))[0]?.host;
}
