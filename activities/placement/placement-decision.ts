// Whether a run that reached this host's `place` stays here: taken, offered first to a host that
// carries its preferred labels or is the better place, or kept waiting (or ended) because it does
// not fit here; and what an execute that skipped `place` is told when it does not fit. Apart from
// the fleet reads it is handed, each decision depends on its inputs alone, so that the activities
// only claim, release and throw what they are told.
import { ApplicationFailure } from '@temporalio/activity';
import type { HostRecord } from '../../common/storage/fleet-registry.js';
import { FailureType } from '../../spec/failures.js';
import { neverFits, type Held, type HostTotals, type Needs } from '../../spec/placement.js';
import { refusedByHost } from '../trust/refused.js';
import type { HostCapacity, PlaceVerdict } from './capacity.js';
import {
  betterHost,
  BETTER_HOST_OFFERS,
  FRESH_VIEW_MS,
  notHere,
  OFFER_AGAIN_MS,
  preferredElsewhere,
  PREFER_WAIT_MS,
  type FleetView,
  type PlacementMode,
} from './place.js';

/** What `place` knows when it decides: the run's needs, this host's verdict on them, and how long it waited. */
export interface PlaceFacts {
  host: string;
  /** This host's totals, and the actions holding a slot here (the run just placed among them). */
  capacity: Pick<HostCapacity, 'totals' | 'actions'>;
  needs: Needs;
  /** The labels the run would rather have (placement.prefer). */
  prefer?: Record<string, string>;
  verdict: PlaceVerdict;
  waitedMs: number;
  /** This place activity's attempt: after BETTER_HOST_OFFERS, any host that fits takes the run. */
  attempt: number;
  mode: PlacementMode;
  /** How long a run waits for a host that could run it to come up (the fleet's host timeout). */
  waitForHostMs: number;
}

/** The fleet's registry as `place` reads it; read only when the decision needs it. */
export type FleetReads = Pick<FleetView, 'live' | 'othersMayBeUp'>;

/**
 * Taken here with what it holds; held here but offered elsewhere first (the caller releases what
 * it holds, then throws); or not placed here at all (the caller throws).
 */
export type PlacementDecision = { take: Held } | { elsewhere: ApplicationFailure } | { notHere: ApplicationFailure };

/**
 * How long the run has waited for a place, from the workflow's `waitingSince`: a value that is not
 * a finite number, or lies in the future, counts as no wait (the request is not trusted with more).
 */
export function waitedMs(waitingSince: unknown, now: number): number {
  const since = typeof waitingSince === 'number' && Number.isFinite(waitingSince) ? Math.min(waitingSince, now) : now;
  return now - since;
}

/**
 * Decides for a run this host's capacity just gave `verdict`: the fleet is read only on the way
 * that needs it, as the place activity always has (a host alone on its queue reads it seldom).
 */
export async function decidePlacement(facts: PlaceFacts, fleet: FleetReads | undefined): Promise<PlacementDecision> {
  const { host, capacity, needs, verdict } = facts;
  const live = async () => (fleet ? await fleet.live() : []);
  if (!('held' in verdict)) {
    const hosts = await live();
    return {
      notHere: notHere({ host, totals: capacity.totals }, needs, verdict, hosts, facts.waitedMs, facts.waitForHostMs),
    };
  }
  const elsewhere = (await preferredHostFirst(facts, live)) ?? (await betterHostFirst(facts, fleet));
  return elsewhere ? { elsewhere } : { take: verdict.held };
}

/** A run that prefers labels this host lacks waits a while for a live host that carries them. */
async function preferredHostFirst(
  facts: PlaceFacts,
  live: () => Promise<HostRecord[]>,
): Promise<ApplicationFailure | undefined> {
  const { prefer, needs, capacity } = facts;
  if (!prefer || !preferLacking(needs, prefer, capacity.totals) || facts.waitedMs >= PREFER_WAIT_MS) return undefined;
  const preferred = preferredElsewhere(facts.host, needs, prefer, await live());
  return preferred ? offeredFirst(`host ${preferred} carries the preferred labels: waiting for it first`) : undefined;
}

/** Whether this host could never run the action with its preferred labels required. */
function preferLacking(needs: Needs, prefer: Record<string, string>, totals: HostTotals): boolean {
  return Boolean(neverFits({ ...needs, require: prefer }, totals));
}

/**
 * Spread or bin-pack across the fleet: for its first few attempts a run is offered to a live host
 * that is the better place. A host alone on its queue skips the fresh read of the registry.
 */
async function betterHostFirst(
  facts: PlaceFacts,
  fleet: FleetReads | undefined,
): Promise<ApplicationFailure | undefined> {
  const { host, mode } = facts;
  if (!fleet || mode === 'any' || facts.attempt > BETTER_HOST_OFFERS || !(await fleet.othersMayBeUp(host)))
    return undefined;
  // A fresh view: another host's placement a moment ago changes which host is better. This run
  // is among this host's actions already, and is not counted against it.
  const self = { host, actions: facts.capacity.actions().length - 1 };
  const better = betterHost(self, facts.needs, mode, await fleet.live(FRESH_VIEW_MS));
  return better ? offeredFirst(`host ${better} is the better place (${mode}): offered there first`) : undefined;
}

const offeredFirst = (message: string) =>
  ApplicationFailure.create({ type: FailureType.NotPlacedHere, message, nextRetryDelay: OFFER_AGAIN_MS });

/**
 * An execute whose run skipped `place` (a forged or stray request) gets no more than a free slot:
 * when the run does not fit here now it is told to come back, or that it never could.
 */
export function unplacedExecute(host: string, verdict: PlaceVerdict): ApplicationFailure | undefined {
  if ('held' in verdict) return undefined;
  if ('never' in verdict) return refusedByHost(host, 'resources', `the run can never fit this host: ${verdict.never}`);
  return ApplicationFailure.create({
    type: FailureType.HostBusy,
    message: `host ${host} has no room for this run now: ${verdict.short}`,
    nextRetryDelay: '5s',
  });
}
