/**
 * The `sandcat` command. Each subcommand lives in ./commands/<name>.ts and exports
 * `run(args: string[]): Promise<number>` (the exit status) and `help: string`.
 * Commands load lazily so `sandcat check` does not pay for the proxy's imports.
 */

interface CommandModule {
  run(args: string[]): Promise<number>;
  help: string;
}

export const COMMANDS: Record<string, string> = {
  daemon: 'run the proxy daemon (WireGuard server, DNS, TLS interception, rules, secrets)',
  'wg-client': 'set up this network namespace as a sandcat client: tunnel, routes, kill switch',
  check: 'ask what the rules decide for an HTTP request or a DNS name (prints JSON)',
  init: 'generate .devcontainer/ and .sandcat/ for a project (or --existing to add sandcat to one)',
  run: 'start the sandbox and open a shell in the agent container',
  edit: 'edit settings, the agent Dockerfile or the compose file (settings are validated on save)',
  'restart-proxy': 'apply settings changes (signals the daemon to reload)',
  proxy: "follow the proxy's decisions, readable and coloured",
  compose: 'run docker compose with the project\'s sandcat files',
  status: 'show tunnel health, rules, loaded secret names and recent denials',
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, text]) => `  ${name.padEnd(width)}  ${text}`);
  return `usage: sandcat <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun "sandcat <command> --help" for a command's options.`;
}

/**
 * `sandcat status | head -1`: the reader left, so the rest of the output has nowhere to go. Stop
 * quietly and successfully, as cat or grep would, instead of crashing with an unhandled EPIPE.
 * Children (compose) get SIGPIPE on their next write; commands that follow one kill it on exit.
 */
export function exitQuietlyOnEpipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

export async function main(argv: string[]): Promise<void> {
  exitQuietlyOnEpipe(process.stdout);
  exitQuietlyOnEpipe(process.stderr);
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    process.exitCode = name ? 0 : 2;
    return;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write('sandcat 0.1.0\n');
    return;
  }
  if (!(name in COMMANDS)) {
    process.stderr.write(`sandcat: unknown command "${name}"\n\n${usage()}\n`);
    process.exitCode = 2;
    return;
  }
  const mod = (await import(`./commands/${name}.js`)) as CommandModule;
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(mod.help.trimEnd() + '\n');
    return;
  }
  process.exitCode = await mod.run(args);
}
