// Progress output while a run executes: an ora spinner on a terminal, plain timestamped lines
// otherwise (logs, CI, pipes). The only module that imports ora.
// Invariants: every line that matters (step start, end, failure) is printed in both modes; the
// spinner only decorates.
import ora, { type Ora } from 'ora';

export interface Progress {
  start(text: string): void;
  update(text: string): void;
  succeed(text: string): void;
  fail(text: string): void;
  info(text: string): void;
  stop(): void;
}

export function makeProgress(tty: boolean, write: (s: string) => void): Progress {
  const stamp = () => new Date().toISOString().slice(11, 19);
  if (!tty) {
    return {
      start: (t) => write(`${stamp()} ▶ ${t}`),
      update: (t) => write(`${stamp()}   ${t}`),
      succeed: (t) => write(`${stamp()} ✔ ${t}`),
      fail: (t) => write(`${stamp()} ✖ ${t}`),
      info: (t) => write(`${stamp()}   ${t}`),
      stop: () => {},
    };
  }
  let spinner: Ora | null = null;
  let title = '';
  return {
    start: (t) => {
      title = t;
      spinner = ora({ text: t, discardStdin: false }).start();
    },
    update: (t) => {
      if (spinner) spinner.text = `${title}\n  ${t}`;
    },
    succeed: (t) => {
      spinner ? spinner.succeed(t) : write(`✔ ${t}`);
      spinner = null;
    },
    fail: (t) => {
      spinner ? spinner.fail(t) : write(`✖ ${t}`);
      spinner = null;
    },
    info: (t) => {
      if (spinner) spinner.stop();
      write(t);
      if (spinner) spinner.start();
    },
    stop: () => {
      spinner?.stop();
      spinner = null;
    },
  };
}
