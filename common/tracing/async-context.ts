// An OpenTelemetry context manager over Node's AsyncLocalStorage: the active span follows awaits,
// so a span started inside an activity is the child of the activity's span. (The SDK's own one is
// in @opentelemetry/context-async-hooks, a package Caisson does not require.)
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context, ContextManager } from '@opentelemetry/api';

export function asyncContextManager(root: Context): ContextManager {
  let storage = new AsyncLocalStorage<Context>();
  const manager: ContextManager = {
    active: () => storage.getStore() ?? root,
    with: (context, fn, thisArg, ...args) => storage.run(context, () => fn.call(thisArg, ...args)),
    bind: <T>(context: Context, target: T): T =>
      typeof target === 'function'
        ? (((...args: unknown[]) =>
            manager.with(context, target as (...a: unknown[]) => unknown, undefined, ...args)) as T)
        : target,
    enable: () => manager,
    disable: () => {
      storage.disable();
      storage = new AsyncLocalStorage<Context>();
      return manager;
    },
  };
  return manager;
}
