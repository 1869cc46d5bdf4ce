/**
 * Workspace trust, without the vscode API (so the manifest test can read it): the settings that
 * name files to load, or a server and what to ask it, are never taken from an untrusted
 * workspace's settings — a repository's `.vscode/settings.json` must not make the extension read
 * a file into a prompt or send the open files somewhere. package.json lists the same keys under
 * `capabilities.untrustedWorkspaces.restrictedConfigurations`; test/faults/security.test.ts
 * derives the list from the settings' descriptions and fails when one is missing.
 */
export const PATH_SETTINGS = [
  'model',
  'loras',
  'relationSet',
  'template',
  'ragIndex',
  'document.filter',
  'document.template',
  'server.endpoint',
  'server.model',
  'server.flavor',
] as const;
