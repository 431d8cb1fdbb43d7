import { formatError } from '../../errors.js';
import { detectComposeTool, findProject, projectNameNote, runCompose } from '../compose-files.js';

export const help = `usage: sandcat compose <compose arguments…>

Run compose with this project's files, in the order devcontainer.json lists them, and the project
name VS Code uses (so both see the same containers); COMPOSE_PROJECT_NAME, when set, wins for
every sandcat command, as it does for VS Code and compose (status shows the name in use). Without a devcontainer: docker/compose.yml or
compose.yml in the current directory (the Docker quick start), or SANDCAT_COMPOSE_FILES
(':'-separated). Uses "docker compose" (v2) when present, else
"docker-compose" (v1); SANDCAT_COMPOSE picks one ("docker-compose", "podman compose").

examples:
  sandcat compose ps
  sandcat compose logs proxy
  sandcat compose down -v          # remove the containers and volumes (a new CA and keys next time)
`;

export async function run(args: string[]): Promise<number> {
  try {
    const project = findProject(process.cwd(), (process.env.SANDCAT_COMPOSE_FILES ?? '').split(':').filter(Boolean));
    const note = projectNameNote(project);
    if (note) process.stderr.write(`sandcat compose: ${note}\n`);
    return await runCompose(detectComposeTool(), project, args);
  } catch (err) {
    process.stderr.write(`sandcat compose: ${formatError(err)}\n`);
    return 1;
  }
}
