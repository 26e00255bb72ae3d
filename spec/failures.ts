// Every failure type Caisson raises, in one place: activities throw them, workflows and clients
// read them. A type is part of the contract with open runs and with callers (a client that waits on
// ActionFailed), so a name here is never changed, only added.
import type { EndReason } from './result.js';

export const FailureType = {
  // The image: never gets better by retrying.
  ImageNotFound: 'ImageNotFound',
  ImageUnauthorized: 'ImageUnauthorized',
  ImageNotAllowed: 'ImageNotAllowed',
  RegistryUnreachable: 'RegistryUnreachable',
  // The host: what it cannot give or will not do.
  GpuUnavailable: 'GpuUnavailable',
  SecretMissing: 'SecretMissing',
  ContainerRefused: 'ContainerRefused',
  PolicyRefused: 'PolicyRefused',
  /** The host would not carry out the request (activities/trust/host-gate.ts): nothing ran. */
  RefusedByHost: 'RefusedByHost',
  EngineUnavailable: 'EngineUnavailable',
  // Placement.
  NotPlacedHere: 'NotPlacedHere',
  NoHostFits: 'NoHostFits',
  HostBusy: 'HostBusy',
  /** A gang replica's place came after its round's `reserveUntil`: the round is over, nothing was held. */
  GangRoundOver: 'GangRoundOver',
  // Data.
  ArtifactsUnavailable: 'ArtifactsUnavailable',
  InputUnavailable: 'InputUnavailable',
  // How a workflow ends when it does not succeed.
  InvalidSpec: 'InvalidSpec',
  ActionFailed: 'ActionFailed',
  ArrayFailed: 'ArrayFailed',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Failure types raised by activities that end the action at once, with their reason; anything else is retried. */
export const FINAL_REASONS: Partial<Record<FailureType, EndReason>> = {
  ImageNotFound: 'image-not-found',
  ImageUnauthorized: 'image-unauthorized',
  ImageNotAllowed: 'image-not-allowed',
  RegistryUnreachable: 'registry-unreachable',
  GpuUnavailable: 'gpu-unavailable',
  SecretMissing: 'secret-missing',
  ContainerRefused: 'container-refused',
  ArtifactsUnavailable: 'artifacts-unavailable',
  PolicyRefused: 'policy',
  RefusedByHost: 'policy',
  NoHostFits: 'no-host-fits',
  InputUnavailable: 'input-unavailable',
};
