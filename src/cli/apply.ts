// `zkroll apply|resume <plan>`: load and compile the plan, wire the terminal (spinner, prompts,
// Ctrl-C) and hand the run to the driver (src/run/driver.ts); its end becomes the exit code.
// Guided (ask per step) on a terminal, unattended with --yes. Ends with where the run's picture
// is (report.html in the state directory).
// Invariants: Ctrl-C stops after the remote command in flight, saves and exits 130 (twice: kill
// now); a failed unattended run exits 1 and `resume` continues it; a run taken over by another
// machine exits 1; refusals (another zkroll holds the run on the hosts) change nothing.
import fs from 'node:fs';
import { PreflightRefused } from '../check/preflight.js';
import { healthTable } from '../inspect/health.js';
import { stateDir } from '../machine/store.js';
import { reportHtmlFile } from '../report/write.js';
import { RunRefused, runPlan, type RunEnd } from '../run/driver.js';
import { renderPlan } from '../ui/plan-render.js';
import { makeProgress } from '../ui/progress.js';
import { Prompter } from '../ui/prompt.js';
import { CliError, compileOrFail, EXIT, loadOrFail } from './common.js';

export interface ApplyOptions {
  resume: boolean;
  /** resume --take-over: continue another machine's run (its lock and the hosts' copy). */
  takeOver?: boolean;
  yes: boolean;
  guided: boolean;
}

const EXIT_OF: Record<RunEnd, number> = { done: EXIT.ok, aborted: EXIT.failed, failed: EXIT.failed, interrupted: EXIT.interrupted };

export async function cmdApply(file: string, o: ApplyOptions, out: (s: string) => void): Promise<number> {
  const plan = loadOrFail(file);
  const compiled = compileOrFail(plan, file);
  const guided = o.guided || (!o.yes && process.stdin.isTTY === true);
  if (!guided && !o.yes) throw new CliError('stdin is not a terminal: pass --yes to run unattended, or --guided to answer prompts from stdin', EXIT.badInput);
  const progress = makeProgress(process.stdout.isTTY === true, out);
  const prompter = guided ? new Prompter() : null;
  let stop = false;
  const onSigint = () => {
    if (stop) process.kill(process.pid, 'SIGKILL');
    stop = true;
    progress.info('\nCtrl-C: stopping after the remote command in flight (again to kill now); `zkroll resume` continues');
  };
  process.on('SIGINT', onSigint);
  try {
    const end = await runPlan(
      { plan, planFile: file, compiled, resume: o.resume, takeOver: o.takeOver === true, stopRequested: () => stop },
      {
        out,
        progress,
        ask: prompter ? (q, choices, onEnd) => prompter.choose(q, choices, onEnd) : null,
        render: (step) => renderPlan(compiled, new Map(), 'text', [step.n]),
        health: () => healthTable(plan),
        warn: (l) => process.stderr.write(`${l}\n`),
      },
    );
    const picture = reportHtmlFile(stateDir(file, plan.cluster.name));
    if (fs.existsSync(picture)) out(`picture of the run (steps, server states, elections): ${picture}`);
    return EXIT_OF[end];
  } catch (e) {
    if (e instanceof RunRefused || e instanceof PreflightRefused) throw new CliError(e.message, e.badInput ? EXIT.badInput : EXIT.failed);
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    prompter?.close();
  }
}
