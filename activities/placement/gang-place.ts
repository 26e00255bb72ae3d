// Placing one replica of a gang: what the request may say (checked against the run's own start),
// the end of the placing round, and whether the live fleet could ever hold the whole gang at once.
// The replica is then placed like any run, under its reservation's name (spec/gang.ts), holding a
// port of this host's gang range; placement-decision.ts decides as for any run.
import { ApplicationFailure } from '@temporalio/activity';
import type { HostRecord } from '../../common/storage/fleet-registry.js';
import type { Action } from '../../spec/action.js';
import { FailureType } from '../../spec/failures.js';
import { describeNeeds, neverFits, type HostTotals, type Needs } from '../../spec/placement.js';
import { refusedByHost } from '../trust/refused.js';
import type { RunStart } from '../trust/spec-source.js';
import type { PlaceRequest } from '../types.js';

export type GangAsk = NonNullable<PlaceRequest['gang']>;

/**
 * The request's `gang` as the run's start allows it: only the gang's own workflow places replicas
 * (its spec has that many replicas, and it is not itself a replica), one index of them at a time.
 * A run whose spec is a gang places nothing without it: its replicas are what runs.
 */
export function checkGangAsk(host: string, gang: unknown, start: RunStart): GangAsk | undefined {
  const replicas = start.spec.replicas ?? 1;
  if (start.replica)
    throw refusedByHost(host, 'gang', 'a replica runs where its gang placed it; its own run places nothing');
  if (gang === undefined) {
    if (replicas > 1)
      throw refusedByHost(host, 'gang', `a gang of ${replicas} replicas is placed one replica at a time (gang set)`);
    return undefined;
  }
  const g = (gang ?? {}) as Partial<GangAsk>;
  const whole = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n);
  if (replicas < 2 || g.replicas !== replicas)
    throw refusedByHost(host, 'gang.replicas', `is not the run's own replicas (${replicas})`);
  if (!whole(g.index) || g.index < 0 || g.index >= replicas)
    throw refusedByHost(host, 'gang.index', `is a whole number from 0 to ${replicas - 1}`);
  if (typeof g.reserveUntil !== 'number' || !Number.isFinite(g.reserveUntil))
    throw refusedByHost(host, 'gang.reserveUntil', 'is a time in ms since the epoch');
  return { index: g.index, replicas, reserveUntil: g.reserveUntil };
}

/** The round's end has passed: nothing is held for it any more (the workflow starts another round or ends). */
export function roundOver(host: string, gang: GangAsk, now: number): ApplicationFailure | undefined {
  if (now <= gang.reserveUntil) return undefined;
  return ApplicationFailure.create({
    type: FailureType.GangRoundOver,
    nonRetryable: true,
    message: `replica ${gang.index} reached host ${host} after its placing round ended (${new Date(gang.reserveUntil).toISOString()})`,
  });
}

/** A host as the fleet rule counts it: its slots and totals, whether it publishes an address. */
export interface GangHost {
  host: string;
  slots: number;
  totals: HostTotals;
  address?: string;
}

/** How many replicas asking `needs` an empty host holds at once (0 when it could never run one). */
export function replicasFitting(needs: Needs, h: GangHost, network: Action['network']): number {
  if (neverFits(needs, h.totals) !== undefined) return 0;
  if (network === 'gang' && !h.address) return 0;
  const by = (total: number, each: number) => (each > 0 ? Math.floor(total / each) : Infinity);
  const gpus = Array.isArray(needs.gpus)
    ? 1 // named devices: one replica holds them
    : needs.gpus === 'all'
      ? 1
      : by(h.totals.gpus.length, needs.gpus);
  return Math.min(
    h.slots,
    by(h.totals.cpu, needs.cpu),
    by(h.totals.memory, needs.memory),
    by(h.totals.disk, needs.disk),
    gpus,
  );
}

/**
 * NoHostFits when the live fleet, every host empty, could not hold `replicas` of these at once:
 * each live undrained host counts what fits in it (this one from its own totals, not its record).
 */
export function fleetNeverHolds(
  self: GangHost & { drained?: string },
  needs: Needs,
  gang: GangAsk,
  network: Action['network'],
  fleet: HostRecord[],
): ApplicationFailure | undefined {
  const hosts: (GangHost & { drained?: string })[] = [self, ...fleet.filter((h) => h.host !== self.host)];
  const counts = hosts
    .filter((h) => !h.drained)
    .map((h) => ({ host: h.host, fits: replicasFitting(needs, h, network) }));
  const total = counts.reduce((sum, c) => sum + c.fits, 0);
  if (total >= gang.replicas) return undefined;
  const each = counts.map((c) => `${c.host}: ${c.fits}`).join(', ');
  const unaddressed =
    network === 'gang' && hosts.some((h) => !h.drained && !h.address)
      ? '; a host without CAISSON_HOST_ADDRESS takes no replica on network "gang"'
      : '';
  return ApplicationFailure.create({
    type: FailureType.NoHostFits,
    nonRetryable: true,
    message: `a gang of ${gang.replicas} replicas asking ${describeNeeds(needs)} can never be placed: the live fleet holds at most ${total} (${each})${unaddressed}`,
  });
}

/** This host publishes no address: a replica on network "gang" waits for a host that does. */
export function noAddressHere(host: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.NotPlacedHere,
    message: `host ${host} takes no replica of a gang on network "gang": it has no CAISSON_HOST_ADDRESS its peers could reach`,
  });
}
