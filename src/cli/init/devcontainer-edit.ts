import { applyEdits, findNodeAtLocation, getNodeValue, modify, parseTree, type FormattingOptions, type JSONPath } from 'jsonc-parser';
import { HARDENING_REMOTE_ENV, HARDENING_VSCODE_SETTINGS, SOCKET_CLEANUP_COMMAND } from './templates/devcontainer-json.js';

/**
 * Comment-preserving edits to a devcontainer.json (JSONC). Each edit is recorded as one line for the
 * report, so the user sees exactly what changed in their file.
 */
export class DevcontainerEditor {
  text: string;
  readonly changes: string[] = [];
  readonly notes: string[] = [];
  readonly #format: FormattingOptions;

  constructor(text: string) {
    this.text = text;
    const indent = /\n([ \t]+)"/.exec(text)?.[1] ?? '  ';
    this.#format = { insertSpaces: !indent.includes('\t'), tabSize: indent.includes('\t') ? 1 : indent.length, eol: text.includes('\r\n') ? '\r\n' : '\n' };
  }

  get(path: JSONPath): unknown {
    const tree = parseTree(this.text, [], { allowTrailingComma: true });
    const node = tree && findNodeAtLocation(tree, path);
    return node ? (getNodeValue(node) as unknown) : undefined;
  }

  set(path: JSONPath, value: unknown, describe: string, options: { isArrayInsertion?: boolean } = {}): void {
    const edits = modify(this.text, path, value, { formattingOptions: this.#format, ...options });
    this.text = applyEdits(this.text, edits);
    this.changes.push(describe);
  }

  /** Sets the key only when absent; a present value is the user's choice and is kept (with a note when weaker). */
  setDefault(path: JSONPath, value: unknown, label: string): void {
    const current = this.get(path);
    if (current === undefined) this.set(path, value, `+ ${label}: ${JSON.stringify(value)}`);
    else if (JSON.stringify(current) !== JSON.stringify(value)) this.notes.push(`${label} is ${JSON.stringify(current)}; sandcat recommends ${JSON.stringify(value)} (left as you set it)`);
  }

  /** Add a compose file after the ones already listed (a string becomes a list). */
  addComposeFile(file: string): void {
    const current = this.get(['dockerComposeFile']);
    if (Array.isArray(current)) {
      if (current.includes(file)) return;
      this.set(['dockerComposeFile', -1], file, `+ dockerComposeFile: "${file}" (appended)`, { isArrayInsertion: true });
    } else if (typeof current === 'string') {
      if (current === file) return;
      this.set(['dockerComposeFile'], [current, file], `~ dockerComposeFile: "${current}" → ["${current}", "${file}"]`);
    } else this.set(['dockerComposeFile'], [file], `+ dockerComposeFile: ["${file}"]`);
  }

  /** The IDE-side hardening, key by key, never replacing a value the user set. */
  harden(): void {
    for (const [k, v] of Object.entries(HARDENING_REMOTE_ENV)) this.setDefault(['remoteEnv', k], v, `remoteEnv.${k}`);
    const attach = this.get(['postAttachCommand']);
    if (attach === undefined) this.set(['postAttachCommand'], SOCKET_CLEANUP_COMMAND, '+ postAttachCommand: delete forwarded credential sockets');
    else if (!JSON.stringify(attach).includes('vscode-ssh-auth-')) {
      // The object form runs its commands in parallel: keep the user's, add ours beside it.
      if (attach && typeof attach === 'object' && !Array.isArray(attach)) this.set(['postAttachCommand', 'sandcat-sockets'], SOCKET_CLEANUP_COMMAND, '+ postAttachCommand.sandcat-sockets: delete forwarded credential sockets');
      else this.set(['postAttachCommand'], { yours: attach, 'sandcat-sockets': SOCKET_CLEANUP_COMMAND }, '~ postAttachCommand: yours kept as "yours", plus "sandcat-sockets" (delete forwarded credential sockets)');
    }
    for (const [k, v] of Object.entries(HARDENING_VSCODE_SETTINGS)) this.setDefault(['customizations', 'vscode', 'settings', k], v, `customizations.vscode.settings.${k}`);
  }
}
