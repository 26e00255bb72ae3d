// A TCP port on loopback that nothing listens on right now: the worker's own way of finding one
// for its runtime's metrics, shared with the tests that give each worker ports of its own.
export { freeLoopbackPort as freePort } from '../worker/ops-server.js';
