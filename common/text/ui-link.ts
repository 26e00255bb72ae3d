// The Temporal UI page of one action, for the CLI's and the GitHub Action's messages.

export function actionUiLink(baseUrl: string | undefined, namespace: string, actionId: string): string | undefined {
  if (!baseUrl) return undefined;
  return `${baseUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(actionId)}`;
}
