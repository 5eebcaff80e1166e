// zkroll's command line. The only module that calls process.exit; every command returns an
// exit code or throws (CliError with its code, LabError → 1, anything else → 1 with a plain
// message; ZKROLL_DEBUG=1 adds the stack).
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { LabError } from '../lab/spec.js';
import { planJsonSchema } from '../plan/jsonschema.js';
import { parseDuration } from '../plan/duration.js';
import { cmdLabClone, cmdLabDown, cmdLabKillListener, cmdLabStatus, cmdLabUp } from './lab.js';
import { cmdValidate } from './validate.js';
import { cmdPlan } from './plan.js';
import { cmdApply } from './apply.js';
import { cmdStatus } from './status.js';
import { cmdCheck, cmdVerify } from './check.js';
import { cmdCopies } from './copies.js';
import { CliError, EXIT } from './common.js';

const out = (s: string) => process.stdout.write(s + '\n');

function idList(v: string): number[] {
  if (v === 'none' || v === '') return [];
  const ids = v.split(',').map((x) => x.trim());
  if (!ids.every((x) => /^\d+$/.test(x))) throw new InvalidArgumentError('expected myids like 6,8 (or "none")');
  return ids.map(Number);
}

function leaderByArg(v: string): 'start' | 'empty' {
  if (v !== 'start' && v !== 'empty') throw new InvalidArgumentError('expected start or empty');
  return v;
}

function zxidArg(v: string): bigint {
  if (!/^(0x[0-9a-f]{1,16}|\d{1,20})$/i.test(v)) throw new InvalidArgumentError('expected a zxid like 0x1fffff000');
  return BigInt(v);
}

function whitelistArg(v: string): string {
  if (!/^(\*|[a-z]{4}(,[a-z]{4})*)$/.test(v)) throw new InvalidArgumentError('expected "*" or four-letter words separated by commas, e.g. srvr,ruok');
  return v;
}

function faultArg(v: string): 'port-scan' | 'agent' | 'none' {
  if (v !== 'port-scan' && v !== 'agent' && v !== 'none') throw new InvalidArgumentError('expected port-scan, agent or none');
  return v;
}

function durationArg(v: string): number {
  const ms = parseDuration(/^\d+$/.test(v) ? Number(v) : v);
  if (ms === undefined || ms > 60_000) throw new InvalidArgumentError('expected a duration of at most 1m, like 1s or 500ms');
  return ms;
}

function int(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a whole number');
  return Number(v);
}

async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command('zkroll')
    .description('Plan, rehearse and execute rolling upgrades and recoveries of ZooKeeper ensembles over SSH')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('validate')
    .description('check a plan file; print every error as file:line:col')
    .argument('<plan>', 'plan YAML file')
    .action((file: string) => {
      code = cmdValidate(file, out);
    });

  program
    .command('plan')
    .description('compile the plan into steps and show them for review (no changes are made)')
    .argument('<plan>', 'plan YAML file')
    .option('--format <format>', 'text, markdown or json', 'text')
    .option('--live', 'read the running cluster over SSH: resolve the leader, refuse a plan that does not match')
    .action(async (file: string, o: { format: string; live?: boolean }) => {
      code = await cmdPlan(file, o, out);
    });

  program
    .command('apply')
    .description('run the plan: guided on a terminal (confirm each step), unattended with --yes')
    .argument('<plan>', 'plan YAML file')
    .option('--yes', 'run unattended: every step, including those that need an explicit yes, is confirmed')
    .option('--guided', 'ask before each step even when stdin is not a terminal (answers read line by line)')
    .action(async (file: string, o: { yes?: boolean; guided?: boolean }) => {
      code = await cmdApply(file, { resume: false, yes: o.yes === true, guided: o.guided === true }, out);
    });

  program
    .command('resume')
    .description('continue the run of this plan where it stopped (after a failure, Ctrl-C or a crash)')
    .argument('<plan>', 'plan YAML file')
    .option('--yes', 'continue unattended')
    .option('--guided', 'ask before each step even when stdin is not a terminal')
    .option(
      '--take-over',
      "continue a run another machine's zkroll started (its copy on the hosts) and take its lock: refused while its heartbeat is younger than 30 s",
    )
    .action(async (file: string, o: { yes?: boolean; guided?: boolean; takeOver?: boolean }) => {
      code = await cmdApply(file, { resume: true, takeOver: o.takeOver === true, yes: o.yes === true, guided: o.guided === true }, out);
    });

  program
    .command('status')
    .description('where the run of this plan stands and what is next (from the hosts when this machine has no run)')
    .argument('<plan>', 'plan YAML file')
    .option('--json', 'machine-readable output')
    .option('--hosts', "also read the run's copies and lock on its hosts (over SSH) and show the newest")
    .action(async (file: string, o: { json?: boolean; hosts?: boolean }) => {
      code = await cmdStatus(file, { json: o.json === true, hosts: o.hosts === true }, out);
    });

  program
    .command('check')
    .description('the incident checks: ports, election listener (accept queue, thread dump), zxid headroom, data files, log rotation')
    .argument('<plan>', 'plan YAML file')
    .option('--json', 'machine-readable output')
    .action(async (file: string, o: { json?: boolean }) => {
      code = await cmdCheck(file, o.json === true, out);
    });

  program
    .command('verify')
    .description('compare the data tree of every serving server, each read alone after a sync')
    .argument('<plan>', 'plan YAML file')
    .option('--json', 'machine-readable output')
    .action(async (file: string, o: { json?: boolean }) => {
      code = await cmdVerify(file, o.json === true, out);
    });

  program
    .command('copies')
    .description('after a rebuild: which persistent copies of ephemeral nodes are shadowed by their re-registered owners')
    .argument('<plan>', 'plan YAML file')
    .option('--clean', 'remove the shadowed copies (their data is saved to the state directory first)')
    .action(async (file: string, o: { clean?: boolean }) => {
      code = await cmdCopies(file, o.clean === true, out);
    });

  program
    .command('schema')
    .description('print the JSON Schema of plan files (for editors)')
    .action(() => {
      out(JSON.stringify(planJsonSchema(), null, 2));
    });

  const lab = program.command('lab').description("a local replica of a plan's hosts: real sshd + ZooKeeper on loopback addresses (root only)");
  lab
    .command('up')
    .description("build the lab and start the current ensemble in the plan's scenario")
    .argument('<plan>', 'plan YAML file')
    .option('--down <myids>', 'servers to leave stopped, e.g. 6,8 or "none" (default: plan lab.down, else the broken servers)', idList)
    .option('--znodes <n>', 'data znodes to load (default: plan lab.znodes)', int)
    .option('--data-mb <n>', 'also load about this many MiB of production-like znodes under /lab/bulk (1024 per MiB, 1 KiB JSON on average)', int)
    .option('--proxies <n>', 'Codis-like proxies registering ephemeral nodes (default: plan lab.proxies.count)', int)
    .option('--initial-zxid <zxid>', 'start the servers at this zxid (e.g. 0x1fffff000: near the counter rollover)', zxidArg)
    .option(
      '--whitelist <words>',
      '4lw.commands.whitelist of the servers (default "*"; "srvr" is the 3.5+ default, where zkroll reads the AdminServer)',
      whitelistArg,
    )
    .option(
      '--login-delay <duration>',
      "every host's login shell sleeps this long in its startup file, e.g. 1s (default: plan lab.loginDelay, else none)",
      durationArg,
    )
    .option(
      '--dead-listeners <how>',
      "the incident's fault after the data is loaded: port-scan (ZOOKEEPER-2186, releases before 3.4.7), agent (any release) or none; the down servers are then restarted and cannot rejoin (default: plan lab.deadListeners)",
      faultArg,
    )
    .action(
      async (
        file: string,
        o: {
          down?: number[];
          znodes?: number;
          dataMb?: number;
          proxies?: number;
          initialZxid?: bigint;
          whitelist?: string;
          loginDelay?: number;
          deadListeners?: 'port-scan' | 'agent' | 'none';
        },
      ) => {
        const { loginDelay, ...rest } = o;
        code = await cmdLabUp(file, loginDelay === undefined ? rest : { ...rest, loginDelayMs: loginDelay }, out);
      },
    );
  lab
    .command('status')
    .description('show the lab hosts, servers and proxies')
    .argument('<plan>', 'plan YAML file')
    .option('--json', 'machine-readable output')
    .action(async (file: string, o: { json?: boolean }) => {
      code = await cmdLabStatus(file, o.json === true, out);
    });
  lab
    .command('kill-listener')
    .description('reproduce the incident: the election listener of a running lab server dies (it keeps serving)')
    .argument('<plan>', 'plan YAML file')
    .argument('<myid>', 'server whose listener dies', int)
    .option(
      '--by <how>',
      'port-scan: the malformed header of ZOOKEEPER-2186 (kills it on releases before 3.4.7); agent: suspend the listener threads (any release). Default: port-scan where the release has the bug, else agent',
      faultArg,
    )
    .action(async (file: string, myid: number, o: { by?: 'port-scan' | 'agent' | 'none' }) => {
      code = await cmdLabKillListener(file, myid, o.by === 'none' ? undefined : o.by, out);
    });
  lab
    .command('clone')
    .description(
      'copy a running ensemble into a lab (read-only on the source): the same myids, roles, version, zoo.cfg (hosts mapped, ports kept), data and leader; writes a plan pointed at it',
    )
    .argument('<plan>', 'plan YAML file of the source ensemble')
    .option('--net <cidr>', 'loopback network of the clone lab (must not overlap the source)', '127.0.30.0/24')
    .option('--out <file>', 'the clone plan to write (default: <plan>.clone.yaml beside the plan)')
    .option(
      '--leader-by <how>',
      "start (the default): start order makes the source's leader lead (where FLE allows; else empty); empty: only the leader gets the data",
      leaderByArg,
    )
    .action(async (file: string, o: { net: string; out?: string; leaderBy?: 'start' | 'empty' }) => {
      code = await cmdLabClone(
        file,
        { net: o.net, ...(o.out !== undefined ? { out: o.out } : {}), ...(o.leaderBy !== undefined ? { leaderBy: o.leaderBy } : {}) },
        out,
      );
    });
  lab
    .command('down')
    .description('end every lab process and remove what the lab made (safe to run twice)')
    .argument('<plan>', 'plan YAML file')
    .action(async (file: string) => {
      code = await cmdLabDown(file, out);
    });

  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
      return EXIT.badInput;
    }
    throw e;
  }
  return code;
}

/** Exit once stdout and stderr are flushed (a bare process.exit truncates piped output). */
function exit(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

main(process.argv).then(exit, (e: unknown) => {
  if (e instanceof CliError) {
    process.stderr.write(e.message + '\n');
    exit(e.exitCode);
    return;
  }
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(e instanceof LabError ? `${msg}\n` : `zkroll: ${msg}\n`);
  if (process.env['ZKROLL_DEBUG'] && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  exit(EXIT.failed);
});
