// The step state the `main` run leaves for the `post` run (core.saveState → core.getState), named once.
export const STATE = {
  /** Set at the very start of main: GitHub runs dist/index.js for both, this tells them apart. */
  isPost: 'isPost',
  /** The action main started or attached to: post cancels it if it did not see it end. */
  actionId: 'action-id',
  /** 'true' once main saw the action end (or did not wait for it): post leaves it alone. */
  finished: 'finished',
} as const;
