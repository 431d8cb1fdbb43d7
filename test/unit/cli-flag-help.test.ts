/** Every short flag a command accepts is shown in its --help options, next to its long name. */
import { describe, expect, it } from 'vitest';
import { flagHelp, parseFlags } from '../../src/cli/args.js';
import * as check from '../../src/cli/commands/check.js';
import * as proxy from '../../src/cli/commands/proxy.js';
import * as run from '../../src/cli/commands/run.js';
import * as status from '../../src/cli/commands/status.js';

describe('--help shows short flags', () => {
  it('run: -d in the usage line is -d, --detach in the options', () => {
    expect(run.help).toMatch(/usage: .*-d\b/);
    expect(run.help).toMatch(/^ {2}-d, --detach +only start the containers/m);
    expect(run.help).toMatch(/^ {2}-f, --file <value>… /m);
  });
  it('every short flag in the usage lines appears in the options', () => {
    for (const [name, mod] of Object.entries({ check, proxy, run, status })) {
      const usage = mod.help.split('\n\n')[0]!;
      for (const short of usage.match(/(?<=[[\s|])-[A-Za-z]\b/g) ?? []) expect(mod.help, `${name} ${short}`).toMatch(new RegExp(`^ {2}${short}, --`, 'm'));
    }
  });
  it('flagHelp: short, long, value and repeatable marks', () => {
    expect(flagHelp({ header: { type: 'string', short: 'H', multiple: true, help: 'h' } })).toMatch(/^ {2}-H, --header <value>… +h$/);
    expect(flagHelp({ once: { type: 'boolean', help: 'o' } })).toMatch(/^ {2}--once +o$/);
  });
});

describe('unknown options', () => {
  it('are named plainly, and the "--" escape in the hint has balanced quotes', () => {
    for (const opt of ['--bogus', '-x']) {
      let err: { message: string; hint?: string } | undefined;
      try {
        parseFlags({ once: { type: 'boolean', help: 'o' } }, [opt]);
      } catch (e) {
        err = e as typeof err;
      }
      expect(err?.message).toBe(`unknown option ${opt}`);
      expect(err?.hint).toBe(`run with --help to see the options (to pass an argument that starts with "-", put it after "--": -- ${opt})`);
      for (const q of ["'", '"']) expect(((err?.message ?? '') + (err?.hint ?? '')).split(q).length % 2, `balanced ${q}`).toBe(1);
    }
  });
});
