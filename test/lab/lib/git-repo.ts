/** A git repository for lab upstreams that serve git smart HTTP (lib/git-http-backend.mjs). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A repository with one commit (README.md: "cloned through sandcat\n") made in <work>/src and
 * cloned bare to <work>/served/repo.git. Returns <work>/served, the servers' git project root.
 */
export function createServedGitRepo(work: string): string {
  const g = (args: string[], cwd: string) => execFileSync('git', ['-c', 'user.name=lab', '-c', 'user.email=lab@sandcat.test', '-c', 'init.defaultBranch=main', ...args], { cwd, stdio: 'pipe' });
  const src = join(work, 'src');
  const served = join(work, 'served');
  mkdirSync(src);
  g(['init', '-q'], src);
  writeFileSync(join(src, 'README.md'), 'cloned through sandcat\n');
  g(['add', 'README.md'], src);
  g(['commit', '-q', '-m', 'first'], src);
  g(['clone', '-q', '--bare', src, join(served, 'repo.git')], work);
  return served;
}
